"""Routing (docs/reference/contract.md "Routing"): what each action does, seen in the real Pub/Sub
emulator.

Each test also sends an event that the table publishes, so "nothing was published" is
checked against a subscription that demonstrably receives.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import flask
import pytest
from werkzeug.test import TestResponse

from sonoran_receiver.events import is_known
from sonoran_receiver.events.types import CANONICAL_TYPES
from sonoran_receiver.runtime import start
from tests.support.app import EVENT_PATH, TEST_KEY
from tests.support.emulator import TestTopic
from tests.support.fixtures import load_fixtures

pytestmark = pytest.mark.emulator

UNKNOWN_TYPE = "EVENT_FROM_THE_FUTURE"
# One shared fixture per known type (the first by file name).
BODIES = {
    fixture.expected_type: fixture.request
    for fixture in reversed(load_fixtures())
    if is_known(fixture.expected_type)
}


def send(client: flask.testing.FlaskClient, event_type: str) -> TestResponse:
    body = BODIES.get(event_type, {"type": event_type, "data": {"x": 1}})
    payload = {**body, "key": TEST_KEY}
    return client.post(EVENT_PATH, data=json.dumps(payload), content_type="application/json")


def published_types(topic: TestTopic, expected: int) -> list[str]:
    """The event types in the subscription, once `expected` arrived and nothing more does."""
    messages = topic.pull(expected)
    messages += topic.pull_all(quiet_s=1.0)
    return sorted(message.attributes["event_type"] for message in messages)


def routed_app(
    make_app: Callable[..., flask.Flask], topic: TestTopic, routes: str
) -> flask.testing.FlaskClient:
    return make_app(SONORAN_ROUTES=routes, **topic.env()).test_client()


def log_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_default_routes_publish_every_type_but_get_logs(
    make_app: Callable[..., flask.Flask], pubsub_topic: TestTopic
) -> None:
    assert set(BODIES) == set(CANONICAL_TYPES)
    client = make_app(**pubsub_topic.env()).test_client()
    routes = {event_type: send(client, event_type).get_json()["routes"] for event_type in BODIES}
    routes[UNKNOWN_TYPE] = send(client, UNKNOWN_TYPE).get_json()["routes"]
    assert routes.pop("GET_LOGS") == ["drop"]
    assert set(map(tuple, routes.values())) == {("publish",)}
    assert published_types(pubsub_topic, len(routes)) == sorted(routes)


def test_drop_answers_200_and_publishes_nothing(
    make_app: Callable[..., flask.Flask], pubsub_topic: TestTopic
) -> None:
    client = routed_app(make_app, pubsub_topic, "EVENT_911=drop,*=publish")
    dropped = send(client, "EVENT_911")
    assert dropped.status_code == 200
    assert dropped.get_json()["routes"] == ["drop"]
    assert send(client, "EVENT_UNIT_PANIC").status_code == 200
    assert published_types(pubsub_topic, 1) == ["EVENT_UNIT_PANIC"]


def test_inline_and_publish_publishes_once_and_runs_the_handlers(
    make_app: Callable[..., flask.Flask],
    pubsub_topic: TestTopic,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = routed_app(make_app, pubsub_topic, "EVENT_UNIT_PANIC=inline+publish,*=drop")
    capsys.readouterr()
    response = send(client, "EVENT_UNIT_PANIC")
    assert response.status_code == 200
    assert response.get_json()["routes"] == ["inline", "publish"]
    assert published_types(pubsub_topic, 1) == ["EVENT_UNIT_PANIC"]
    handled = [
        line for line in log_lines(capsys.readouterr().out) if line["message"] == "sonorancad event"
    ]
    assert [(line["type"], line["event_id"]) for line in handled] == [
        ("EVENT_UNIT_PANIC", response.get_json()["id"])
    ]


def test_inline_runs_the_handlers_and_publishes_nothing(
    make_app: Callable[..., flask.Flask],
    pubsub_topic: TestTopic,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = routed_app(make_app, pubsub_topic, "EVENT_UNIT_PANIC=inline,*=publish")
    capsys.readouterr()
    response = send(client, "EVENT_UNIT_PANIC")
    assert response.status_code == 200
    assert response.get_json()["routes"] == ["inline"]
    handled = [
        line for line in log_lines(capsys.readouterr().out) if line["message"] == "sonorancad event"
    ]
    assert [line["event_id"] for line in handled] == [response.get_json()["id"]]
    assert send(client, "EVENT_911").status_code == 200
    assert published_types(pubsub_topic, 1) == ["EVENT_911"]


def test_unknown_type_takes_the_unknown_route(
    make_app: Callable[..., flask.Flask], pubsub_topic: TestTopic
) -> None:
    client = routed_app(make_app, pubsub_topic, "UNKNOWN=publish,*=drop")
    published = send(client, UNKNOWN_TYPE)
    assert published.status_code == 200
    assert published.get_json()["routes"] == ["publish"]
    assert send(client, "EVENT_911").get_json()["routes"] == ["drop"]
    # Published under its own name: UNKNOWN names the route, not the event.
    assert published_types(pubsub_topic, 1) == [UNKNOWN_TYPE]


def test_unknown_type_without_its_own_entry_takes_the_wildcard_route(
    make_app: Callable[..., flask.Flask], pubsub_topic: TestTopic
) -> None:
    client = routed_app(make_app, pubsub_topic, "EVENT_911=drop,*=publish")
    assert send(client, UNKNOWN_TYPE).get_json()["routes"] == ["publish"]
    assert send(client, "EVENT_911").get_json()["routes"] == ["drop"]
    assert published_types(pubsub_topic, 1) == [UNKNOWN_TYPE]


def test_type_with_no_entry_and_no_wildcard_is_dropped(
    make_app: Callable[..., flask.Flask], pubsub_topic: TestTopic
) -> None:
    client = routed_app(make_app, pubsub_topic, "EVENT_911=publish")
    assert send(client, "EVENT_UNIT_PANIC").get_json()["routes"] == ["drop"]
    assert send(client, UNKNOWN_TYPE).get_json()["routes"] == ["drop"]
    assert send(client, "EVENT_911").get_json()["routes"] == ["publish"]
    assert published_types(pubsub_topic, 1) == ["EVENT_911"]


def test_route_table_names_types_as_events_do(
    make_app: Callable[..., flask.Flask], pubsub_topic: TestTopic
) -> None:
    # Lower case and a legacy alias in the table mean the canonical type, as in events.
    client = routed_app(make_app, pubsub_topic, "toggle_bodycam=drop, * = PUBLISH")
    assert send(client, "EVENT_DISPATCH_TOGGLE_BODYCAM").get_json()["routes"] == ["drop"]
    assert send(client, "EVENT_UNIT_PANIC").get_json()["routes"] == ["publish"]
    assert published_types(pubsub_topic, 1) == ["EVENT_UNIT_PANIC"]


@pytest.mark.parametrize(
    "routes",
    [
        "*=publish,EVENT_NOT_A_TYPE=drop",
        "UNKNOWN=publsh",
        "EVENT_911=inline+forward",
        "*=drop+inline",
        "EVENT_911=publish,event_911=drop",
        ",",
    ],
)
def test_bad_route_table_refuses_the_start_with_one_line_naming_sonoran_routes(
    routes: str,
) -> None:
    with pytest.raises(SystemExit) as refused:
        start({"SONORAN_API_KEYS": TEST_KEY, "SONORAN_ROUTES": routes})
    line = str(refused.value.code)
    assert line.startswith("configuration error: SONORAN_ROUTES: ")
    assert "\n" not in line
