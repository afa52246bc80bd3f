"""functions-framework as a real subprocess (gunicorn), on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.app import EVENT_PATH, RECEIVER_VARIABLES, ROOT

FUNCTIONS_FRAMEWORK = Path(sys.executable).with_name("functions-framework")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class RunningServer:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def event_url(self) -> str:
        return self.base_url + EVENT_PATH

    def output(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_server(
    env: Mapping[str, str],
    log_path: Path,
    *,
    target: str = "sonorancad_event",
    signature_type: str = "http",
    port: int | None = None,
    ready_timeout_s: float = 30.0,
) -> RunningServer:
    """Start `functions-framework --target ...` and wait until it answers on its port."""
    port = port or free_port()
    child_env = {
        name: value for name, value in os.environ.items() if name not in RECEIVER_VARIABLES
    }
    child_env.update(env)
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        [
            str(FUNCTIONS_FRAMEWORK),
            "--target",
            target,
            "--signature-type",
            signature_type,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=child_env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = RunningServer(process=process, port=port, log_path=log_path)
    deadline = time.monotonic() + ready_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.output()}")
        try:
            requests.get(server.base_url + "/", timeout=1)
            return server
        except requests.ConnectionError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"server did not answer within {ready_timeout_s} s:\n{server.output()}")
