"""The console's pages: the live list (server-sent events), and the send and replay buttons.

Everything the page shows is built with `textContent` by static/console.js, never parsed as
HTML, and the Content-Security-Policy allows no inline script: event text is the sender's,
so it is hostile. The buttons' POSTs need a JSON body and a header a cross-site form cannot
send, and every request must name this console's own host, so another site open in the same
browser can neither press them nor read the page through a rebound DNS name.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import flask

from local_stack.console.feed import Feed
from sonoran_receiver.tools import replay
from sonoran_receiver.tools.samples import event_types
from sonoran_receiver.tools.send import post, request_body

STREAM_WAIT_S: Final = 15.0
SEND_TIMEOUT_S: Final = 30.0
REPLAY_WAIT_S: Final = "2"
BUTTON_HEADER: Final = "X-Console"
CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class ConsoleConfig:
    port: int
    event_url: str
    project: str
    prefix: str
    key: str | None
    environ: Mapping[str, str]


def create_app(feed: Feed, config: ConsoleConfig) -> flask.Flask:
    app = flask.Flask(__name__)
    _guard(app, config)
    _pages(app, feed, config)
    _buttons(app, feed, config)
    return app


def _guard(app: flask.Flask, config: ConsoleConfig) -> None:
    hosts = {f"127.0.0.1:{config.port}", f"localhost:{config.port}"}

    @app.before_request
    def own_host_only() -> flask.Response | None:
        if flask.request.host not in hosts:
            return flask.Response("unknown host\n", 403, mimetype="text/plain")
        if flask.request.method == "POST" and (
            flask.request.headers.get(BUTTON_HEADER) != "1" or not flask.request.is_json
        ):
            return flask.Response("buttons only\n", 403, mimetype="text/plain")
        return None

    @app.after_request
    def headers(response: flask.Response) -> flask.Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")
        return response


def _pages(app: flask.Flask, feed: Feed, config: ConsoleConfig) -> None:
    @app.get("/")
    def index() -> str:
        return flask.render_template(
            "index.html", types=event_types(), event_url=config.event_url, prefix=config.prefix
        )

    @app.get("/health")
    def health() -> flask.Response:
        return flask.Response("ok\n", mimetype="text/plain")

    @app.get("/api/events")
    def snapshot() -> flask.Response:
        return _json(feed.snapshot(), 200)

    @app.get("/api/stream")
    def stream() -> flask.Response:
        def updates() -> Iterator[str]:
            seq = 0
            while True:
                seq, update = feed.changes_since(seq, STREAM_WAIT_S)
                # A comment line when nothing changed keeps the connection seen as alive.
                yield f"data: {json.dumps(update)}\n\n" if update is not None else ": idle\n\n"

        return flask.Response(
            flask.stream_with_context(updates()),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-store"},
        )


def _buttons(app: flask.Flask, feed: Feed, config: ConsoleConfig) -> None:
    replaying = threading.Lock()

    @app.post("/api/send")
    def send() -> flask.Response:
        event_type = str((flask.request.get_json(silent=True) or {}).get("type", ""))
        if event_type not in event_types():
            return _json({"error": "unknown event type"}, 400)
        if not config.key:
            return _json({"error": "no key: set SONORAN_API_KEYS in .env"}, 409)
        try:
            status, _, answer = post(
                config.event_url, request_body(event_type, config.key), SEND_TIMEOUT_S
            )
        except OSError as error:
            return _json({"error": f"no answer from the receiver ({type(error).__name__})"}, 502)
        return _json({"status": status, "answer": feed.redacted(_answer(answer))}, 200)

    @app.post("/api/replay")
    def replay_now() -> flask.Response:
        source = str((flask.request.get_json(silent=True) or {}).get("from", "quarantine"))
        if source not in ("quarantine", "dead-letter"):
            return _json({"error": "from must be quarantine or dead-letter"}, 400)
        out, err = io.StringIO(), io.StringIO()
        argv = ["--from", source, "--project", config.project, "--prefix", config.prefix]
        with replaying:
            status = replay.main([*argv, "--wait", REPLAY_WAIT_S], config.environ, out, err)
        lines = (out.getvalue() + err.getvalue()).splitlines()
        return _json({"status": status, "lines": feed.redacted(lines)}, 200)


def _answer(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace")[:2000]


def _json(value: Any, status: int) -> flask.Response:
    return flask.Response(json.dumps(value), status, mimetype="application/json")
