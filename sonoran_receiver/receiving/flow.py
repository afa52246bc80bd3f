"""The HTTP flow (docs/reference/contract.md "The HTTP flow"), top to bottom, one early
answer per step."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

import pydantic_core
from pydantic import ValidationError

from handlers.registry import HandlerPlan
from sonoran_receiver import logs
from sonoran_receiver.config import Settings
from sonoran_receiver.events import parse_event, problems
from sonoran_receiver.events.types import TYPE_NAME
from sonoran_receiver.keys import KeyRing
from sonoran_receiver.publishing.message import CanonicalEvent
from sonoran_receiver.publishing.quarantine import Problems, QuarantinedEvent, Reason, type_refusal
from sonoran_receiver.publishing.sink import (
    EventSink,
    MessageTooLarge,
    PublishFailed,
    check_size,
)
from sonoran_receiver.receiving.answers import (
    BadRequest,
    EventTooLarge,
    HandlerFailed,
    InvalidEvent,
    InvalidType,
    MethodNotAllowed,
    NotFound,
    PublishUnavailable,
    RequestRejected,
    Unauthorized,
)
from sonoran_receiver.receiving.body import Readable, read_body
from sonoran_receiver.receiving.credential import read_key
from sonoran_receiver.receiving.redact import text_without_keys, without_secrets
from sonoran_receiver.receiving.server_name import ServerRefused, server_from_query
from sonoran_receiver.receiving.surrogates import without_lone_surrogates

_JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class HttpRequest:
    """The plain values of one request; `main.py` builds it from Flask's request."""

    method: str
    path: str
    query: bytes
    content_length: int | None
    body: Readable


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    headers: Mapping[str, str]

    @classmethod
    def json(cls, status: int, payload: object, headers: Mapping[str, str] = {}) -> HttpResponse:
        return cls(status, json.dumps(payload).encode("utf-8"), {**_JSON, **headers})


@dataclass
class _Outcome:
    """What the request log line says; filled in as the flow goes."""

    type: str | None = None
    event_id: str | None = None
    server: str | None = None
    routes: list[str] = field(default_factory=list)
    quarantine: str | None = None


