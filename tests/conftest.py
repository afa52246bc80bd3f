"""Shared fixtures: an app factory with an isolated environment, and real servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import flask
import pytest

from tests.support.app import build_app, event_env
from tests.support.emulator import PROJECT, PubSubEmulator, TestTopic, require_emulator
from tests.support.server import RunningServer, start_server


@pytest.fixture
def make_app() -> Callable[..., flask.Flask]:
    """`make_app(SONORAN_ROUTES=...)` builds the real app from `main.py` with the test key."""

    def factory(**overrides: str) -> flask.Flask:
        return build_app(event_env(**overrides))

    return factory


@pytest.fixture
def client(make_app: Callable[..., flask.Flask]) -> flask.testing.FlaskClient:
    return make_app().test_client()


@pytest.fixture
def start_receiver(tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """Start functions-framework subprocesses; every one is stopped after the test."""
    started: list[RunningServer] = []

    def factory(
        env: dict[str, str] | None = None,
        *,
        target: str = "sonorancad_event",
        signature_type: str = "http",
        port: int | None = None,
    ) -> RunningServer:
        log_path = tmp_path / f"server-{len(started)}.log"
        server = start_server(
            env if env is not None else event_env(),
            log_path,
            target=target,
            signature_type=signature_type,
            port=port,
        )
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def pubsub_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PubSubEmulator]:
    """The real Pub/Sub emulator, one per session; shared, so never stop or pause it."""
    require_emulator()
    emulator = PubSubEmulator(PROJECT, tmp_path_factory.mktemp("pubsub") / "emulator.log")
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def pubsub_topic(pubsub_emulator: PubSubEmulator) -> TestTopic:
    """A topic and pull subscription of this test's own on the session emulator."""
    return pubsub_emulator.new_topic()


@pytest.fixture
def private_emulator(tmp_path: Path) -> Iterator[PubSubEmulator]:
    """An emulator of this test's own, free to stop, restart and pause (fault tests)."""
    require_emulator()
    emulator = PubSubEmulator(PROJECT, tmp_path / "private-emulator.log")
    emulator.start()
    yield emulator
    emulator.stop()
