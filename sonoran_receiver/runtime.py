"""Assembly at start: settings, keys, sink and handlers, built once per process."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from handlers import HandlerPlan, build_plan
from sonoran_receiver import logs
from sonoran_receiver.config import (
    EVENT_TARGET,
    WORKER_TARGET,
    ConfigError,
    Settings,
    load_settings,
)
from sonoran_receiver.keys import KeyRing
from sonoran_receiver.publishing.pubsub import PubSubSink
from sonoran_receiver.publishing.sink import EventSink, LocalSink
from sonoran_receiver.receiving.flow import Receiver

if TYPE_CHECKING:
    from sonoran_receiver.worker.runner import Worker


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    receiver: Receiver
    handlers: HandlerPlan

    @functools.cached_property
    def worker(self) -> Worker:
        """The Pub/Sub worker, built by its first message: a start of the HTTP function
        never loads its modules (a few ms of every cold start, `bench/RESULTS.md`)."""
        from sonoran_receiver.worker.runner import Worker  # noqa: PLC0415

        return Worker(self.handlers)


def start(environ: Mapping[str, str]) -> Runtime:
    """Build everything from the environment, or refuse the start with one line.

    `FUNCTION_TARGET` says which function this process serves (functions-framework sets it
    before importing `main.py`, and so do Cloud Run functions): settings only the HTTP
    function needs are checked only when it is the target.
    """
    target = environ.get("FUNCTION_TARGET") or EVENT_TARGET
    try:
        settings = load_settings(environ, target)
        handlers = build_plan(settings)
    except ConfigError as invalid:
        # SystemExit with a message prints that one line, without a traceback.
        raise SystemExit(f"configuration error: {invalid}") from None
    keys = KeyRing(settings.api_keys, settings.api_keys_file)
    sink = build_sink(settings)
    quarantine = build_quarantine(settings, sink, serving_events=target != WORKER_TARGET)
    receiver = Receiver(settings, keys, sink, handlers, quarantine)
    return Runtime(settings=settings, receiver=receiver, handlers=handlers)


def build_quarantine(
    settings: Settings, sink: EventSink, *, serving_events: bool = True
) -> EventSink | None:
    """Where refused events of a trusted sender go: the quarantine topic; with no topic at
    all, the local sink (its lines carry the `quarantine` attribute). A Pub/Sub deployment
    without a quarantine topic keeps nothing refused, and says so at start."""
    path = settings.quarantine_topic_path
    if path is not None:
        return PubSubSink(
            path,
            settings.publish_timeout_s,
            settings.pubsub_emulator_host,
            topic_kind="quarantine",
        )
    if settings.topic_path is None:
        return sink
    if serving_events:
        logs.warning(
            "no PUBSUB_QUARANTINE_TOPIC: events refused after a good key are not kept",
        )
    return None


def build_sink(settings: Settings) -> EventSink:
    """Pub/Sub when a topic is set, the local sink otherwise."""
    if settings.topic_path is None:
        return LocalSink(settings.local_sink_file)
    return PubSubSink(
        settings.topic_path, settings.publish_timeout_s, settings.pubsub_emulator_host
    )
