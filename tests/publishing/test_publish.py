"""The published message, pulled back from the real Pub/Sub emulator (docs/reference/contract.md
"The published message"): data and attributes exactly as promised, no key, a fresh event_id per
request and a stable content_key."""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import flask
import pytest
from werkzeug.test import TestResponse

from sonoran_receiver.config import load_settings
from sonoran_receiver.publishing.pubsub import PubSubSink
from sonoran_receiver.publishing.sink import LocalSink
from sonoran_receiver.runtime import build_sink
from tests.support.app import EVENT_PATH, TEST_KEY
from tests.support.emulator import TestTopic
from tests.support.fixtures import Fixture, load_fixtures

pytestmark = pytest.mark.emulator

FIXTURES = load_fixtures()
ATTRIBUTES = {
    "event_type",
    "schema_version",
    "event_id",
    "content_key",
    "received_at",
    "source",
    "server",
}


def post(client: flask.testing.FlaskClient, body: bytes, query: str = "") -> TestResponse:
    return client.post(EVENT_PATH + query, data=body, content_type="application/json")


def publishing_client(
    make_app: Callable[..., flask.Flask], topic: TestTopic
) -> flask.testing.FlaskClient:
    # Every type published, GET_LOGS and unknown types included.
    return make_app(SONORAN_ROUTES="*=publish", **topic.env()).test_client()


