"""A handler that fails says why in its log line, and every call says who is calling.

The runbooks say "a deleted webhook answers 404": the `handler failed` line carries the
target's HTTP status as `http_status`, or what kept it from answering as `reason`
(`timeout`, `connection refused`), never the URL. Every outgoing call, to Discord and to a
forward target, has `User-Agent: DiscordBot (<project url>, <version>)`, as Discord asks.
The targets are real local HTTP servers (tests/support/stand_in.py, unruly_target.py).
"""

from __future__ import annotations

import json
import re
import socket
import tomllib

import pytest

from handlers import build_plan
from handlers.delivery import USER_AGENT
from sonoran_receiver import PROJECT_URL, VERSION
from sonoran_receiver.config import WORKER_TARGET, Settings, load_settings
from sonoran_receiver.publishing.message import CanonicalEvent
from tests.support.app import ROOT
from tests.support.stand_in import WEBHOOK_PATH, Answer, StandIn
from tests.support.unruly_target import UnrulyTarget, drip_headers

EVENT = CanonicalEvent.create("EVENT_UNIT_PANIC", {"identIds": [57], "isPanic": True}, server="1")
SECRET = "whsec_ZmFpbHVyZS1saW5lcy10ZXN0LXNlY3JldC0zMi1ieXRlcw=="


def settings(discord_url: str, forward_url: str | None = None) -> Settings:
    environ = {"SONORAN_HANDLERS": "*=discord", "DISCORD_WEBHOOK_URL": discord_url}
    if forward_url is not None:
        environ |= {
            "SONORAN_HANDLERS": "*=discord+forward",
            "FORWARD_URL": forward_url,
            "FORWARD_SECRET": SECRET,
        }
    return load_settings(environ, WORKER_TARGET)


def failure_lines(output: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if line["message"] == "handler failed"]


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens there once the probe is closed.
    return f"http://127.0.0.1:{port}{WEBHOOK_PATH}"


def test_a_deleted_webhook_logs_its_http_status_as_a_field(
    capsys: pytest.CaptureFixture[str],
) -> None:
    gone = Answer.json(404, {"message": "Unknown Webhook", "code": 10015})
    with StandIn(gone) as discord:
        assert build_plan(settings(discord.url)).run(EVENT) == ["discord"]
    [line] = failure_lines(capsys.readouterr().out)
    assert line["http_status"] == 404
    assert line["reason"] == "HTTP 404"
    assert line["handler"] == "discord"
    assert line["event_id"] == EVENT.event_id


def test_a_target_that_refuses_the_connection_logs_connection_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = closed_port_url()
    assert build_plan(settings(url)).run(EVENT) == ["discord"]
    output = capsys.readouterr().out
    [line] = failure_lines(output)
    assert line["reason"] == "connection refused"
    assert "http_status" not in line
    assert WEBHOOK_PATH not in output
    assert url not in output


def test_a_target_that_never_answers_in_time_logs_timeout(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The handler's whole deadline, shortened: a target dripping its answer head never ends.
    monkeypatch.setattr("handlers.discord.HANDLER_DEADLINE_S", 1.0)
    with UnrulyTarget(drip_headers(0.2)) as target:
        assert build_plan(settings(target.url)).run(EVENT) == ["discord"]
    [line] = failure_lines(capsys.readouterr().out)
    assert line["reason"] == "timeout"
    assert "http_status" not in line


def test_every_outgoing_call_says_discordbot_with_the_project_and_version() -> None:
    with StandIn() as discord, StandIn() as forward:
        assert build_plan(settings(discord.url, forward.url)).run(EVENT) == []
        [to_discord] = discord.received
        [to_forward] = forward.received
    assert to_discord.headers["user-agent"] == USER_AGENT
    assert to_forward.headers["user-agent"] == USER_AGENT
    assert re.fullmatch(r"DiscordBot \(\S+, \d+\.\d+\.\d+\)", USER_AGENT)
    assert f"DiscordBot ({PROJECT_URL}, {VERSION})" == USER_AGENT


def test_the_user_agents_version_is_the_projects() -> None:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        assert tomllib.load(handle)["project"]["version"] == VERSION
