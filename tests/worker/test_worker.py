"""`sonorancad_worker`: a published message in, handlers run, or an exception (so a redelivery).

The first tests call the worker the runtime builds; the `server` ones run the real
`functions-framework --target sonorancad_worker --signature-type cloudevent` and post to it
what Eventarc and a Pub/Sub push subscription send.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from sonoran_receiver.config import WORKER_TARGET
from sonoran_receiver.publishing.message import CanonicalEvent
from sonoran_receiver.runtime import Runtime, start
from sonoran_receiver.worker.published import UnreadableMessage, UnsupportedSchema
from sonoran_receiver.worker.runner import HandlersFailed
from tests.handlers.test_discord import CALL_911
from tests.support.server import RunningServer
from tests.support.stand_in import Answer, StandIn

EVENT = CanonicalEvent.create("EVENT_911", CALL_911, server="1")
SUBSCRIPTION = "projects/sonoran-test/subscriptions/cad-events-worker"


def pubsub_message(
    data: bytes | None = None, attributes: dict[str, str] | None = None
) -> dict[str, Any]:
    """A Pub/Sub message as push and Eventarc carry it: data in base64, string attributes."""
    return {
        "data": base64.b64encode(EVENT.message_bytes() if data is None else data).decode(),
        "attributes": EVENT.attributes() if attributes is None else attributes,
        "messageId": "4021318",
        "publishTime": "2026-11-27T21:43:29.123Z",
    }


def push_body(message: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a push subscription POSTs, and also the `data` of Eventarc's CloudEvent."""
    return {"message": message or pubsub_message(), "subscription": SUBSCRIPTION}


def with_data(**changes: Any) -> bytes:
    return json.dumps({**EVENT.message_data(), **changes}).encode()


@pytest.fixture
def discord() -> Iterator[StandIn]:
    with StandIn() as stand_in:
        yield stand_in


@pytest.fixture
def worker_runtime(discord: StandIn) -> Runtime:
    """The worker's runtime, started as Cloud Run starts it: no API key anywhere."""
    return start(
        {
            "FUNCTION_TARGET": WORKER_TARGET,
            "SONORAN_HANDLERS": "*=discord",
            "DISCORD_WEBHOOK_URL": discord.url,
        }
    )


def test_worker_runs_the_selected_handlers_without_any_api_key(
    worker_runtime: Runtime, discord: StandIn
) -> None:
    worker_runtime.worker.handle(push_body())
    [request] = discord.received
    embed = request.json()["embeds"][0]
    assert embed["title"] == "Emergency 911 call"
    assert embed["footer"]["text"] == "Sonoran CAD · server 1"
    assert embed["timestamp"] == EVENT.received_at


@pytest.mark.parametrize(
    "message",
    [
        pubsub_message(attributes={**EVENT.attributes(), "schema_version": "2"}),
        pubsub_message(data=with_data(schema_version=2)),
        pubsub_message(data=with_data(schema_version=True)),
        pubsub_message(data=with_data(schema_version=None)),
    ],
    ids=["attribute-2", "data-2", "data-true", "data-missing"],
)
def test_unknown_schema_version_raises_so_the_message_dead_letters(
    worker_runtime: Runtime, discord: StandIn, message: dict[str, Any]
) -> None:
    with pytest.raises(UnsupportedSchema):
        worker_runtime.worker.handle(push_body(message))
    assert discord.received == []


@pytest.mark.parametrize(
    "cloud_event_data",
    [
        {"subscription": SUBSCRIPTION},
        push_body({**pubsub_message(), "data": "not base64!"}),
        push_body(pubsub_message(data=b"\xff not json")),
        push_body(pubsub_message(data=b'["a JSON array"]')),
        push_body(pubsub_message(data=with_data(received_at=12))),
        push_body(pubsub_message(data=with_data(type=None))),
        push_body(pubsub_message(data=with_data(received_at="yesterday"))),
        push_body(pubsub_message(data=with_data(received_at="2026-13-45T99:00:00Z"))),
        push_body(pubsub_message(data=with_data(server="fivem 1\n<@everyone>"))),
        push_body(pubsub_message(data=with_data(server="x" * 65))),
        push_body(pubsub_message(data=with_data(event_id="not-a-uuid"))),
        push_body(pubsub_message(data=with_data(event_id=None))),
        push_body(pubsub_message(data=with_data(type="Caller John Smith, shots fired"))),
        push_body(pubsub_message(attributes={**EVENT.attributes(), "event_id": str(uuid.uuid4())})),
    ],
    ids=[
        "no-message",
        "not-base64",
        "not-json",
        "not-object",
        "bad-received-at",
        "no-type",
        "received-at-not-rfc3339",
        "received-at-impossible-date",
        "server-breaks-the-server-rule",
        "server-too-long",
        "event-id-not-a-uuid",
        "event-id-missing",
        "type-not-a-type-name",
        "event-id-attribute-differs",
    ],
)
def test_unreadable_message_raises(worker_runtime: Runtime, cloud_event_data: Any) -> None:
    with pytest.raises(UnreadableMessage):
        worker_runtime.worker.handle(cloud_event_data)


