"""A message the receiver published (or quarantined), read back and checked field by field.

The worker and replay read messages through here, so both accept exactly what the
receiver writes: the schema version it writes, and each field as the HTTP flow makes it.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any

import pydantic_core
from pydantic import AfterValidator, BaseModel, ConfigDict, Strict, StringConstraints

from sonoran_receiver.events import validate_canonical
from sonoran_receiver.events.types import TYPE_NAME
from sonoran_receiver.publishing.message import SCHEMA_VERSION, SERVER_RE, CanonicalEvent


class UnreadableMessage(Exception):
    """Not a message this worker can handle; the text holds no event values."""


class UnsupportedSchema(UnreadableMessage):
    """A `schema_version` this worker does not know: a newer publisher, an older worker."""


def _uuid_text(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError("not a UUID") from None


# RFC 3339 date-time: a date, `T`, a time with optional fraction, and `Z` or an offset.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339(value: str) -> str:
    if not _RFC3339.fullmatch(value):
        raise ValueError("not an RFC 3339 timestamp")
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("not an RFC 3339 timestamp") from None
    return value


class PublishedData(BaseModel):
    """The message data object the receiver publishes (docs/reference/contract.md
    "The published message").

    Anyone who can publish to the topic can write these fields, so each is checked as the
    receiver would have made it: `event_id` a UUID, `received_at` RFC 3339, `server` the
    `?server=` rule. A handler that posts `server` into Discord gets only what the HTTP flow
    would have accepted.
    """

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True, frozen=True)

    type: Annotated[str, Strict(), StringConstraints(pattern=rf"^{TYPE_NAME.pattern}$")]
    data: Any = None
    event_id: Annotated[str, Strict(), AfterValidator(_uuid_text)]
    received_at: Annotated[str, Strict(), AfterValidator(_rfc3339)]
    server: (
        Annotated[str, Strict(), StringConstraints(pattern=rf"^{SERVER_RE.pattern}$")] | None
    ) = None

    def canonical_event(self) -> CanonicalEvent:
        """The event this data names, checked by the same models as the HTTP flow (canonical
        data gives itself back). Raises ValidationError when the data fails its model and
        ValueError when it holds NaN or Infinity."""
        event_type, data = validate_canonical(self.type, self.data)
        return CanonicalEvent.create(
            event_type,
            data,
            server=self.server,
            received_at=self.received_at,
            event_id=self.event_id,
        )


def message_payload(data: bytes) -> dict[str, Any]:
    """The JSON object of a message the receiver wrote (a published or a quarantined event),
    at the schema version this release reads; UnreadableMessage otherwise."""
    try:
        payload = pydantic_core.from_json(data)
    except ValueError:
        raise UnreadableMessage("message data is not JSON") from None
    if not isinstance(payload, dict):
        raise UnreadableMessage("message data is not a JSON object")
    version = payload.get("schema_version")
    # `True == 1` in Python; a boolean is not a version.
    if type(version) is not int or version != SCHEMA_VERSION:
        raise UnsupportedSchema("unsupported or missing schema_version in the data")
    return payload
