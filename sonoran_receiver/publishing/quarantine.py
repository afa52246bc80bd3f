"""The quarantine message: a trusted sender's event that our models refused, kept as sent.

Neither sender retries (docs/reference/contract.md "Quarantine"), so a body that passed the
key check and then failed the type or validation step is answered `400`/`422` and also
stored, before the answer, for the replay command (`sonoran_receiver/tools/replay.py`) to
re-validate after an upgrade. It holds `type` and `data` exactly as sent (never `key` or
`logKey`), what failed, and the same `event_id`/`content_key`/`received_at`/`server` a
published event carries. An event whose message would be over Pub/Sub's limit is kept as a
`too_large` record instead: its type, ids and size, no data (it would not fit either).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sonoran_receiver.events.types import TYPE_NAME, canonical_type, is_known
from sonoran_receiver.publishing.message import (
    content_key,
    json_bytes,
    message_attributes,
    message_fields,
    new_event_id,
    utc_timestamp,
)

Reason = Literal["invalid_event", "unknown_type", "invalid_type", "too_large"]
# Field paths and messages of a refusal, as the 400/422 body and the quarantine carry them.
Problems = list[dict[str, str]]

_TYPE_NOT_TEXT: Problems = [{"loc": "type", "msg": "type must be a string"}]
_TYPE_NOT_A_NAME: Problems = [
    {"loc": "type", "msg": "type must be 1 to 128 of A-Z, 0-9 and _ after upper-casing"}
]
_TYPE_HOLDS_KEY: Problems = [{"loc": "type", "msg": "type must not hold the API key"}]
_UNKNOWN_TYPE: Problems = [{"loc": "type", "msg": "unknown event type"}]


def _holds_no_key(_name: str) -> bool:
    return False


def type_refusal(
    sent_type: Any, *, strict_types: bool, holds_key: Callable[[str], object] = _holds_no_key
) -> tuple[Reason, Problems] | None:
    """Why step 6 (or strict types) refuses a type as sent, or None: one decision for the
    HTTP flow and for replay, so a replayed event passes exactly when a request would."""
    if not isinstance(sent_type, str):
        return "invalid_type", _TYPE_NOT_TEXT
    name = canonical_type(sent_type)
    if not TYPE_NAME.fullmatch(name):
        return "invalid_type", _TYPE_NOT_A_NAME
    if is_known(name):
        return None
    if holds_key(name):
        # A type becomes an attribute, a log field and a route key: never the key.
        return "invalid_type", _TYPE_HOLDS_KEY
    if strict_types:
        return "unknown_type", _UNKNOWN_TYPE
    return None


# Pub/Sub attribute values may be 1,024 bytes; `event_type` is kept to 128 characters
# (docs/reference/contract.md "Quarantine"), enough for any type name we accept and for a
# recognisable prefix of others.
EVENT_TYPE_CHARS = 128


@dataclass(frozen=True)
class QuarantinedEvent:
    """One refused event, as the quarantine topic (or the local sink) stores it."""

    reason: Reason
    type: str | None
    data: Any
    problems: Problems
    received_at: str
    server: str | None
    event_id: str
    content_key: str
    size: int | None = None
    """Of a `too_large` record: the bytes the message would have had."""

    @classmethod
    def create(
        cls,
        reason: Reason,
        event_type: str | None,
        data: Any,
        problems: Problems,
        *,
        server: str | None,
    ) -> QuarantinedEvent:
        """Raises ValueError when `data` holds NaN or Infinity (not JSON: the flow's 400)."""
        return cls(
            reason=reason,
            type=event_type,
            data=data,
            problems=problems,
            received_at=utc_timestamp(),
            server=server,
            event_id=new_event_id(),
            # The same key as a published event's, over the type and data as sent: a
            # replayed event's key may differ, since its data is then normalised.
            content_key=content_key(event_type, data),
        )

    @classmethod
    def too_large(
        cls,
        event_type: str | None,
        size: int,
        *,
        event_id: str,
        content_key: str,
        received_at: str,
        server: str | None,
    ) -> QuarantinedEvent:
        """The short record of a message over Pub/Sub's limit: its type, ids and size, no
        data (which would not fit either)."""
        return cls(
            reason="too_large",
            type=event_type,
            data=None,
            problems=[{"loc": "", "msg": f"message of {size} bytes is over Pub/Sub's limit"}],
            received_at=received_at,
            server=server,
            event_id=event_id,
            content_key=content_key,
            size=size,
        )

    def message_data(self) -> dict[str, Any]:
        fields = message_fields(self.type, self.data, self.event_id, self.received_at, self.server)
        if self.size is not None:
            fields["size"] = self.size
        return {**fields, "problems": self.problems}

    def attributes(self) -> dict[str, str]:
        return {
            "quarantine": self.reason,
            **message_attributes(
                (self.type or "")[:EVENT_TYPE_CHARS],
                self.event_id,
                self.content_key,
                self.received_at,
                self.server,
            ),
        }

    def message_bytes(self) -> bytes:
        return self._message_bytes

    @functools.cached_property
    def _message_bytes(self) -> bytes:
        # Written once, as for a published event: the flow measures it before the sink writes it.
        return json_bytes(self.message_data())
