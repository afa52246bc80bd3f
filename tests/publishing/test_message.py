"""The content key: every serialisation choice pinned by golden values; the event id and the
time of receipt as the contract writes them.

A consumer compares keys across processes and releases, so a change of key for the same
event is a breaking change: these values were computed once from the contract's definition
(SHA-256 hex of `{"data": ..., "type": ...}` as JSON with sorted keys, no spaces, raw UTF-8)
and checked against `sha256sum` of the hand-written JSON.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from sonoran_receiver.publishing.message import content_key, new_event_id, utc_timestamp


@pytest.mark.parametrize(
    ("event_type", "data", "expected"),
    [
        # {"data":{"identIds":[57],"isPanic":true},"type":"EVENT_UNIT_PANIC"}
        (
            "EVENT_UNIT_PANIC",
            {"isPanic": True, "identIds": [57]},
            "9a42b6b1a69577c7e7376c5c046d3e581b45024c68b3a50e422913188e914497",
        ),
        # Nested objects sorted too, non-ASCII text as UTF-8 bytes (not \\u escapes).
        (
            "EVENT_911",
            {
                "call": {
                    "callId": 318,
                    "caller": "Zoë Ödegaard",
                    "metaData": {"postal": "1016"},
                },
                "apiIds": ["license:9f8e7d6c"],
            },
            "4637dd130539307ae5842bae7026429197f9dae0f0f7e7822fc6d291a32aa2e1",
        ),
        # {"data":null,"type":"GET_LOGS"}
        ("GET_LOGS", None, "f307fe061eff13cdb738993d67d29718976ecd83682b81bdb72afec2a4638e33"),
    ],
)
def test_content_key_is_pinned_for_known_inputs(event_type: str, data: Any, expected: str) -> None:
    assert content_key(event_type, data) == expected


def test_content_key_ignores_the_order_fields_arrived_in() -> None:
    assert content_key("EVENT_UNIT_STATUS", {"identIds": [57], "status": 2}) == content_key(
        "EVENT_UNIT_STATUS", {"status": 2, "identIds": [57]}
    )


def test_event_ids_are_random_version_4_uuids_in_their_text_form() -> None:
    ids = [new_event_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for event_id in ids:
        parsed = uuid.UUID(event_id)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == event_id


@pytest.mark.parametrize("fraction", [0.0, 0.0004, 0.1234, 0.9995, 0.99999])
def test_received_at_is_now_in_utc_with_milliseconds_cut_not_rounded(
    monkeypatch: pytest.MonkeyPatch, fraction: float
) -> None:
    # The text up to the second is written once per second: each fraction of one second,
    # and the next second, still read as `datetime` writes them.
    for second in (1_764_800_000, 1_764_800_001):
        now = second + fraction
        monkeypatch.setattr(time, "time", lambda now=now: now)
        expected = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
        assert utc_timestamp() == expected.replace("+00:00", "Z")
