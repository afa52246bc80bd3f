"""Entry points. Cloud Run functions and functions-framework load this file and call one.

`sonorancad_event` is the HTTP function the CAD (or the FiveM resource) posts to;
`sonorancad_worker` runs the handlers for events published to Pub/Sub.
"""

from __future__ import annotations

import os

import flask
import functions_framework
from cloudevents.http import CloudEvent

from sonoran_receiver.receiver import HttpRequest
from sonoran_receiver.runtime import start

_runtime = start(os.environ)


@functions_framework.http
def sonorancad_event(request: flask.Request) -> flask.Response:
    answer = _runtime.receiver.receive(
        HttpRequest(
            method=request.method,
            path=request.path,
            query=request.args.to_dict(flat=False),
            content_length=request.content_length,
            body=request.stream,
        )
    )
    return flask.Response(answer.body, status=answer.status, headers=dict(answer.headers))


@functions_framework.cloud_event
def sonorancad_worker(event: CloudEvent) -> None:
    # Raising answers 500: Pub/Sub redelivers, then dead-letters (sonoran_receiver/worker.py).
    _runtime.worker.handle(event.data)
