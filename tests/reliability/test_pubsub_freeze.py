"""Pub/Sub frozen in the middle of a load: answers are 200 or 503, never a lie.

The emulator's whole process group is stopped (SIGSTOP) for longer than
`PUBSUB_PUBLISH_TIMEOUT_S`: connections stay open and nothing answers, as with a hung
backend. Every event answered 200 must be in the subscription; events answered 503 were not
acknowledged (they may still land: a duplicate the sender's retry would bring anyway).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import requests

from tests.support.app import event_env
from tests.support.bodies import envelope
from tests.support.emulator import PubSubEmulator
from tests.support.load import Load, distinct_events, ok_keys, outcomes, pull_by_event_id
from tests.support.server import RunningServer

pytestmark = [pytest.mark.reliability, pytest.mark.emulator, pytest.mark.server]

PUBLISH_TIMEOUT_S = 2
FROZEN_S = 5
# Bounds the load; it is stopped well before, once answers came after the thaw.
MAX_EVENTS = 20_000
CONNECTIONS = 16


def test_frozen_pubsub_gives_only_200_or_503_every_200_is_published_and_it_recovers(
    start_receiver: Callable[..., RunningServer], private_emulator: PubSubEmulator
) -> None:
    topic = private_emulator.new_topic()
    server = start_receiver(
        event_env(
            WORKERS="1",
            THREADS="8",
            PUBSUB_PUBLISH_TIMEOUT_S=str(PUBLISH_TIMEOUT_S),
            **topic.env(),
        )
    )
    load = Load(server.event_url, distinct_events(MAX_EVENTS), CONNECTIONS).start()
    load.wait_for_answers(300)
    with private_emulator.paused():
        time.sleep(FROZEN_S)
    thawed_at = load.answered
    load.wait_for_answers(thawed_at + 300)
    load.stop()
    answers = load.wait()

    seen = outcomes(answers)
    assert set(seen) == {200, 503}, seen
    # It recovered by itself, during the load and after it.
    assert any(answer.status == 200 for answer in answers[thawed_at + 100 :])
    after = requests.post(server.event_url, data=envelope(), timeout=30)
    assert after.status_code == 200
    acknowledged = {*ok_keys(answers), after.json()["id"]}
    published = pull_by_event_id(topic, acknowledged)
    assert acknowledged - published.keys() == set()
