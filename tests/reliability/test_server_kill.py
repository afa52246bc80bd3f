"""The server killed (SIGKILL) in the middle of a load: nothing it acknowledged is lost.

A `2xx` is sent only after Pub/Sub confirmed the message, so a process that dies at any
instant can only lose events it never answered; a new process serves again at once.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

import pytest
import requests

from tests.support.app import event_env
from tests.support.bodies import envelope
from tests.support.emulator import TestTopic
from tests.support.load import Load, distinct_events, ok_keys, outcomes, pull_by_event_id
from tests.support.server import RunningServer

pytestmark = [pytest.mark.reliability, pytest.mark.emulator, pytest.mark.server]

# Bounds the load; the kill comes long before.
MAX_EVENTS = 20_000
CONNECTIONS = 16


def test_killed_server_lost_no_acknowledged_event_and_a_new_one_serves(
    start_receiver: Callable[..., RunningServer], pubsub_topic: TestTopic
) -> None:
    env = event_env(WORKERS="1", THREADS="8", **pubsub_topic.env())
    server = start_receiver(env)
    load = Load(server.event_url, distinct_events(MAX_EVENTS), CONNECTIONS).start()
    load.wait_for_answers(500)
    # The whole group: gunicorn's arbiter and its worker die at the same instant.
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)
    load.stop()
    answers = load.wait()

    acknowledged = set(ok_keys(answers))
    assert len(acknowledged) >= 500
    # Requests in flight at the kill got no answer; none got anything but 200 or nothing.
    assert {answer.status for answer in answers} <= {200, None}, outcomes(answers)
    again = start_receiver(env)
    after = requests.post(again.event_url, data=envelope(), timeout=30)
    assert after.status_code == 200
    acknowledged.add(after.json()["id"])
    published = pull_by_event_id(pubsub_topic, acknowledged)
    assert acknowledged - published.keys() == set()
