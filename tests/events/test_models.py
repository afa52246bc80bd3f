"""The event models as a package: one model per canonical type, documented in the schema, one
answer whichever validation path a body takes, errors without inputs (docs/reference/contract.md
"Event types and normalisation", "Error bodies")."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import typing
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path
from typing import Any

import flask
import pytest
from pydantic import TypeAdapter, ValidationError

from sonoran_receiver.events import (
    MODELS,
    Event,
    UnknownEvent,
    _any,
    devices,
    is_known,
    misc,
    objects,
    parse_event,
    problems,
    validate_canonical,
)
from sonoran_receiver.events.types import CANONICAL_TYPES, UNKNOWN
from tests.support.app import EVENT_PATH, TEST_KEY
from tests.support.fixtures import load_fixtures

FIXTURES = load_fixtures()


def exact(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def envelope(event_type: str, data: Any) -> bytes:
    return json.dumps({"key": TEST_KEY, "type": event_type, "data": data}).encode()


def test_every_canonical_type_has_its_own_model_pinned_by_a_literal() -> None:
    assert list(MODELS) == list(CANONICAL_TYPES)
    for event_type, model in MODELS.items():
        assert typing.get_args(model.model_fields["type"].annotation) == (event_type,)
    assert len(set(MODELS.values())) == len(MODELS)


@pytest.mark.parametrize("model", [*MODELS.values(), UnknownEvent], ids=lambda m: m.__name__)
def test_every_model_says_in_one_docstring_line_what_triggers_it(model: type[Event]) -> None:
    lines = inspect.cleandoc(model.__doc__ or "").splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(".")
    assert model.family


def described(schema: dict[str, Any]) -> list[str]:
    """The properties of every object in a JSON schema that lack a description."""
    objects = [schema, *schema.get("$defs", {}).values()]
    return [
        f"{definition.get('title')}.{name}"
        for definition in objects
        for name, field in definition.get("properties", {}).items()
        if not field.get("description") and name != "type"
    ]


@pytest.mark.parametrize("model", MODELS.values(), ids=lambda m: m.__name__)
def test_every_payload_field_carries_a_description(model: type) -> None:
    data = model.model_fields["data"].annotation  # type: ignore[attr-defined]
    assert described(TypeAdapter(data).json_schema(mode="serialization")) == []


ENUMERATION_FIELDS = [
    ("Unit", "status", objects.UnitStatus),
    ("UnitDetails", "page", objects.UnitPage),
    ("DispatchCall", "status", objects.CallStatus),
    ("DispatchCall", "origin", objects.CallOrigin),
    ("DispatchCall", "priority", objects.CallPriority),
    ("Record", "type", objects.RecordType),
    ("RecordSection", "category", objects.SectionCategory),
    ("ToneTarget", "type", devices.ToneTargetType),
    ("LegacyDispatchData", "dispatch_type", misc.DispatchType),
]


def definitions() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for model in MODELS.values():
        found.update(model.model_json_schema(mode="serialization").get("$defs", {}))
    return found


@pytest.mark.parametrize(
    ("definition", "field", "enumeration"), ENUMERATION_FIELDS, ids=lambda value: str(value)
)
def test_enumeration_fields_name_every_documented_value_and_take_any_integer(
    definition: str, field: str, enumeration: type[IntEnum]
) -> None:
    schema = definitions()[definition]["properties"][field]
    assert objects.named(enumeration) in schema["description"]
    assert "integer" in [kind.get("type") for kind in schema.get("anyOf", [schema])]
    assert "enum" not in json.dumps(schema)


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda fixture: fixture.name)
def test_fast_and_general_paths_give_the_same_event(fixture: Any) -> None:
    fast = parse_event(fixture.body())
    general = _any().validate_json(fixture.body())
    assert (fast.type, exact(fast.canonical_data())) == (
        general.type,
        exact(general.canonical_data()),
    )


# Run in a fresh interpreter: in this one, other tests have built every model.
_FIRST_EVENT = """
import json
from sonoran_receiver import events
from tests.support.bodies import EVENT_911_DATA

