"""Reading a request body without ever holding more than the limit.

functions-framework has no body limit of its own, and a chunked request has no
`Content-Length`, so the stream is read in bounded chunks and abandoned past the limit.
Time is the stream's to bound: under the real server it is a `RequestBody`
(`request_body.py`), whose deadline ends a slow read with `RequestTimeout`.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import parse_qs

from sonoran_receiver.publishing.message import SERVER_RE
from sonoran_receiver.receiving.answers import PayloadTooLarge

_CHUNK_BYTES = 64 * 1024
# `?server=` plus room for whatever else a forwarder appends; nothing else is read.
MAX_QUERY_BYTES = 2048
_MAX_QUERY_FIELDS = 32


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


class ServerRefused(ValueError):
    """A `?server=` the flow keeps the event without; the text says why, never the value."""


def server_from_query(query: bytes) -> str | None:
    """`?server=S` names the game server that forwarded the event
    (docs/reference/push-events.md "Forwarding from the FiveM resource").

    Read after the key has matched, so only a trusted sender's query is parsed, and only when it is
    short. Raises `ServerRefused` when the query has no usable server name: the flow then keeps the
    event without one (docs/reference/contract.md "Step 5b: server name"), since a forwarder's typo
    must not lose the event.
    """
    if not query:
        return None
    if len(query) > MAX_QUERY_BYTES:
        raise ServerRefused(f"query string over {MAX_QUERY_BYTES} bytes")
    try:
        values = parse_qs(
            query.decode("latin-1"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="replace",
            max_num_fields=_MAX_QUERY_FIELDS,
        ).get("server")
    except ValueError:
        raise ServerRefused(f"over {_MAX_QUERY_FIELDS} query parameters") from None
    if not values:
        return None
    if len(values) != 1:
        raise ServerRefused("server given more than once")
    if not SERVER_RE.fullmatch(values[0]):
        raise ServerRefused("server is not 1 to 64 letters, digits, '_', '.' or '-'")
    return values[0]
