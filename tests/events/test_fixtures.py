"""Every fixture through the real HTTP flow: accepted ones reach the local sink in their
canonical shape, refused ones get `422` with their field paths (docs/reference/contract.md
"Event types and normalisation", "Step 7: validate")."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flask
import pytest

from sonoran_receiver.events.types import CANONICAL_TYPES
from tests.support.app import EVENT_PATH, TEST_KEY
from tests.support.fixtures import Fixture, InvalidFixture, load_fixtures, load_invalid_fixtures

FIXTURES = load_fixtures()
INVALID = load_invalid_fixtures()


def exact(value: Any) -> str:
    """JSON with sorted keys: `1` and `1.0`, or `true` and `1`, stay different."""
    return json.dumps(value, sort_keys=True)


def text_leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in text_leaves(item)]
    if isinstance(value, list):
        return [text for item in value for text in text_leaves(item)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda fixture: fixture.name)
def test_fixture_reaches_the_sink_in_its_canonical_shape(
    make_app: Callable[..., flask.Flask], tmp_path: Path, fixture: Fixture
) -> None:
    sink = tmp_path / "sink.jsonl"
    # Every type published, GET_LOGS included (its default route is drop).
    app = make_app(LOCAL_SINK_FILE=str(sink), SONORAN_ROUTES="*=publish")
    response = app.test_client().post(EVENT_PATH, data=fixture.body(TEST_KEY))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["type"] == fixture.expected_type
    [line] = sink.read_text(encoding="utf-8").splitlines()
    message = json.loads(line)["data"]
    assert message["type"] == fixture.expected_type
    assert exact(message["data"]) == exact(fixture.expected_data)


def test_fixtures_cover_every_canonical_type_in_at_least_sixty_requests() -> None:
    assert len(FIXTURES) >= 60
    assert set(CANONICAL_TYPES) <= {fixture.expected_type for fixture in FIXTURES}


@pytest.mark.parametrize("fixture", INVALID, ids=lambda fixture: fixture.name)
def test_invalid_fixture_gets_its_status_with_its_field_paths_and_none_of_its_values(
    client: flask.testing.FlaskClient, fixture: InvalidFixture
) -> None:
    response = client.post(EVENT_PATH, data=fixture.body(TEST_KEY))
    assert response.status_code == fixture.expected_status
    answer = response.get_json()
    # Step 6 (the type) answers 400, step 7 (the payload) 422; both name the fields.
    assert answer["error"] == {400: "invalid type", 422: "invalid event"}[response.status_code]
    assert [problem["loc"] for problem in answer["problems"]] == list(fixture.expected_paths)
    assert all(problem["msg"] for problem in answer["problems"])
    text = response.get_data(as_text=True)
    values = {name: value for name, value in fixture.request.items() if name != "key"}
    sent = [leaf for leaf in text_leaves(values) if len(leaf) > 3]
    assert not [leaf for leaf in sent if leaf in text]
