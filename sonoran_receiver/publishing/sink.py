"""Where published events go: Pub/Sub, or the local sink when no topic is set."""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path
from typing import Any, Protocol

from sonoran_receiver.config import MAX_MESSAGE_BYTES
from sonoran_receiver.publishing.message import json_bytes

# What JSON leaves raw but a terminal acts on: DEL and the C1 controls (U+009B is a CSI, as
# ESC [ is), and the bidirectional controls that show text in another order than it is stored
# (a line could then read as something it does not hold). JSON's own `\uXXXX` spells them:
# the line holds the same data, and a terminal shows the escape, not its effect.
_TERMINAL_CONTROLS = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(line: str) -> str:
    """A JSON line with every terminal control in it written as a JSON escape."""
    return _TERMINAL_CONTROLS.sub(lambda found: f"\\u{ord(found.group()):04x}", line)


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


class MessageTooLarge(PublishFailed):
    """Over `MAX_MESSAGE_BYTES`: Pub/Sub would refuse the message on every attempt."""

    def __init__(self, size: int) -> None:
        super().__init__(f"message of {size} bytes, over {MAX_MESSAGE_BYTES}")
        self.size = size


def message_size(message: Message) -> int:
    """What Pub/Sub counts against its limit: the data, and each attribute's name and value."""
    attributes = message.attributes()
    return len(message.message_bytes()) + sum(
        len(name.encode()) + len(value.encode()) for name, value in attributes.items()
    )


def check_size(message: Message) -> int:
    """The message's size; MessageTooLarge when it is over `MAX_MESSAGE_BYTES`."""
    size = message_size(message)
    if size > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(size)
    return size


class EventSink(Protocol):
    def publish(self, event: Message) -> None:
        """Return once the message is stored; raise PublishFailed otherwise."""


class LocalSink:
    """The embedded default: one JSON line per message on stdout, and in a file if asked.

    Each line is `{"data": <message data object>, "attributes": {...}}`, the shape a
    Pub/Sub consumer would see, so a local run shows exactly what would be published. A
    message Pub/Sub would refuse for its size is refused here too (`MessageTooLarge`), so a
    local run answers as a deployment would.
    """

    def __init__(self, file: Path | None = None) -> None:
        self._file = file
        self._lock = threading.Lock()

    def publish(self, event: Message) -> None:
        check_size(event)
        message = {"data": event.message_data(), "attributes": event.attributes()}
        line = terminal_safe(json_bytes(message).decode("utf-8"))
        try:
            with self._lock:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
                if self._file is not None:
                    with self._file.open("a", encoding="utf-8") as sink_file:
                        sink_file.write(line + "\n")
        except OSError as failure:
            raise PublishFailed(f"local sink: {type(failure).__name__}") from failure
