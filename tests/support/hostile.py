"""Hostile traffic against a real server, and what it cost the server.

A raw-socket HTTP/1.1 client (the hostile shapes cannot be sent with `requests`: slow or
never-sent bodies, lying lengths, broken chunking), the hostile bodies measured, and the
memory of the gunicorn worker read from /proc. Used by
`tests/receiving/test_hostile_server.py` and `bench/bench_hostile.py`. Only 127.0.0.1 is ever
contacted; every exchange is bounded in bytes and in time.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.app import EVENT_PATH
from tests.support.server import RunningServer

WRONG_KEY = "not-the-key-0000000000"
MERSENNE_61 = 2**61 - 1


@dataclass(frozen=True)
class Answer:
    """What came back: `status` is None when the connection closed without an answer."""

    status: int | None
    body: bytes
    seconds: float
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


def request_head(
    method: str = "POST",
    target: str = EVENT_PATH,
    headers: dict[str, str] | None = None,
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def post(body: bytes, *, content_length: int | None = None) -> list[bytes]:
    """A POST of `body` to the event path, as parts a well-behaved client would send."""
    length = len(body) if content_length is None else content_length
    head = request_head(headers={"Content-Type": "application/json", "Content-Length": str(length)})
    return [head, *pieces(body, 64 * 1024)]


def chunked(body: bytes, chunk_bytes: int = 64 * 1024) -> list[bytes]:
    """A POST of `body` with `Transfer-Encoding: chunked`, no Content-Length."""
    head = request_head(headers={"Transfer-Encoding": "chunked"})
    frames = [b"%x\r\n%s\r\n" % (len(part), part) for part in pieces(body, chunk_bytes)]
    return [head, *frames, b"0\r\n\r\n"]


def tiny_chunks(body: bytes, extension: bytes = b"", chunk_bytes: int = 1) -> list[bytes]:
    """A chunked POST of `body` in chunks of `chunk_bytes`, each size line carrying
    `extension` (say `;x=...`); the wire bytes are sent in 64 KiB pieces, as a client
    writing a prepared buffer would."""
    head = request_head(headers={"Transfer-Encoding": "chunked"})
    wire = b"".join(
        b"%x%s\r\n%s\r\n" % (len(part), extension, part) for part in pieces(body, chunk_bytes)
    )
    return [head, *pieces(wire + b"0\r\n\r\n", 64 * 1024)]


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def exchange(
    port: int,
    parts: Iterable[bytes],
    *,
    pause_s: float = 0.0,
    timeout_s: float = 30.0,
    half_close: bool = False,
) -> Answer:
    """Send `parts` (pausing between them) until the server answers, then read the answer.

    Like a careful client (curl, urllib3), it watches for an answer while it sends and stops
    sending once one arrives: the server may answer (413, 408) before the body is all sent,
    and then reads no more of it. `half_close` ends the sending side after the parts, as a
    client that went away mid-body.
    """
    started = time.monotonic()
    deadline = started + timeout_s
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as connection:
        answered = _send_until_answered(connection, parts, pause_s, deadline)
        if half_close and not answered:
            connection.shutdown(socket.SHUT_WR)
        connection.setblocking(True)
        status, headers, body = _read_answer(connection, deadline)
    return Answer(status, body, time.monotonic() - started, headers)


def _send_until_answered(
    connection: socket.socket, parts: Iterable[bytes], pause_s: float, deadline: float
) -> bool:
    """Send without ever blocking on a server that stopped reading; True once answered."""
    connection.setblocking(False)
    for number, part in enumerate(parts):
        if number and pause_s and _readable(connection, pause_s):
            return True
        pending = memoryview(part)
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            readable, writable, _ = select.select([connection], [connection], [], remaining)
            if readable:
                return True
            if writable:
                try:
                    pending = pending[connection.send(pending) :]
                except BlockingIOError:
                    continue
                except OSError:
                    return False
    return _readable(connection, 0)


def _readable(connection: socket.socket, wait_s: float) -> bool:
    readable, _, _ = select.select([connection], [], [], wait_s)
    return bool(readable)


def read_answer(connection: socket.socket, timeout_s: float = 30.0) -> Answer:
    """The next answer on a connection that sent its request whole (keep-alive)."""
    started = time.monotonic()
    status, headers, body = _read_answer(connection, started + timeout_s)
    return Answer(status, body, time.monotonic() - started, headers)


def _read_answer(
    connection: socket.socket, deadline: float
) -> tuple[int | None, dict[str, str], bytes]:
    received = b""
    try:
        while b"\r\n\r\n" not in received:
            connection.settimeout(max(deadline - time.monotonic(), 0.01))
            data = connection.recv(65536)
            if not data:
                return None, {}, b""
            received += data
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        length = int(headers.get("Content-Length", "0"))
        while len(body) < length:
            connection.settimeout(max(deadline - time.monotonic(), 0.01))
            data = connection.recv(65536)
            if not data:
                break
            body += data
    except OSError:
        if not received:
            return None, {}, b""
        raise
    # Whatever follows is the server's answer to what came after this request (the rest of
    # a body that overran its Content-Length is read as a next request, and refused).
    return int(lines[0].split(" ", 2)[1]), headers, body[:length]


def worker_pid(server: RunningServer) -> int:
    """The gunicorn worker: the one child of the arbiter functions-framework runs."""
    arbiter = server.process.pid
    children = Path(f"/proc/{arbiter}/task/{arbiter}/children").read_text().split()
    return int(children[0])


def memory_mib(pid: int, field_name: str = "VmRSS") -> float:
    """`VmRSS` (now) or `VmHWM` (peak since the last `reset_peak`) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field_name)


