"""Normalisation stays linear whatever a trusted sender puts in a body: after the key has
matched, no hash collisions of crafted integers, and capped list lengths
(docs/reference/contract.md "What an unauthenticated request may cost", "Limits").

Python hashes an integer to itself modulo 2^61 - 1, the same in every process: multiples of
that number all collide, and a `set` of them is quadratic. These tests send such integers
with a good key; `bench/bench_validation.py --colliding` measures what they cost. The timeouts
are hang guards, not timing claims.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flask
import pytest
from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError
from werkzeug.test import TestResponse

from sonoran_receiver.events import MAX_PROBLEMS, parse_event, problems
from sonoran_receiver.events.base import MAX_LIST_ITEMS, fold
from sonoran_receiver.worker.published import PublishedData
from tests.support.app import EVENT_PATH, TEST_KEY
from tests.support.colliding import FOLDED_LISTS, colliding_body, colliding_ids

LIMIT = 1_000_000
"""Bytes of the hostile bodies: about a megabyte, under the default body limit."""


def post(client: flask.testing.FlaskClient, body: bytes) -> TestResponse:
    return client.post(EVENT_PATH, data=body)


def test_colliding_integers_all_hash_alike() -> None:
    # The premise of the other tests: without it they would prove nothing.
    assert len({hash(value) for value in colliding_ids(1_000)}) == 1


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("event_type", "field", "spelling"), FOLDED_LISTS)
def test_a_megabyte_of_colliding_ids_over_the_cap_gets_422_naming_the_list(
    client: flask.testing.FlaskClient, event_type: str, field: str, spelling: str
) -> None:
    body = colliding_body(event_type, field, spelling, limit=LIMIT, key=TEST_KEY)
    assert LIMIT - 100 < len(body) <= LIMIT
    response = post(client, body)
    assert response.status_code == 422
    [problem] = response.get_json()["problems"]
    assert problem["loc"] == f"data.{field}"
    assert f"at most {MAX_LIST_ITEMS} items" in problem["msg"]


@pytest.mark.timeout(20)
def test_a_megabyte_of_colliding_911_identities_gets_422_naming_the_list(
    client: flask.testing.FlaskClient,
) -> None:
    body = colliding_body("EVENT_911", "identities", "communityUserIds", limit=LIMIT, key=TEST_KEY)
    response = post(client, body)
    assert response.status_code == 422
    [problem] = response.get_json()["problems"]
    assert problem["loc"] == "data"
    assert problem["msg"].startswith(f"`identities` should hold at most {MAX_LIST_ITEMS} items")


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("event_type", "field", "spelling"), FOLDED_LISTS)
def test_colliding_ids_up_to_the_cap_are_accepted_as_their_union(
    make_app: Callable[..., flask.Flask],
    tmp_path: Path,
    event_type: str,
    field: str,
    spelling: str,
) -> None:
    sink = tmp_path / "sink.jsonl"
    client = make_app(LOCAL_SINK_FILE=str(sink)).test_client()
    ids = colliding_ids(MAX_LIST_ITEMS - 1)
    # The spelling repeats the first id, as a numeric string: the union drops it.
    data: dict[str, Any] = {field: ids, spelling: str(ids[0])}
    if event_type == "EVENT_DISPATCH_UNIT_ATTACH":
        data["callId"] = 4021
    body = json.dumps({"key": TEST_KEY, "type": event_type, "data": data}).encode()
    response = post(client, body)
    assert response.status_code == 200, response.get_json()
    [line] = sink.read_text(encoding="utf-8").splitlines()
    published = json.loads(line)["data"]["data"]
    assert published[field] == ids
    assert spelling not in published


@pytest.mark.timeout(20)
def test_colliding_911_identities_up_to_the_cap_are_accepted_as_their_union(
    make_app: Callable[..., flask.Flask], tmp_path: Path
) -> None:
    sink = tmp_path / "sink.jsonl"
    client = make_app(LOCAL_SINK_FILE=str(sink)).test_client()
    ids = colliding_ids(MAX_LIST_ITEMS - 1)
    data = {"call": {"callId": 318}, "identities": ids, "communityUserIds": [str(ids[0])]}
    response = post(
        client, json.dumps({"key": TEST_KEY, "type": "EVENT_911", "data": data}).encode()
    )
    assert response.status_code == 200, response.get_json()
    published = json.loads(sink.read_text(encoding="utf-8"))["data"]["data"]
    assert published["apiIds"] == [str(value) for value in ids]
    assert published["identities"] == ids


@pytest.mark.parametrize("count", [2_501, MAX_LIST_ITEMS])
def test_accepted_911_identities_are_read_back_by_the_worker(
    make_app: Callable[..., flask.Flask], tmp_path: Path, count: int
) -> None:
    # Counted with the kept `identities`, the union in `apiIds` would be counted twice
    # when the worker reads the event again, and refused on every delivery.
    sink = tmp_path / "sink.jsonl"
    client = make_app(LOCAL_SINK_FILE=str(sink)).test_client()
    identities = [f"license:{n:08x}" for n in range(count)]
    data = {"call": {"callId": 318}, "identities": identities}
    body = json.dumps({"key": TEST_KEY, "type": "EVENT_911", "data": data}).encode()
    assert post(client, body).status_code == 200
    published = json.loads(sink.read_text(encoding="utf-8"))["data"]
    assert PublishedData.model_validate(published).canonical_event().data == published["data"]


def test_911_identities_over_the_cap_without_repeats_get_422_naming_the_union(
    client: flask.testing.FlaskClient,
) -> None:
    half = MAX_LIST_ITEMS // 2 + 1
    data = {
        "call": {"callId": 318},
        "apiIds": [f"license:a{n}" for n in range(half)],
        "identities": [f"license:b{n}" for n in range(half)],
    }
    response = post(
        client, json.dumps({"key": TEST_KEY, "type": "EVENT_911", "data": data}).encode()
    )
    assert response.status_code == 422
    [problem] = response.get_json()["problems"]
    assert problem["loc"] == "data"
    assert f"at most {MAX_LIST_ITEMS} different items together, not {2 * half}" in problem["msg"]


@pytest.mark.timeout(10)
def test_folding_five_thousand_colliding_integers_keeps_each_once_in_order() -> None:
    ids = colliding_ids(MAX_LIST_ITEMS - 1)
    half = MAX_LIST_ITEMS // 2
    # 5,000 items sent, the cap: one repeat between the two spellings.
    sent = {"callIds": ids[:half], "callId": ids[half - 1 :]}
    assert fold("callIds", "callId")(sent) == {"callIds": ids}


def test_the_same_id_in_several_spellings_is_kept_once_as_first_sent() -> None:
    sent = {"identIds": ["57", 61], "identId": [57, 57.0, " +57 ", "61", 62]}
    assert fold("identIds", "identId")(sent) == {"identIds": ["57", 61, 62]}


def test_an_id_list_over_the_cap_is_refused_even_when_its_items_repeat() -> None:
    data = {"identIds": [57] * 4_000, "identId": [57] * (MAX_LIST_ITEMS - 4_000 + 1)}
    body = {"key": TEST_KEY, "type": "EVENT_UNIT_PANIC", "data": data}
    with pytest.raises(ValidationError) as refused:
        parse_event(json.dumps(body).encode())
    assert problems(refused.value) == [
        {
            "loc": "data.identIds",
            "msg": f"List should have at most {MAX_LIST_ITEMS} items after validation, "
            f"not {MAX_LIST_ITEMS + 1}",
        }
    ]


@pytest.mark.timeout(20)
def test_a_megabyte_of_bad_items_gets_one_problem_per_list(
    client: flask.testing.FlaskClient,
) -> None:
    units = [1] * (LIMIT // 3 - 40)
    body = json.dumps({"key": TEST_KEY, "type": "EVENT_UNIT_UPDATE", "data": {"units": units}})
    response = post(client, body.encode())
    assert response.status_code == 422
    assert response.get_json()["problems"] == [
        {"loc": "data.units.0", "msg": "Input should be an object"}
    ]


@pytest.mark.parametrize(
    ("data", "status"),
    [
        # pydantic reads at most 4,300 digits: a longer id is refused, not a crash.
        ({"callIds": ["9" * 5_000]}, 422),
        ({"callIds": [9], "callId": "9" * 5_000}, 422),
        # A call target's value that no id reads stays text, as sent.
        ({"playTonesTo": [{"type": 1, "value": "9" * 5_000}]}, 200),
    ],
    ids=["id list", "folded spelling", "tone value"],
)
def test_numeric_strings_of_thousands_of_digits_are_answered(
    client: flask.testing.FlaskClient, data: dict[str, Any], status: int
) -> None:
    event_type = "EVENT_TONE" if "playTonesTo" in data else "EVENT_DISPATCH_CLOSED"
    body = json.dumps({"key": TEST_KEY, "type": event_type, "data": data}).encode()
    assert post(client, body).status_code == status


def test_an_infinite_number_is_no_coordinate() -> None:
    body = b'{"key": "k", "type": "EVENT_UNIT_LOGIN", "data": {"unit": {"id": 57, '
    body += b'"coordinates": {"x": 1e999}}}}'
    with pytest.raises(ValidationError) as refused:
        parse_event(body)
    assert problems(refused.value) == [
        {"loc": "data.unit.coordinates.x", "msg": "Input should be a finite number"}
    ]


def test_problems_past_the_limit_are_counted_in_one_last_problem() -> None:
    # No model yields this many today (lists stop at their first bad item): a guard for
    # the answer's and the quarantined message's size.
    error = ValidationError.from_exception_data(
        "Sonoran CAD push event",
        [
            InitErrorDetails(
                type=PydanticCustomError("value_error", "bad"), loc=("data", n), input=None
            )
            for n in range(MAX_PROBLEMS + 50)
        ],
    )
    found = problems(error)
    assert len(found) == MAX_PROBLEMS + 1
    assert found[-1] == {"loc": "", "msg": "50 more problems not listed"}
    assert found[0] == {"loc": "data.0", "msg": "bad"}
