"""The console's reading of the stack's outputs, from lines and messages the real code makes.

The worker's lines come from the runtime's own worker (a stand-in Discord refusing), the
receiver's from the real app: the console reads what the processes write, so these tests
fail when either side's lines change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import flask
import pytest

from local_stack.console.feed import Feed
from sonoran_receiver.config import WORKER_TARGET
from sonoran_receiver.runtime import start
from sonoran_receiver.worker.runner import HandlersFailed
from tests.support.app import TEST_KEY
from tests.support.bodies import envelope
from tests.support.stand_in import Answer, StandIn
from tests.worker.test_worker import EVENT, push_body


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    found = []
    for line in capsys.readouterr().out.splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def test_each_handler_shows_ok_or_failed_with_why_after_each_delivery(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with StandIn(Answer(500), Answer(500)) as discord:
        runtime = start(
            {
                "FUNCTION_TARGET": WORKER_TARGET,
                "SONORAN_HANDLERS": "*=log+discord",
                "DISCORD_WEBHOOK_URL": discord.url,
            }
        )
        capsys.readouterr()
        for _ in range(2):
            with pytest.raises(HandlersFailed):
                runtime.worker.handle(push_body())
    feed = Feed([TEST_KEY])
    for fields in lines(capsys):
        feed.worker_line(fields)
    feed.published(EVENT.message_bytes(), EVENT.attributes())
    [view] = feed.snapshot()["events"]
    assert view["event_id"] == EVENT.event_id
    assert view["outcome"] == "accepted"
    assert view["data"] == EVENT.data
    assert view["deliveries"] == 2
    assert view["handlers"]["log"] == {"ok": True, "error": None, "where": "worker"}
    assert view["handlers"]["discord"]["ok"] is False
    assert view["handlers"]["discord"]["error"]  # the exception's class, never its text


def test_refused_requests_are_counted_and_nothing_of_them_is_kept(
    make_app: Callable[..., flask.Flask], capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_app().test_client()
    capsys.readouterr()
    for body in (envelope(key="wrong-key"), envelope(key="wrong-key"), b"not json"):
        client.post("/sonorancad/event", data=body)
    feed = Feed([TEST_KEY])
    for fields in lines(capsys):
        feed.receiver_line(fields)
    snapshot = feed.snapshot()
    assert snapshot["events"] == []
    assert snapshot["refused"] == {"401 unauthorized": 2, "400 bad_request": 1}


def test_a_quarantined_event_keeps_its_reason_problems_and_data_as_sent(
    make_app: Callable[..., flask.Flask], capsys: pytest.CaptureFixture[str]
) -> None:
    # The receiver writes refused events to the local sink with no topic: the same message
    # a quarantine topic gets, on stdout beside the log lines.
    client = make_app().test_client()
    capsys.readouterr()
    answer = client.post("/sonorancad/event", data=envelope(data={"call": {"caller": "x"}}))
    assert answer.status_code == 422
    feed = Feed([TEST_KEY])
    for fields in lines(capsys):
        if "attributes" in fields:
            feed.quarantined(json.dumps(fields["data"]).encode(), fields["attributes"])
        else:
            feed.receiver_line(fields)
    [view] = feed.snapshot()["events"]
    assert view["outcome"] == "quarantined"
    assert view["reason"] == "invalid_event"
    assert view["status"] == 422
    assert view["sent"] == {"call": {"caller": "x"}}
    assert {"loc": "data.call.callId", "msg": "Field required"} in view["problems"]


def test_every_key_is_cut_from_whatever_the_console_shows() -> None:
    feed = Feed([TEST_KEY, "second-key-abcdef"])
    data = {"type": "UNKNOWN", "event_id": "e1", "data": {TEST_KEY.upper(): "second-KEY-abcdef"}}
    feed.quarantined(json.dumps(data).encode(), {"quarantine": "invalid_event"})
    shown = json.dumps(feed.snapshot()).lower()
    assert TEST_KEY not in shown
    assert "second-key-abcdef" not in shown
    assert "[key redacted]" in shown