class Receiver:
    def __init__(
        self,
        settings: Settings,
        keys: KeyRing,
        sink: EventSink,
        handlers: HandlerPlan,
        quarantine: EventSink | None = None,
    ) -> None:
        self._settings = settings
        self._keys = keys
        self._sink = sink
        self._handlers = handlers
        self._quarantine = quarantine
        self._paths = {settings.event_path, settings.event_path.rstrip("/") + "/"}

    def receive(self, request: HttpRequest) -> HttpResponse:
        """Answer one request and log one line about it."""
        started = time.perf_counter()
        outcome = _Outcome()
        try:
            response = self._flow(request, outcome)
            result = "accepted" if request.method == "POST" else "probe"
        except RequestRejected as rejected:
            response = HttpResponse.json(rejected.status, rejected.body(), rejected.headers())
            result = rejected.outcome
        logs.emit(
            "ERROR" if response.status >= 500 else "INFO",
            f"{request.method} event {result}",
            status=response.status,
            outcome=result,
            type=outcome.type,
            event_id=outcome.event_id,
            server=outcome.server,
            routes=outcome.routes or None,
            quarantine=outcome.quarantine,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        return response

    def _flow(self, request: HttpRequest, outcome: _Outcome) -> HttpResponse:
        """The contract's steps, in order:

        1. path: anything but the event path is 404;
        2. method: GET/HEAD is the reachability probe, anything but POST is 405;
        3. size: over `SONORAN_MAX_BODY_BYTES` is 413, known early or while reading;
        4. JSON: a body that is not a JSON object is 400;
        5. key: missing, not a string or not ours is 401, checked on the raw bytes before
           anything else reads the payload or the query; a bad `?server=` after it keeps
           the event without a server;
        6. type: missing, not a string or not a type name is 400, and quarantined;
        7. validate: a known type failing its model is 422 (unknown types under strict
           too), and quarantined;
        8. route: publish and/or run handlers inline, then 200; Pub/Sub not confirming is 503.
        """
        if request.path not in self._paths:
            raise NotFound()
        if request.method in ("GET", "HEAD"):
            return HttpResponse(
                200, b"ok: Sonoran CAD event receiver\n", {"Content-Type": "text/plain"}
            )
        if request.method != "POST":
            raise MethodNotAllowed()
        body = read_body(request.body, request.content_length, self._settings.max_body_bytes)
        if not self._keys.matches(read_key(body)):
            raise Unauthorized()
        # Only a trusted body is rewritten
        # (docs/reference/contract.md "What an unauthenticated request may cost").
        body = without_lone_surrogates(body)
        outcome.server = self._server(request.query)
        accepted = self._accept(body, outcome)
        outcome.type = accepted.type
        outcome.event_id = accepted.event_id
        outcome.routes = self._route(accepted, outcome)
        return HttpResponse.json(
            200,
            {
                "status": "ok",
                "type": accepted.type,
                "id": accepted.event_id,
                "routes": outcome.routes,
            },
        )

    def _server(self, query: bytes) -> str | None:
        """Step 5b: the `?server=` name, or None. A bad one loses only the name, never the
        event; the WARNING says why, never the value (it may be anything, even the key)."""
        try:
            server = server_from_query(query)
        except ServerRefused as refused:
            logs.warning("server name refused, event kept without a server", reason=str(refused))
            return None
        if server is not None and self._keys.found_in(server):
            # `?server=` holding the key would store it: the event is kept without a server.
            logs.warning("server name held an API key, dropped")
            return None
        return server

    def _accept(self, body: bytes, outcome: _Outcome) -> CanonicalEvent:
        """Steps 6 and 7 for a body whose key matched: the canonical event, or the refusal
        after the body was quarantined (a trusted sender's event is never just dropped).

        The happy path is one `validate_json` of the raw bytes; only a refused body is
        parsed again, to keep its type and data as sent."""
        try:
            event = parse_event(body)
        except ValidationError as invalid:
            envelope = _json_object(body)
            refused = self._type_refused(envelope.get("type"))
            self._refuse(*(refused or ("invalid_event", problems(invalid))), envelope, outcome)
        refused = self._type_refused(event.type)
        if refused is not None:
            self._refuse(*refused, _json_object(body), outcome)
        try:
            return CanonicalEvent.create(
                event.type,
                without_secrets(event.canonical_data(), self._keys),
                server=outcome.server,
            )
        except ValueError:
            # pydantic's parser reads NaN and Infinity, which no JSON consumer can.
            raise BadRequest("body is not valid JSON") from None

    def _type_refused(self, sent_type: Any) -> tuple[Reason, Problems] | None:
        return type_refusal(
            sent_type, strict_types=self._settings.strict_types, holds_key=self._keys.found_in
        )

    def _refuse(
        self, reason: Reason, found: Problems, envelope: dict[str, Any], outcome: _Outcome
    ) -> NoReturn:
        """Quarantine the refused body, then answer: 400 for the type, 422 for the payload."""
        self._hold(reason, envelope, found, outcome)
        if reason == "invalid_type":
            raise InvalidType(found)
        raise InvalidEvent(found, "unknown event type" if reason == "unknown_type" else None)

    def _hold(
        self,
        reason: Reason,
        envelope: dict[str, Any],
        found: Problems,
        outcome: _Outcome,
    ) -> None:
        """Quarantine a refused body before its answer; 503 when it cannot be stored, 413
        when it would be over Pub/Sub's limit (a short record is kept instead)."""
        sent_type = envelope.get("type")
        as_sent = (
            text_without_keys(sent_type.strip().upper(), self._keys)
            if isinstance(sent_type, str)
            else None
        )
        # Logged only when it is a type name: anything else is the sender's free text.
        outcome.type = as_sent if as_sent is not None and TYPE_NAME.fullmatch(as_sent) else None
        if self._quarantine is None:
            # No quarantine topic beside a Pub/Sub topic: said once, at start.
            return
        try:
            held = QuarantinedEvent.create(
                reason,
                as_sent,
                without_secrets(envelope.get("data"), self._keys),
                found,
                server=outcome.server,
            )
        except ValueError:
            raise BadRequest("body is not valid JSON") from None
        self._fitting(held, outcome)
        self._keep(held, outcome)

    def _fitting(self, message: CanonicalEvent | QuarantinedEvent, outcome: _Outcome) -> None:
        """Nothing over Pub/Sub's message limit is ever attempted, whichever sink stores it
        (docs/reference/contract.md "After the key, every accepted event stays valid"): the
        answer is 413, and a record of the type, ids and size is quarantined instead."""
        try:
            check_size(message)
        except MessageTooLarge as too_large:
            record = QuarantinedEvent.too_large(
                message.type,
                too_large.size,
                event_id=message.event_id,
                content_key=message.content_key,
                received_at=message.received_at,
                server=message.server,
            )
            outcome.event_id = message.event_id
            self._keep(record, outcome)
            raise EventTooLarge() from None

    def _keep(self, held: QuarantinedEvent, outcome: _Outcome) -> None:
        """Publish a quarantine record; 503 when it cannot be stored."""
        if self._quarantine is None:
            return
        try:
            self._quarantine.publish(held)
        except PublishFailed:
            raise PublishUnavailable() from None
        outcome.event_id = held.event_id
        outcome.quarantine = held.reason
        logs.warning(
            "event quarantined",
            quarantine=held.reason,
            type=outcome.type,
            event_id=held.event_id,
            server=outcome.server,
            size=held.size,
        )

    def _route(self, event: CanonicalEvent, outcome: _Outcome) -> list[str]:
        """Step 8: the route actions for the type, publish first so a 2xx means durable."""
        actions = self._settings.routes.lookup(event.type)
        if "drop" in actions or not actions:
            logs.debug("event dropped by route", type=event.type, event_id=event.event_id)
            return ["drop"]
        if "publish" in actions:
            self._fitting(event, outcome)
            try:
                self._sink.publish(event)
            except PublishFailed:
                raise PublishUnavailable() from None
        if "inline" in actions and self._handlers.run(event) and "publish" not in actions:
            raise HandlerFailed()
        return sorted(actions)


def _json_object(body: bytes) -> dict[str, Any]:
    """The body of a request whose key matched, parsed whole (it read as an object)."""
    try:
        parsed = pydantic_core.from_json(body)
    except ValueError:
        raise BadRequest("body is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise BadRequest("body must be a JSON object")
    return parsed
