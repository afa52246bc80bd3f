"""Step 5b: the game server a forwarder names with `?server=S`, read only after the key.

A bad name loses the name, never the event: `ServerRefused` says why (never the value)
and the flow keeps the event without a server.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from sonoran_receiver.publishing.message import SERVER_RE

# `?server=` plus room for whatever else a forwarder appends; nothing else is read.
MAX_QUERY_BYTES = 2048
_MAX_QUERY_FIELDS = 32
# The query as the FiveM resource writes it: `server=` and a name that needs no decoding.
# For it, `parse_qs` could only give the name back as it is.
_PLAIN = re.compile(rb"server=(" + SERVER_RE.pattern.encode("ascii") + rb")")


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
    if plain := _PLAIN.fullmatch(query):
        return plain[1].decode("ascii")
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