def test_failing_handler_makes_the_worker_raise_after_logging(
    worker_runtime: Runtime, discord: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    discord.answer(Answer(503))
    with pytest.raises(HandlersFailed) as failed:
        worker_runtime.worker.handle(push_body())
    assert failed.value.names == ["discord"]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["severity"], line["message"]) for line in lines] == [
        ("ERROR", "handler failed"),
        ("ERROR", "worker handlers failed"),
    ]
    assert all(line["event_id"] == EVENT.event_id for line in lines)


def test_data_failing_its_model_raises_without_echoing_it(worker_runtime: Runtime) -> None:
    panic = with_data(type="EVENT_UNIT_PANIC", data={"identIds": ["secret-text"]})
    with pytest.raises(UnreadableMessage) as refused:
        worker_runtime.worker.handle(push_body(pubsub_message(data=panic)))
    assert "identIds" in str(refused.value)
    assert "secret-text" not in str(refused.value)


def test_handlers_see_the_canonical_shape(worker_runtime: Runtime, discord: StandIn) -> None:
    """A message published in a variant shape (legacy `identId`) reaches handlers canonical."""
    panic = with_data(type="EVENT_UNIT_PANIC", data={"identId": "57", "isPanic": True})
    worker_runtime.worker.handle(push_body(pubsub_message(data=panic)))
    [request] = discord.received
    assert request.json()["embeds"][0]["fields"][0] == {
        "name": "Units",
        "value": "57",
        "inline": True,
    }


# The real function, as Cloud Run runs it.

WorkerFactory = Callable[..., RunningServer]


@pytest.fixture
def start_worker(start_receiver: WorkerFactory, discord: StandIn) -> WorkerFactory:
    def factory(**env: str) -> RunningServer:
        return start_receiver(
            {"SONORAN_HANDLERS": "*=discord", "DISCORD_WEBHOOK_URL": discord.url, **env},
            target=WORKER_TARGET,
            signature_type="cloudevent",
        )

    return factory


@pytest.mark.server
def test_worker_function_starts_without_a_key_and_handles_a_push_body(
    start_worker: WorkerFactory, discord: StandIn
) -> None:
    worker = start_worker()
    # A push subscription's body: no ce- headers; functions-framework converts it.
    response = requests.post(worker.base_url + "/", json=push_body(), timeout=30)
    assert response.status_code == 200
    assert len(discord.received) == 1


@pytest.mark.server
def test_worker_function_handles_eventarcs_cloud_event(
    start_worker: WorkerFactory, discord: StandIn
) -> None:
    worker = start_worker()
    headers = {
        "ce-id": "4021318",
        "ce-specversion": "1.0",
        "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
        "ce-source": "//pubsub.googleapis.com/projects/sonoran-test/topics/cad-events",
        "ce-time": "2026-11-27T21:43:29.123Z",
    }
    response = requests.post(worker.base_url + "/", json=push_body(), headers=headers, timeout=30)
    assert response.status_code == 200
    assert len(discord.received) == 1


def json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.mark.server
def test_a_failed_worker_delivery_answers_non_2xx_with_structured_lines_and_no_traceback(
    start_worker: WorkerFactory, discord: StandIn
) -> None:
    discord.answer(Answer(404), Answer(404))
    worker = start_worker()
    response = requests.post(worker.base_url + "/", json=push_body(), timeout=30)
    assert response.status_code == 503  # Pub/Sub redelivers, then dead-letters
    output = worker.output()
    assert "Traceback" not in output
    assert discord.url not in output
    lines = json_lines(output)
    [failed] = [line for line in lines if line["message"] == "handler failed"]
    assert failed["http_status"] == 404
    [summary] = [line for line in lines if line["message"] == "worker handlers failed"]
    assert summary["failed"] == ["discord"]


@pytest.mark.server
def test_worker_function_answers_non_2xx_for_an_unknown_schema_version(
    start_worker: WorkerFactory, discord: StandIn
) -> None:
    worker = start_worker()
    message = pubsub_message(data=with_data(schema_version=2))
    response = requests.post(worker.base_url + "/", json=push_body(message), timeout=30)
    assert response.status_code == 400
    assert discord.received == []
    assert "Traceback" not in worker.output()
    assert [line["message"] for line in json_lines(worker.output())].count(
        "worker refused message"
    ) == 1


@pytest.mark.server
def test_http_function_refuses_to_start_without_a_key(start_receiver: WorkerFactory) -> None:
    with pytest.raises(RuntimeError) as refused:
        start_receiver({})
    assert "configuration error: SONORAN_API_KEYS:" in str(refused.value)


def test_handlers_see_the_published_event_id_received_at_and_server(
    worker_runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    worker_runtime.worker.handle(push_body())
    [handled] = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if '"worker event handled"' in line
    ]
    assert handled["event_id"] == EVENT.event_id
    assert handled["server"] == EVENT.server
