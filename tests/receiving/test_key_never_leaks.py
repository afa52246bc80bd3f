"""The community API key never appears in a log line, a response or a sink line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.app import EVENT_PATH, build_app, event_env

CANARY = "Canary-Key-5f1e9c0d7b"


def bodies() -> list[bytes]:
    good = {"type": "EVENT_911", "data": {"call": {"callId": 1, "caller": "x"}}}
    return [
        json.dumps({"key": CANARY, **good}).encode(),  # right key
        json.dumps({"key": CANARY.lower(), **good}).encode(),  # right key, other case
        json.dumps({"key": CANARY + "-wrong", **good}).encode(),  # wrong key
        json.dumps({"key": CANARY[:-1], **good}).encode(),  # almost right
        json.dumps(good).encode(),  # missing key
        json.dumps({"key": [CANARY], **good}).encode(),  # malformed key
        json.dumps({"key": {"k": CANARY}, **good}).encode(),
        json.dumps({"key": CANARY, "type": 5}).encode(),  # bad type
        json.dumps({"key": CANARY, "type": "EVENT_911", "data": CANARY}).encode(),  # 422
        json.dumps({"key": CANARY, "type": "GET_LOGS", "logKey": CANARY}).encode(),
        json.dumps({"key": CANARY, "type": "NEW_THING", "data": {"x": 1}}).encode(),
        b'{"key": "' + CANARY.encode() + b'", "type": ',  # truncated JSON
        b'{"key": "' + CANARY.encode() + b'", "type": "EVENT_911", "data": {"x": NaN}}',
        json.dumps({"key": CANARY, "type": "EVENT_911", "data": [{}, {}]}).encode(),
    ]


@pytest.mark.parametrize("routes", ["*=publish", "*=inline+publish", "*=drop", "*=inline"])
def test_key_appears_in_no_log_response_or_sink_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], routes: str
) -> None:
    sink = tmp_path / "sink.jsonl"
    app = build_app(
        event_env(SONORAN_API_KEYS=CANARY, SONORAN_ROUTES=routes, LOCAL_SINK_FILE=str(sink))
    )
    client = app.test_client()
    answers: list[bytes] = []
    statuses: set[int] = set()
    for body in bodies():
        for path in (EVENT_PATH, EVENT_PATH + "?server=1", "/elsewhere"):
            response = client.post(path, data=body, content_type="application/json")
            statuses.add(response.status_code)
            answers.append(response.get_data() + str(response.headers).encode())
    output = capfd.readouterr()
    assert {200, 400, 401, 404}.issubset(statuses)
    for needle in (CANARY, CANARY.lower(), CANARY.upper()):
        assert needle.encode() not in b"".join(answers)
        assert needle not in output.out
        assert needle not in output.err
        if sink.exists():
            assert needle not in sink.read_text()
