"""The envelope a published message arrives in: Eventarc's CloudEvent or a push body.

Envelope apart from payload: this module only finds the Pub/Sub message (its data bytes,
attributes and id); `published.py` reads what the receiver wrote into it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pydantic_core

from sonoran_receiver.worker.published import UnreadableMessage


@dataclass(frozen=True)
class PubsubMessage:
    data: bytes
    attributes: Mapping[str, str]
    message_id: str | None


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
