"""`forward`: POST each event to your own server, signed per the Standard Webhooks spec.

The body is exactly the published message data (`CanonicalEvent.message_bytes()`, never the
key). Headers: `webhook-id` (the `event_id`, the same on every redelivery, so the receiver
can drop repeats), `webhook-timestamp` (unix seconds, when this attempt was sent) and
`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed with the bytes
of `FORWARD_SECRET` after `whsec_`. Any Standard Webhooks library verifies it. The call has
`HANDLER_DEADLINE_S` in all (see `handlers.delivery`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from handlers.delivery import (
    HANDLER_DEADLINE_S,
    Deadline,
    DeliveryFailed,
    post,
    require_success,
)
from handlers.registry import register
from sonoran_receiver.config import Settings
from sonoran_receiver.publishing.message import CanonicalEvent

# The Standard Webhooks secret format's marker, not a secret.
_SECRET_PREFIX = "whsec_"  # noqa: S105


@register("forward", requires=("FORWARD_URL", "FORWARD_SECRET"))
def forward_event(event: CanonicalEvent, settings: Settings) -> None:
    if settings.forward_url is None or settings.forward_secret is None:
        raise DeliveryFailed("forward", "FORWARD_URL and FORWARD_SECRET are needed")
    body = event.message_bytes()
    headers = signature_headers(settings.forward_secret, event.event_id, int(time.time()), body)
    deadline = Deadline(HANDLER_DEADLINE_S)
    reply = post(settings.forward_url, body, headers, handler="forward", deadline=deadline)
    require_success(reply, handler="forward")


def signature_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt."""
    key = base64.b64decode(secret.removeprefix(_SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{signature}",
    }