def message_json(message: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(message.data.decode("utf-8"))
    return data


def rfc3339(text: str) -> datetime:
    assert text.endswith("Z")
    return datetime.fromisoformat(text.removesuffix("Z") + "+00:00")


def canonical(fixture: Fixture) -> str:
    return json.dumps([fixture.expected_type, fixture.expected_data], sort_keys=True)


@pytest.mark.parametrize("fixture", FIXTURES, ids=[fixture.name for fixture in FIXTURES])
def test_each_fixture_is_published_with_the_contracts_data_and_attributes(
    make_app: Callable[..., flask.Flask], pubsub_topic: TestTopic, fixture: Fixture
) -> None:
    client = publishing_client(make_app, pubsub_topic)
    before = datetime.now(UTC)
    response = post(client, fixture.body(TEST_KEY), "?server=fivem-1")
    after = datetime.now(UTC)
    assert response.status_code == 200, response.get_json()
    [message] = pubsub_topic.pull(1)

    data = message_json(message)
    assert data == {
        "type": fixture.expected_type,
        "data": fixture.expected_data,
        "event_id": response.get_json()["id"],
        "received_at": data["received_at"],
        "server": "fivem-1",
        "schema_version": 1,
    }
    assert before - timedelta(milliseconds=1) <= rfc3339(data["received_at"]) <= after
    assert dict(message.attributes) == {
        "event_type": fixture.expected_type,
        "schema_version": "1",
        "event_id": response.get_json()["id"],
        "content_key": message.attributes["content_key"],
        "received_at": data["received_at"],
        "source": "sonorancad",
        "server": "fivem-1",
    }
    hashed = json.dumps(
        {"type": fixture.expected_type, "data": fixture.expected_data},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    assert message.attributes["content_key"] == hashlib.sha256(hashed.encode()).hexdigest()


def test_without_server_query_the_message_has_null_server_and_no_server_attribute(
    make_app: Callable[..., flask.Flask], pubsub_topic: TestTopic
) -> None:
    client = publishing_client(make_app, pubsub_topic)
    assert post(client, FIXTURES[0].body(TEST_KEY)).status_code == 200
    [message] = pubsub_topic.pull(1)
    assert message_json(message)["server"] is None
    assert set(message.attributes) == ATTRIBUTES - {"server"}


def test_key_and_log_key_appear_in_no_message_or_attribute(
    make_app: Callable[..., flask.Flask], pubsub_topic: TestTopic
) -> None:
    client = publishing_client(make_app, pubsub_topic)
    for fixture in FIXTURES:
        assert post(client, fixture.body(TEST_KEY), "?server=1").status_code == 200
    messages = pubsub_topic.pull(len(FIXTURES))
    assert len(messages) == len(FIXTURES)
    log_keys = {value for fixture in FIXTURES for value in _values_of("logKey", fixture.request)}
    assert log_keys, "the fixtures should hold GET_LOGS with a logKey"
    for message in messages:
        texts = [message.data.decode("utf-8"), *message.attributes.keys()]
        texts += message.attributes.values()
        for text in texts:
            assert TEST_KEY.lower() not in text.lower()
            assert not any(log_key in text for log_key in log_keys)
        assert not _field_names(message_json(message)) & {"key", "logKey"}


def _field_names(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {name for item in value.values() for name in _field_names(item)}
    if isinstance(value, list):
        return {name for item in value for name in _field_names(item)}
    return set()


def _values_of(field: str, value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value[field]] if isinstance(value.get(field), str) else []
        return found + [text for item in value.values() for text in _values_of(field, item)]
    if isinstance(value, list):
        return [text for item in value for text in _values_of(field, item)]
    return []


def test_same_event_gives_the_same_content_key_whatever_its_shape_time_or_server(
    make_app: Callable[..., flask.Flask], pubsub_topic: TestTopic
) -> None:
    # Several fixtures are one canonical event in different shapes (legacy names, singular
    # ids, one-element arrays...); each fixture is sent twice, through two servers.
    assert max(Counter(canonical(fixture) for fixture in FIXTURES).values()) > 1
    client = publishing_client(make_app, pubsub_topic)
    ids_by_event: dict[str, list[str]] = defaultdict(list)
    for fixture in FIXTURES:
        for query in ("?server=1", "?server=2"):
            response = post(client, fixture.body(TEST_KEY), query)
            assert response.status_code == 200
            ids_by_event[canonical(fixture)].append(response.get_json()["id"])
    messages = pubsub_topic.pull(2 * len(FIXTURES))
    assert len(messages) == 2 * len(FIXTURES)
    key_of = {
        message.attributes["event_id"]: message.attributes["content_key"] for message in messages
    }
    # Every request is its own event (a fresh event_id) ...
    assert len(key_of) == 2 * len(FIXTURES)
    # ... and equal content has one content_key, different content another.
    keys = [{key_of[event_id] for event_id in ids} for ids in ids_by_event.values()]
    assert all(len(one) == 1 for one in keys)
    assert len(set.union(*keys)) == len(ids_by_event)


def test_different_events_give_different_content_keys(
    make_app: Callable[..., flask.Flask], pubsub_topic: TestTopic
) -> None:
    client = publishing_client(make_app, pubsub_topic)
    distinct = {canonical(fixture): fixture for fixture in FIXTURES}
    for fixture in distinct.values():
        assert post(client, fixture.body(TEST_KEY)).status_code == 200
    messages = pubsub_topic.pull(len(distinct))
    assert len(messages) == len(distinct)
    assert len({message.attributes["content_key"] for message in messages}) == len(distinct)


def test_full_topic_path_needs_no_project(
    make_app: Callable[..., flask.Flask], pubsub_topic: TestTopic
) -> None:
    client = make_app(
        PUBSUB_TOPIC=pubsub_topic.topic_path,
        PUBSUB_EMULATOR_HOST=pubsub_topic.emulator.host,
    ).test_client()
    response = post(client, FIXTURES[0].body(TEST_KEY))
    assert response.status_code == 200
    [message] = pubsub_topic.pull(1)
    assert message.attributes["event_id"] == response.get_json()["id"]


def test_topic_chooses_pubsub_and_no_topic_keeps_the_local_sink(tmp_path: Path) -> None:
    # An emulator host alone does not switch the sink: only a topic does.
    local = load_settings(
        {"SONORAN_API_KEYS": TEST_KEY, "PUBSUB_EMULATOR_HOST": "127.0.0.1:1"}, "sonorancad_event"
    )
    assert isinstance(build_sink(local), LocalSink)
    topic = load_settings(
        {"SONORAN_API_KEYS": TEST_KEY, "PUBSUB_TOPIC": "projects/p-1234/topics/events"},
        "sonorancad_event",
    )
    assert isinstance(build_sink(topic), PubSubSink)
