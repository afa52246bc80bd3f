"""The exported JSON Schemas and the README's event table come from the models and stay in step
with them (`make schema`), and they describe what is really published."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from sonoran_receiver.events import parse_event
from sonoran_receiver.events.types import CANONICAL_TYPES, UNKNOWN, is_known
from sonoran_receiver.publishing.message import CanonicalEvent
from sonoran_receiver.tools.schemas import (
    INDEX,
    README,
    ROOT,
    SCHEMA_DIR,
    main,
    schema_file,
    stale,
)
from tests.support.fixtures import Fixture, load_fixtures

SCHEMAS = ROOT / SCHEMA_DIR


def committed(event_type: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        (SCHEMAS / schema_file(event_type)).read_text(encoding="utf-8")
    )
    return schema


def test_committed_schemas_and_readme_table_are_what_make_schema_writes() -> None:
    assert stale(ROOT) == [], "run `make schema` and commit the result"


def test_readme_table_lists_every_canonical_type_in_order_with_its_schema() -> None:
    readme = (ROOT / README).read_text(encoding="utf-8")
    rows = re.findall(r"^\| \[`([A-Z0-9_]+)`\]\((\.\./schemas/[^)]+)\) \|", readme, re.MULTILINE)
    assert [event_type for event_type, _ in rows] == [*CANONICAL_TYPES, UNKNOWN]
    assert all(((ROOT / README).parent / link).is_file() for _, link in rows)


def test_index_lists_one_schema_file_per_type() -> None:
    index = json.loads((SCHEMAS / INDEX).read_text(encoding="utf-8"))
    assert [entry["type"] for entry in index["events"]] == [*CANONICAL_TYPES, UNKNOWN]
    listed = {entry["schema"] for entry in index["events"]}
    assert listed | {INDEX} == {path.name for path in SCHEMAS.glob("*.json")}


@pytest.mark.parametrize("event_type", [*CANONICAL_TYPES, UNKNOWN])
def test_every_schema_is_a_valid_2020_12_json_schema_and_fits_its_examples(
    event_type: str,
) -> None:
    schema = committed(event_type)
    Draft202012Validator.check_schema(schema)
    for example in schema["properties"]["data"].get("examples", []):
        message = CanonicalEvent.create(event_type, example, server=None).message_data()
        assert Draft202012Validator(schema).is_valid(message)


@pytest.mark.parametrize("fixture", load_fixtures(), ids=lambda fixture: fixture.name)
def test_every_fixture_published_message_fits_its_type_schema(fixture: Fixture) -> None:
    event = parse_event(fixture.body())
    message = CanonicalEvent.create(event.type, event.canonical_data(), server="1")
    schema = committed(event.type if is_known(event.type) else UNKNOWN)
    errors = [
        error.message
        for error in Draft202012Validator(schema).iter_errors(json.loads(message.message_bytes()))
    ]
    assert errors == []


def test_a_message_of_another_shape_does_not_fit_its_schema() -> None:
    schema = committed("EVENT_DISPATCH_CLOSED")
    message = {
        "type": "EVENT_DISPATCH_CLOSED",
        "data": {"callId": 4021},
        "received_at": "2026-11-27T21:46:06.659Z",
        "server": None,
        "schema_version": 1,
    }
    assert not Draft202012Validator(schema).is_valid(message)


def test_make_schema_writes_the_schemas_and_the_table_where_they_are_missing(
    tmp_path: Path,
) -> None:
    (tmp_path / README).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / README, tmp_path / README)
    (tmp_path / SCHEMA_DIR).mkdir()
    (tmp_path / SCHEMA_DIR / "EVENT_RETIRED.schema.json").write_text("{}", encoding="utf-8")
    readme = tmp_path / README
    begin, end = "<!-- event-types:begin", "<!-- event-types:end -->"
    text = readme.read_text(encoding="utf-8")
    emptied = text[: text.index("\n", text.index(begin)) + 1] + text[text.index(end) :]
    readme.write_text(emptied, encoding="utf-8")
    assert main(["--check", "--root", str(tmp_path)]) == 1
    assert main(["--root", str(tmp_path)]) == 0
    assert stale(tmp_path) == []
    assert not (tmp_path / SCHEMA_DIR / "EVENT_RETIRED.schema.json").exists()
    assert readme.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("event_type", [*CANONICAL_TYPES, UNKNOWN])
def test_every_schema_requires_the_event_id_consumers_deduplicate_on(event_type: str) -> None:
    schema = committed(event_type)
    assert "event_id" in schema["required"]
    assert schema["properties"]["event_id"] == {
        **schema["properties"]["event_id"],
        "type": "string",
        "format": "uuid",
    }
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    example = schema["properties"]["data"].get("examples", [{}])[0]
    message = json.loads(CanonicalEvent.create(event_type, example, server=None).message_bytes())
    assert validator.is_valid(message)  # a real event_id is a UUID
    assert not validator.is_valid(
        {key: value for key, value in message.items() if key != "event_id"}
    )
    assert not validator.is_valid({**message, "event_id": "not-a-uuid"})
