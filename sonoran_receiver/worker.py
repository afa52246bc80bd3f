"""The Pub/Sub worker: one published message in, the selected handlers run, or an exception out.

Pub/Sub redelivers a message whose delivery gets a non-2xx answer (functions-framework
answers 500 when the function raises) and dead-letters it after the subscription's maximum
attempts. So whatever must not be acknowledged raises here: a message this worker cannot
read (an unknown `schema_version` included) and a handler that failed.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import pydantic_core
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Strict,
    StringConstraints,
    ValidationError,
)

from handlers.registry import HandlerPlan
from sonoran_receiver import logs
from sonoran_receiver.body import SERVER_RE
from sonoran_receiver.events import problems, validate_canonical
from sonoran_receiver.events.types import TYPE_NAME
from sonoran_receiver.message import SCHEMA_VERSION, CanonicalEvent


class UnreadableMessage(Exception):
    """Not a message this worker can handle; the text holds no event values."""


class UnsupportedSchema(UnreadableMessage):
    """A `schema_version` this worker does not know: a newer publisher, an older worker."""


class HandlersFailed(Exception):
    def __init__(self, names: list[str]) -> None:
        super().__init__(f"handlers failed: {', '.join(names)}")
        self.names = names


@dataclass(frozen=True)
class PubsubMessage:
    data: bytes
    attributes: Mapping[str, str]
    message_id: str | None


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
    """The message data object the receiver publishes (contract "The published message").

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


class Worker:
    def __init__(self, plan: HandlerPlan) -> None:
        self._plan = plan

    def handle(self, cloud_event_data: Any) -> None:
        """Run the handlers for one delivered message; raise when it must be redelivered.

        1. unwrap: `data.message` of the CloudEvent (Eventarc's, or the one
           functions-framework makes from a push subscription's body);
        2. schema: `schema_version` other than 1, in the attributes or the data, raises;
        3. validate: the published type and data go through the event models again;
        4. handle: the selected handlers run; if any raised, so does the worker.
        """
        started = time.perf_counter()
        message: PubsubMessage | None = None
        try:
            message = unwrap(cloud_event_data)
            event = self._read(message)
        except UnreadableMessage as refused:
            logs.error(
                "worker refused message",
                reason=str(refused),
                message_id=message.message_id if message else None,
            )
            raise
        failed = self._plan.run(event)
        logs.emit(
            "ERROR" if failed else "INFO",
            "worker handlers failed" if failed else "worker event handled",
            type=event.type,
            event_id=event.event_id,
            server=event.server,
            message_id=message.message_id,
            handlers=[handler.name for handler in self._plan.for_type(event.type)],
            failed=failed or None,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        if failed:
            raise HandlersFailed(failed)

    def _read(self, message: PubsubMessage) -> CanonicalEvent:
        stated = message.attributes.get("schema_version")
        if stated is not None and stated != str(SCHEMA_VERSION):
            raise UnsupportedSchema("unsupported schema_version in the attributes")
        payload = message_payload(message.data)
        try:
            event = PublishedData.model_validate(payload).canonical_event()
        except ValidationError as invalid:
            raise UnreadableMessage(f"message fails its model: {problems(invalid)}") from None
        except ValueError:
            raise UnreadableMessage("message data holds NaN or Infinity") from None
        if message.attributes.get("event_id") not in (None, event.event_id):
            # Consumers dedupe on the attribute, handlers on the data: they must agree.
            raise UnreadableMessage("event_id attribute differs from the data's")
        if message.attributes.get("content_key") not in (None, event.content_key):
            # The models changed the data since it was published (a newer release): the key
            # of the data handlers see is the one the contract defines.
            logs.warning(
                "content_key differs from the published attribute",
                type=event.type,
                event_id=event.event_id,
                content_key=event.content_key,
                message_id=message.message_id,
            )
        return event


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


def unwrap(cloud_event_data: Any) -> PubsubMessage:
    """The Pub/Sub message in a CloudEvent's data.

    Eventarc delivers `{"message": {"data", "attributes", "messageId", ...},
    "subscription"}`; for a push subscription's body (no `ce-` headers) functions-framework
    builds `{"message": {"@type", "data", "attributes", "messageId", "publishTime"}}`
    (`functions_framework/event_conversion.py`). Both hold the message under `message`.
    """
    if isinstance(cloud_event_data, bytes | str):
        try:
            cloud_event_data = pydantic_core.from_json(cloud_event_data)
        except ValueError:
            raise UnreadableMessage("event data is not JSON") from None
    message = cloud_event_data.get("message") if isinstance(cloud_event_data, dict) else None
    if not isinstance(message, dict):
        raise UnreadableMessage("event data holds no Pub/Sub message")
    attributes = message.get("attributes") or {}
    if not isinstance(attributes, dict) or not all(
        isinstance(value, str) for value in attributes.values()
    ):
        raise UnreadableMessage("message attributes are not strings")
    encoded = message.get("data")
    if not isinstance(encoded, str):
        raise UnreadableMessage("message has no data")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise UnreadableMessage("message data is not base64") from None
    message_id = message.get("messageId")
    return PubsubMessage(
        data=data,
        attributes=attributes,
        message_id=message_id if isinstance(message_id, str) else None,
    )