def reset_peak(pid: int) -> None:
    """Make `VmHWM` start again from the current RSS (proc(5), /proc/pid/clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


class PeakMemory:
    """What a process's peak memory rose above what it held when this was made: `VmHWM`
    after `reset_peak`, minus `VmRSS` at the start."""

    def __init__(self, pid: int) -> None:
        reset_peak(pid)
        self._pid = pid
        self._before = memory_mib(pid)

    def added_mib(self) -> float:
        return memory_mib(self._pid, "VmHWM") - self._before


def concurrently(count: int, send: Callable[[], Answer]) -> list[Answer]:
    """`count` calls of `send` at the same time, their answers in order."""
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: send(), range(count)))


def compact(event_type: str, data: object, key: str = WRONG_KEY) -> bytes:
    """An envelope without spaces: the most values a body of a given size can carry."""
    body = {"key": key, "type": event_type, "data": data}
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def colliding_integers(total: int = 495_000) -> bytes:
    """`EVENT_REMOVE_911` whose `callId` list holds multiples of 2^61-1: every one has the
    same Python hash, so a set or dict of them costs n²."""
    ids: list[int] = []
    size = 0
    while size < total - 100:
        ids.append(MERSENNE_61 * (len(ids) + 1))
        size += len(str(ids[-1])) + 1
    return compact("EVENT_REMOVE_911", {"callId": ids})


def many_identities(count: int = 500_000) -> bytes:
    """`EVENT_911` of just under 1 MiB with half a million `identities`."""
    return compact("EVENT_911", {"call": {"callId": 1}, "identities": [7] * count})


def empty_objects(total: int = 1_000_000) -> bytes:
    """`data` as a list of `{"": {}}`: two objects per 8 bytes, the most objects per byte."""
    return compact("EVENT_911", [{"": {}}] * ((total - 100) // 8))


def escaped_backslashes(total: int = 940 * 1024) -> bytes:
    """A wrong-key body whose one text is escaped backslashes (`\\\\` repeated), with one
    `\\u0041` that makes any scan for `\\u` escapes walk all of them."""
    prefix = b'{"key": "%s", "type": "EVENT_911", "data": {"note": "\\u0041' % WRONG_KEY.encode()
    suffix = b'"}}'
    return prefix + b"\\\\" * ((total - len(prefix) - len(suffix)) // 2) + suffix


def lone_halves(total: int = 940 * 1024) -> bytes:
    """A wrong-key body whose one text is lone surrogate halves (`\\ud83d` repeated)."""
    prefix = b'{"key": "%s", "type": "EVENT_911", "data": {"note": "' % WRONG_KEY.encode()
    suffix = b'"}}'
    return prefix + b"\\ud83d" * ((total - len(prefix) - len(suffix)) // 6) + suffix


def oversized(total: int = 32 * 1024 * 1024) -> bytes:
    """A wrong-key body of `total` bytes (32 MiB: Cloud Run's request limit)."""
    prefix = b'{"key": "%s", "type": "EVENT_911", "data": {"pad": "' % WRONG_KEY.encode()
    suffix = b'"}}'
    return prefix + b"x" * (total - len(prefix) - len(suffix)) + suffix
