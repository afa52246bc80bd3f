"""The console's inputs, read in one loop: the two log files, the two subscriptions."""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from google.api_core import exceptions as api_exceptions

from local_stack.console.feed import Feed
from local_stack.resources import StackNames
from sonoran_receiver.tools.replay import subscriber_client

POLL_S: Final = 0.25
CALL_TIMEOUT_S: Final = 5.0


@dataclass
class LogTail:
    """The JSON objects appended to a file since the last call; other lines are skipped
    (gunicorn's own), a line still being written waits for its end."""

    path: Path
    _offset: int = 0
    _partial: bytes = field(default=b"", repr=False)

    def objects(self) -> list[dict[str, Any]]:
        try:
            with self.path.open("rb") as log:
                size = log.seek(0, 2)
                if size < self._offset:  # a new stack wrote the file afresh
                    self._offset, self._partial = 0, b""
                log.seek(self._offset)
                chunk = log.read()
        except OSError:
            return []
        self._offset += len(chunk)
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        found = []
        for line in lines:
            with contextlib.suppress(ValueError):
                value = json.loads(line)
                if isinstance(value, dict):
                    found.append(value)
        return found


class Reader:
    """Feeds `feed` from the stack's outputs every `POLL_S`, on a daemon thread."""

    def __init__(
        self,
        feed: Feed,
        *,
        emulator_host: str,
        project: str,
        names: StackNames,
        receiver_log: Path,
        worker_log: Path,
    ) -> None:
        self._feed = feed
        # gRPC, not REST: the emulator logs a few lines for every REST call, and this
        # polls several times a second.
        self._subscriber = subscriber_client(emulator_host)
        self._project = project
        self._names = names
        self._receiver = LogTail(receiver_log)
        self._worker = LogTail(worker_log)
        self._thread = threading.Thread(target=self._loop, name="console-reader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def read_once(self) -> None:
        for fields in self._receiver.objects():
            self._feed.receiver_line(fields)
        for fields in self._worker.objects():
            self._feed.worker_line(fields)
        subscriptions = (
            (self._names.console_events_subscription, self._feed.published),
            (self._names.console_quarantine_subscription, self._feed.quarantined),
        )
        for subscription, take in subscriptions:
            path = f"projects/{self._project}/subscriptions/{subscription}"
            try:
                # return_immediately (deprecated for the service, honoured by the emulator):
                # an empty subscription answers at once.
                received = self._subscriber.pull(
                    subscription=path,
                    max_messages=100,
                    return_immediately=True,
                    timeout=CALL_TIMEOUT_S,
                    retry=None,
                ).received_messages
                for each in received:
                    take(each.message.data, dict(each.message.attributes))
                if received:
                    # These subscriptions are the console's own: acknowledging takes
                    # nothing from the worker, replay or verify.
                    self._subscriber.acknowledge(
                        subscription=path,
                        ack_ids=[each.ack_id for each in received],
                        timeout=CALL_TIMEOUT_S,
                    )
            except api_exceptions.GoogleAPICallError:
                continue  # the emulator is still starting, or stopping: next round

    def _loop(self) -> None:
        while True:
            self.read_once()
            threading.Event().wait(POLL_S)
