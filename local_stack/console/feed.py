"""What the console knows: one view per event_id, merged from log lines and messages, and
the counts of requests refused with nothing kept.

Sources arrive in any order (a message may be pulled before the request's log line is
read), so every input fills in what it knows about its event_id. Every string shown passes
through `redact`, for each key the receiver accepts: no source holds one, and the console
makes sure of it anyway.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sonoran_receiver.tools.send import redact

# The `message` of the lines the console reads: sonoran_receiver/receiving/flow.py,
# sonoran_receiver/worker/runner.py, handlers/registry.py.
QUARANTINED = "event quarantined"
HANDLER_FAILED = "handler failed"
WORKER_DONE = ("worker event handled", "worker handlers failed")
REQUEST_PREFIX = "POST event "

_Fill = Callable[["EventView", dict[str, Any], Mapping[str, str]], None]


@dataclass
class HandlerRun:
    ok: bool
    error: str | None = None
    where: str = "worker"


@dataclass
class EventView:
    event_id: str
    seen_at: str
    received_at: str | None = None
    accepted: bool = False
    status: int | None = None
    type: str | None = None
    server: str | None = None
    routes: list[str] = field(default_factory=list)
    reason: str | None = None
    problems: list[Any] = field(default_factory=list)
    data: Any = None
    sent: Any = None
    replayed_from: str | None = None
    deliveries: int = 0
    handlers: dict[str, HandlerRun] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "time": self.received_at or self.seen_at,
            "outcome": "accepted" if self.accepted else "quarantined",
            "status": self.status,
            "type": self.type,
            "server": self.server,
            "routes": self.routes,
            "reason": self.reason,
            "problems": self.problems,
            "data": self.data,
            "sent": self.sent,
            "replayed_from": self.replayed_from,
            "deliveries": self.deliveries,
            "handlers": {
                name: {"ok": run.ok, "error": run.error, "where": run.where}
                for name, run in sorted(self.handlers.items())
            },
        }


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Feed:
    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = tuple(key for key in keys if key)
        self._changed = threading.Condition()
        self._events: dict[str, EventView] = {}
        self._touched: dict[str, int] = {}
        self._refused: Counter[str] = Counter()
        self._refused_seq = 0
        self._seq = 0

    # --- inputs ----------------------------------------------------------------------------

    def receiver_line(self, fields: Mapping[str, Any]) -> None:
        message = _text(fields.get("message")) or ""
        event_id = _text(fields.get("event_id"))
        with self._changed:
            if message == QUARANTINED and event_id:
                view = self._view(event_id)
                view.reason = _text(fields.get("quarantine"))
                view.type = view.type or _text(fields.get("type"))
                view.server = view.server or _text(fields.get("server"))
            elif message == HANDLER_FAILED and event_id:
                # A handler run inline by the receiver (a route with `inline`).
                name = str(fields.get("handler"))
                self._view(event_id).handlers[name] = HandlerRun(
                    False, _text(fields.get("error")), "inline"
                )
            elif message.startswith(REQUEST_PREFIX):
                self._request(fields, event_id)
            else:
                return
            self._notify(event_id)

    def _request(self, fields: Mapping[str, Any], event_id: str | None) -> None:
        status = fields.get("status")
        outcome = _text(fields.get("outcome")) or "?"
        if event_id is None:
            # Refused with nothing kept (before the key, or unavailable): counted only.
            self._refused[f"{status} {outcome}"] += 1
            self._refused_seq = self._seq + 1
            return
        view = self._view(event_id)
        view.status = status if isinstance(status, int) else None
        view.type = view.type or _text(fields.get("type"))
        view.server = view.server or _text(fields.get("server"))
        if outcome == "accepted":
            view.accepted = True
            routes = fields.get("routes")
            view.routes = [str(route) for route in routes] if isinstance(routes, list) else []

    def worker_line(self, fields: Mapping[str, Any]) -> None:
        message = _text(fields.get("message")) or ""
        event_id = _text(fields.get("event_id"))
        if event_id is None:
            return
        with self._changed:
            view = self._view(event_id)
            if message == HANDLER_FAILED:
                view.errors[str(fields.get("handler"))] = _text(fields.get("error")) or "raised"
            elif message in WORKER_DONE:
                view.deliveries += 1
                failed = fields.get("failed")
                failed_names = {str(name) for name in failed} if isinstance(failed, list) else set()
                handlers = fields.get("handlers")
                for name in handlers if isinstance(handlers, list) else []:
                    ok = str(name) not in failed_names
                    error = None if ok else view.errors.get(str(name), "raised")
                    view.handlers[str(name)] = HandlerRun(ok, error)
                view.errors.clear()
            else:
                return
            self._notify(event_id)

    def published(self, data: bytes, attributes: Mapping[str, str]) -> None:
        """A message of the events topic: an accepted event's canonical data."""
        self._message(data, attributes, _fill_published)

    def quarantined(self, data: bytes, attributes: Mapping[str, str]) -> None:
        """A message of the quarantine topic: the data as sent and why it was refused."""
        self._message(data, attributes, _fill_quarantined)

    def _message(self, data: bytes, attributes: Mapping[str, str], fill: _Fill) -> None:
        payload = _payload(data)
        event_id = _text(payload.get("event_id"))
        if event_id is None:
            return
        with self._changed:
            fill(self._view(event_id), payload, attributes)
            self._notify(event_id)

    # --- outputs ---------------------------------------------------------------------------

    def changes_since(self, seq: int, wait_s: float) -> tuple[int, dict[str, Any] | None]:
        """Views changed after `seq` and the refused counts if they changed: at once when
        there are some (or `seq` is 0, a new page), else after up to `wait_s`; None when
        nothing changed."""
        with self._changed:
            if seq and self._seq <= seq:
                self._changed.wait(wait_s)
            if seq and self._seq <= seq:
                return seq, None
            events = [
                self._events[event_id].as_json()
                for event_id, touched in self._touched.items()
                if touched > seq
            ]
            update = {
                "events": events,
                "refused": dict(self._refused) if self._refused_seq > seq or not seq else None,
            }
            return self._seq, self.redacted(update)

    def snapshot(self) -> dict[str, Any]:
        return self.changes_since(0, 0)[1] or {}

    def redacted(self, value: Any) -> Any:
        """`value` with every key the receiver accepts replaced, in every string."""
        if isinstance(value, str):
            for key in self._keys:
                value = redact(value, key)
            return value
        if isinstance(value, dict):
            return {self.redacted(str(name)): self.redacted(item) for name, item in value.items()}
        if isinstance(value, list):
            return [self.redacted(item) for item in value]
        return value

    # --- inside ----------------------------------------------------------------------------

    def _view(self, event_id: str) -> EventView:
        view = self._events.get(event_id)
        if view is None:
            view = self._events[event_id] = EventView(event_id, seen_at=_now())
        return view

    def _notify(self, event_id: str | None) -> None:
        self._seq += 1
        if event_id is not None:
            self._touched[event_id] = self._seq
        self._changed.notify_all()


def _fill_published(
    view: EventView, payload: dict[str, Any], attributes: Mapping[str, str]
) -> None:
    view.accepted = True
    view.type = _text(payload.get("type")) or view.type
    view.server = _text(payload.get("server")) or view.server
    view.received_at = _text(payload.get("received_at")) or view.received_at
    view.data = payload.get("data")
    view.replayed_from = attributes.get("replayed_from") or view.replayed_from
    if view.replayed_from and "publish" not in view.routes:
        view.routes = [*view.routes, "publish"]


def _fill_quarantined(
    view: EventView, payload: dict[str, Any], attributes: Mapping[str, str]
) -> None:
    view.reason = attributes.get("quarantine") or view.reason
    view.type = view.type or _text(payload.get("type"))
    view.server = view.server or _text(payload.get("server"))
    view.received_at = view.received_at or _text(payload.get("received_at"))
    view.sent = payload.get("data")
    problems = payload.get("problems")
    view.problems = problems if isinstance(problems, list) else []


def _payload(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
