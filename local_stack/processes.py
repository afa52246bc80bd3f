"""Child processes of the stack: each in its own process group, its lines prefixed.

Each child gets a session of its own, so a terminal's Ctrl-C reaches the supervisor only
and the supervisor decides the order of the stop; stopping a child signals its whole group
(gcloud's Java server is a grandchild). Every line a child writes goes to the terminal as
`name | line` and, unprefixed, to `<state dir>/<name>.log`, which the console and
`verify --local` read.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final, TextIO

STOP_GRACE_S: Final = 10.0
NAME_WIDTH: Final = 8

_print_lock = threading.Lock()


def say(name: str, text: str, out: TextIO = sys.stdout) -> None:
    """One line on the terminal, prefixed with who says it."""
    with _print_lock:
        out.write(f"{name:<{NAME_WIDTH}}| {text}\n")
        out.flush()


class Child:
    """One process group, started at once; `stop()` ends the group and waits for it."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        environ: Mapping[str, str],
        log_path: Path,
        cwd: Path,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("w", encoding="utf-8")
        self.process = subprocess.Popen(  # noqa: S603 - our own fixed commands
            list(argv),
            cwd=cwd,
            env=dict(environ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        say(name, f"started, pid {self.process.pid}")
        self._pump = threading.Thread(target=self._copy_lines, name=f"{name}-lines", daemon=True)
        self._pump.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def exit_code(self) -> int | None:
        return self.process.poll()

    def _copy_lines(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            say(self.name, line)
            with contextlib.suppress(ValueError):  # closed by stop() meanwhile
                self._log.write(line + "\n")
                self._log.flush()

    def stop(self) -> None:
        """SIGTERM to the group, SIGKILL after the grace period; returns once it is gone."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while group_alive(self.pid) and time.monotonic() < deadline:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=0.1)
        if group_alive(self.pid):
            say(self.name, f"still running after {STOP_GRACE_S:.0f} s: killed")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
        self.process.wait()
        self._pump.join(timeout=STOP_GRACE_S)
        self._log.close()


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
