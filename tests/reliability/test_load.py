"""Under load, every acknowledged event is in Pub/Sub exactly once (contract: "A 2xx means
the event is durable"), through the real server (gunicorn) and the real emulator."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.app import event_env
from tests.support.emulator import TestTopic
from tests.support.load import Load, distinct_events, ok_keys, outcomes, pull_by_event_id
from tests.support.server import RunningServer

pytestmark = [pytest.mark.reliability, pytest.mark.emulator, pytest.mark.server]

EVENTS = 5_000
CONNECTIONS = 32


def test_5000_events_at_32_connections_are_all_200_and_each_published_exactly_once(
    start_receiver: Callable[..., RunningServer], pubsub_topic: TestTopic
) -> None:
    # deploy/ runs one worker with THREADS = the request concurrency (8 by default).
    server = start_receiver(event_env(WORKERS="1", THREADS="8", **pubsub_topic.env()))
    answers = Load(server.event_url, distinct_events(EVENTS), CONNECTIONS).start().wait()

    assert outcomes(answers) == {200: EVENTS}
    acknowledged = ok_keys(answers)
    assert len(set(acknowledged)) == EVENTS
    published = pull_by_event_id(pubsub_topic, set(acknowledged))
    assert published.keys() == set(acknowledged)
    # Exactly once: no event id in two different messages (redeliveries of one message
    # keep its id, so they do not count twice).
    assert [key for key, ids in published.items() if len(ids) != 1] == []
