"""A local HTTP server standing in for Discord and for a forward target.

Real HTTP on 127.0.0.1 and a free port, so handlers are tested through `requests` as they
run in production (no mocks of the HTTP client). It records every request and answers from
a script: the queued answers in order, then `204` (what Discord answers a webhook).

    with StandIn(Answer(429, {"Retry-After": "1"})) as discord:
        ...  # point DISCORD_WEBHOOK_URL at discord.url
        assert len(discord.received) == 2
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.closing import ClosesOnExit

# A path shaped like Discord's, token included, so tests can check it is never logged.
WEBHOOK_PATH = "/api/webhooks/1234567890/stand-in-webhook-token-do-not-log"


@dataclass(frozen=True)
class Answer:
    status: int = 204
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] = {}) -> Answer:
        return cls(
            status, {"Content-Type": "application/json", **headers}, json.dumps(payload).encode()
        )


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: Mapping[str, str]
    """Names lower-cased."""
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class StandIn(ClosesOnExit):
    def __init__(self, *answers: Answer) -> None:
        self._answers: deque[Answer] = deque(answers)
        self._received: list[Received] = []
        self._arrived = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{WEBHOOK_PATH}"

    @property
    def received(self) -> list[Received]:
        with self._arrived:
            return list(self._received)

    def answer(self, *answers: Answer) -> None:
        """Queue more scripted answers."""
        with self._arrived:
            self._answers.extend(answers)

    def wait_for(self, count: int, deadline_s: float = 30.0) -> list[Received]:
        """Every request received, once `count` have arrived or the deadline passed."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self._received) >= count, timeout=deadline_s)
            return list(self._received)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _record(self, request: Received) -> Answer:
        with self._arrived:
            self._received.append(request)
            self._arrived.notify_all()
            return self._answers.popleft() if self._answers else Answer()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                answer = stand_in._record(
                    Received(
                        method=self.command,
                        path=self.path,
                        headers={name.lower(): value for name, value in self.headers.items()},
                        body=body,
                    )
                )
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if answer.status not in (204, 304):
                    self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            # A GET (a reachability probe) is recorded and answered from the script alike.
            do_GET = do_POST  # noqa: N815 - http.server's naming

            def log_message(self, format: str, *args: Any) -> None:
                # The test output stays readable; requests are in `received`.
                return

        return Handler
