"""Concurrent load against a real server, and what the subscription holds afterwards.

Used by the reliability tests: `Load` sends distinct events on N keep-alive connections (one
thread each, `http.client`) and records every answer; `pull_by_event_id` pulls until the
wanted event ids arrived and groups message ids by key. Traffic goes to 127.0.0.1 only,
bounded by the number of bodies given.
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tests.support.app import TEST_KEY
from tests.support.emulator import TestTopic
from tests.support.fixtures import load_fixtures


def distinct_events(count: int, key: str = TEST_KEY) -> list[bytes]:
    """`count` valid events, no two alike: the fixtures of every type in turn, each with a
    sequence number in `data` (models keep fields they do not name), so every event id
    differs. `GET_LOGS` is left out: the default routes drop it, so it is never published."""
    fixtures = [
        fixture
        for fixture in load_fixtures()
        if isinstance(fixture.request.get("data"), dict) and fixture.expected_type != "GET_LOGS"
    ]
    events = []
    for number in range(count):
        request = fixtures[number % len(fixtures)].request
        sent = {**request, "key": key, "data": {**request["data"], "loadSequence": number}}
        events.append(json.dumps(sent).encode("utf-8"))
    return events


@dataclass(frozen=True)
class Answer:
    status: int | None
    """None: no answer (the connection was refused, reset or closed)."""
    event_id: str | None
    """The `id` of a 200 answer."""
    problem: str | None = None
    """Why there was no answer (the exception's class name), for failure messages."""


class Load:
    """Send `bodies` to `url` on `connections` keep-alive connections, in the background.

    `start()` returns at once; `answered` counts answers so far; `stop()` makes the
    clients finish the request they are in and send no more; `wait()` joins them.
    """

    def __init__(self, url: str, bodies: Sequence[bytes], connections: int) -> None:
        parts = urllib.parse.urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._target = parts.path + (f"?{parts.query}" if parts.query else "")
        self._bodies = bodies
        self._next = itertools.count()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self.answers: list[Answer] = []
        self._threads = [
            threading.Thread(target=self._client, daemon=True) for _ in range(connections)
        ]

    def start(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    @property
    def answered(self) -> int:
        with self._lock:
            return len(self.answers)

    def wait_for_answers(self, count: int, deadline_s: float = 60.0) -> None:
        deadline = time.monotonic() + deadline_s
        while self.answered < count and time.monotonic() < deadline and self.running():
            time.sleep(0.02)

    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def stop(self) -> None:
        self._stopped.set()

    def wait(self, deadline_s: float = 120.0) -> list[Answer]:
        deadline = time.monotonic() + deadline_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self.running():
            raise RuntimeError("the load did not finish in time")
        return self.answers

    def _client(self) -> None:
        connection = self._connect()
        try:
            while not self._stopped.is_set():
                index = next(self._next)
                if index >= len(self._bodies):
                    return
                answer = self._send(connection, self._bodies[index])
                if answer.status is None:
                    connection.close()
                    connection = self._connect()
                with self._lock:
                    self.answers.append(answer)
        finally:
            connection.close()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self._host, self._port, timeout=60)

    def _send(self, connection: http.client.HTTPConnection, body: bytes) -> Answer:
        try:
            connection.request("POST", self._target, body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as failure:
            return Answer(None, None, type(failure).__name__)
        event_id = json.loads(payload)["id"] if response.status == 200 else None
        return Answer(response.status, event_id)


def outcomes(answers: Iterable[Answer]) -> Counter[int | str]:
    """How many answers of each status, and of each reason for no answer."""
    return Counter(
        answer.status if answer.status is not None else f"no answer: {answer.problem}"
        for answer in answers
    )


def ok_keys(answers: Iterable[Answer]) -> list[str]:
    return [answer.event_id for answer in answers if answer.event_id is not None]


def pull_by_event_id(
    topic: TestTopic, wanted: set[str], deadline_s: float = 90.0, quiet_s: float = 2.0
) -> dict[str, set[str]]:
    """Message ids per `event_id` attribute: pulled (and acked) until every wanted key
    arrived or the deadline passed, then until nothing more came for `quiet_s`, so that a
    second message for a key, had there been one, is there to be seen."""
    seen: dict[str, set[str]] = {}

    def keep(messages: Iterable[Any]) -> None:
        for message in messages:
            seen.setdefault(message.attributes["event_id"], set()).add(message.message_id)

    deadline = time.monotonic() + deadline_s
    while not wanted <= seen.keys() and (left := deadline - time.monotonic()) > 0:
        keep(topic.pull(len(wanted - seen.keys()), deadline_s=min(left, 10.0)))
    keep(topic.pull_all(quiet_s=quiet_s))
    return seen
