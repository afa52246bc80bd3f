"""Reading a request body without ever holding more than the limit.

functions-framework has no body limit of its own, and a chunked request has no
`Content-Length`, so the stream is read in bounded chunks and abandoned past the limit.
Time is the stream's to bound: under the real server it is a `RequestBody`
(`request_body.py`), whose deadline ends a slow read with `RequestTimeout`.
"""

from __future__ import annotations

from typing import Protocol

from sonoran_receiver.receiving.answers import PayloadTooLarge

_CHUNK_BYTES = 64 * 1024


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def read_body(stream: Readable, content_length: int | None, limit: int) -> bytes:
    """The whole body, or PayloadTooLarge as soon as it is known to exceed `limit`."""
    if content_length is not None and content_length > limit:
        raise PayloadTooLarge()
    chunks: list[bytes] = []
    received = 0
    while True:
        # Ask for one byte past the limit at most: that byte alone proves the body too large.
        chunk = stream.read(min(_CHUNK_BYTES, limit + 1 - received))
        if not chunk:
            return b"".join(chunks)
        received += len(chunk)
        if received > limit:
            raise PayloadTooLarge()
        chunks.append(chunk)
