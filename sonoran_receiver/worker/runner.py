"""The Pub/Sub worker: one published message in, the selected handlers run, or an exception out.

Pub/Sub redelivers a message whose delivery gets a non-2xx answer and dead-letters it after
the subscription's maximum attempts. So whatever must not be acknowledged raises here: a
message this worker cannot read (an unknown `schema_version` included) and a handler that
failed. Either has been written as a structured line already; `NOT_ACKNOWLEDGED` lists them,
and `answer_status` gives the status the entry point answers with instead of letting the
exception reach functions-framework (which would print a traceback of some 25 lines).
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import ValidationError

from handlers.registry import HandlerPlan
from sonoran_receiver import logs
from sonoran_receiver.events import problems
from sonoran_receiver.publishing.message import SCHEMA_VERSION, CanonicalEvent
from sonoran_receiver.worker.envelope import PubsubMessage, unwrap
from sonoran_receiver.worker.published import (
    PublishedData,
    UnreadableMessage,
    UnsupportedSchema,
    message_payload,
)


class HandlersFailed(Exception):
    def __init__(self, names: list[str]) -> None:
        super().__init__(f"handlers failed: {', '.join(names)}")
        self.names = names


# What `Worker.handle` raises for a delivery it has logged and must not acknowledge.
NOT_ACKNOWLEDGED = (HandlersFailed, UnreadableMessage)


def answer_status(refused: Exception) -> int:
    """The push's answer: 503 while the handlers' targets fail (a later delivery may pass),
    400 for a message this release cannot read. Pub/Sub redelivers either."""
    return 503 if isinstance(refused, HandlersFailed) else 400


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
            # of the data handlers see is the one defined in docs/reference/contract.md
            # "The published message".
            logs.warning(
                "content_key differs from the published attribute",
                type=event.type,
                event_id=event.event_id,
                content_key=event.content_key,
                message_id=message.message_id,
            )
        return event
