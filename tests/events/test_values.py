"""Values are kept as sent (docs/reference/contract.md "Values kept as sent"): an integer stays an
integer where any number is taken, an integer outside an enumeration's documented values is kept,
only a value of the wrong kind fails, and `EVENT_911` keeps its identity lists beside their union.
`docs/events-normalisation.md` lists every change a value undergoes; these tests hold the code to
it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from sonoran_receiver.events import parse_event, problems
from tests.support.app import TEST_KEY

Path_ = tuple[str | int, ...]


def canonical(event_type: str, data: Any) -> Any:
    body = json.dumps({"key": TEST_KEY, "type": event_type, "data": data}).encode()
    return parse_event(body).canonical_data()


def exact(value: Any) -> str:
    """JSON with sorted keys: `1` and `1.0`, or `true` and `1`, stay different."""
    return json.dumps(value, sort_keys=True)


def at(value: Any, path: Path_) -> Any:
    for step in path:
        value = value[step]
    return value


def put(data: dict[str, Any], path: Path_, value: Any) -> dict[str, Any]:
    """`data` with `value` at `path` (the containers along it created as objects)."""
    copy: dict[str, Any] = json.loads(json.dumps(data))
    inner: Any = copy
    for step in path[:-1]:
        inner = inner.setdefault(step, {}) if isinstance(step, str) else inner[step]
    inner[path[-1]] = value
    return copy


UNIT = {"unit": {"id": 57}}
CALL = {"dispatch": {"callId": 4021}}
RECORD = {"record": {"id": 88231, "sections": [{"label": "Subject"}]}}

# (type, data, path of the field): one per kind of field the models take.
NUMBERS = [
    ("EVENT_UNIT_LOGIN", UNIT, ("unit", "coordinates", "x")),
    ("EVENT_UNIT_LOGIN", UNIT, ("unit", "coordinates", "w")),
    (
        "EVENT_NEW_CALLOUT",
        {"callout": {"calloutLocations": [{}]}},
        ("callout", "calloutLocations", 0, "z"),
    ),
]
ENUMERATIONS = [
    ("EVENT_UNIT_LOGIN", UNIT, ("unit", "status"), 100_000),
    ("EVENT_UNIT_LOGIN", UNIT, ("unit", "data", "page"), 7),
    ("EVENT_DISPATCH_NEW", CALL, ("dispatch", "origin"), 9),
    ("EVENT_DISPATCH_NEW", CALL, ("dispatch", "status"), -1),
    ("EVENT_DISPATCH_NEW", CALL, ("dispatch", "priority"), 0),
    ("EVENT_RECORD_ADD", RECORD, ("record", "type"), 1),
    ("EVENT_RECORD_ADD", RECORD, ("record", "sections", 0, "category"), 3),
    ("EVENT_TONE", {"playTonesTo": [{"type": 0}]}, ("playTonesTo", 0, "type"), 12),
    ("EVENT_DISPATCH", {"dispatch": {"callId": 4021}}, ("dispatch_type",), 5),
]
# (type, data, path, value of the wrong kind, message).
WRONG_KINDS = [
    (
        "EVENT_UNIT_LOGIN",
        UNIT,
        ("unit", "coordinates", "x"),
        "-412.5",
        "Input should be a finite number",
    ),
    (
        "EVENT_UNIT_LOGIN",
        UNIT,
        ("unit", "coordinates", "y"),
        True,
        "Input should be a finite number",
    ),
    ("EVENT_UNIT_LOGIN", UNIT, ("unit", "status"), "2", "Input should be an integer"),
    ("EVENT_UNIT_LOGIN", UNIT, ("unit", "status"), True, "Input should be an integer"),
    ("EVENT_UNIT_LOGIN", UNIT, ("unit", "status"), 2.5, "Input should be an integer"),
    ("EVENT_UNIT_LOGIN", UNIT, ("unit", "isPanic"), 1, "Input should be a valid boolean"),
    ("EVENT_UNIT_LOGIN", UNIT, ("unit", "isPanic"), "true", "Input should be a valid boolean"),
    ("EVENT_UNIT_LOGIN", UNIT, ("unit", "aop"), 1.5, "Input should be text (or an integer)"),
    ("EVENT_UNIT_LOGIN", UNIT, ("unit", "aop"), False, "Input should be text (or an integer)"),
    (
        "EVENT_UNIT_LOGIN",
        UNIT,
        ("unit", "id"),
        True,
        "Input should be an integer id or a numeric string",
    ),
    (
        "EVENT_UNIT_LOGIN",
        UNIT,
        ("unit", "id"),
        57.5,
        "Input should be an integer id or a numeric string",
    ),
    ("EVENT_UNIT_PANIC", {}, ("identIds",), {"57": 57}, "Input should be a valid array"),
    (
        "EVENT_DISPATCH_NEW",
        CALL,
        ("dispatch", "idents"),
        [[57]],
        "Input should be an integer id or a numeric string",
    ),
    (
        "EVENT_TONE",
        {"playTonesTo": [{"type": 1}]},
        ("playTonesTo", 0, "value"),
        4021.5,
        "Input should be an integer or text",
    ),
    ("EVENT_CHAR_SELECTED", {}, ("id",), False, "Input should be an integer or text"),
]


def dotted(path: Path_) -> str:
    return ".".join(str(step) for step in ("data", *path))


@pytest.mark.parametrize(("event_type", "data", "path"), NUMBERS, ids=lambda v: str(v))
@pytest.mark.parametrize("number", [90, -412, 0, 6170.25, 31.0], ids=str)
def test_a_number_keeps_its_kind_where_any_number_is_taken(
    event_type: str, data: dict[str, Any], path: Path_, number: float
) -> None:
    kept = at(canonical(event_type, put(data, path, number)), path)
    assert exact(kept) == exact(number)


@pytest.mark.parametrize(
    ("event_type", "data", "path", "value"), ENUMERATIONS, ids=lambda v: str(v)
)
def test_an_integer_outside_an_enumeration_is_accepted_and_kept(
    event_type: str, data: dict[str, Any], path: Path_, value: int
) -> None:
    assert exact(at(canonical(event_type, put(data, path, value)), path)) == exact(value)


@pytest.mark.parametrize(
    ("event_type", "data", "path", "value", "message"), WRONG_KINDS, ids=lambda v: str(v)
)
def test_a_value_of_the_wrong_kind_fails_its_model_at_its_path(
    event_type: str, data: dict[str, Any], path: Path_, value: Any, message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        canonical(event_type, put(data, path, value))
    found = problems(refused.value)
    expected = dotted(path) + (".0" if isinstance(value, list) else "")
    assert {"loc": expected, "msg": message} in found


@pytest.mark.parametrize(
    ("sent", "text"), [(7143, "7143"), (7143.0, "7143"), (-2, "-2"), ("07", "07")]
)
def test_an_integer_where_text_belongs_is_its_digits(sent: Any, text: str) -> None:
    assert canonical("EVENT_DISPATCH_NEW", put(CALL, ("dispatch", "postal"), sent)) == {
        "dispatch": {"callId": 4021, "postal": text}
    }


@pytest.mark.parametrize(("sent", "kept"), [("57", 57), (" +57 ", 57), (57.0, 57), ("1_000", 1000)])
def test_an_id_sent_as_a_numeric_string_or_a_whole_number_is_its_integer(
    sent: Any, kept: int
) -> None:
    assert canonical("EVENT_UNIT_LOGOUT", {"identId": sent}) == {"identId": kept}


def test_a_whole_number_where_an_integer_belongs_is_that_integer() -> None:
    assert canonical("EVENT_UNIT_STATUS", {"identIds": [57], "status": 2.0}) == {
        "identIds": [57],
        "status": 2,
    }


CALL_911 = {"call": {"callId": 318}}


def test_911_identity_lists_stay_as_sent_beside_their_union() -> None:
    data = {
        **CALL_911,
        "identities": ["license:1", 42],
        "communityUserIds": "license:2",
        "apiIds": ["license:2"],
    }
    assert canonical("EVENT_911", data) == {
        **data,
        "apiIds": ["license:2", "license:1", "42"],
    }


def test_911_union_order_is_the_fields_order_not_the_bodys() -> None:
    lists = {"apiIds": ["a"], "identities": ["b", "a"], "communityUserIds": ["c", "b"]}
    forwards = canonical("EVENT_911", {**CALL_911, **lists})
    backwards = canonical("EVENT_911", {**CALL_911, **dict(reversed(lists.items()))})
    assert forwards["apiIds"] == backwards["apiIds"] == ["a", "b", "c"]


@pytest.mark.parametrize(
    "identities",
    [[{"id": "license:1"}], {"license": "1"}, [["license:1"]], [None], True, ["license:1", 1.5]],
)
def test_911_identities_of_another_shape_stay_as_sent_outside_the_union(
    identities: Any,
) -> None:
    data = {**CALL_911, "apiIds": ["license:2"], "identities": identities}
    assert exact(canonical("EVENT_911", data)) == exact(data)


def test_911_identities_alone_make_the_union() -> None:
    data = {**CALL_911, "communityUserIds": ["license:3", "license:3"]}
    assert canonical("EVENT_911", data) == {**data, "apiIds": ["license:3"]}
