"""Properties of the models over mutated fixtures (hypothesis): no mutation of a valid body gets
anything but `200` or a `4xx` through the HTTP flow (docs/reference/contract.md "The HTTP flow").
That the canonical shape is a fixed point, read back by the worker, is
`tests/worker/test_accepted_reads_back.py`, over these same mutations."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import flask
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sonoran_receiver.events.types import ALIASES, CANONICAL_TYPES
from tests.support.app import EVENT_PATH, TEST_KEY, build_app, event_env
from tests.support.fixtures import load_fixtures

FIXTURES = load_fixtures()
Path_ = tuple[str | int, ...]

wrong_values: st.SearchStrategy[Any] = st.sampled_from(
    [None, True, False, 0, -1, 57, 2**64, 1.5, -0.0, 1e308, "", "57", " 57 ", "x", "true", [], {}]
) | st.text(max_size=8)
types = (
    st.sampled_from([*CANONICAL_TYPES, *ALIASES])
    | st.sampled_from(CANONICAL_TYPES).map(lambda name: f" {name.lower()}\t")
    | st.text(max_size=12)
)


def paths(value: Any, at: Path_ = ()) -> Iterator[Path_]:
    """Every member and element below `value`, outermost first."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for name, item in items:
        yield (*at, name)
        yield from paths(item, (*at, name))


def container(value: Any, path: Path_) -> Any:
    for step in path[:-1]:
        value = value[step]
    return value


@st.composite
def mutation(draw: st.DrawFn, body: dict[str, Any]) -> dict[str, Any]:
    """One change: the type, a member removed, a value of the wrong kind, a value nested."""
    changed = copy.deepcopy(body)
    places = [path for path in paths(changed) if path != ("key",)]
    action = draw(st.sampled_from(["type", "delete", "replace", "nest", "nest"]))
    if action == "type" or not places:
        changed["type"] = draw(types)
        return changed
    path = draw(st.sampled_from(places))
    parent, last = container(changed, path), path[-1]
    if action == "delete":
        del parent[last]
    elif action == "replace":
        parent[last] = draw(wrong_values)
    else:
        value = parent[last]
        parent[last] = draw(
            st.sampled_from([[value], [value, value], {"value": value}, [[value]], []])
        )
    return changed


@st.composite
def mutated_bodies(draw: st.DrawFn) -> dict[str, Any]:
    body = draw(st.sampled_from(FIXTURES)).request
    for _ in range(draw(st.integers(1, 3))):
        body = draw(mutation(body))
    return {**body, "key": TEST_KEY}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> flask.Flask:
    sink = tmp_path_factory.mktemp("sink") / "sink.jsonl"
    return build_app(event_env(LOCAL_SINK_FILE=str(sink), SONORAN_ROUTES="*=publish"))


def test_mutated_bodies_get_200_or_4xx_never_5xx(app: flask.Flask) -> None:
    client = app.test_client()

    @settings(
        max_examples=800,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(mutated_bodies())
    def answered_without_5xx(body: dict[str, Any]) -> None:
        response = client.post(EVENT_PATH, data=json.dumps(body).encode())
        assert response.status_code == 200 or 400 <= response.status_code < 500, body
        if response.status_code == 422:
            assert response.get_json()["problems"]

    answered_without_5xx()
