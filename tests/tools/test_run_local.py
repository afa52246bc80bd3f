"""`make run` says "listening on ..." only once the receiver listens, and a taken port with
the way out (`PORT=`). It reads `.env` as every dotenv reader does: a quoted key works.

The receiver runs for real (functions-framework on 127.0.0.1 and a free port), started by
`python -m sonoran_receiver.tools.run_local`, which is what `make run` runs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.support.app import ROOT

START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def make_run(port: int, *env_files: Path) -> Iterator[subprocess.Popen[str]]:
    command = [sys.executable, "-m", "sonoran_receiver.tools.run_local", "--port", str(port)]
    for path in env_files:
        command += ["--env-file", str(path)]
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SONORAN_", "PUBSUB_"))
    }
    process = subprocess.Popen(
        command, cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout:
            process.stdout.close()
        if process.stderr:
            process.stderr.close()


def first_line(process: subprocess.Popen[str]) -> str:
    """The first line of the process's output, within the start timeout."""
    lines: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(START_TIMEOUT_S)
    assert lines, "no line within the start timeout"
    return lines[0]


@pytest.mark.server
def test_listening_is_printed_once_the_port_accepts_requests(tmp_path: Path) -> None:
    port = free_port()
    env = tmp_path / ".env"
    env.write_text(f"LOCAL_SINK_FILE={tmp_path / 'sink.jsonl'}\n", encoding="utf-8")
    with make_run(port, env, ROOT / ".env.example") as process:
        line = first_line(process)
        assert line == f"listening on http://127.0.0.1:{port}/sonorancad/event\n"
        # True when printed: the very next request is answered.
        answer = requests.get(f"http://127.0.0.1:{port}/sonorancad/event", timeout=10)
        assert answer.text.startswith("ok")


@pytest.mark.server
def test_a_taken_port_is_said_with_the_port_variable_to_set(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with make_run(port, ROOT / ".env.example") as process:
            assert process.wait(timeout=START_TIMEOUT_S) == 2
            assert process.stdout is not None
            assert process.stderr is not None
            assert "listening" not in process.stdout.read()
            error = process.stderr.read()
    assert f"port {port} on 127.0.0.1 is taken" in error
    assert "PORT=18080 make run" in error


@pytest.mark.server
def test_a_quoted_key_in_env_is_the_key_without_its_quotes(tmp_path: Path) -> None:
    port = free_port()
    env = tmp_path / ".env"
    env.write_text(
        'export SONORAN_API_KEYS="my-quoted-key"  # the key, quoted as many guides write it\n'
        f"LOCAL_SINK_FILE={tmp_path / 'sink.jsonl'}\n",
        encoding="utf-8",
    )
    with make_run(port, env, ROOT / ".env.example") as process:
        assert first_line(process).startswith("listening on ")
        body = {"key": "my-quoted-key", "type": "EVENT_UNIT_PANIC", "data": {"identIds": [57]}}
        answer = requests.post(f"http://127.0.0.1:{port}/sonorancad/event", json=body, timeout=10)
        assert answer.status_code == 200


@pytest.mark.server
def test_an_env_line_it_cannot_read_stops_the_start_with_its_line_number(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text('SONORAN_API_KEYS="unclosed\n', encoding="utf-8")
    with make_run(free_port(), env) as process:
        assert process.wait(timeout=START_TIMEOUT_S) == 2
        assert process.stderr is not None
        assert "line 1 (SONORAN_API_KEYS): the double quote is not closed" in process.stderr.read()


def test_make_run_is_this_launcher_with_the_port_variable() -> None:
    shown = subprocess.run(
        ["make", "-s", "-n", "--no-print-directory", "-o", ".venv/.runtime", "run", "PORT=18081"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "-m sonoran_receiver.tools.run_local --port 18081" in shown
