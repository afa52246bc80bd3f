"""The real Pub/Sub emulator for tests: started once per session, faults on demand.

The emulator is `gcloud beta emulators pubsub start` (a Java server) on a free loopback
port. Tests talk to it with the real google-cloud-pubsub client; nothing is mocked.

API (tests/conftest.py wires it into fixtures; load and fault tests reuse it):

- `emulator_problem() -> str | None` (local_stack/emulator.py, which `make stack` asks
  too): why the emulator cannot run here (no `gcloud`, no `java`, no pubsub emulator
  component), or None. `require_emulator()` turns a problem
  into `pytest.fail` under `CI=true` and `pytest.skip` elsewhere, both with the reason.
- `PubSubEmulator(project, log_path, port=None)`: `.start()` runs it (again, on the same
  port) and waits until it answers; `.stop()` kills its process group (gcloud's Python and
  its Java child) and waits until the port is free; `.pause()` / `.resume()` send
  SIGSTOP / SIGCONT to the group: the port stays open and nothing answers, as with a hung
  backend. `.stopped()` and `.paused()` are context managers that undo the fault on exit.
  `.host` is the `PUBSUB_EMULATOR_HOST` value, `.env()` the variables a receiver needs.
  The emulator keeps everything in memory: after `.stop()`/`.start()` the topics and
  subscriptions are gone, so call `TestTopic.create()` again.
- `TestTopic` (`emulator.new_topic()`): one topic with one pull subscription, both created;
  `.topic_path`, `.subscription_path`, `.env()` (the receiver's `PUBSUB_TOPIC`,
  `GOOGLE_CLOUD_PROJECT`, `PUBSUB_EMULATOR_HOST`), `.pull(count, deadline_s)` (every
  message received until `count` arrived or the deadline passed, acknowledged), and
  `.pull_all(quiet_s)` (until nothing more arrives for `quiet_s`).

Fixtures (tests/conftest.py): `pubsub_emulator` (the shared session emulator: do not stop
or pause it), `pubsub_topic` (a fresh `TestTopic` on it per test), and
`private_emulator` (a function-scoped emulator of the test's own, free to stop and pause).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
from google.api_core import exceptions as api_exceptions
from google.cloud import pubsub_v1
from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport
from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

from local_stack.emulator import emulator_command, emulator_environ, emulator_problem
from tests.support.server import free_port

PROJECT = "sonoran-test"
_READY_TIMEOUT_S = 90.0
_STOP_TIMEOUT_S = 15.0


def require(problem: str | None, what: str) -> None:
    """Fail under CI=true, skip elsewhere, when `problem` says why `what` cannot run."""
    if problem is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} needed under CI=true: {problem}", pytrace=False)
    pytest.skip(f"{what} unavailable: {problem}")


def require_emulator() -> None:
    require(emulator_problem(), "Pub/Sub emulator")


@dataclass
class PubSubEmulator:
    """One emulator process group on 127.0.0.1:`port`."""

    project: str
    log_path: Path
    port: int = field(default_factory=free_port)
    _process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {"PUBSUB_EMULATOR_HOST": self.host, "GOOGLE_CLOUD_PROJECT": self.project}

    def start(self) -> None:
        """Start on `port` and return once it answers; raise with its output if it never does."""
        if self._process is not None:
            raise RuntimeError("the emulator is already running")
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                emulator_command(self.host, self.project),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=emulator_environ(os.environ),
                # Its own process group: stop() reaches the Java child that gcloud starts.
                start_new_session=True,
            )
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                output = self.output()
                self._process = None
                raise RuntimeError(f"the Pub/Sub emulator exited at start:\n{output}")
            if self._answers():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the Pub/Sub emulator did not answer in time:\n{self.output()}")

    def stop(self) -> None:
        """Kill the whole process group and wait until the port is free again."""
        process, self._process = self._process, None
        if process is None:
            return
        pgid = process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
            # A paused group would not act on SIGTERM until continued.
            os.killpg(pgid, signal.SIGCONT)
        deadline = time.monotonic() + _STOP_TIMEOUT_S
        while _group_alive(pgid) and time.monotonic() < deadline:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.1)
        if _group_alive(pgid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        process.wait(timeout=_STOP_TIMEOUT_S)
        # The port, not the process table, says whether a restart can bind it again.
        _wait_port_free(self.port, _STOP_TIMEOUT_S)

    def pause(self) -> None:
        """SIGSTOP the group: connections are accepted by the kernel, nothing answers."""
        if self._process is None:
            raise RuntimeError("the emulator is not running")
        os.killpg(self._process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self._process is None:
            raise RuntimeError("the emulator is not running")
        os.killpg(self._process.pid, signal.SIGCONT)

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """Stopped inside the block, started again (same port, empty) after it."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        self.pause()
        try:
            yield
        finally:
            self.resume()

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def publisher(self) -> pubsub_v1.PublisherClient:
        """A publisher for test set-up, pointed at this emulator whatever the environment."""
        channel = grpc.insecure_channel(self.host)
        return pubsub_v1.PublisherClient(transport=PublisherGrpcTransport(channel=channel))

    def subscriber(self) -> pubsub_v1.SubscriberClient:
        channel = grpc.insecure_channel(self.host)
        return pubsub_v1.SubscriberClient(transport=SubscriberGrpcTransport(channel=channel))

    def new_topic(self) -> TestTopic:
        topic = TestTopic(self, name=f"sonoran-{uuid.uuid4().hex[:12]}")
        topic.create()
        return topic

    def _answers(self) -> bool:
        try:
            return requests.get(f"http://{self.host}/", timeout=1).ok
        except requests.RequestException:
            return False


