"""The receiver under functions-framework's real server (gunicorn), over real HTTP.

Chunked bodies, gunicorn's parsing and the start-up path only show up here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import requests

from tests.support.app import ROOT, TEST_KEY, event_env
from tests.support.bodies import envelope
from tests.support.hostile import pieces
from tests.support.server import FUNCTIONS_FRAMEWORK, RunningServer


def start_refused(env: dict[str, str]) -> str:
    """Start functions-framework with only `env` and a PATH; it must exit. Its stderr."""
    result = subprocess.run(
        [str(FUNCTIONS_FRAMEWORK), "--target", "sonorancad_event", "--port", "0"],
        cwd=ROOT,
        env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    return result.stderr


def test_served_by_functions_framework_accepts_an_event_into_the_local_sink(
    start_receiver: Callable[..., RunningServer], tmp_path: Path
) -> None:
    sink = tmp_path / "sink.jsonl"
    server = start_receiver(event_env(LOCAL_SINK_FILE=str(sink)))
    response = requests.post(server.event_url + "?server=7", data=envelope(), timeout=10)
    assert response.status_code == 200
    message = json.loads(sink.read_text())
    assert message["attributes"]["event_id"] == response.json()["id"]
    assert message["data"]["server"] == "7"


def test_chunked_body_is_read_whole(
    start_receiver: Callable[..., RunningServer], tmp_path: Path
) -> None:
    sink = tmp_path / "sink.jsonl"
    server = start_receiver(event_env(LOCAL_SINK_FILE=str(sink)))
    response = requests.post(server.event_url, data=pieces(envelope(), 7), timeout=10)
    assert response.status_code == 200
    assert sink.read_text().count("\n") == 1


def test_chunked_body_over_the_limit_is_413_without_content_length(
    start_receiver: Callable[..., RunningServer],
) -> None:
    server = start_receiver(event_env(SONORAN_MAX_BODY_BYTES="4096"))
    body = envelope(data={"pad": "x" * 100_000})
    response = requests.post(server.event_url, data=pieces(body, 1000), timeout=10)
    assert response.status_code == 413
    # The server is still serving afterwards.
    assert requests.post(server.event_url, data=envelope(), timeout=10).status_code == 200


def test_content_length_over_the_limit_is_413(
    start_receiver: Callable[..., RunningServer],
) -> None:
    server = start_receiver(event_env(SONORAN_MAX_BODY_BYTES="4096"))
    body = envelope(data={"pad": "x" * 10_000})
    response = requests.post(server.event_url, data=body, timeout=10)
    assert response.status_code == 413


def test_probe_and_status_codes_over_real_http(
    start_receiver: Callable[..., RunningServer],
) -> None:
    server = start_receiver()
    assert requests.get(server.event_url, timeout=10).text.startswith("ok")
    assert requests.head(server.event_url, timeout=10).status_code == 200
    assert requests.put(server.event_url, timeout=10).headers["Allow"] == "GET, HEAD, POST"
    assert requests.get(server.base_url + "/nope", timeout=10).status_code == 404
    assert requests.post(server.event_url, data=b"{", timeout=10).status_code == 400
    wrong = requests.post(server.event_url, data=envelope(key="nope"), timeout=10)
    assert (wrong.status_code, wrong.content) == (401, b'{"error": "unauthorized"}')
    assert requests.post(server.event_url, data=envelope(key=TEST_KEY), timeout=10).ok


def test_server_without_a_key_refuses_to_start_with_one_line(tmp_path: Path) -> None:
    stderr = start_refused({})
    lines = stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("configuration error: SONORAN_API_KEYS:")
    assert "Traceback" not in stderr


def test_bad_body_timeout_refuses_to_start_with_one_line() -> None:
    lines = start_refused(event_env(SONORAN_BODY_TIMEOUT_S="0")).strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("configuration error: SONORAN_BODY_TIMEOUT_S:")
