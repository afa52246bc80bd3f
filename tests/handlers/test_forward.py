"""The `forward` handler: the published message data, signed per Standard Webhooks.

The signature is checked with `standardwebhooks`, the spec's reference Python library, as a
user's receiving server would; the target is a local stand-in (real HTTP).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from handlers.delivery import DeliveryFailed
from handlers.forward import forward_event
from sonoran_receiver.config import WORKER_TARGET, Settings, load_settings
from sonoran_receiver.publishing.message import CanonicalEvent
from tests.support.stand_in import Answer, Received, StandIn

SECRET = "whsec_" + base64.b64encode(b"forward-test-secret-32-bytes-long").decode()
EVENT = CanonicalEvent.create("EVENT_UNIT_PANIC", {"identIds": [57], "isPanic": True}, server="1")


@pytest.fixture
def target() -> Iterator[StandIn]:
    with StandIn() as stand_in:
        yield stand_in


def settings_for(stand_in: StandIn) -> Settings:
    return load_settings(
        {"SONORAN_HANDLERS": "*=forward", "FORWARD_URL": stand_in.url, "FORWARD_SECRET": SECRET},
        WORKER_TARGET,
    )


def forwarded(stand_in: StandIn) -> Received:
    forward_event(EVENT, settings_for(stand_in))
    [request] = stand_in.received
    return request


def test_forward_posts_the_message_data_signed_so_standard_webhooks_verifies(
    target: StandIn,
) -> None:
    request = forwarded(target)
    assert request.body == EVENT.message_bytes()
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == EVENT.event_id
    assert Webhook(SECRET).verify(request.body, dict(request.headers)) == EVENT.message_data()


def test_tampered_body_fails_verification(target: StandIn) -> None:
    request = forwarded(target)
    tampered = request.body.replace(b'"isPanic":true', b'"isPanic":false')
    assert tampered != request.body
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(tampered, dict(request.headers))


@pytest.mark.parametrize(
    "answer",
    [Answer(500), Answer(404), Answer(307, {"Location": "http://127.0.0.1:9/elsewhere"})],
    ids=["500", "404", "redirect-not-followed"],
)
def test_non_2xx_answer_raises(target: StandIn, answer: Answer) -> None:
    target.answer(answer)
    with pytest.raises(DeliveryFailed):
        forward_event(EVENT, settings_for(target))
    assert len(target.received) == 1


def test_equal_content_gets_a_different_webhook_id_per_event(target: StandIn) -> None:
    # Two real panics with the same data are two events (contract: `event_id` per request).
    first = CanonicalEvent.create(EVENT.type, EVENT.data, server="1")
    second = CanonicalEvent.create(EVENT.type, EVENT.data, server="1")
    assert first.content_key == second.content_key
    settings = settings_for(target)
    forward_event(first, settings)
    forward_event(second, settings)
    sent = target.received
    assert [request.headers["webhook-id"] for request in sent] == [
        first.event_id,
        second.event_id,
    ]
    assert first.event_id != second.event_id
    for request in sent:
        Webhook(SECRET).verify(request.body, dict(request.headers))


def test_a_redelivered_event_keeps_its_webhook_id(target: StandIn) -> None:
    settings = settings_for(target)
    forward_event(EVENT, settings)
    forward_event(EVENT, settings)
    first, again = target.received
    assert first.headers["webhook-id"] == again.headers["webhook-id"] == EVENT.event_id
    assert Webhook(SECRET).verify(again.body, dict(again.headers)) == EVENT.message_data()