@dataclass
class TestTopic:
    """A topic with one pull subscription on an emulator."""

    __test__ = False  # a helper, not a test class, despite its name

    emulator: PubSubEmulator
    name: str

    @property
    def topic_path(self) -> str:
        return f"projects/{self.emulator.project}/topics/{self.name}"

    @property
    def subscription_path(self) -> str:
        return f"projects/{self.emulator.project}/subscriptions/{self.name}-sub"

    def env(self) -> dict[str, str]:
        """What the receiver needs to publish here (the topic as a bare id)."""
        return {**self.emulator.env(), "PUBSUB_TOPIC": self.name}

    def create(self) -> None:
        """Create the topic and its subscription (again, after an emulator restart)."""
        publisher = self.emulator.publisher()
        subscriber = self.emulator.subscriber()
        try:
            publisher.create_topic(name=self.topic_path, timeout=10)
            subscriber.create_subscription(
                name=self.subscription_path,
                topic=self.topic_path,
                ack_deadline_seconds=60,
                timeout=10,
            )
        finally:
            subscriber.close()
            publisher.transport.close()

    def pull(self, count: int, deadline_s: float = 30.0) -> list[Any]:
        """Messages (`PubsubMessage`) received until `count` arrived or the deadline; acked."""
        received: list[Any] = []
        subscriber = self.emulator.subscriber()
        deadline = time.monotonic() + deadline_s
        try:
            while len(received) < count and time.monotonic() < deadline:
                received.extend(self._pull_once(subscriber, count - len(received)))
        finally:
            subscriber.close()
        return received

    def pull_all(self, quiet_s: float = 1.0) -> list[Any]:
        """Every message until none arrives for `quiet_s`; acked."""
        received: list[Any] = []
        subscriber = self.emulator.subscriber()
        try:
            quiet_until = time.monotonic() + quiet_s
            while time.monotonic() < quiet_until:
                batch = self._pull_once(subscriber, 1000)
                if batch:
                    received.extend(batch)
                    quiet_until = time.monotonic() + quiet_s
        finally:
            subscriber.close()
        return received

    def _pull_once(self, subscriber: pubsub_v1.SubscriberClient, limit: int) -> list[Any]:
        try:
            response = subscriber.pull(
                subscription=self.subscription_path,
                max_messages=min(limit, 1000),
                timeout=2,
                retry=None,
            )
        except api_exceptions.DeadlineExceeded:
            return []
        if not response.received_messages:
            time.sleep(0.05)
            return []
        subscriber.acknowledge(
            subscription=self.subscription_path,
            ack_ids=[message.ack_id for message in response.received_messages],
            timeout=10,
        )
        return [message.message for message in response.received_messages]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_port_free(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} still answers after the emulator was stopped")
