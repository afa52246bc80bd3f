"""Baseline (c): the floor for a publishing receiver. Parse the JSON, compare the key, one
`publish` RPC through the generated client, answer 200; nothing else.

No batch thread, no future, no validation, no log line: whatever a publishing receiver
does beyond this costs the difference between this and it. The generated client reads
`PUBSUB_EMULATOR_HOST` itself (a plain-text channel, no credentials).
"""

from __future__ import annotations

import json
import os

import flask
import functions_framework
from google.pubsub_v1 import PublisherClient, PubsubMessage

API_KEY = os.environ["SONORAN_API_KEYS"]
publisher = PublisherClient()
topic_path = publisher.topic_path(os.environ["GOOGLE_CLOUD_PROJECT"], os.environ["PUBSUB_TOPIC"])


@functions_framework.http
def receive(request: flask.Request) -> tuple[str, int]:
    body = json.loads(request.get_data())
    if body.get("key") != API_KEY:
        return "unauthorized", 401
    data = json.dumps({"type": body.get("type"), "data": body.get("data")}).encode("utf-8")
    message = PubsubMessage(data=data, attributes={"event_type": str(body["type"])})
    publisher.publish(topic=topic_path, messages=[message], timeout=10.0)
    return "ok", 200
