"""Baseline (b): the receiver a user would write from Google's Pub/Sub sample.

Modelled on the Cloud Functions "publish" sample (python-docs-samples `functions/pubsub`):
a global `PublisherClient`, `json` parse, `==` on the key, publish, wait on
`future.result()`, answer 200. No size limit, no validation, no constant-time compare, and
`json.loads` errors become 500s: it is the speed to beat, not a design to copy.
"""

from __future__ import annotations

import json
import os

import flask
import functions_framework
from google.cloud import pubsub_v1

API_KEY = os.environ["SONORAN_API_KEYS"]
publisher = pubsub_v1.PublisherClient()
topic_path = publisher.topic_path(os.environ["GOOGLE_CLOUD_PROJECT"], os.environ["PUBSUB_TOPIC"])


@functions_framework.http
def receive(request: flask.Request) -> tuple[str, int]:
    body = json.loads(request.get_data())
    if body.get("key") != API_KEY:
        return "unauthorized", 401
    message = json.dumps({"type": body.get("type"), "data": body.get("data")})
    future = publisher.publish(topic_path, message.encode("utf-8"), event_type=str(body["type"]))
    future.result()
    return "ok", 200
