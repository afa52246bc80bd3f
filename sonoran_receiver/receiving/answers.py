"""The answers the HTTP flow can give early, each with its status and public reason.

Every error body is `{"error": "<short reason>", ...}`; nothing from the request is ever
put into one (our request bodies carry the community API key).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar


class RequestRejected(Exception):
    """A request the flow answers without accepting the event."""

    status: ClassVar[int] = 400
    reason: ClassVar[str] = "bad request"
    outcome: ClassVar[str] = "rejected"

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or self.reason)
        self.public_reason = reason or self.reason

    def body(self) -> dict[str, object]:
        return {"error": self.public_reason}

    def headers(self) -> Mapping[str, str]:
        return {}


class NotFound(RequestRejected):
    status = 404
    reason = "not found"
    outcome = "not_found"


class MethodNotAllowed(RequestRejected):
    status = 405
    reason = "method not allowed"
    outcome = "method_not_allowed"

    def headers(self) -> Mapping[str, str]:
        return {"Allow": "GET, HEAD, POST"}


class PayloadTooLarge(RequestRejected):
    status = 413
    reason = "payload too large"
    outcome = "too_large"


class EventTooLarge(PayloadTooLarge):
    """The event as it would be published is over Pub/Sub's message limit (numbers written
    out longer than sent); a short record of it, without its data, was kept instead."""

    reason = "event too large to publish"


class RequestTimeout(RequestRejected):
    """The body did not arrive whole within `SONORAN_BODY_TIMEOUT_S`; the connection closes."""

    status = 408
    reason = "request body timeout"
    outcome = "timeout"


class BadRequest(RequestRejected):
    status = 400
    reason = "bad request"
    outcome = "bad_request"


class Unauthorized(RequestRejected):
    """Wrong, missing or malformed key: the body says nothing more than this."""

    status = 401
    reason = "unauthorized"
    outcome = "unauthorized"


class InvalidEvent(RequestRejected):
    """A payload that fails its model: field paths and messages, never input values."""

    status = 422
    reason = "invalid event"
    outcome = "invalid"

    def __init__(self, problems: Sequence[Mapping[str, str]], reason: str | None = None) -> None:
        super().__init__(reason)
        self.problems = [dict(problem) for problem in problems]

    def body(self) -> dict[str, object]:
        return {"error": self.public_reason, "problems": self.problems}


class InvalidType(InvalidEvent):
    """`type` missing, not a string, or not a type name (step 6): said like a 422's problems."""

    status = 400
    reason = "invalid type"
    outcome = "bad_request"


class PublishUnavailable(RequestRejected):
    """Pub/Sub did not confirm in time: the event is not acknowledged, so the sender may retry."""

    status = 503
    reason = "event not stored, try again"
    outcome = "unavailable"
    retry_after_s: ClassVar[int] = 5

    def headers(self) -> Mapping[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class HandlerFailed(RequestRejected):
    """An inline-only handler raised: the event was handled by nobody."""

    status = 500
    reason = "handler failed"
    outcome = "handler_failed"
