"""`?server=`: the common query read without the general parser reads as the parser reads it."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sonoran_receiver.receiving.server_name import ServerRefused, server_from_query

# Letters that need no decoding, and a few that do or are not allowed in a name.
_ALPHABET = "abzAZ09_.-%+&=/é "


def _general_reading(query: bytes) -> str | None:
    values = parse_qs(query.decode("latin-1"), keep_blank_values=True).get("server")
    return values[0] if values and len(values) == 1 else None


@given(st.text(alphabet=_ALPHABET, max_size=70))
def test_a_server_name_reads_the_same_by_the_short_way_and_the_general_one(name: str) -> None:
    query = f"server={name}".encode()
    try:
        server = server_from_query(query)
    except ServerRefused:
        return
    assert server == _general_reading(query)


@pytest.mark.parametrize("query", [b"server=fivem-1", b"server=" + b"a" * 64, b"server=a.b_C-9"])
def test_the_names_forwarders_send_are_kept(query: bytes) -> None:
    assert server_from_query(query) == query.removeprefix(b"server=").decode()
