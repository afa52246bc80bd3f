"""Bounds on what the HTTP server reads before the function runs.

functions-framework serves the function with gunicorn and sets `limit_request_line` to 0
(no limit), reading no setting that changes it. gunicorn rescans the request line as it
grows (a 1 MB line cost 150 times a normal event, 8 MB about 4 s), gives the request head
no deadline once its first byte has come (eight clients sending a header byte every 2 s
held every thread), parses each chunk of a chunked body in Python (a 960 KiB body in 1-byte
chunks cost 2 s before its `401`) and answers malformed requests with HTML pages. None of
this reaches the function (docs/reference/contract.md "Before the body").

`install` changes, in this process, before functions-framework builds the server:

- `GunicornApplication.load_config` (functions-framework) also sets the request line limit
  (8,190 bytes, `414`) and the header limits (64 fields of 8,190 bytes, `431`);
- gunicorn's `Request.parse` gets one deadline for the whole request head, on the process's
  alarm clock: when it passes, the read side is shut, the client gets `408`. The head is
  read whole first, 64 KiB at a time and each byte searched once, then parsed: gunicorn
  copies and rescans everything it holds after each read of 8 KiB, so a header block near
  its limit cost the square of its size;
- gunicorn's chunked reader counts the framing bytes (size lines, extensions, line ends):
  once they pass 1 KiB plus 1/256 of the body read so far (chunks under about 1.8 KiB
  on average, or long extensions), the body is refused, a JSON `400` from the flow. A body
  in sensible chunks costs what the same body with `Content-Length` costs, and what
  crosses the wire stays within the body limit plus that share;
- gunicorn's error pages become JSON `{"error": ...}` answers, each with a log line.

These are private interfaces of both projects, pinned in requirements.txt:
`tests/receiving/test_server_limits.py` fails when an upgrade moves one of them, and
`install` refuses to start without them.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
from typing import Any

import functions_framework._http.gunicorn as functions_framework_server
import gunicorn.http.body  # type: ignore[import-untyped]
import gunicorn.http.message  # type: ignore[import-untyped]
import gunicorn.util  # type: ignore[import-untyped]
from gunicorn.http.errors import InvalidChunkSize, NoMoreData  # type: ignore[import-untyped]

from sonoran_receiver import logs
from sonoran_receiver.alarms import CLOCK

MAX_REQUEST_LINE_BYTES = 8190
MAX_HEADER_FIELDS = 64
MAX_HEADER_FIELD_BYTES = 8190
# The longest a request head may take, whatever the body deadline is set to.
MAX_HEAD_TIMEOUT_S = 10.0
# What one read of the socket may take while the head is parsed (gunicorn's own: 8 KiB).
HEAD_READ_BYTES = 64 * 1024
# A chunked body may carry this much framing, plus 1/FRAMING_SHARE of what it decoded.
FRAMING_ALLOWANCE_BYTES = 1024
FRAMING_SHARE = 256
# Where a request head ends.
_HEAD_END = b"\r\n\r\n"
# Trailers are headers after the body: nobody sends them to this function.
MAX_TRAILER_BYTES = 8190

SERVER_SETTINGS: dict[str, int] = {
    "limit_request_line": MAX_REQUEST_LINE_BYTES,
    "limit_request_fields": MAX_HEADER_FIELDS,
    "limit_request_field_size": MAX_HEADER_FIELD_BYTES,
}

# The `error` of each answer the server gives before the function runs.
ERROR_REASONS = {
    400: "malformed request",
    408: "request head timeout",
    414: "request line too long",
    431: "request headers too large",
    501: "transfer coding not supported",
}

# Set by `install`; the functions it replaces, kept to be called by the replacements.
_head_timeout_s = [MAX_HEAD_TIMEOUT_S]
_originals: dict[str, Any] = {}


class ChunkFramingRefused(InvalidChunkSize):  # type: ignore[misc]
    """A chunked body whose framing costs more than its bytes are worth."""

    def __init__(self) -> None:
        super().__init__(b"")

    def __str__(self) -> str:
        return "chunked framing over its limits"


class BoundedChunkedReader(gunicorn.http.body.ChunkedReader):  # type: ignore[misc]
    """gunicorn's chunked reader, counting the framing bytes of each chunk."""

    def __init__(self, req: Any, unreader: Any) -> None:
        super().__init__(req, unreader)
        # gunicorn refuses a size line only once this much has come with no line end.
        self.limit_chunk_size_line = FRAMING_ALLOWANCE_BYTES
        self.limit_trailer_section = MAX_TRAILER_BYTES
        self._pulled = 0
        self._framing = 0
        self._decoded = 0

    def read_into(self, unreader: Any, buf: bytearray) -> None:
        before = len(buf)
        super().read_into(unreader, buf)
        self._pulled += len(buf) - before

    def parse_chunk_size(self, unreader: Any, data: bytes | None = None) -> tuple[int, Any]:
        pulled = self._pulled
        size, rest = super().parse_chunk_size(unreader, data)
        if size:
            # What the size line took (with its extensions and line end), and the line end
            # after the chunk's data.
            line = len(data or b"") + self._pulled - pulled - len(rest)
            self._framing += line + 2
            if self._framing > FRAMING_ALLOWANCE_BYTES + self._decoded // FRAMING_SHARE:
                raise ChunkFramingRefused()
            self._decoded += size
        return size, rest


