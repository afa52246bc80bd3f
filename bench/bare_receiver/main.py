"""Baseline (a): the floor. Parse the JSON body, answer 200; no key check, no publish.

Whatever a receiver does beyond this costs the difference between (a) and it.
"""

from __future__ import annotations

import json

import flask
import functions_framework


@functions_framework.http
def receive(request: flask.Request) -> tuple[str, int]:
    json.loads(request.get_data())
    return "ok", 200
