"""The canonical event as published: message data, attributes, `event_id` and `content_key`."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = 1
# What `server` may hold: the game server named by `?server=` (one to 64 of these).
SERVER_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
SOURCE = "sonorancad"


def content_key(event_type: str | None, data: Any) -> str:
    """SHA-256 hex of the canonical JSON of `type` and `data`: equal for equal content.

    Every serialisation choice is fixed (sorted keys, no spaces, UTF-8, no NaN) so the same
    content gives the same key in every process and release; golden-value tests pin it.
    It is not an event id: two real panics by the same unit have the same content.
    """
    return hashlib.sha256(_canonical_json({"type": event_type, "data": data})).hexdigest()


def new_event_id() -> str:
    """A random UUID (RFC 9562 version 4, text form): one per accepted request, never
    derived from the content, so two real events with equal data stay two events.

    What `str(uuid.uuid4())` gives, written out: the same 122 random bits from
    `os.urandom`, without building a `UUID` object per request (a tenth of the cost)."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC's variant
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


# One encoder each, made once: `json.dumps` with options builds a new encoder per call.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _canonical_json(value: Any) -> bytes:
    return _CANONICAL.encode(value).encode("utf-8")


def json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON of a message. Raises ValueError for NaN and Infinity (not JSON).

    Texts never hold a lone surrogate here: the receiver replaces those before parsing
    (`surrogates.py`), and the parsers of every other source refuse them.
    """
    return _COMPACT.encode(value).encode("utf-8")


def utc_timestamp(moment: datetime | None = None) -> str:
    """RFC 3339 in UTC with milliseconds, e.g. `2026-11-27T21:43:29.123Z`; now by default."""
    if moment is None:
        now = time.time()
        second = int(now)
        # Every event of one second shares the text up to the second: written once.
        return f"{_utc_second(second)}.{int((now - second) * 1000):03d}Z"
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@functools.lru_cache(maxsize=4)
def _utc_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def message_fields(
    event_type: str | None, data: Any, event_id: str, received_at: str, server: str | None
) -> dict[str, Any]:
    """The message data every message carries (a published event's and a quarantined one's),
    so a consumer reads both alike."""
    return {
        "type": event_type,
        "data": data,
        "event_id": event_id,
        "received_at": received_at,
        "server": server,
        "schema_version": SCHEMA_VERSION,
    }


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
        return message_fields(self.type, self.data, self.event_id, self.received_at, self.server)

    def attributes(self) -> dict[str, str]:
        return message_attributes(
            self.type, self.event_id, self.content_key, self.received_at, self.server
        )

    def message_bytes(self) -> bytes:
        """The Pub/Sub message data: UTF-8 JSON of `message_data()`."""
        return self._message_bytes

    @functools.cached_property
    def _message_bytes(self) -> bytes:
        # Written once: the flow measures the message before a sink writes it.
        return json_bytes(self.message_data())
