"""`make stack`: the emulator, the deployment's topics and subscriptions, the worker, the
receiver and the console, in the foreground, until Ctrl-C (SIGINT) or SIGTERM stops them all.

    python -m local_stack [--port 8080] [--console-port 8090] [--emulator-port 8085]
        [--worker-port 8081] [--prefix sonorancad] [--state-dir .stack]

Every process listens on 127.0.0.1 only (the dev key is public). Exit status: 0 after a
requested stop, 1 when a process failed to start or died, 2 when a port is taken or a line
of .env cannot be read, 3 when Java or the emulator component is missing (with what to
install). The settings are `make run`'s (sonoran_receiver/tools/env_file.py reads them).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Final

from local_stack.emulator import (
    INSTALL_LINES,
    EmulatorRest,
    emulator_command,
    emulator_environ,
    emulator_problem,
)
from local_stack.processes import Child, say
from local_stack.resources import DEAD_LETTER_ATTEMPTS, StackNames, create_resources
from local_stack.state import StackState, remove_state
from sonoran_receiver.config import EVENT_TARGET, WORKER_TARGET
from sonoran_receiver.tools.env_file import EnvFileError, environment
from sonoran_receiver.tools.run_local import ENV_FILES
from sonoran_receiver.tools.verify_backends import BackendError

ROOT: Final = Path(__file__).resolve().parent.parent
HOST: Final = "127.0.0.1"
DEFAULT_PROJECT: Final = "sonorancad-local"
READY_TIMEOUT_S: Final = 90.0
EVENT_PATH_VARIABLE: Final = "SONORAN_EVENT_PATH"
STACK: Final = "stack"

EXIT_STOPPED: Final = 0
EXIT_FAILED: Final = 1
EXIT_PORT_TAKEN: Final = 2  # and a settings file that cannot be read
EXIT_MISSING: Final = 3

# Set by the deploy for the event function only (deploy/gcloud.sh EVENT_ENV).
_EVENT_ONLY: Final = ("PUBSUB_TOPIC", "PUBSUB_QUARANTINE_TOPIC")


class Stopped(Exception):
    """Ctrl-C or SIGTERM arrived while the stack was starting."""


class StartFailed(Exception):
    pass


@dataclass(frozen=True)
class Ports:
    receiver: int
    console: int
    emulator: int
    worker: int

    def named(self) -> dict[str, int]:
        return {
            "PORT": self.receiver,
            "CONSOLE_PORT": self.console,
            "EMULATOR_PORT": self.emulator,
            "WORKER_PORT": self.worker,
        }


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local_stack",
        description="The whole pipeline locally: emulator, worker, receiver and console.",
    )
    parser.add_argument("--port", type=int, default=8080, help="the receiver (PORT)")
    parser.add_argument("--console-port", type=int, default=8090, help="the console")
    parser.add_argument("--emulator-port", type=int, default=8085, help="the Pub/Sub emulator")
    parser.add_argument("--worker-port", type=int, default=8081, help="the worker")
    parser.add_argument("--prefix", default="sonorancad", help="the deploy's name prefix")
    parser.add_argument("--project", default=DEFAULT_PROJECT, help="the emulator's project")
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".stack")
    parser.add_argument(
        "--dead-letter-attempts",
        type=int,
        default=DEAD_LETTER_ATTEMPTS,
        help="the push subscription's deliveries before a dead letter, as deployed",
    )
    return parser.parse_args(argv)


def taken_ports(ports: Ports) -> list[str]:
    taken = []
    for variable, port in ports.named().items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # As the servers bind: connections of a stack just stopped (TIME_WAIT) do not
            # make the port taken, a listening process does.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((HOST, port))
            except OSError:
                taken.append(f"{variable}={port}")
    return taken


def answers_http(url: str) -> bool:
    """Any HTTP answer counts: the worker answers a GET with an error, and that is alive."""
    try:
        with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - our loopback URLs
            return True
    except urllib.error.HTTPError as error:
        error.close()
        return True
    except OSError:
        return False


class Stack:
    def __init__(self, args: argparse.Namespace, environ: Mapping[str, str]) -> None:
        self.ports = Ports(args.port, args.console_port, args.emulator_port, args.worker_port)
        self.names = StackNames(args.prefix)
        self.project: str = args.project
        self.state_dir: Path = args.state_dir.resolve()
        self.dead_letter_attempts: int = args.dead_letter_attempts
        self.environ = dict(environ)
        self.rest = EmulatorRest(f"{HOST}:{self.ports.emulator}", self.project)
        self.children: list[Child] = []
        self.stopping = threading.Event()
        self.signal_name: str | None = None

    # --- URLs -------------------------------------------------------------------------------

    def url(self, port: int, path: str = "/") -> str:
        return f"http://{HOST}:{port}{path}"

    @property
    def event_url(self) -> str:
        path = self.environ.get(EVENT_PATH_VARIABLE, "").strip() or "/sonorancad/event"
        return self.url(self.ports.receiver, path)

    # --- environments ----------------------------------------------------------------------

    def _pubsub(self) -> dict[str, str]:
        return {
            **self.environ,
            "PUBSUB_EMULATOR_HOST": self.rest.host,
            "GOOGLE_CLOUD_PROJECT": self.project,
            "PYTHONUNBUFFERED": "1",
        }

    def receiver_environ(self) -> dict[str, str]:
        return {
            **self._pubsub(),
            "PUBSUB_TOPIC": self.names.events_topic,
            "PUBSUB_QUARANTINE_TOPIC": self.names.quarantine_topic,
        }

    def worker_environ(self) -> dict[str, str]:
        environ = self._pubsub()
        for name in _EVENT_ONLY:
            environ.pop(name, None)
        return environ

    # --- start -----------------------------------------------------------------------------

    def _function(self, name: str, target: str, signature: str, port: int) -> Child:
        framework = Path(sys.executable).with_name("functions-framework")
        argv = [str(framework), "--target", target, "--signature-type", signature]
        argv += ["--host", HOST, "--port", str(port)]
        environ = self.receiver_environ() if target == EVENT_TARGET else self.worker_environ()
        return self._start(name, argv, environ)

    def _start(self, name: str, argv: Sequence[str], environ: Mapping[str, str]) -> Child:
        child = Child(name, argv, environ, self.state_dir / f"{name}.log", ROOT)
        self.children.append(child)
        return child

    def start(self) -> float:
        """Start everything and wait until each part answers; returns the seconds it took."""
        started = time.monotonic()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        remove_state(self.state_dir)
        emulator = self._start(
            "emulator",
            emulator_command(self.rest.host, self.project),
            emulator_environ(self.environ),
        )
        # The others start while the Java server boots; nothing reaches them before the
        # topics exist, since the URLs are printed only then.
        worker = self._function("worker", WORKER_TARGET, "cloudevent", self.ports.worker)
        receiver = self._function("receiver", EVENT_TARGET, "http", self.ports.receiver)
        console = self._start("console", self._console_argv(worker), self.receiver_environ())
        self._wait(emulator, self.rest.answers)
        try:
            create_resources(
                self.rest, self.names, self.url(self.ports.worker), self.dead_letter_attempts
            )
        except BackendError as error:
            raise StartFailed(f"could not create the topics and subscriptions: {error}") from None
        self._wait(worker, lambda: answers_http(self.url(self.ports.worker)))
        self._wait(receiver, lambda: answers_http(self.event_url))
        self._wait(console, lambda: answers_http(self.url(self.ports.console, "/health")))
        self.state().write(self.state_dir)
        return time.monotonic() - started

    def _console_argv(self, worker: Child) -> list[str]:
        return [
            sys.executable,
            "-m",
            "local_stack.console",
            f"--port={self.ports.console}",
            f"--event-url={self.event_url}",
            f"--emulator-host={self.rest.host}",
            f"--project={self.project}",
            f"--prefix={self.names.prefix}",
            f"--receiver-log={self.state_dir / 'receiver.log'}",
            f"--worker-log={worker.log_path}",
        ]

    def _wait(self, child: Child, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not ready():
            if self.stopping.is_set():
                raise Stopped()
            code = child.exit_code()
            if code is not None:
                raise StartFailed(f"{child.name} exited with {code} at start (its lines above)")
            if time.monotonic() > deadline:
                raise StartFailed(f"{child.name} did not answer within {READY_TIMEOUT_S:.0f} s")
            time.sleep(0.05)

    def state(self) -> StackState:
        return StackState(
            event_url=self.event_url,
            console_url=self.url(self.ports.console),
            emulator_host=self.rest.host,
            project=self.project,
            prefix=self.names.prefix,
            worker_log=str(self.state_dir / "worker.log"),
        )

    def banner(self, seconds: float) -> list[str]:
        return [
            f"ready in {seconds:.1f} s",
            f"console:  {self.url(self.ports.console)}",
            f"receiver: {self.event_url}   (the CAD's URL; the dev key of .env works)",
            f"worker:   {self.url(self.ports.worker)}   "
            f"(fed by {self.names.worker_push_subscription})",
            f"emulator: {self.rest.host}   (project {self.project}; "
            f"PUBSUB_EMULATOR_HOST={self.rest.host})",
            "prove:    make verify-local",
            "replay:   make replay   (make replay FROM=dead-letter for dead letters)",
            "stop:     Ctrl-C",
        ]

    # --- run and stop ----------------------------------------------------------------------

    def watch(self) -> int:
        """Until a stop is asked for (EXIT_STOPPED) or a process dies (EXIT_FAILED)."""
        while not self.stopping.wait(0.2):
            for child in self.children:
                code = child.exit_code()
                if code is not None:
                    say(STACK, f"{child.name} exited with {code}: stopping the stack")
                    return EXIT_FAILED
        return EXIT_STOPPED

    def stop(self) -> None:
        if self.signal_name:
            say(STACK, f"{self.signal_name}: stopping every process")
        remove_state(self.state_dir)
        # The console first (it reads the others), the emulator last (the others use it).
        for child in reversed(self.children):
            child.stop()
        say(STACK, "stopped: nothing left running")


def _missing(problem: str) -> int:
    lines = [
        f"make stack needs the Pub/Sub emulator: {problem}.",
        "Install Java and gcloud's Pub/Sub emulator component:",
        *(f"  {line}" for line in INSTALL_LINES),
        "`make run` needs none of this: the receiver alone, with the local sink.",
    ]
    print("\n".join(lines), file=sys.stderr)
    return EXIT_MISSING


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    problem = emulator_problem()
    if problem is not None:
        return _missing(problem)
    try:
        # `make run`'s settings: the shell's variables, then .env, then .env.example.
        environ = environment(ENV_FILES, os.environ)
    except EnvFileError as problem:
        print(f"make stack: {problem}", file=sys.stderr)
        return EXIT_PORT_TAKEN
    stack = Stack(args, environ)
    taken = taken_ports(stack.ports)
    if taken:
        print(
            f"make stack: port(s) in use: {', '.join(taken)}; stop what uses them or pick "
            "others (make stack PORT=18080 CONSOLE_PORT=18090 ...)",
            file=sys.stderr,
        )
        return EXIT_PORT_TAKEN

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        # Nothing that takes a lock: the signal may arrive while this thread holds the
        # terminal's (say), and the stop is announced once the main loop sees it.
        stack.signal_name = signal.Signals(signum).name
        stack.stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        seconds = stack.start()
        for line in stack.banner(seconds):
            say(STACK, line)
        return stack.watch()
    except Stopped:
        return EXIT_STOPPED
    except StartFailed as failed:
        say(STACK, f"failed: {failed}")
        return EXIT_FAILED
    finally:
        stack.stop()
