"""`discord`: one Discord webhook message per event (`DISCORD_WEBHOOK_URL`).

`EVENT_911`, `EVENT_UNIT_PANIC` and `EVENT_DISPATCH_NEW` get an embed; other types a short
line with ids only. Event text is the community's free text: every piece of it is escaped
(`handlers.discord_text`) so no markdown, link, heading, spoiler or mention in it renders,
`allowed_mentions` is empty as well so a caller named `@everyone` pings no one whatever the
text, and every text is cut to Discord's limits after escaping so a long description never
turns the message into a 400.

Bounds: both attempts and the one `429` wait between them fit in `HANDLER_DEADLINE_S`
(`handlers.delivery`): a stated wait is waited out only if it is at most `MAX_RETRY_WAIT_S`
and leaves `MIN_RETRY_CALL_S` for the second attempt.

Not idempotent on Discord's side: when Pub/Sub redelivers an event (a later handler failed,
or the answer was lost), the channel gets the message again.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

from handlers.delivery import (
    HANDLER_DEADLINE_S,
    Deadline,
    DeliveryFailed,
    Reply,
    post,
    require_success,
)
from handlers.discord_text import cut, escape_markdown, units
from handlers.log import event_ids
from handlers.registry import register
from sonoran_receiver import logs
from sonoran_receiver.config import Settings
from sonoran_receiver.publishing.message import CanonicalEvent

# Discord's documented limits (developer docs, "Embed Limits" and "Execute Webhook").
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
FIELD_COUNT_LIMIT = 25
EMBED_TOTAL_LIMIT = 6000
CONTENT_LIMIT = 2000

# A longer rate limit is not waited out: the request (inline) or the delivery (worker) would
# be held for it; failing lets Pub/Sub redeliver later with its own backoff.
MAX_RETRY_WAIT_S = 5.0
# Not worth waiting when less than this would be left for the second attempt.
MIN_RETRY_CALL_S = 1.0
_UNSTATED_RETRY_WAIT_S = 1.0

_RED = 0xE74C3C
_ORANGE = 0xE67E22
_YELLOW = 0xF1C40F
_GREEN = 0x2ECC71
_BLUE = 0x3498DB


@register("discord", requires=("DISCORD_WEBHOOK_URL",))
def send_to_discord(event: CanonicalEvent, settings: Settings) -> None:
    url = settings.discord_webhook_url
    if url is None:
        raise DeliveryFailed("discord", "DISCORD_WEBHOOK_URL is not set")
    deliver(url, event, Deadline(HANDLER_DEADLINE_S))


def deliver(url: str, event: CanonicalEvent, deadline: Deadline) -> None:
    """Post the event's message; on `429`, wait once and post again, all within `deadline`."""
    body = json.dumps(discord_message(event), separators=(",", ":")).encode("ascii")
    reply = post(url, body, {}, handler="discord", deadline=deadline)
    if reply.status == 429:
        wait_s = _retry_after_s(reply)
        # The wait and the second attempt share the handler's deadline with the first.
        if wait_s > min(MAX_RETRY_WAIT_S, deadline.remaining() - MIN_RETRY_CALL_S):
            raise DeliveryFailed(
                "discord", f"HTTP 429, rate limited for {wait_s:.1f} s", http_status=429
            )
        logs.warning(
            "discord rate limited, retrying once",
            wait_s=wait_s,
            type=event.type,
            event_id=event.event_id,
        )
        time.sleep(wait_s)
        reply = post(url, body, {}, handler="discord", deadline=deadline)
    require_success(reply, handler="discord")


def discord_message(event: CanonicalEvent) -> dict[str, Any]:
    """The webhook body: an embed for the types people watch, a short line for the rest."""
    # `parse: []` turns off every mention Discord would otherwise read from the text.
    message: dict[str, Any] = {"allowed_mentions": {"parse": []}}
    build = _EMBEDS.get(event.type)
    if build is None:
        message["content"] = cut(_short_line(event), CONTENT_LIMIT)
    else:
        data = event.data if isinstance(event.data, dict) else {}
        # Not escaped: Discord shows footers as plain text, so a backslash would show
        # (github.com/Pycord-Development/pycord/issues/96); `?server=` allows `A-Za-z0-9_.-`.
        footer = "Sonoran CAD" + (f" · server {event.server}" if event.server else "")
        message["embeds"] = [build(data).render(footer=footer, timestamp=event.received_at)]
    return message


