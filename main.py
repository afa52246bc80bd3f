"""Entry points. Cloud Run functions and functions-framework load this file and call one.

`sonorancad_event` is the HTTP function the CAD (or the FiveM resource) posts to;
`sonorancad_worker` runs the handlers for events published to Pub/Sub.
"""

from __future__ import annotations

import os

import flask
import functions_framework
from cloudevents.http import CloudEvent

from sonoran_receiver.long_lived import built_for_good

# pydantic looks for plugins in the metadata of every installed package when it builds its
# first validator (about 6 ms of a start here); these functions use none. An operator who
# wants one sets the variable to something else.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

# What start-up builds lives as long as the process: built without the collector in the way,
# then frozen (sonoran_receiver/long_lived.py).
with built_for_good():
    from sonoran_receiver.receiving import server_limits
    from sonoran_receiver.receiving.flow import HttpRequest
    from sonoran_receiver.receiving.request_body import RequestBody
    from sonoran_receiver.runtime import start

    _runtime = start(os.environ)
    # functions-framework builds its gunicorn server after importing this file: the request
    # line, headers, head time and chunk framing are bounded from here on.
    server_limits.install(_runtime.settings.body_timeout_s)


@functions_framework.http
def sonorancad_event(request: flask.Request) -> flask.Response:
    return _respond(request)


# functions-framework types `http` but not `errorhandler` (Flask's own, re-exported).
@functions_framework.errorhandler(404)  # type: ignore[untyped-decorator]
def not_found(_error: Exception) -> flask.Response:
    # Flask's router answers a few paths itself, in HTML, before any function runs (a
    # newline in the path; functions-framework's own /robots.txt and /favicon.ico). The
    # flow answers them, so every error body is JSON (docs/reference/contract.md "Step 1: path").
    return _respond(flask.request)


def _respond(request: flask.Request) -> flask.Response:
    # The body straight from the server (`wsgi.input`), not Flask's `request.stream`:
    # `RequestBody` gives it a deadline and turns a cut-off body into the flow's own answer.
    body = RequestBody.from_environ(request.environ, _runtime.settings.body_timeout_s)
    try:
        answer = _runtime.receiver.receive(
            HttpRequest(
                method=request.method,
                path=request.path,
                # Raw: parsed only after the path and method checks, and only when short.
                query=request.query_string,
                content_length=body.content_length,
                body=body,
            )
        )
    finally:
        body.close()
    # functions-framework reads the whole request body after every answer that is not
    # streamed (its `read_request` after-request hook), whatever its size and however
    # slowly it comes: a 32 MiB body refused with 413 was still read into memory. The
    # hook skips streamed answers, so the answer is handed over as a one-piece stream,
    # with its length set.
    return flask.Response(
        iter((answer.body,)),
        status=answer.status,
        headers={**answer.headers, "Content-Length": str(len(answer.body))},
    )


@functions_framework.cloud_event
def sonorancad_worker(event: CloudEvent) -> None:
    # A non-2xx answer makes Pub/Sub redeliver, then dead-letter (sonoran_receiver/worker/).
    # The worker has written its line; an HTTP error, unlike the exception, reaches Flask as
    # an answer, without a traceback in the log.
    from sonoran_receiver.worker.runner import NOT_ACKNOWLEDGED, answer_status  # noqa: PLC0415

    try:
        _runtime.worker.handle(event.data)
    except NOT_ACKNOWLEDGED as refused:
        flask.abort(answer_status(refused), description=str(refused))
