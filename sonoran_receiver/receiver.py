"""The HTTP flow of the contract, top to bottom, one early answer per step."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pydantic_core
from pydantic import ValidationError

from handlers.registry import HandlerPlan
from sonoran_receiver import logs
from sonoran_receiver.body import Readable, read_body, server_from_query
from sonoran_receiver.config import Settings
from sonoran_receiver.errors import (
    BadRequest,
    HandlerFailed,
    InvalidEvent,
    MethodNotAllowed,
    NotFound,
    PublishFailed,
    PublishUnavailable,
    RequestRejected,
    Unauthorized,
)
from sonoran_receiver.events import ReceivedEvent, is_known, parse_event, problems
from sonoran_receiver.keys import KeyRing
from sonoran_receiver.message import CanonicalEvent
from sonoran_receiver.sink import EventSink

_JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class HttpRequest:
    """The plain values of one request; `main.py` builds it from Flask's request."""

    method: str
    path: str
    query: Mapping[str, Sequence[str]]
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


class Receiver:
    def __init__(
        self, settings: Settings, keys: KeyRing, sink: EventSink, handlers: HandlerPlan
    ) -> None:
        self._settings = settings
        self._keys = keys
        self._sink = sink
        self._handlers = handlers
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
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        return response

    def _flow(self, request: HttpRequest, outcome: _Outcome) -> HttpResponse:
        """The contract's steps, in order:

        1. path: anything but the event path is 404;
        2. method: GET/HEAD is the reachability probe, anything but POST is 405;
        3. size: over `SONORAN_MAX_BODY_BYTES` is 413, known early or while reading;
        4. query and JSON: a bad `?server=` or a body that is not a JSON object is 400;
        5. key: missing, not a string or not ours is 401;
        6. type: missing or not a string is 400;
        7. validate: a known type failing its model is 422 (unknown types under strict too);
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
        outcome.server = server_from_query(request.query)
        event = self._validate(body)
        outcome.type = event.type
        if not is_known(event.type) and self._settings.strict_types:
            raise InvalidEvent([{"loc": "type", "msg": "unknown event type"}], "unknown event type")
        try:
            accepted = CanonicalEvent.create(
                event.type, event.canonical_data(), server=outcome.server
            )
        except ValueError:
            # pydantic's parser reads NaN and Infinity, which no JSON consumer can.
            raise BadRequest("body is not valid JSON") from None
        outcome.event_id = accepted.event_id
        outcome.routes = self._route(accepted)
        return HttpResponse.json(
            200,
            {
                "status": "ok",
                "type": accepted.type,
                "id": accepted.event_id,
                "routes": outcome.routes,
            },
        )

    def _validate(self, body: bytes) -> ReceivedEvent:
        """Steps 4 to 7. The happy path is one `validate_json` of the raw bytes; when it
        fails, the steps are replayed in the contract's order on the parsed envelope, so the
        answer is always the first failing step's and a wrong key never sees a 422."""
        try:
            event = parse_event(body)
        except ValidationError as invalid:
            envelope = _json_object(body)
            key = envelope.get("key")
            if not isinstance(key, str) or not self._keys.matches(key):
                raise Unauthorized() from None
            if not isinstance(envelope.get("type"), str):
                raise BadRequest("type must be a string") from None
            raise InvalidEvent(problems(invalid)) from None
        if not self._keys.matches(event.key.get_secret_value()):
            raise Unauthorized()
        return event

    def _route(self, event: CanonicalEvent) -> list[str]:
        """Step 8: the route actions for the type, publish first so a 2xx means durable."""
        actions = self._settings.routes.lookup(event.type)
        if "drop" in actions or not actions:
            logs.debug("event dropped by route", type=event.type, event_id=event.event_id)
            return ["drop"]
        if "publish" in actions:
            try:
                self._sink.publish(event)
            except PublishFailed:
                raise PublishUnavailable() from None
        if "inline" in actions and self._handlers.run(event) and "publish" not in actions:
            raise HandlerFailed()
        return sorted(actions)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        parsed = pydantic_core.from_json(body)
    except ValueError:
        raise BadRequest("body is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise BadRequest("body must be a JSON object")
    return parsed
