"""`make stack`'s supervisor as a real subprocess, on free loopback ports, for tests.

- `start_stack(tmp_path, env)`: `python -m local_stack` with the test key, free ports and a
  state directory under `tmp_path`; returns once it printed its `ready` line (or raises with
  its output). `RunningStack.pids` are the processes it said it started, by name.
- `RunningStack.interrupt(signum)`: the signal a terminal's Ctrl-C (SIGINT) or a service
  manager (SIGTERM) sends, then the wait for the supervisor's exit; `.stop()` for teardown.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.app import RECEIVER_VARIABLES, ROOT, TEST_KEY
from tests.support.server import free_port

READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0
_STARTED = re.compile(r"^(\w+)\s*\| started, pid (\d+)$")


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    ports: dict[str, int]
    state_dir: Path
    lines: list[str] = field(default_factory=list)
    _reader: threading.Thread | None = None

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['console']}/"

    @property
    def event_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['receiver']}/sonorancad/event"

    @property
    def emulator_host(self) -> str:
        return f"127.0.0.1:{self.ports['emulator']}"

    @property
    def pids(self) -> dict[str, int]:
        found = {}
        for line in list(self.lines):
            match = _STARTED.match(line)
            if match:
                found[match.group(1)] = int(match.group(2))
        return found

    def output(self) -> str:
        return "\n".join(self.lines)

    def interrupt(self, signum: int = signal.SIGINT) -> int:
        self.process.send_signal(signum)
        code = self.process.wait(timeout=STOP_TIMEOUT_S)
        if self._reader is not None:
            self._reader.join(timeout=STOP_TIMEOUT_S)
        return code

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.interrupt(signal.SIGTERM)
            except subprocess.TimeoutExpired:
                # A stuck supervisor: its children have sessions of their own, so each
                # group goes too, or they would outlive the test.
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)
                for pid in self.pids.values():
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(pid, signal.SIGKILL)


def stack_ports() -> dict[str, int]:
    return {name: free_port() for name in ("receiver", "console", "emulator", "worker")}


def stack_argv(ports: Mapping[str, int], state_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "local_stack",
        f"--port={ports['receiver']}",
        f"--console-port={ports['console']}",
        f"--emulator-port={ports['emulator']}",
        f"--worker-port={ports['worker']}",
        f"--state-dir={state_dir}",
    ]


def stack_environ(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without the receiver's variables, plus the test key and `env`."""
    child = {name: value for name, value in os.environ.items() if name not in RECEIVER_VARIABLES}
    child.pop("PUBSUB_EMULATOR_HOST", None)
    return {**child, "SONORAN_API_KEYS": TEST_KEY, "PYTHONUNBUFFERED": "1", **(env or {})}


def start_stack(tmp_path: Path, env: Mapping[str, str] | None = None) -> RunningStack:
    ports = stack_ports()
    state_dir = tmp_path / "stack-state"
    process = subprocess.Popen(
        stack_argv(ports, state_dir),
        cwd=ROOT,
        env=stack_environ(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Its own group, as a terminal gives it: the test's signals reach it alone.
        start_new_session=True,
    )
    stack = RunningStack(process, ports, state_dir)
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            stack.lines.append(line.rstrip("\n"))
            if re.match(r"^stack\s*\| ready in ", line):
                ready.set()

    stack._reader = threading.Thread(target=read, daemon=True)
    stack._reader.start()
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not ready.wait(0.1):
        if process.poll() is not None or time.monotonic() > deadline:
            with contextlib.suppress(subprocess.TimeoutExpired):
                stack.stop()
            raise RuntimeError(f"the stack did not start:\n{stack.output()}")
    return stack