@dataclass
class _Embed:
    title: str
    color: int
    description: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, value: Any) -> None:
        """Add a field when there is something to show (Discord refuses empty values)."""
        text = _shown(value)
        if text:
            self.fields.append((escape_markdown(name), text))

    def render(self, *, footer: str, timestamp: str) -> dict[str, Any]:
        """The embed object, every text within its own limit and all within 6000."""
        title = cut(self.title, TITLE_LIMIT)
        footer = cut(footer, FOOTER_LIMIT)
        description = cut(self.description, DESCRIPTION_LIMIT)
        fields = [
            (cut(name, FIELD_NAME_LIMIT), cut(value, FIELD_VALUE_LIMIT))
            for name, value in self.fields[:FIELD_COUNT_LIMIT]
        ]
        over = units(title, footer, description, *(n + v for n, v in fields)) - EMBED_TOTAL_LIMIT
        # The description is the longest free text, so it gives way first; then field values,
        # from the last. Titles, names and our footer are short, so this always fits.
        if over > 0:
            kept = cut(description, max(units(description) - over, 0))
            over -= units(description) - units(kept)
            description = kept
        for index in reversed(range(len(fields))):
            if over <= 0:
                break
            name, value = fields[index]
            kept = cut(value, max(units(value) - over, 1))
            over -= units(value) - units(kept)
            fields[index] = (name, kept)
        embed: dict[str, Any] = {
            "title": title,
            "color": self.color,
            "fields": [{"name": n, "value": v, "inline": True} for n, v in fields],
            "footer": {"text": footer},
            "timestamp": timestamp,
        }
        if description:
            embed["description"] = description
        return embed


def _call_911(data: dict[str, Any]) -> _Embed:
    """The call sits in `data.call`, its metaData inside it (canonical).

    docs/reference/push-events.md "EVENT_911".
    """
    call = _object(data.get("call"))
    emergency = call.get("isEmergency")
    if emergency is True:
        embed = _Embed("Emergency 911 call", _RED)
    elif emergency is False:
        embed = _Embed("Civil 911 call", _YELLOW)
    else:
        embed = _Embed("911 call", _ORANGE)
    embed.description = _shown(call.get("description"))
    embed.add("Caller", call.get("caller"))
    embed.add("Location", call.get("location"))
    embed.add("Postal", _object(call.get("metaData")).get("postal"))
    embed.add("Call ID", call.get("callId"))
    return embed


def _unit_panic(data: dict[str, Any]) -> _Embed:
    """`identIds` (canonical list) and `isPanic` (absent before CAD 3.21).

    docs/reference/push-events.md "EVENT_UNIT_PANIC".
    """
    panic = data.get("isPanic")
    if panic is True:
        embed, state = _Embed("Panic button pressed", _RED), "ON"
    elif panic is False:
        embed, state = _Embed("Panic cleared", _GREEN), "off"
    else:
        embed, state = _Embed("Panic button", _ORANGE), "not stated"
    embed.add("Units", data.get("identIds"))
    embed.add("Panic", state)
    return embed


def _dispatch_new(data: dict[str, Any]) -> _Embed:
    """The call object sits in `data.dispatch`.

    docs/reference/push-events.md "EVENT_DISPATCH_NEW".
    """
    call = _object(data.get("dispatch"))
    title = _shown(call.get("title"))
    embed = _Embed(f"New call: {title}" if title else "New dispatch call", _BLUE)
    embed.description = _shown(call.get("description"))
    embed.add("Code", call.get("code"))
    embed.add("Address", " ".join(filter(None, (_text(call.get(k)) for k in ("block", "address")))))
    embed.add("Postal", call.get("postal"))
    embed.add("Priority", call.get("priority"))
    embed.add("Units", _text(call.get("idents")) or "none attached")
    embed.add("Call ID", call.get("callId"))
    return embed


_EMBEDS = {
    "EVENT_911": _call_911,
    "EVENT_UNIT_PANIC": _unit_panic,
    "EVENT_DISPATCH_NEW": _dispatch_new,
}


def _short_line(event: CanonicalEvent) -> str:
    """Type, server and numeric ids: no free text for types without an embed.

    Even these are escaped: an id's name is a key of the event's data as sent, and a type
    name's `_` would start italics.
    """
    line = f"Sonoran CAD {_shown(event.type)}"
    if event.server:
        line += f" (server {_shown(event.server)})"
    ids = event_ids(event.data)
    if ids:
        line += ": " + "; ".join(f"{_shown(name)} {_shown(value)}" for name, value in ids.items())
    return line


def _retry_after_s(reply: Reply) -> float:
    """Discord states the wait in the `Retry-After` header and as `retry_after` in the body."""
    stated: Any = reply.headers.get("retry-after")
    if stated is None:
        try:
            stated = json.loads(reply.body).get("retry_after")
        except (ValueError, AttributeError):
            # Not JSON, not an object, or cut at MAX_ANSWER_BYTES: the default wait.
            stated = None
    try:
        seconds = float(stated)
    except (TypeError, ValueError):
        return _UNSTATED_RETRY_WAIT_S
    return seconds if math.isfinite(seconds) and seconds >= 0 else _UNSTATED_RETRY_WAIT_S


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _shown(value: Any) -> str:
    """Event text as it goes into the message: `_text`, escaped."""
    return escape_markdown(_text(value))


def _text(value: Any) -> str:
    """What a reader sees: strings stripped, numbers as written, lists comma-separated.

    Booleans and objects are not shown: the embed builders say what a flag means.
    """
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return ", ".join(filter(None, (_text(item) for item in value)))
    return ""
