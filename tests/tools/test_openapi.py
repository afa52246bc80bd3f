"""The OpenAPI document (`openapi/openapi.json`) is current, valid, covers the contract's
answers, and a real server keeps to it under schemathesis's generated requests."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, CheckFunction, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sonoran_receiver.events import MODELS
from sonoran_receiver.receiving.answers import EventTooLarge, PayloadTooLarge
from sonoran_receiver.tools.openapi import DOCUMENT, EVENT_PATH, ROOT, rendered
from tests.support.app import TEST_KEY, event_env
from tests.support.fixtures import load_fixtures
from tests.support.server import RunningServer

PATH = ROOT / DOCUMENT
# The contract's answers: its "Error bodies" table, and 200.
CONTRACT_STATUSES = {200} | {
    int(status)
    for status in re.findall(
        r"^\| `(\d{3})`",
        (ROOT / "docs/reference/contract.md")
        .read_text(encoding="utf-8")
        .split("\n## Error bodies", 1)[1]
        .split("\n## ", 1)[0],
        re.MULTILINE,
    )
}
# Bounded: about 1,000 requests in all, most of them events.
EVENT_EXAMPLES = 400
OTHER_EXAMPLES = 25
# Documents keep to each other: status, content type, body schema and required headers.
CONFORMANCE: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def documented() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(PATH.read_text(encoding="utf-8"))
    return loaded


def test_openapi_document_is_current() -> None:
    assert PATH.read_text(encoding="utf-8") == rendered(), "run `make openapi`"


def test_openapi_document_is_valid_openapi_3_1() -> None:
    assert documented()["openapi"].startswith("3.1.")
    schemathesis.openapi.from_path(PATH).validate()


def test_openapi_documents_every_answer_of_the_contract() -> None:
    paths = documented()["paths"]
    statuses = {
        int(status)
        for operations in paths.values()
        for method, operation in operations.items()
        if isinstance(operation, dict) and "responses" in operation
        for status in operation["responses"]
        if method != "parameters"
    }
    assert statuses == CONTRACT_STATUSES
    assert paths[EVENT_PATH]["get"]["responses"]["200"] == {"$ref": "#/components/responses/Probe"}


def test_openapi_413_names_the_event_too_large_to_publish_and_its_record() -> None:
    too_large = documented()["components"]["responses"]["PayloadTooLarge"]
    error = too_large["content"]["application/json"]["schema"]["properties"]["error"]
    assert error["examples"] == [PayloadTooLarge.reason, EventTooLarge.reason]
    assert "`too_large` record" in too_large["description"]


def test_openapi_says_a_bad_server_query_is_no_400() -> None:
    post = documented()["paths"][EVENT_PATH]["post"]
    [server] = post["parameters"]
    assert "keeps the event without a server" in server["description"]
    bad_request = documented()["components"]["responses"]["BadRequest"]["description"]
    assert "server" not in bad_request


def test_openapi_request_body_is_one_of_every_canonical_event_with_key_required() -> None:
    schemas = documented()["components"]["schemas"]
    members = [ref["$ref"].rsplit("/", 1)[1] for ref in schemas["PushEvent"]["oneOf"]]
    types = [schemas[name]["properties"]["type"] for name in members]
    named = {kind.get("const") or kind["enum"][0] for kind in types if "pattern" not in kind}
    assert named == set(MODELS)
    assert len(members) == len(MODELS) + 1  # and one for unknown types
    assert all("key" in schemas[name]["required"] for name in members)


def operations() -> list[APIOperation[Any, Any, Any, Any]]:
    found: list[APIOperation[Any, Any, Any, Any]] = []
    for result in schemathesis.openapi.from_path(PATH).get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        found.append(result.ok())
    return found


def exercise(
    operation: APIOperation[Any, Any, Any, Any],
    mode: GenerationMode,
    examples: int,
    checks: list[CheckFunction],
    base_url: str,
    answered: set[int],
) -> None:
    """`examples` generated requests for one operation; each answer checked against the
    document and for the key."""

    @settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(case=operation.as_strategy(generation_mode=mode), keyed=st.booleans())
    def keeps_to_the_document(case: Case[Any], keyed: bool) -> None:
        # Half the bodies carry the real key, so authenticated paths run too.
        if keyed and isinstance(case.body, dict):
            case.body["key"] = TEST_KEY
        response = case.call(base_url=base_url, timeout=30)
        answered.add(response.status_code)
        assert TEST_KEY.upper() not in response.text.upper()
        assert TEST_KEY.upper() not in str(response.headers).upper()
        case.validate_response(response, checks=checks)

    keeps_to_the_document()


def test_openapi_request_body_takes_every_fixture_sent_in_canonical_shape() -> None:
    """The document shows the canonical shapes; every fixture already in one must fit it
    (variants the receiver also folds, such as `data` as a one-element array, need not)."""
    components = documented()["components"]
    body = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/PushEvent", "components": components}
    )
    canonical = [
        fixture
        for fixture in load_fixtures()
        if fixture.request.get("type") == fixture.expected_type
        and fixture.request.get("data") == fixture.expected_data
    ]
    assert len(canonical) >= len(MODELS)
    unfit = [fixture.name for fixture in canonical if not body.is_valid(fixture.request)]
    assert unfit == []


@pytest.mark.server
def test_schemathesis_finds_no_5xx_and_no_answer_outside_the_document(
    start_receiver: Callable[..., RunningServer], tmp_path: Path
) -> None:
    sink = tmp_path / "sink.jsonl"
    server = start_receiver(event_env(LOCAL_SINK_FILE=str(sink)))
    answered: set[int] = set()
    for operation in operations():
        method = operation.method.upper()
        is_event = operation.path == EVENT_PATH and method == "POST"
        # 405 is the whole contract of PUT and the like: only POST, GET and HEAD accept.
        accepting = operation.path == EVENT_PATH and method in {"POST", "GET", "HEAD"}
        checks = [*CONFORMANCE, positive_data_acceptance] if accepting else CONFORMANCE
        # Negative cases need something to spoil: a body, a query or a path parameter.
        modes = [GenerationMode.POSITIVE]
        if is_event or "{" in operation.path:
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            examples = EVENT_EXAMPLES if is_event else OTHER_EXAMPLES
            exercise(operation, mode, examples, checks, server.base_url, answered)
    # Generated requests reached the accepting path, the key check and the other paths.
    assert {200, 401, 404, 405}.issubset(answered)
    assert TEST_KEY.upper() not in server.output().upper()
    assert TEST_KEY.upper() not in sink.read_text(encoding="utf-8").upper()
