"""The canonical event as published: message data, attributes, `event_id` and `content_key`."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = 1
SOURCE = "sonorancad"


def content_key(event_type: str | None, data: Any) -> str:
    """SHA-256 hex of the canonical JSON of `type` and `data`: equal for equal content.

    Every serialisation choice is fixed (sorted keys, no spaces, UTF-8, no NaN) so the same
    content gives the same key in every process and release; golden-value tests pin it.
    It is not an event id: two real panics by the same unit have the same content.
    """
    return hashlib.sha256(_canonical_json({"type": event_type, "data": data})).hexdigest()


def new_event_id() -> str:
    """A random UUID (RFC 9562 text form): one per accepted request, never derived from
    the content, so two real events with equal data stay two events."""
    return str(uuid.uuid4())


def _canonical_json(value: Any) -> bytes:
    # surrogatepass: a lone surrogate (JSON allows `"\ud83d"`, and a sender cutting a text
    # inside an emoji writes one) still has one fixed key.
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8", "surrogatepass")


def json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON of a message: text as is, or, when a text holds a lone surrogate
    (which UTF-8 cannot carry), every non-ASCII character as a `\\u` escape, which keeps
    the value exactly as sent. Raises ValueError for NaN and Infinity (not JSON)."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
            "utf-8"
        )
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode(
            "ascii"
        )


def utc_timestamp(moment: datetime | None = None) -> str:
    """RFC 3339 in UTC with milliseconds, e.g. `2026-11-27T21:43:29.123Z`."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def message_attributes(
    event_type: str, event_id: str, content_key: str, received_at: str, server: str | None
) -> dict[str, str]:
    """The attributes every message carries (a published event's and a quarantined one's),
    so a subscription filter or a consumer reads both alike."""
    attributes = {
        "event_type": event_type,
        "schema_version": str(SCHEMA_VERSION),
        "event_id": event_id,
        "content_key": content_key,
        "received_at": received_at,
        "source": SOURCE,
    }
    if server is not None:
        attributes["server"] = server
    return attributes


@dataclass(frozen=True)
class CanonicalEvent:
    """One accepted event, as handlers and Pub/Sub consumers see it (never with the key)."""

    type: str
    data: Any
    received_at: str
    server: str | None
    event_id: str
    content_key: str
    schema_version: int = SCHEMA_VERSION

    @classmethod
    def create(
        cls,
        event_type: str,
        data: Any,
        *,
        server: str | None,
        received_at: str | None = None,
        event_id: str | None = None,
    ) -> CanonicalEvent:
        """A new event (a fresh `event_id`), or a published one read again (its own id).

        Raises ValueError when `data` holds NaN or Infinity, which JSON has no words for.
        """
        return cls(
            type=event_type,
            data=data,
            received_at=received_at or utc_timestamp(),
            server=server,
            event_id=event_id or new_event_id(),
            content_key=content_key(event_type, data),
        )

    def message_data(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "data": self.data,
            "event_id": self.event_id,
            "received_at": self.received_at,
            "server": self.server,
            "schema_version": self.schema_version,
        }

    def attributes(self) -> dict[str, str]:
        return message_attributes(
            self.type, self.event_id, self.content_key, self.received_at, self.server
        )

    def message_bytes(self) -> bytes:
        """The Pub/Sub message data: UTF-8 JSON of `message_data()`."""
        return json_bytes(self.message_data())
