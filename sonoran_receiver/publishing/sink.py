"""Where published events go: Pub/Sub, or the local sink when no topic is set."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any, Protocol

from sonoran_receiver.publishing.message import json_bytes


class PublishFailed(Exception):
    """A sink could not store a message; the flow answers 503."""


class Message(Protocol):
    """What a sink stores: a published event (`CanonicalEvent`) or a quarantined one."""

    @property
    def type(self) -> str | None: ...

    @property
    def event_id(self) -> str: ...

    def message_data(self) -> dict[str, Any]: ...

    def attributes(self) -> dict[str, str]: ...

    def message_bytes(self) -> bytes: ...


class EventSink(Protocol):
    def publish(self, event: Message) -> None:
        """Return once the message is stored; raise PublishFailed otherwise."""


class LocalSink:
    """The embedded default: one JSON line per message on stdout, and in a file if asked.

    Each line is `{"data": <message data object>, "attributes": {...}}`, the shape a
    Pub/Sub consumer would see, so a local run shows exactly what would be published.
    """

    def __init__(self, file: Path | None = None) -> None:
        self._file = file
        self._lock = threading.Lock()

    def publish(self, event: Message) -> None:
        message = {"data": event.message_data(), "attributes": event.attributes()}
        line = json_bytes(message).decode("utf-8")
        try:
            with self._lock:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
                if self._file is not None:
                    with self._file.open("a", encoding="utf-8") as sink_file:
                        sink_file.write(line + "\n")
        except OSError as failure:
            raise PublishFailed(f"local sink: {type(failure).__name__}") from failure
