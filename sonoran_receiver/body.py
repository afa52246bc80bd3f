"""Reading a request body without ever holding more than the limit.

functions-framework has no body limit (anchors B1), and a chunked request has no
`Content-Length`, so the stream is read in bounded chunks and abandoned past the limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Protocol

from sonoran_receiver.errors import BadRequest, PayloadTooLarge

_CHUNK_BYTES = 64 * 1024
SERVER_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


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


def server_from_query(query: Mapping[str, Sequence[str]]) -> str | None:
    """`?server=S` names the game server that forwarded the event (catalogue 1.4)."""
    values = query.get("server")
    if not values:
        return None
    if len(values) != 1 or not SERVER_RE.fullmatch(values[0]):
        raise BadRequest("server must be 1 to 64 letters, digits, '_', '.' or '-'")
    return values[0]
