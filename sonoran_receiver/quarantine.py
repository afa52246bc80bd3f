"""The quarantine message: a trusted sender's event that our models refused, kept as sent.

Neither sender retries (contract "Quarantine"), so a body that passed the key check and then
failed the type or validation step is answered `400`/`422` and also stored, before the
answer, for the replay command (`sonoran_receiver/replay.py`) to re-validate after an
upgrade. It holds `type` and `data` exactly as sent (never `key` or `logKey`), what failed,
and the same `event_id`/`content_key`/`received_at`/`server` a published event carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sonoran_receiver.message import (
    content_key,
    json_bytes,
    message_attributes,
    message_fields,
    new_event_id,
    utc_timestamp,
)

Reason = Literal["invalid_event", "unknown_type", "invalid_type"]

# Pub/Sub attribute values may be 1,024 bytes; the contract keeps `event_type` to 128
# characters, enough for any type name we accept and for a recognisable prefix of others.
EVENT_TYPE_CHARS = 128


@dataclass(frozen=True)
class QuarantinedEvent:
    """One refused event, as the quarantine topic (or the local sink) stores it."""

    reason: Reason
    type: str | None
    data: Any
    problems: list[dict[str, str]]
    received_at: str
    server: str | None
    event_id: str
    content_key: str

    @classmethod
    def create(
        cls,
        reason: Reason,
        event_type: str | None,
        data: Any,
        problems: list[dict[str, str]],
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

    def message_data(self) -> dict[str, Any]:
        return {
            **message_fields(self.type, self.data, self.event_id, self.received_at, self.server),
            "problems": self.problems,
        }

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
        return json_bytes(self.message_data())
