"""`GET_LOGS`'s `logKey` uploads a server's logs to Sonoran support: it must go nowhere, not
in the published message, the answer or a log line, whatever the route (docs/reference/contract.md
"The published message", "Logs"; docs/reference/push-events.md "GET_LOGS")."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flask
import pytest

from tests.support.app import EVENT_PATH, TEST_KEY

LOG_KEY = "LogKey-c0ffee-4d1e-support-upload"


def get_logs(event_type: str, data: Any) -> bytes:
    body: dict[str, Any] = {"key": TEST_KEY, "type": event_type, "logKey": LOG_KEY}
    if data is not None:
        body["data"] = data
    return json.dumps(body).encode()


@pytest.mark.parametrize("route", ["drop", "publish", "inline+publish", "inline"])
@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        ("GET_LOGS", None),
        (" get_logs ", {"logKey": LOG_KEY, "note": "support"}),
        ("GET_LOGS", [{"nested": {"logKey": LOG_KEY}}]),
    ],
    ids=["top-level only", "also in data, lower-case type", "nested in a data array"],
)
def test_log_key_goes_nowhere(
    make_app: Callable[..., flask.Flask],
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    route: str,
    event_type: str,
    data: Any,
) -> None:
    sink = tmp_path / "sink.jsonl"
    app = make_app(LOCAL_SINK_FILE=str(sink), SONORAN_ROUTES=f"*=publish,GET_LOGS={route}")
    response = app.test_client().post(EVENT_PATH, data=get_logs(event_type, data))
    assert response.status_code == 200
    assert response.get_json()["type"] == "GET_LOGS"
    published = sink.read_text(encoding="utf-8") if sink.exists() else ""
    assert bool(published) == ("publish" in route)
    output = capfd.readouterr()
    everything = response.get_data(as_text=True) + published + output.out + output.err
    assert LOG_KEY not in everything
    assert "logKey" not in everything
