"""The `discord` handler, against a local stand-in for Discord (real HTTP, nothing mocked)."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from typing import Any

import pytest

from handlers.delivery import Deadline, DeliveryFailed
from handlers.discord import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    FOOTER_LIMIT,
    TITLE_LIMIT,
    deliver,
    send_to_discord,
)
from handlers.registry import build_plan
from sonoran_receiver.config import WORKER_TARGET, Settings, load_settings
from sonoran_receiver.publishing.message import CanonicalEvent
from sonoran_receiver.tools.samples import sample_body
from tests.support.bodies import EVENT_911_DATA
from tests.support.stand_in import WEBHOOK_PATH, Answer, StandIn

# Canonical shapes (docs/reference/contract.md "Event types and normalisation").
CALL_911: dict[str, Any] = EVENT_911_DATA
DISPATCH_NEW: dict[str, Any] = sample_body("EVENT_DISPATCH_NEW")["data"]


@pytest.fixture
def discord() -> Iterator[StandIn]:
    with StandIn() as stand_in:
        yield stand_in


def settings_for(stand_in: StandIn) -> Settings:
    return load_settings(
        {"SONORAN_HANDLERS": "*=discord", "DISCORD_WEBHOOK_URL": stand_in.url}, WORKER_TARGET
    )


def delivered(stand_in: StandIn, event_type: str, data: Any, server: str | None = "1") -> Any:
    """Run the handler once and return the one JSON body Discord received."""
    send_to_discord(CanonicalEvent.create(event_type, data, server=server), settings_for(stand_in))
    [request] = stand_in.received
    assert request.path == WEBHOOK_PATH
    assert request.headers["content-type"] == "application/json"
    return request.json()


def shown(text: str) -> str:
    """What Discord shows for an escaped text: each backslash pair as its character."""
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


def fields(embed: dict[str, Any]) -> dict[str, str]:
    """Field names and values as Discord shows them."""
    return {shown(item["name"]): shown(item["value"]) for item in embed["fields"]}


def inert(text: str) -> bool:
    """True when every ASCII punctuation character is escaped, and every backslash escapes one.

    Discord's markdown, links, mentions, emoji and timestamps are all made of ASCII
    punctuation; escaped, each shows as the character itself.
    """
    pairs = re.fullmatch(r"(?:\\[" + re.escape(string.punctuation) + r"]|[^\\])*", text)
    unescaped = re.sub(r"\\.", "", text, flags=re.DOTALL)
    return pairs is not None and not any(char in string.punctuation for char in unescaped)


def test_911_embed_shows_kind_caller_location_description_call_id_and_postal(
    discord: StandIn,
) -> None:
    [embed] = delivered(discord, "EVENT_911", CALL_911)["embeds"]
    assert embed["title"] == "Emergency 911 call"
    assert shown(embed["description"]) == "Vehicle fire, driver still inside"
    assert fields(embed) == {
        "Caller": "Sam Poe",
        "Location": "Paleto Blvd / Pyrite Ave",
        "Postal": "1016",
        "Call ID": "318",
    }
    assert embed["footer"]["text"] == "Sonoran CAD · server 1"
    assert embed["timestamp"].endswith("Z")


def test_civil_911_without_postal_says_civil_and_leaves_postal_out(discord: StandIn) -> None:
    call = {**CALL_911["call"], "isEmergency": False, "metaData": {}}
    [embed] = delivered(discord, "EVENT_911", {**CALL_911, "call": call})["embeds"]
    assert embed["title"] == "Civil 911 call"
    assert "Postal" not in fields(embed)


@pytest.mark.parametrize(
    ("is_panic", "title", "state"),
    [(True, "Panic button pressed", "ON"), (False, "Panic cleared", "off")],
)
def test_panic_embed_shows_units_and_on_or_off(
    discord: StandIn, is_panic: bool, title: str, state: str
) -> None:
    [embed] = delivered(discord, "EVENT_UNIT_PANIC", {"identIds": [57, 61], "isPanic": is_panic})[
        "embeds"
    ]
    assert embed["title"] == title
    assert fields(embed) == {"Units": "57, 61", "Panic": state}


def test_new_dispatch_embed_shows_title_code_address_priority_and_units(
    discord: StandIn,
) -> None:
    [embed] = delivered(discord, "EVENT_DISPATCH_NEW", DISPATCH_NEW)["embeds"]
    assert embed["title"] == "New call: Suspicious Vehicle"
    assert shown(embed["description"]) == "Grey coupe circling the lot, no plates"
    assert fields(embed) == {
        "Code": "10-37",
        "Address": "300 Alta St",
        "Postal": "7143",
        "Priority": "2",
        "Units": "57, 61",
        "Call ID": "4021",
    }


def test_other_types_get_a_short_line_with_ids_and_no_free_text(discord: StandIn) -> None:
    data = {"callId": 4021, "note": {"content": "suspect is armed", "label": "Dispatch"}}
    message = delivered(discord, "EVENT_DISPATCH_NOTE", data)
    assert "embeds" not in message
    assert shown(message["content"]) == "Sonoran CAD EVENT_DISPATCH_NOTE (server 1): callId 4021"


def test_everyone_in_event_text_pings_no_one(discord: StandIn) -> None:
    call = {**CALL_911["call"], "caller": "@everyone", "description": "<@&123456> @here"}
    message = delivered(discord, "EVENT_911", {**CALL_911, "call": call})
    assert message["allowed_mentions"] == {"parse": []}
    # The text is shown as sent, escaped: plain text, not even a mention that pings no one.
    assert fields(message["embeds"][0])["Caller"] == "@everyone"
    assert message["embeds"][0]["fields"][0]["value"] == "\\@everyone"


def test_over_long_texts_are_cut_to_discord_limits(discord: StandIn) -> None:
    long_call = {
        **DISPATCH_NEW["dispatch"],
        "title": "T" * 1000,
        "description": "D" * 10_000,
        "code": "C" * 2000,
        # Characters outside the BMP count twice in UTF-16, the stricter way to count.
        "address": "\U0001f692" * 2000,
        "postal": "P" * 2000,
        "idents": list(range(1000)),
    }
    settings = settings_for(discord)
    send_to_discord(
        CanonicalEvent.create("EVENT_DISPATCH_NEW", {"dispatch": long_call}, server="1"), settings
    )
    send_to_discord(
        CanonicalEvent.create("EVENT_UNIT_STATUS", {"identIds": list(range(2000))}, server="1"),
        settings,
    )
    embed_message, line_message = (request.json() for request in discord.received)

    def units(text: str) -> int:
        return len(text.encode("utf-16-le")) // 2

    [embed] = embed_message["embeds"]
    texts = [embed["title"], embed["description"], embed["footer"]["text"]]
    texts += [item["name"] + item["value"] for item in embed["fields"]]
    assert units(embed["title"]) <= TITLE_LIMIT
    assert units(embed["description"]) <= DESCRIPTION_LIMIT
    assert units(embed["footer"]["text"]) <= FOOTER_LIMIT
    assert all(units(item["name"]) <= FIELD_NAME_LIMIT for item in embed["fields"])
    assert all(0 < units(item["value"]) <= FIELD_VALUE_LIMIT for item in embed["fields"])
    assert sum(units(text) for text in texts) <= EMBED_TOTAL_LIMIT
    assert embed["title"].startswith("New call: TTT")
    assert embed["title"].endswith("…")
    assert units(line_message["content"]) <= CONTENT_LIMIT


@pytest.mark.parametrize(
    "rate_limited",
    [
        Answer(429, {"Retry-After": "1"}),
        Answer.json(429, {"message": "You are being rate limited.", "retry_after": 0.2}),
    ],
    ids=["header", "json-body"],
)
def test_429_is_waited_out_once_then_sent(discord: StandIn, rate_limited: Answer) -> None:
    discord.answer(rate_limited, Answer(204))
    send_to_discord(
        CanonicalEvent.create("EVENT_911", CALL_911, server=None), settings_for(discord)
    )
    first, second = discord.received
    assert first.body == second.body


def test_second_429_raises(discord: StandIn) -> None:
    discord.answer(Answer(429, {"Retry-After": "0.1"}), Answer(429, {"Retry-After": "0.1"}))
    with pytest.raises(DeliveryFailed):
        send_to_discord(
            CanonicalEvent.create("EVENT_911", CALL_911, server=None), settings_for(discord)
        )
    assert len(discord.received) == 2


def test_long_rate_limit_is_left_to_redelivery_without_waiting(discord: StandIn) -> None:
    discord.answer(Answer(429, {"Retry-After": "60"}))
    with pytest.raises(DeliveryFailed):
        send_to_discord(
            CanonicalEvent.create("EVENT_911", CALL_911, server=None), settings_for(discord)
        )
    assert len(discord.received) == 1


def test_failure_raises_and_never_shows_the_webhook_url(
    discord: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    invalid = Answer.json(400, {"message": "Invalid Form Body", "code": 50035})
    discord.answer(invalid, invalid)
    plan = build_plan(settings_for(discord))
    event = CanonicalEvent.create("EVENT_911", CALL_911, server=None)
    with pytest.raises(DeliveryFailed) as failed:
        send_to_discord(event, plan.settings)
    assert plan.run(event) == ["discord"]
    token = WEBHOOK_PATH.rsplit("/", 1)[1]
    assert token not in str(failed.value)
    assert token not in capsys.readouterr().out


def test_unreachable_webhook_raises_without_the_url() -> None:
    with StandIn() as gone:
        settings = settings_for(gone)
    with pytest.raises(DeliveryFailed) as failed:
        send_to_discord(CanonicalEvent.create("EVENT_911", CALL_911, server=None), settings)
    assert WEBHOOK_PATH not in str(failed.value)
    assert failed.value.__cause__ is None
    assert failed.value.__suppress_context__


# One entry per construct Discord renders (its "Markdown Text 101" article and the developer
# docs' "Message Formatting" table), as a 911 caller or a dispatcher could type it.
MARKDOWN = {
    "masked_link": "[Verify](https://evil.example/login)",
    "bold": "**urgent**",
    "italics": "*slanted* _slanted_",
    "underline": "__under__",
    "strikethrough": "~~struck~~",
    "spoiler": "||hidden||",
    "headings": "# Big\n## Bigger\n### Biggest",
    "quote": "> quoted",
    "block_quote": ">>> all of the rest",
    "subtext": "-# small print",
    "bulleted_list": "- one\n* two",
    "numbered_list": "1. first\n2. second",
    "inline_code": "`code`",
    "code_block": "```py\nprint(1)\n```",
    "timestamp": "<t:1618953630:R>",
    "channel": "<#103735883630395392>",
    "user_mention": "<@80351110224678912>",
    "role_mention": "<@&165511591545143296>",
    "everyone": "@everyone @here",
    "custom_emoji": "<:mmLol:216154654256398347>",
    "animated_emoji": "<a:b1nzy:392938283556143104>",
    "slash_command": "</airhorn:816437322781949972>",
    "guild_navigation": "<id:customize>",
    "auto_link": "https://evil.example/login",
    "link_without_preview": "<https://evil.example/login>",
    "backslash": "\\**still not bold**",
}


@pytest.mark.parametrize("text", MARKDOWN.values(), ids=MARKDOWN.keys())
def test_markdown_in_event_text_shows_as_typed_and_renders_nothing(
    discord: StandIn, text: str
) -> None:
    call = {**CALL_911["call"], "caller": text, "location": text, "description": text}
    [call_embed] = delivered(discord, "EVENT_911", {**CALL_911, "call": call})["embeds"]
    dispatch = {**DISPATCH_NEW["dispatch"], "title": text, "code": text}
    send_to_discord(
        CanonicalEvent.create("EVENT_DISPATCH_NEW", {"dispatch": dispatch}, server="1"),
        settings_for(discord),
    )
    [dispatch_embed] = discord.received[-1].json()["embeds"]
    pieces = [
        call_embed["description"],
        *(item["value"] for item in call_embed["fields"] if item["name"] in ("Caller", "Location")),
        dispatch_embed["title"].removeprefix("New call: "),
        *(item["value"] for item in dispatch_embed["fields"] if item["name"] == "Code"),
    ]
    assert len(pieces) == 5
    # Addresses are defanged (`[:]//`) so that nothing in them is a link, even to the eye.
    typed = text.replace("://", "[:]//")
    for piece in pieces:
        assert inert(piece), piece
        assert shown(piece) == typed


def test_markdown_in_the_server_is_escaped_and_id_names_that_are_not_names_are_left_out(
    discord: StandIn,
) -> None:
    # An id's name is a key of `data` as sent: an unknown type can carry any key. Only names
    # that look like identifiers are shown (handlers/log.py), the server is escaped.
    message = delivered(
        discord,
        "SOME_NEW_EVENT",
        {"[Verify](https://evil.example)Id": 5, "unitId": 7},
        server="__1__",
    )
    assert message["content"] == ("Sonoran CAD SOME\\_NEW\\_EVENT (server \\_\\_1\\_\\_): unitId 7")


def test_footer_shows_the_server_unescaped_as_discord_shows_footers_as_plain_text(
    discord: StandIn,
) -> None:
    [embed] = delivered(discord, "EVENT_911", CALL_911, server="lspd_main-1.2")["embeds"]
    assert embed["footer"]["text"] == "Sonoran CAD · server lspd_main-1.2"


def test_escaped_texts_are_cut_to_the_limits_without_a_dangling_backslash(
    discord: StandIn,
) -> None:
    # Escaping doubles these texts: the cut comes after it, on whole escape pairs.
    dispatch = {**DISPATCH_NEW["dispatch"], "title": "_" * 300, "description": "*" * 5000}
    [embed] = delivered(discord, "EVENT_DISPATCH_NEW", {"dispatch": dispatch})["embeds"]
    title = embed["title"].removeprefix("New call: ")
    for text, limit in ((embed["title"], TITLE_LIMIT), (embed["description"], DESCRIPTION_LIMIT)):
        assert len(text) <= limit
        assert text.endswith("…")
    for kept in (title[:-1], embed["description"][:-1]):
        assert inert(kept)
        assert kept


def test_429_wait_that_would_outlast_the_deadline_fails_at_once(discord: StandIn) -> None:
    # 2.5 s would fit MAX_RETRY_WAIT_S, not a 3 s deadline with time left for a second try.
    discord.answer(Answer(429, {"Retry-After": "2.5"}))
    event = CanonicalEvent.create("EVENT_911", CALL_911, server=None)
    with pytest.raises(DeliveryFailed, match="rate limited"):
        deliver(discord.url, event, Deadline(3.0))
    assert len(discord.received) == 1