built_at_import = [name for name, model in events.MODELS.items() if model.__pydantic_complete__]
events.parse_event(json.dumps({"key": "k", "type": "EVENT_911", "data": EVENT_911_DATA}).encode())
built = [name for name, model in events.MODELS.items() if model.__pydantic_complete__]
print(json.dumps([built_at_import, built]))
"""


def test_a_start_builds_only_the_model_of_the_event_it_receives() -> None:
    # Building all 31 models took a start about 0.1 s before its first answer.
    ran = subprocess.run(
        [sys.executable, "-c", _FIRST_EVENT],
        capture_output=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
    )
    assert json.loads(ran.stdout) == [[], ["EVENT_911"]]


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda fixture: fixture.name)
def test_the_worker_check_gives_a_published_event_back_unchanged(fixture: Any) -> None:
    checked = validate_canonical(fixture.expected_type, fixture.expected_data)
    assert checked[0] == fixture.expected_type
    assert exact(checked[1]) == exact(fixture.expected_data)


def test_the_worker_check_refuses_data_its_model_refuses_without_the_value() -> None:
    with pytest.raises(ValidationError) as refused:
        validate_canonical("EVENT_911", {"call": {"callId": "nine-one-one-x7"}})
    assert problems(refused.value) == [
        {"loc": "data.call.callId", "msg": "Input should be an integer id or a numeric string"}
    ]
    assert "nine-one-one-x7" not in str(refused.value)


def test_problem_paths_name_fields_not_union_tags_or_validators() -> None:
    with pytest.raises(ValidationError) as refused:
        parse_event(
            envelope(
                " event_tone ",
                [{"playTonesTo": [{"type": 1, "value": [4021]}], "url": {"u": 1}}],
            )
        )
    assert problems(refused.value) == [
        {"loc": "data.url", "msg": "Input should be text (or an integer)"},
        {"loc": "data.playTonesTo.0.value", "msg": "Input should be an integer or text"},
    ]


def test_a_distinctive_bad_value_is_never_echoed_in_the_422_nor_in_the_logs(
    client: flask.testing.FlaskClient, capfd: pytest.CaptureFixture[str]
) -> None:
    distinctive = "Zq9-distinctive-callsign-4471"
    response = client.post(
        EVENT_PATH,
        data=envelope("EVENT_UNIT_PANIC", {"identIds": [distinctive], "isPanic": distinctive}),
    )
    assert response.status_code == 422
    assert response.get_json()["problems"] == [
        {"loc": "data.identIds.0", "msg": "Input should be an integer id or a numeric string"},
        {"loc": "data.isPanic", "msg": "Input should be a valid boolean"},
    ]
    output = capfd.readouterr()
    # The local sink's line is the quarantined event itself (data as sent), not a log line.
    logs = [line for line in output.out.splitlines() if '"severity"' in line]
    assert distinctive not in response.get_data(as_text=True) + "".join(logs) + output.err


def test_unknown_type_is_accepted_with_its_data_whole(
    make_app: Callable[..., flask.Flask], tmp_path: Any
) -> None:
    sink = tmp_path / "sink.jsonl"
    data = [{"nested": {"deep": [1, 2.5, None, "x"]}}, "second"]
    response = (
        make_app(LOCAL_SINK_FILE=str(sink))
        .test_client()
        .post(EVENT_PATH, data=envelope("event_made_up_2027", data))
    )
    assert response.status_code == 200
    assert response.get_json()["type"] == "EVENT_MADE_UP_2027"
    published = json.loads(sink.read_text(encoding="utf-8"))["data"]
    assert (published["type"], exact(published["data"])) == ("EVENT_MADE_UP_2027", exact(data))
    assert not is_known(published["type"])


def test_unknown_type_is_422_under_strict_types(make_app: Callable[..., flask.Flask]) -> None:
    client = make_app(SONORAN_STRICT_TYPES="true").test_client()
    response = client.post(EVENT_PATH, data=envelope("EVENT_MADE_UP_2027", {"a": 1}))
    assert response.status_code == 422
    assert response.get_json()["problems"] == [{"loc": "type", "msg": "unknown event type"}]
    [call] = [fixture for fixture in FIXTURES if fixture.name == "event_911"]
    assert client.post(EVENT_PATH, data=call.body(TEST_KEY)).status_code == 200


def test_unknown_event_data_absent_is_null() -> None:
    event = parse_event(json.dumps({"key": TEST_KEY, "type": "EVENT_X"}).encode())
    assert (event.type, event.canonical_data()) == ("EVENT_X", None)
    assert UNKNOWN not in MODELS
