"""No message over Pub/Sub's limit is ever attempted
(docs/reference/contract.md "After the key, every accepted event stays valid"): the flow measures
each message before any sink, answers `413` for one over `MAX_MESSAGE_BYTES` and quarantines
a short `too_large` record instead; the local sink refuses the same messages; and the body
limit's cap with a topic keeps every body under it, numbers written out longer included.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flask
import grpc
import pytest
from google.cloud import pubsub_v1
from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport
from google.pubsub_v1.types import PublishRequest, PubsubMessage

from handlers import build_plan
from sonoran_receiver.config import (
    MAX_MESSAGE_BYTES,
    PUBSUB_MAX_BODY_BYTES,
    PUBSUB_MAX_REQUEST_BYTES,
    Settings,
)
from sonoran_receiver.keys import KeyRing
from sonoran_receiver.publishing.message import CanonicalEvent
from sonoran_receiver.publishing.quarantine import EVENT_TYPE_CHARS
from sonoran_receiver.publishing.sink import LocalSink, MessageTooLarge, message_size
from sonoran_receiver.receiving.flow import HttpRequest, Receiver
from sonoran_receiver.runtime import build_quarantine, build_sink
from tests.support.app import EVENT_PATH, TEST_KEY, event_env
from tests.support.emulator import PubSubEmulator, TestTopic

TOO_LARGE = {"error": "event too large to publish"}
# A 413 body is read to the end: room for the biggest body these tests send.
ROOMY_LIMIT = 16 * 1024 * 1024


def numbers_body(size: int, event_type: str = "EVENT_SOMETHING_BIG", call: Any = None) -> bytes:
    """A body of about `size` bytes, most of them `1e15` in a list: each is written back as
    `1000000000000000.0`, 3.8 times its bytes with its comma."""
    head = json.dumps({"key": TEST_KEY, "type": event_type, "data": {"call": call, "n": []}})
    head = head.removesuffix("]}}")
    count = max(1, (size - len(head) - 3) // 5)
    return (head + ",".join(["1e15"] * count) + "]}}").encode()


def padded_body(message_bytes: int) -> bytes:
    """A body whose published message counts exactly `message_bytes`."""
    empty = CanonicalEvent.create("EVENT_SOMETHING_BIG", {"pad": ""}, server=None)
    pad = "x" * (message_bytes - message_size(empty))
    return json.dumps(
        {"key": TEST_KEY, "type": "EVENT_SOMETHING_BIG", "data": {"pad": pad}}
    ).encode()


def sink_lines(sink: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in sink.read_text().splitlines()] if sink.exists() else []


def assert_too_large_record(record: dict[str, Any], event_type: str, answer_log: str) -> None:
    assert record["attributes"]["quarantine"] == "too_large"
    data = record["data"]
    assert data["type"] == event_type
    assert data["data"] is None
    assert data["size"] > MAX_MESSAGE_BYTES
    assert record["attributes"]["event_id"] == data["event_id"]
    # The request's log line names the event the record keeps.
    assert data["event_id"] in answer_log


# --- the limit itself -----------------------------------------------------------------------


def test_a_message_at_the_limit_fits_a_publish_request_to_the_longest_topic() -> None:
    # What Pub/Sub counts is the whole request: the topic path and the protobuf framing
    # beside the data and attributes. Longest project id and topic id the settings take.
    topic = f"projects/{'p' * 63}/topics/{'t' * 255}"
    attributes = {
        "quarantine": "invalid_event",
        "event_type": "E" * EVENT_TYPE_CHARS,
        "schema_version": "1",
        "event_id": "6f1c2b9e-1111-4a2b-9c3d-000000000057",
        "content_key": "c" * 64,
        "received_at": "2026-11-27T21:43:29.123Z",
        "source": "sonorancad",
        "server": "s" * 64,
        "replayed_from": "quarantine",
    }
    counted = sum(len(name) + len(value) for name, value in attributes.items())
    message = PubsubMessage(data=b"x" * (MAX_MESSAGE_BYTES - counted), attributes=attributes)
    request = PublishRequest(topic=topic, messages=[message])
    assert request._pb.ByteSize() <= PUBSUB_MAX_REQUEST_BYTES


def test_the_body_cap_with_a_topic_keeps_the_longest_numbers_under_the_limit(
    make_app: Callable[..., flask.Flask], tmp_path: Path
) -> None:
    sink = tmp_path / "sink.jsonl"
    client = make_app(
        LOCAL_SINK_FILE=str(sink), SONORAN_MAX_BODY_BYTES=str(PUBSUB_MAX_BODY_BYTES)
    ).test_client()
    body = numbers_body(PUBSUB_MAX_BODY_BYTES)
    assert PUBSUB_MAX_BODY_BYTES - 5 <= len(body) <= PUBSUB_MAX_BODY_BYTES
    assert client.post(EVENT_PATH, data=body).status_code == 200
    [line] = sink_lines(sink)
    published = len(json.dumps(line["data"], separators=(",", ":")))
    assert 3.7 * len(body) < published <= MAX_MESSAGE_BYTES


# --- the local sink -------------------------------------------------------------------------


def test_the_local_sink_refuses_a_message_over_the_limit_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sink_file = tmp_path / "sink.jsonl"
    sink = LocalSink(sink_file)
    at_limit = CanonicalEvent.create("EVENT_SOMETHING_BIG", {"pad": ""}, server=None)
    pad = "x" * (MAX_MESSAGE_BYTES - message_size(at_limit))
    at_limit = CanonicalEvent.create("EVENT_SOMETHING_BIG", {"pad": pad}, server=None)
    over = CanonicalEvent.create("EVENT_SOMETHING_BIG", {"pad": pad + "x"}, server=None)
    with pytest.raises(MessageTooLarge):
        sink.publish(over)
    assert not sink_file.exists()
    sink.publish(at_limit)
    assert len(sink_lines(sink_file)) == 1
    capsys.readouterr()


@pytest.mark.parametrize(
    ("event_type", "call"),
    [("EVENT_SOMETHING_BIG", None), ("EVENT_911", "not a call object")],
    ids=["accepted", "refused by its model"],
)
def test_locally_an_event_over_the_limit_is_413_and_kept_as_a_short_record(
    make_app: Callable[..., flask.Flask],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    event_type: str,
    call: Any,
) -> None:
    # No topic, so no cap below the platform's: 3 MB of numbers become an 11 MB message.
    sink = tmp_path / "sink.jsonl"
    client = make_app(
        LOCAL_SINK_FILE=str(sink), SONORAN_MAX_BODY_BYTES=str(ROOMY_LIMIT)
    ).test_client()
    capsys.readouterr()
    response = client.post(EVENT_PATH, data=numbers_body(3_000_000, event_type, call))
    assert response.status_code == 413
    assert response.get_json() == TOO_LARGE
    [record] = sink_lines(sink)
    assert_too_large_record(record, event_type, capsys.readouterr().out)


# --- with Pub/Sub (the emulator) ------------------------------------------------------------


@pytest.fixture
def pubsub_receiver(
    pubsub_emulator: PubSubEmulator,
) -> tuple[Receiver, TestTopic, TestTopic]:
    """The flow with the deployment's sinks (events and quarantine topics on the emulator),
    its body limit above the cap a topic allows, as a later cap or model might let through."""
    events, quarantine = pubsub_emulator.new_topic(), pubsub_emulator.new_topic()
    values = event_env(
        **events.env(),
        PUBSUB_QUARANTINE_TOPIC=quarantine.name,
        SONORAN_MAX_BODY_BYTES=str(ROOMY_LIMIT),
        SONORAN_ROUTES="*=publish",
    )
    settings = Settings.model_validate(values)
    sink = build_sink(settings)
    receiver = Receiver(
        settings, KeyRing([TEST_KEY]), sink, build_plan(settings), build_quarantine(settings, sink)
    )
    return receiver, events, quarantine


def post_to(receiver: Receiver, body: bytes) -> tuple[int, Any]:
    answer = receiver.receive(HttpRequest("POST", EVENT_PATH, b"", len(body), io.BytesIO(body)))
    return answer.status, json.loads(answer.body)


@pytest.mark.emulator
def test_with_pubsub_an_event_over_the_limit_is_413_publishes_nothing_and_quarantines_a_record(
    pubsub_receiver: tuple[Receiver, TestTopic, TestTopic], capsys: pytest.CaptureFixture[str]
) -> None:
    receiver, events, quarantine = pubsub_receiver
    capsys.readouterr()
    assert post_to(receiver, numbers_body(3_000_000)) == (413, TOO_LARGE)
    logged = capsys.readouterr().out
    [record] = quarantine.pull(1)
    assert_too_large_record(
        {"data": json.loads(record.data), "attributes": dict(record.attributes)},
        "EVENT_SOMETHING_BIG",
        logged,
    )
    assert len(record.data) < 1000
    assert events.pull_all(quiet_s=1.0) == []


@pytest.mark.emulator
def test_with_pubsub_a_message_exactly_at_the_limit_is_published_whole(
    pubsub_receiver: tuple[Receiver, TestTopic, TestTopic], pubsub_emulator: PubSubEmulator
) -> None:
    receiver, events, quarantine = pubsub_receiver
    status, answer = post_to(receiver, padded_body(MAX_MESSAGE_BYTES))
    assert status == 200, answer
    # The test's own subscriber takes messages over gRPC's default 4 MiB, as Pub/Sub's
    # client library does.
    channel = grpc.insecure_channel(
        pubsub_emulator.host, options=[("grpc.max_receive_message_length", -1)]
    )
    subscriber = pubsub_v1.SubscriberClient(transport=SubscriberGrpcTransport(channel=channel))
    try:
        pulled = subscriber.pull(subscription=events.subscription_path, max_messages=1, timeout=30)
    finally:
        subscriber.close()
    [received] = pulled.received_messages
    message = received.message
    counted = len(message.data) + sum(len(k) + len(v) for k, v in message.attributes.items())
    assert counted == MAX_MESSAGE_BYTES
    assert json.loads(message.data)["event_id"] == answer["id"]
    assert quarantine.pull_all(quiet_s=0.5) == []
