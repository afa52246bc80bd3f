"""The private interfaces of functions-framework and gunicorn that `server_limits` changes.

Each test fails when an upgrade of either project moves what it relies on: the settings
functions-framework hands gunicorn, gunicorn's request parser, its chunked reader, its error
pages and where it holds bytes read ahead (docs/reference/contract.md "Before the body").
"""

from __future__ import annotations

import inspect
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from importlib import metadata

import flask
import gunicorn.config  # type: ignore[import-untyped]
import gunicorn.http.message  # type: ignore[import-untyped]
import gunicorn.util  # type: ignore[import-untyped]
import gunicorn.workers.base  # type: ignore[import-untyped]
import pytest
from functions_framework._http.gunicorn import GunicornApplication
from gunicorn.http.parser import RequestParser  # type: ignore[import-untyped]

from sonoran_receiver.alarms import CLOCK, Alarm
from sonoran_receiver.receiving import server_limits
from sonoran_receiver.receiving.request_body import RequestBody
from sonoran_receiver.receiving.server_limits import (
    SERVER_SETTINGS,
    BoundedChunkedReader,
    ChunkFramingRefused,
    held_in_memory,
)
from tests.support.app import ROOT

PEER = ("127.0.0.1", 1)


@pytest.fixture(autouse=True)
def installed() -> Iterator[None]:
    server_limits.install(10.0)
    yield
    server_limits.install(10.0)


def server_config() -> gunicorn.config.Config:
    config = gunicorn.config.Config()
    for name, value in SERVER_SETTINGS.items():
        config.set(name, value)
    return config


def chunked_request(wire_body: bytes) -> bytes:
    head = b"POST /sonorancad/event HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head + wire_body


def chunks(body: bytes, size: int, extension: bytes = b"") -> bytes:
    parts = [body[start : start + size] for start in range(0, len(body), size)]
    return b"".join(b"%x%s\r\n%s\r\n" % (len(p), extension, p) for p in parts) + b"0\r\n\r\n"


def test_both_projects_stay_pinned_to_the_versions_these_hooks_were_written_for() -> None:
    pinned = dict(
        re.findall(
            r"^(functions-framework|gunicorn)==(\S+)$",
            (ROOT / "requirements.txt").read_text(),
            re.M,
        )
    )
    installed = {name: metadata.version(name) for name in ("functions-framework", "gunicorn")}
    assert pinned == installed


def test_functions_framework_builds_its_server_with_our_limits() -> None:
    application = GunicornApplication(flask.Flask("probe"), "127.0.0.1", 0, False)  # type: ignore[no-untyped-call]
    for name, value in SERVER_SETTINGS.items():
        assert application.cfg.settings[name].get() == value, name


def test_gunicorn_reads_a_chunked_body_through_the_bounded_reader() -> None:
    body = b"x" * 100_000
    request = next(
        RequestParser(server_config(), iter([chunked_request(chunks(body, 1024))]), PEER)
    )
    assert isinstance(request.body.reader, BoundedChunkedReader)
    assert request.body.read() == body


@pytest.mark.parametrize(
    ("size", "extension"),
    [(1, b""), (64, b""), (1024, b";x=" + b"e" * 4096), (16, b";a=b;c=d")],
    ids=["1-byte chunks", "64-byte chunks", "4 KiB extensions", "short extensions on tiny chunks"],
)
def test_framing_that_outweighs_the_body_is_refused_early(size: int, extension: bytes) -> None:
    wire = chunked_request(chunks(b"x" * 500_000, size, extension))
    request = next(RequestParser(server_config(), iter([wire]), PEER))
    with pytest.raises(ChunkFramingRefused):
        request.body.read()
    # Refused within the first few KiB of framing, not after reading the body.
    assert request.body.reader._decoded < 64 * 1024


def test_gunicorn_error_pages_go_through_the_writer_we_replace() -> None:
    handle_error = inspect.getsource(gunicorn.workers.base.Worker.handle_error)
    assert "util.write_error(client, status_int, reason, mesg)" in handle_error
    assert gunicorn.util.write_error is server_limits.write_json_error
    ours, theirs = socket.socketpair()
    with ours, theirs:
        gunicorn.util.write_error(ours, 414, "URI Too Long", "Request Line is too large (9000)")
        head, _, body = theirs.recv(4096).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414 URI Too Long\r\n")
    assert b"Content-Type: application/json" in head
    assert json.loads(body) == {"error": "request line too long"}


def test_gunicorn_reads_the_request_head_in_larger_pieces() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        parser = RequestParser(server_config(), ours, PEER)
        assert parser.unreader.mxchunk == 8192
        next(parser)
        assert parser.unreader.mxchunk == server_limits.HEAD_READ_BYTES


def test_a_request_head_that_trickles_is_cut_off_with_408() -> None:
    server_limits.install(0.3)
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(b"POST /sonorancad/event HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        parser = RequestParser(server_config(), ours, PEER)
        outcome: list[StopIteration] = []

        def parse() -> None:
            try:
                next(parser)
            except StopIteration as stopped:
                outcome.append(stopped)

        reading = threading.Thread(target=parse)
        reading.start()
        reading.join(timeout=10)
        theirs.settimeout(5)
        answer = theirs.recv(4096)
    assert [type(stopped) for stopped in outcome] == [StopIteration]
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert answer.endswith(b'{"error": "request head timeout"}')


def test_install_refuses_to_start_when_an_interface_is_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(server_limits, "_originals", {})
    monkeypatch.delattr(gunicorn.http.message, "ChunkedReader")
    with pytest.raises(RuntimeError, match="ChunkedReader is gone"):
        server_limits.install(10.0)


@pytest.fixture
def alarms_set(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The timeouts of the alarms set from here on."""
    timeouts: list[float] = []
    original = CLOCK.set

    def counting(timeout_s: float, action: Callable[[], None]) -> Alarm:
        timeouts.append(timeout_s)
        return original(timeout_s, action)

    monkeypatch.setattr(CLOCK, "set", counting)
    return timeouts


def test_a_request_that_came_whole_is_parsed_and_read_without_a_deadline(
    alarms_set: list[float],
) -> None:
    body = b'{"key": "k"}' * 50
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        )
        request = next(RequestParser(server_config(), ours, PEER))
        assert held_in_memory(request.body) == len(body)
        read = RequestBody(
            request.body, content_length=len(body), chunked=False, connection=ours, timeout_s=10
        )
        assert read.read() == body
    assert alarms_set == []


def test_a_body_still_coming_is_read_within_its_deadline(alarms_set: list[float]) -> None:
    body = b"x" * 4000
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body))
        request = next(RequestParser(server_config(), ours, PEER))
        theirs.sendall(body)
        assert held_in_memory(request.body) == 0
        read = RequestBody(
            request.body, content_length=len(body), chunked=False, connection=ours, timeout_s=10
        )
        assert read.read() == body
    assert alarms_set == [pytest.approx(10, abs=0.5)]
