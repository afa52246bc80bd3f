"""End to end: functions-framework (gunicorn, threads) publishing to the real emulator.

A burst of distinct events from concurrent connections: every one answered `200`, and every
`200` is in the subscription exactly once (a `2xx` means durable). Bounded: 500 requests to
127.0.0.1 only.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.app import TEST_KEY, event_env
from tests.support.emulator import TestTopic
from tests.support.fixtures import load_fixtures
from tests.support.server import RunningServer

pytestmark = [pytest.mark.emulator, pytest.mark.server]

EVENTS = 500
CONNECTIONS = 16


def status_event(number: int) -> bytes:
    [status] = [fixture for fixture in load_fixtures() if fixture.name == "unit_status_ids"]
    data = {**status.request["data"], "identIds": [number]}
    return json.dumps({**status.request, "key": TEST_KEY, "data": data}).encode("utf-8")


def test_burst_of_distinct_events_is_all_200_and_all_published_exactly_once(
    start_receiver: Callable[..., RunningServer], pubsub_topic: TestTopic
) -> None:
    server = start_receiver(event_env(**pubsub_topic.env()))
    local = threading.local()

    def send(number: int) -> tuple[int, str | None]:
        # One keep-alive connection per sending thread, as a forwarder would hold.
        if not hasattr(local, "session"):
            local.session = requests.Session()
        response = local.session.post(
            server.event_url,
            data=status_event(number),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        answer = response.json() if response.status_code == 200 else {}
        return response.status_code, answer.get("id")

    with ThreadPoolExecutor(max_workers=CONNECTIONS) as pool:
        answers = list(pool.map(send, range(EVENTS)))

    assert Counter(status for status, _ in answers) == {200: EVENTS}, server.output()[-2000:]
    acknowledged = {key for _, key in answers}
    assert len(acknowledged) == EVENTS

    messages = pubsub_topic.pull(EVENTS, deadline_s=60)
    messages += pubsub_topic.pull_all(quiet_s=2.0)
    published = Counter(message.attributes["event_id"] for message in messages)
    assert set(published) == acknowledged
    assert set(published.values()) == {1}
