"""A local HTTP target that misbehaves on purpose: drips its answer, or sends a huge one.

Real TCP on 127.0.0.1 and a free port, written against the socket so it can do what no
well-behaved server does. It reads one request, then plays its `Script`, and records how many
bytes it managed to send before the client hung up. Every script stops by itself: the drip
after `drip_bytes` bytes, the huge answer after `size` bytes, whether or not the client stayed.

    with UnrulyTarget(drip_headers(interval_s=1.0)) as target:
        post(target.url, ...)  # must give up at its deadline
        assert target.finished.wait(10)
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass

from tests.support.closing import ClosesOnExit

_CHUNK = 64 * 1024
# Shaped like a Discord webhook's path, token included, so tests can check it is never shown.
PATH = "/api/webhooks/1234567890/unruly-target-token-do-not-log"


@dataclass(frozen=True)
class Script:
    head: bytes
    """Sent at once after the request was read."""
    drip: bytes = b""
    """Then sent one byte every `interval_s`."""
    interval_s: float = 1.0
    size: int = 0
    """Then this many bytes of `x`, as fast as the client takes them."""
    hold_s: float = 0.0
    """Then the connection is held open this long, in silence."""


def drip_headers(interval_s: float, drip_bytes: int = 60) -> Script:
    """A status line, then a header one byte every `interval_s`: no answer is ever complete."""
    return Script(
        head=b"HTTP/1.1 200 OK\r\n", drip=b"X-Drip: " + b"d" * drip_bytes, interval_s=interval_s
    )


def drip_body(interval_s: float, drip_bytes: int = 60) -> Script:
    """A whole error head announcing a body, then the body one byte every `interval_s`."""
    head = f"HTTP/1.1 500 Internal Server Error\r\nContent-Length: {drip_bytes}\r\n\r\n"
    return Script(head=head.encode(), drip=b"e" * drip_bytes, interval_s=interval_s)


def huge_body(size: int) -> Script:
    """An error answer of `size` bytes, sent as fast as the client reads."""
    head = f"HTTP/1.1 500 Internal Server Error\r\nContent-Length: {size}\r\n\r\n"
    return Script(head=head.encode(), size=size)


def malformed_head() -> Script:
    """An answer head with a line that is no header (urllib3 warns of it, quoting the URL)."""
    return Script(head=b"HTTP/1.1 500 Internal Server Error\r\nno colon here\r\n\r\n")


def success_then_silence(hold_s: float) -> Script:
    """`200` announcing a body that never comes, the connection held open."""
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
    return Script(head=head, hold_s=hold_s)


class UnrulyTarget(ClosesOnExit):
    def __init__(self, script: Script) -> None:
        self._script = script
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.sent = 0
        """Bytes of the answer the client took before it hung up (or all of them)."""
        self.finished = threading.Event()
        self._thread = threading.Thread(target=self._serve_one, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}{PATH}"

    def close(self) -> None:
        # shutdown, unlike close, wakes an `accept` still waiting (Linux).
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(timeout=30)

    def _serve_one(self) -> None:
        try:
            connection, _ = self._listener.accept()
        except OSError:
            # Closed before anyone connected.
            self.finished.set()
            return
        with connection:
            try:
                _read_request(connection)
                self._play(connection)
            except OSError:
                # The client hung up: what it cost us is in `sent`.
                pass
            finally:
                self.finished.set()

    def _play(self, connection: socket.socket) -> None:
        script = self._script
        self._send(connection, script.head)
        for byte in script.drip:
            time.sleep(script.interval_s)
            self._send(connection, bytes([byte]))
        left = script.size
        while left > 0:
            chunk = b"x" * min(_CHUNK, left)
            self._send(connection, chunk)
            left -= len(chunk)
        if script.hold_s:
            # Until the client hangs up (recv returns b"") or the hold ends.
            connection.settimeout(script.hold_s)
            with contextlib.suppress(TimeoutError):
                connection.recv(1)

    def _send(self, connection: socket.socket, data: bytes) -> None:
        connection.sendall(data)
        self.sent += len(data)


def _read_request(connection: socket.socket) -> None:
    """Read one request's head and body (by `Content-Length`), so the client's send is done."""
    connection.settimeout(30)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionResetError("client left before its request was whole")
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionResetError("client left before its request was whole")
        body += chunk
    # Sends give up too: a client that neither reads nor hangs up cannot hold this thread.
    connection.settimeout(30)
