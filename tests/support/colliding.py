"""Bodies of integers that all have the same Python hash, for the model tests
(`tests/events/test_limits.py`) and the validation benchmark (`bench/bench_validation.py`).

Python hashes an integer to its value modulo the prime 2^61 - 1, in every process alike
(only the hashes of strings are randomised): every multiple of that prime hashes to 0, so a
`set` or `dict` of n of them costs n² comparisons. Standard library only.
"""

from __future__ import annotations

import json
from typing import Any

PRIME = 2**61 - 1
# Each id list and the spelling folded into it (docs/reference/contract.md
# "Event types and normalisation"):
# (event type, list field, other spelling).
FOLDED_LISTS = (
    ("EVENT_DISPATCH_CLOSED", "callIds", "callId"),
    ("EVENT_REMOVE_911", "callIds", "callId"),
    ("EVENT_UNIT_PANIC", "identIds", "identId"),
    ("EVENT_DISPATCH_UNIT_ATTACH", "idents", "ident"),
    ("EVENT_PAGER_REBORN", "identIds", "players"),
)
EXAMPLE_KEY = "ABCDEF0123456789"
"""The example key of `tests/fixtures/`; tests put the one they need."""


def colliding_ids(count: int) -> list[int]:
    """`count` different integers with one Python hash."""
    return [PRIME * n for n in range(1, count + 1)]


def _data(event_type: str, field: str, spelling: str, ids: list[int]) -> dict[str, Any]:
    data: dict[str, Any] = {field: ids, spelling: ids[:1]}
    if event_type == "EVENT_911":
        data["call"] = {"callId": 318}
    if event_type in ("EVENT_DISPATCH_UNIT_ATTACH", "EVENT_DISPATCH_UNIT_DETACH"):
        data["callId"] = 4021
    return data


def colliding_body(
    event_type: str,
    field: str,
    spelling: str,
    *,
    limit: int | None = None,
    count: int | None = None,
    key: str = EXAMPLE_KEY,
) -> bytes:
    """A body whose list `field` holds `count` colliding integers, or as many as fit in
    `limit` bytes, and whose other spelling `spelling` repeats the first (so the model
    folds)."""
    if count is not None:
        data = _data(event_type, field, spelling, colliding_ids(count))
        return json.dumps({"key": key, "type": event_type, "data": data}).encode("utf-8")
    if limit is None:
        raise TypeError("colliding_body needs a limit or a count")
    empty = json.dumps(
        {"key": key, "type": event_type, "data": _data(event_type, field, spelling, [0])}
    )
    size = len(empty) - 2  # the two `0`s
    ids: list[int] = []
    for value in colliding_ids(limit):
        # One more id costs its digits and `, `; the first also appears in `spelling`.
        cost = len(str(value)) * (2 if not ids else 1) + (2 if ids else 0)
        if size + cost > limit:
            break
        ids.append(value)
        size += cost
    body = json.dumps(
        {"key": key, "type": event_type, "data": _data(event_type, field, spelling, ids)}
    )
    return body.encode("utf-8")
