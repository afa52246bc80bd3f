"""Route `inline`: the selected handlers run before the answer, with the contract's statuses."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import flask
import pytest
from werkzeug.test import TestResponse

from tests.support.app import EVENT_PATH
from tests.support.bodies import envelope
from tests.support.stand_in import Answer, StandIn


@pytest.fixture
def discord() -> Iterator[StandIn]:
    with StandIn() as stand_in:
        yield stand_in


def post_911(app: flask.Flask) -> TestResponse:
    return app.test_client().post(EVENT_PATH, data=envelope(), content_type="application/json")


def test_inline_handlers_run_before_the_answer(
    make_app: Callable[..., flask.Flask], discord: StandIn
) -> None:
    app = make_app(
        SONORAN_ROUTES="*=inline", SONORAN_HANDLERS="*=discord", DISCORD_WEBHOOK_URL=discord.url
    )
    response = post_911(app)
    assert response.status_code == 200
    assert response.get_json()["routes"] == ["inline"]
    [request] = discord.received
    assert request.json()["embeds"][0]["title"] == "Emergency 911 call"


def test_failing_handler_on_an_inline_only_route_is_500(
    make_app: Callable[..., flask.Flask], discord: StandIn
) -> None:
    discord.answer(Answer(500))
    app = make_app(
        SONORAN_ROUTES="*=inline", SONORAN_HANDLERS="*=discord", DISCORD_WEBHOOK_URL=discord.url
    )
    response = post_911(app)
    assert response.status_code == 500
    assert response.get_json() == {"error": "handler failed"}


def test_failing_handler_on_inline_and_publish_is_200_as_the_event_is_stored(
    make_app: Callable[..., flask.Flask], discord: StandIn, tmp_path: Path
) -> None:
    discord.answer(Answer(500))
    sink = tmp_path / "sink.jsonl"
    app = make_app(
        SONORAN_ROUTES="*=inline+publish",
        SONORAN_HANDLERS="*=discord",
        DISCORD_WEBHOOK_URL=discord.url,
        LOCAL_SINK_FILE=str(sink),
    )
    response = post_911(app)
    assert response.status_code == 200
    assert response.get_json()["routes"] == ["inline", "publish"]
    [stored] = [json.loads(line) for line in sink.read_text().splitlines()]
    assert stored["attributes"]["event_id"] == response.get_json()["id"]
    assert len(discord.received) == 1
