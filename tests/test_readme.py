"""The README tells the truth: its commands, its example and its tables match the code."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from sonoran_receiver.config import Settings
from tests.support.app import ROOT, build_app

README = (ROOT / "README.md").read_text(encoding="utf-8")
ENV_EXAMPLE = (ROOT / ".env.example").read_text(encoding="utf-8")


def env_example_values() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def test_first_lines_are_the_two_fresh_machine_commands() -> None:
    block = README.split("```")[1]
    commands = [line.split("#")[0].strip() for line in block.splitlines()[1:] if line.strip()]
    assert commands == ["make run", "make test"]


def test_curl_example_is_answered_200_and_reaches_the_sink(tmp_path: Path) -> None:
    curl = next(block for block in README.split("```") if block.startswith("sh\ncurl"))
    words = shlex.split(curl.removeprefix("sh\n").replace("\\\n", " "))
    body = words[words.index("-d") + 1]
    url = next(word for word in words if word.startswith("http://"))
    path = url.split("8080", 1)[1]
    sink = tmp_path / "sink.jsonl"
    env = {name: value for name, value in env_example_values().items() if value}
    env["LOCAL_SINK_FILE"] = str(sink)
    response = build_app(env).test_client().post(path, data=body)
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["status"] == "ok"
    assert answer["type"] == "EVENT_911"
    assert answer["routes"] == ["publish"]
    line = json.loads(sink.read_text())
    assert line["attributes"]["event_id"] == answer["id"]
    assert line["attributes"]["server"] == "1"


def test_configuration_table_lists_every_variable_the_code_reads() -> None:
    section = README.split("\n## Configuration\n", 1)[1].split("\n#", 1)[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    documented = set(re.findall(r"^\| `([A-Z_]+)`(?:, `([A-Z_]+)`)?", table, re.MULTILINE))
    names = {name for pair in documented for name in pair if name}
    assert names == {field.alias for field in Settings.model_fields.values()}


def test_env_example_documents_every_variable_with_a_safe_value() -> None:
    values = env_example_values()
    assert set(values) == {field.alias for field in Settings.model_fields.values()}
    assert "change-me" in values["SONORAN_API_KEYS"]


@pytest.mark.parametrize("field", list(Settings.model_fields.values()), ids=lambda f: f.alias)
def test_env_example_comments_every_variable(field: object) -> None:
    alias = field.alias  # type: ignore[attr-defined]
    lines = ENV_EXAMPLE.splitlines()
    position = next(i for i, line in enumerate(lines) if line.startswith(f"{alias}="))
    assert lines[position - 1].startswith("#") or lines[position - 2].startswith("#")
