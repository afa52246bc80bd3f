"""End to end: the CAD posts an event, Pub/Sub pushes it to the worker, Discord gets it.

Everything real on 127.0.0.1: the HTTP function and the worker as functions-framework
subprocesses, the Pub/Sub emulator (session fixture, a topic per test) with a push
subscription to the worker, as `deploy/` sets it up in the cloud, and a stand-in Discord.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests
from google.cloud import pubsub_v1

from sonoran_receiver.config import WORKER_TARGET
from tests.support.app import event_env
from tests.support.bodies import envelope
from tests.support.emulator import TestTopic
from tests.support.server import RunningServer
from tests.support.stand_in import Answer, StandIn

pytestmark = [pytest.mark.emulator, pytest.mark.server]

# Bounds on waiting for asynchronous delivery, not assertions about speed.
DELIVERY_DEADLINE_S = 60.0


@pytest.fixture
def discord() -> Iterator[StandIn]:
    with StandIn() as stand_in:
        yield stand_in


@pytest.fixture
def pipeline(
    pubsub_topic: TestTopic, start_receiver: Callable[..., RunningServer], discord: StandIn
) -> RunningServer:
    """The HTTP function publishing to the test topic, whose push subscription feeds the
    worker; returns the HTTP function."""
    worker = start_receiver(
        {"SONORAN_HANDLERS": "*=log+discord", "DISCORD_WEBHOOK_URL": discord.url},
        target=WORKER_TARGET,
        signature_type="cloudevent",
    )
    subscriber = pubsub_topic.emulator.subscriber()
    try:
        subscriber.create_subscription(
            name=f"{pubsub_topic.subscription_path}-push",
            topic=pubsub_topic.topic_path,
            push_config=pubsub_v1.types.PushConfig(push_endpoint=worker.base_url + "/"),
            ack_deadline_seconds=30,
            timeout=10,
        )
    finally:
        subscriber.close()
    return start_receiver(event_env(**pubsub_topic.env()))


def test_published_911_call_reaches_discord_through_the_worker(
    pipeline: RunningServer, discord: StandIn
) -> None:
    response = requests.post(pipeline.event_url + "?server=1", data=envelope(), timeout=30)
    assert response.status_code == 200
    assert response.json()["routes"] == ["publish"]
    [request] = discord.wait_for(1, DELIVERY_DEADLINE_S)
    embed = request.json()["embeds"][0]
    assert embed["title"] == "Emergency 911 call"
    assert embed["footer"]["text"] == "Sonoran CAD · server 1"
    assert {"name": "Call ID", "value": "318", "inline": True} in embed["fields"]


def test_failed_handler_in_the_worker_is_redelivered_by_pubsub(
    pipeline: RunningServer, discord: StandIn
) -> None:
    discord.answer(Answer(500))
    response = requests.post(pipeline.event_url, data=envelope(), timeout=30)
    assert response.status_code == 200
    first, second = discord.wait_for(2, DELIVERY_DEADLINE_S)[:2]
    assert first.body == second.body
