"""The request body as the HTTP server hands it over (`wsgi.input`), read within a deadline.

gunicorn, functions-framework's server, reads a body only when the application asks, with no
time limit of its own: a client that announces a body and sends it a byte at a time, or not
at all, holds one of the instance's few threads for as long as it likes (eight such clients
blocked valid events for over 95 s). `RequestBody`:

- never reads past `Content-Length` (the server would wait for bytes of no request);
- gives reading the whole body one deadline, `SONORAN_BODY_TIMEOUT_S`: when it passes, the
  read side of the connection is shut, the blocked read returns at once, and the flow
  answers `408` and logs it;
- answers a malformed chunked body, one whose framing is over its limits
  (`server_limits.py`), and a body that ends before its `Content-Length` (the client went
  away), with a JSON `400` and a log line instead of the framework's HTML `500`;
- once the answer is ready, shuts the read side when part of the body is left unread and
  the client is sending nothing, so the server closes the connection at once instead of
  waiting for bytes nobody will read.

No Flask here: `main.py` hands over the WSGI environ, the one thing every server provides.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Mapping
from typing import Any

# gunicorn ships no type information; `ParseException` is the base of every error it raises
# for malformed HTTP framing (gunicorn/http/errors.py), in a chunked body too.
from gunicorn.http.errors import ParseException  # type: ignore[import-untyped]

from sonoran_receiver.alarms import CLOCK, Alarm
from sonoran_receiver.receiving.answers import BadRequest, RequestTimeout
from sonoran_receiver.receiving.body import Readable
from sonoran_receiver.receiving.server_limits import (
    ChunkFramingRefused,
    held_in_memory,
    shut_reading,
)

_READ_ALL_CHUNK = 64 * 1024


class RequestBody:
    """One request's body, read at most to its end and within its deadline."""

    def __init__(
        self,
        stream: Readable,
        *,
        content_length: int | None,
        chunked: bool,
        connection: socket.socket | None,
        timeout_s: float,
    ) -> None:
        self.content_length = None if chunked else content_length
        self._stream = stream
        # Unknown for a chunked body; a body with neither header is empty (RFC 9112 6.3).
        self._remaining: int | None = None if chunked else (content_length or 0)
        self._connection = connection
        self._deadline = time.monotonic() + timeout_s
        self._alarm: Alarm | None = None
        self._complete = self._remaining == 0
        self._closed = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, Any], timeout_s: float) -> RequestBody:
        connection = environ.get("gunicorn.socket")
        return cls(
            environ["wsgi.input"],
            content_length=_content_length(environ.get("CONTENT_LENGTH")),
            chunked="chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower(),
            # Other servers (Flask's test client, `--debug`) have no deadline to enforce.
            connection=connection if isinstance(connection, socket.socket) else None,
            timeout_s=timeout_s,
        )

    def read(self, size: int = -1, /) -> bytes:
        if size < 0:
            return b"".join(iter(lambda: self.read(_READ_ALL_CHUNK), b""))
        if size == 0 or self._complete or self._closed:
            return b""
        if self._remaining is not None:
            size = min(size, self._remaining)
        self._arm(size)
        try:
            data = self._stream.read(size)
        except ChunkFramingRefused as refused:
            self._stop()
            raise BadRequest(str(refused)) from None
        except ParseException:
            self._stop()
            raise BadRequest("malformed chunked body") from None
        except OSError:
            # gunicorn's NoMoreData (an IOError), a reset, or the read side shut by the alarm.
            self._stop()
            raise self._cut_off() from None
        if self._alarm is not None and self._alarm.rang:
            self._stop()
            raise RequestTimeout()
        return self._count(data)

    def close(self) -> None:
        """The answer is ready: nothing more of the body is read.

        gunicorn then reads up to 64 KiB of what is left, waiting up to 5 s for it, and
        closes the connection when that is not the end (gunicorn 27, `_keepalive_after`).
        A client sending nothing would hold the thread those 5 s: the read side is shut, so
        gunicorn sees the end at once. A client still sending is left to gunicorn: its
        drain and close reset the connection, where a shut read side can leave the client
        stalled on a full window until its own timeout.
        """
        self._closed = True
        self._stop()
        if not self._complete and self._client_idle():
            self._shut_reading()

    def _count(self, data: bytes) -> bytes:
        if not data:
            if self._remaining:
                self._stop()
                raise self._cut_off()
            self._finish()
        elif self._remaining is not None:
            self._remaining -= len(data)
            if self._remaining <= 0:
                self._finish()
        return data

    def _cut_off(self) -> BadRequest | RequestTimeout:
        if self._alarm is not None and self._alarm.rang:
            return RequestTimeout()
        return BadRequest("body ended before its Content-Length")

    def _arm(self, size: int) -> None:
        """Start the body's deadline before a read of `size` bytes that may wait on the
        client; from then on it covers the whole body. A read of bytes gunicorn already
        holds waits for nothing and starts none."""
        if (
            self._alarm is None
            and self._connection is not None
            and held_in_memory(self._stream) < size
        ):
            self._alarm = CLOCK.set(max(self._deadline - time.monotonic(), 0.0), self._shut_reading)

    def _finish(self) -> None:
        self._complete = True
        self._stop()

    def _stop(self) -> None:
        if self._alarm is not None:
            self._alarm.cancel()

    def _client_idle(self) -> bool:
        if self._connection is None:
            return False
        waiting = select.poll()
        waiting.register(self._connection, select.POLLIN)
        return not waiting.poll(0)

    def _shut_reading(self) -> None:
        if self._connection is not None:
            shut_reading(self._connection)


def _content_length(raw: object) -> int | None:
    # gunicorn has already refused a malformed Content-Length with its own 400.
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw)
    return None