def install(body_timeout_s: float) -> None:
    """Bound the request line, headers, head time and chunk framing of this process's
    server; the head deadline is the body deadline, at most `MAX_HEAD_TIMEOUT_S`."""
    _head_timeout_s[0] = min(body_timeout_s, MAX_HEAD_TIMEOUT_S)
    if _originals:
        return
    application = functions_framework_server.GunicornApplication
    request = gunicorn.http.message.Request
    for owner, name in (
        (application, "load_config"),
        (request, "parse"),
        (gunicorn.http.message, "ChunkedReader"),
        (gunicorn.util, "write_error"),
    ):
        if not hasattr(owner, name):
            raise RuntimeError(
                f"functions-framework or gunicorn changed: {owner.__name__}.{name} is gone; "
                "see sonoran_receiver/receiving/server_limits.py"
            )
    _originals.update(load_config=application.load_config, parse=request.parse)
    application.load_config = _load_config  # type: ignore[method-assign]
    request.parse = _parse_within_deadline
    gunicorn.http.message.ChunkedReader = BoundedChunkedReader
    gunicorn.util.write_error = write_json_error


def _load_config(self: Any) -> None:
    _originals["load_config"](self)
    for name, value in SERVER_SETTINGS.items():
        self.cfg.set(name, value)


def _parse_within_deadline(self: Any, unreader: Any) -> Any:
    connection = getattr(unreader, "sock", None)
    if not isinstance(connection, socket.socket):
        return _originals["parse"](self, unreader)
    unreader.mxchunk = max(unreader.mxchunk, HEAD_READ_BYTES)
    if _head_at_hand(unreader, connection):
        # The parser will not wait on the client: no deadline to keep.
        return _originals["parse"](self, unreader)
    alarm = CLOCK.set(_head_timeout_s[0], lambda: shut_reading(connection))
    try:
        _gather_head(unreader, MAX_REQUEST_LINE_BYTES + 2 + self.max_buffer_headers)
        return _originals["parse"](self, unreader)
    except (NoMoreData, StopIteration):
        if not alarm.rang:
            raise
        write_json_error(connection, 408, "Request Timeout", "")
        # gunicorn's worker closes the connection after a StopIteration, quietly.
        raise StopIteration() from None
    finally:
        alarm.cancel()


def _head_at_hand(unreader: Any, connection: socket.socket) -> bool:
    """True when the whole request head is in memory, gathered without waiting: what
    gunicorn holds already, plus what the socket has for us this instant.

    Most clients write a head (and a small body) at once, so most requests are whole before
    they are parsed and need no deadline: arming one per request and cancelling it cost about
    a tenth of a request's CPU with the caches cold (`bench/RESULTS.md`, "Notes"). A head
    still missing bytes gets its deadline as before, from the bytes gathered here.
    """
    # `recv` with a flag is a plain socket's; a TLS one refuses it.
    if type(connection) is not socket.socket:
        return False
    held = unreader.take_buffered()
    if _HEAD_END not in held:
        # Nothing there yet, or a reset (which the parser meets again, and reports).
        with contextlib.suppress(OSError):
            held += connection.recv(HEAD_READ_BYTES, socket.MSG_DONTWAIT)
    unreader.unread(held)
    return _HEAD_END in held


def held_in_memory(stream: object) -> int:
    """How many bytes of a body with a `Content-Length` gunicorn holds already (they came
    with the head): reading that many waits for nothing, so needs no deadline. 0 for a
    chunked body or a stream that is not gunicorn's."""
    if not isinstance(stream, gunicorn.http.body.Body):
        return 0
    reader = stream.reader
    if not isinstance(reader, gunicorn.http.body.LengthReader):
        return 0
    # What the unreader holds beyond the body is the next request's.
    remaining: int = reader.length
    return _size(stream.buf) + min(_size(reader.unreader.buf), remaining)


def _size(buffer: io.BytesIO) -> int:
    with buffer.getbuffer() as view:
        return view.nbytes


def _gather_head(unreader: Any, limit: int) -> None:
    """Read until the head is complete, past `limit` bytes or the line limit with no line
    end, or the client stops; then hand it all back to gunicorn's parser.

    gunicorn copies and rescans everything it holds after each read, which costs the
    square of the head's size; here each byte is searched once, and gunicorn's parser then
    finds the whole head in its first read (or its limits exceeded, and answers so).
    """
    held = bytearray()
    searched = 0
    while len(held) <= limit:
        if held.find(_HEAD_END, searched) >= 0:
            break
        if (
            len(held) > MAX_REQUEST_LINE_BYTES + 2
            and b"\r\n" not in held[: MAX_REQUEST_LINE_BYTES + 2]
        ):
            break
        # A line end may straddle two reads.
        searched = max(len(held) - 3, 0)
        data = unreader.read()
        if not data:
            break
        held += data
    unreader.unread(bytes(held))


def write_json_error(connection: socket.socket, status: int, reason: str, _message: str) -> None:
    """gunicorn's `util.write_error`, answering JSON; its message (which quotes the
    request) is left out."""
    body = json.dumps({"error": ERROR_REASONS.get(status, reason.lower())}).encode("utf-8")
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    logs.emit(
        "ERROR" if status >= 500 else "INFO",
        "request refused by the server",
        status=status,
        outcome=ERROR_REASONS.get(status, reason.lower()),
    )
    gunicorn.util.write_nonblock(connection, head.encode("latin-1") + body)


def shut_reading(connection: socket.socket) -> None:
    """Shut the read side: a `recv` blocked on it returns at once with end of file, and
    an answer can still be written."""
    try:
        connection.shutdown(socket.SHUT_RD)
    except OSError:
        return
