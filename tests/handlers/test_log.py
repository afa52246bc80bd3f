"""The `log` handler: one structured line per event, ids and event_id, no free text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers.log import log_event
from sonoran_receiver.config import WORKER_TARGET, load_settings
from sonoran_receiver.publishing.message import CanonicalEvent
from tests.handlers.test_discord import CALL_911, DISPATCH_NEW


def logged(event_type: str, data: Any, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    event = CanonicalEvent.create(event_type, data, server="1")
    log_event(event, load_settings({}, WORKER_TARGET))
    [line] = capsys.readouterr().out.splitlines()
    record: dict[str, Any] = json.loads(line)
    assert record["event_id"] == event.event_id
    assert record["type"] == event_type
    return record


def test_911_line_has_the_call_id_and_no_caller_text(capsys: pytest.CaptureFixture[str]) -> None:
    record = logged("EVENT_911", CALL_911, capsys)
    assert record["ids"] == {"call.callId": 318}
    line = json.dumps(record)
    for text in ("Sam Poe", "Paleto", "Vehicle fire", "license:9f8e7d6c", "1016"):
        assert text not in line


def test_dispatch_line_has_call_origin_and_unit_ids(capsys: pytest.CaptureFixture[str]) -> None:
    record = logged("EVENT_DISPATCH_NEW", DISPATCH_NEW, capsys)
    assert record["ids"] == {
        "eventOriginIdent": 12,
        "dispatch.callId": 4021,
        "dispatch.idents": [57, 61],
    }
    assert "Suspicious" not in json.dumps(record)


def test_panic_line_has_the_unit_ids(capsys: pytest.CaptureFixture[str]) -> None:
    record = logged("EVENT_UNIT_PANIC", {"identIds": [57], "isPanic": True}, capsys)
    assert record == {
        "severity": "INFO",
        "message": "sonorancad event",
        "type": "EVENT_UNIT_PANIC",
        "event_id": record["event_id"],
        "server": "1",
        "received_at": record["received_at"],
        "ids": {"identIds": [57]},
    }


def test_field_names_that_are_not_identifiers_are_never_logged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sentence = "Caller John Smith says shots fired callId"
    event = CanonicalEvent.create(
        "EVENT_SOMETHING_NEW",
        {sentence: 5, f"{sentence} outer": {"callId": 7}, "call": {sentence: 9, "callId": 3}},
        server=None,
    )
    log_event(event, load_settings({}, WORKER_TARGET))
    output = capsys.readouterr().out
    assert "Caller John Smith" not in output
    assert json.loads(output)["ids"] == {"call.callId": 3}
