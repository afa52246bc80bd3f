"""The Handlers guide (`docs/handlers.md`) works as written: its settings, commands and code."""

from __future__ import annotations

import shlex
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from handlers import registry
from handlers.forward import forward_event
from sonoran_receiver.config import WORKER_TARGET, load_settings
from sonoran_receiver.publishing.message import CanonicalEvent
from tests.handlers.test_forward import SECRET
from tests.support.app import ROOT, build_app
from tests.support.stand_in import StandIn

GUIDE = (ROOT / "docs" / "handlers.md").read_text(encoding="utf-8")


def section(heading: str) -> str:
    return GUIDE.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def code_blocks(text: str, language: str) -> list[str]:
    """The code of every fenced block in `language`, indentation removed."""
    blocks = text.split("```")[1::2]
    found = []
    for block in blocks:
        first, _, code = block.partition("\n")
        if first.strip() == language:
            found.append(textwrap.dedent(code))
    return found


@pytest.fixture
def discord() -> Iterator[StandIn]:
    with StandIn() as stand_in:
        yield stand_in


def test_discord_steps_bring_a_panic_and_a_911_call_to_the_channel(discord: StandIn) -> None:
    steps = section("Send 911 calls and panics to a Discord channel")
    env_block, curl_block = code_blocks(steps, "sh")
    env = dict(line.split("=", 1) for line in env_block.splitlines() if line.strip())
    env["DISCORD_WEBHOOK_URL"] = discord.url
    env["SONORAN_API_KEYS"] = "dev-key-change-me"  # `make run` reads it from .env.example
    client = build_app(env).test_client()
    words = shlex.split(curl_block.replace("\\\n", " "))
    bodies = [words[index + 1] for index, word in enumerate(words) if word == "-d"]
    paths = [word.split(":8080", 1)[1] for word in words if word.startswith("http://")]
    for path, body in zip(paths, bodies, strict=True):
        response = client.post(path, data=body, content_type="application/json")
        assert response.status_code == 200
    titles = [request.json()["embeds"][0]["title"] for request in discord.received]
    assert titles == ["Panic button pressed", "Emergency 911 call"]


def test_forward_verification_example_accepts_ours_and_refuses_a_forgery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    [example] = code_blocks(section("Verify forwarded events on your server"), "python")
    monkeypatch.setenv("FORWARD_SECRET", SECRET)
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(example, "docs/handlers.md", "exec"), namespace)
    client = namespace["app"].test_client()
    event = CanonicalEvent.create(
        "EVENT_UNIT_PANIC", {"identIds": [57], "isPanic": True}, server=None
    )
    with StandIn() as target:
        settings = load_settings(
            {"SONORAN_HANDLERS": "*=forward", "FORWARD_URL": target.url, "FORWARD_SECRET": SECRET},
            WORKER_TARGET,
        )
        forward_event(event, settings)
        [sent] = target.received
    headers = dict(sent.headers)
    assert client.post("/sonoran", data=sent.body, headers=headers).status_code == 204
    forged = sent.body.replace(b"true", b"false")
    assert client.post("/sonoran", data=forged, headers=headers).status_code == 401


def test_own_handler_example_registers_for_its_types(monkeypatch: pytest.MonkeyPatch) -> None:
    [example] = code_blocks(section("Write your own handler"), "python")
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry.registered()))
    exec(compile(example, "docs/handlers.md", "exec"), {"__name__": "handlers.my_alerts"})
    handler = registry.registered()["tone_alert"]
    assert handler.types == frozenset({"EVENT_TONE"})
    plan = registry.build_plan(
        load_settings({"SONORAN_HANDLERS": "*=log+tone_alert"}, WORKER_TARGET)
    )
    assert [each.name for each in plan.for_type("EVENT_TONE")] == ["log", "tone_alert"]
    assert [each.name for each in plan.for_type("EVENT_911")] == ["log"]
