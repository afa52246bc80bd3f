"""`make run`: the receiver on 127.0.0.1, saying "listening on ..." only once it listens.

    python -m sonoran_receiver.tools.run_local [--port 8080]

1. settings: the shell's variables, then `.env`, then `.env.example`
   (`sonoran_receiver.tools.env_file`: quotes, comments and `export ` read as every dotenv
   reader reads them, a line it cannot read refused with its line number);
2. the port: taken, it says so with the way out (`PORT=18080 make run`) and starts nothing;
3. functions-framework starts; its own checks of the settings print one `configuration
   error` line and end it;
4. once the port accepts a connection, and not before, `listening on
   http://127.0.0.1:PORT/sonorancad/event`. Ctrl+C stops it.

Bound to 127.0.0.1 only: the dev key of `.env.example` is public.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from sonoran_receiver.tools.env_file import EnvFileError, environment

HOST: Final = "127.0.0.1"
ROOT: Final = Path(__file__).resolve().parents[2]
ENV_FILES: Final = (ROOT / ".env", ROOT / ".env.example")
# A cold start imports the Pub/Sub client library: seconds, not minutes.
START_TIMEOUT_S: Final = 60.0
POLL_S: Final = 0.1


def port_taken(port: int) -> bool:
    """Whether something listens on the port (gunicorn binds with SO_REUSEADDR, so a port
    left in TIME_WAIT by the last run is free to it, and to this check)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(POLL_S)
        return probe.connect_ex((HOST, port)) == 0


def taken_hint(port: int) -> str:
    other = 18080 if port != 18080 else 28080
    return (
        f"port {port} on {HOST} is taken (another `make run`?): stop it, or pick another "
        f"port: PORT={other} make run"
    )


def serve(port: int, env: Mapping[str, str]) -> int:
    """Run functions-framework; say it listens once it does; its exit status."""
    command = [
        sys.executable,
        "-m",
        "functions_framework",
        "--target",
        "sonorancad_event",
        "--host",
        HOST,
        "--port",
        str(port),
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=dict(env))  # noqa: S603 - fixed command
    # Stopped by a signal (a terminal closed, a test's terminate): the server goes too.
    signal.signal(signal.SIGTERM, lambda _number, _frame: server.terminate())
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while server.poll() is None and time.monotonic() < deadline:
            if accepts(port):
                path = env.get("SONORAN_EVENT_PATH") or "/sonorancad/event"
                print(f"listening on http://{HOST}:{port}{path}", flush=True)
                break
            time.sleep(POLL_S)
        return server.wait()
    except KeyboardInterrupt:
        # Ctrl+C reached both processes; the server stops on its own SIGINT.
        server.send_signal(signal.SIGINT)
        return server.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make run", description="The receiver on 127.0.0.1 with the settings of .env."
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    parser.add_argument(
        "--env-file",
        type=Path,
        action="append",
        help="read this file instead of .env and .env.example (repeatable; the first wins)",
    )
    args = parser.parse_args(argv)
    try:
        env = environment(args.env_file or ENV_FILES, os.environ)
    except EnvFileError as problem:
        print(f"make run: {problem}", file=sys.stderr)
        return 2
    if port_taken(args.port):
        print(f"make run: {taken_hint(args.port)}", file=sys.stderr)
        return 2
    status = serve(args.port, env)
    if status != 0 and port_taken(args.port):
        # Taken between the check and the server's own bind.
        print(f"make run: {taken_hint(args.port)}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
