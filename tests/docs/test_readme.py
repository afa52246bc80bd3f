"""The README and the guides tell the truth: commands, example, tables and links match the code.

The guides' own walkthroughs are run by the tests of their subject (`test_handlers_readme.py`,
`test_pubsub_readme.py`, the deploy tests, `test_verify.py`); here: the README itself, the
configuration table, and every relative link.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from sonoran_receiver.config import Settings
from tests.support.app import ROOT, build_app

README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = ROOT / "docs"
CONFIGURATION = (DOCS / "configuration.md").read_text(encoding="utf-8")
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


def test_configuration_guide_lists_every_variable_the_code_reads() -> None:
    section = CONFIGURATION.split("\n## ", 1)[0]
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


# --- links ------------------------------------------------------------------------------------

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def prose(text: str) -> str:
    """The text outside fenced code blocks, where a `[x](y)` is code, not a link."""
    return "".join(text.split("```")[0::2])


def anchor(heading: str) -> str:
    """GitHub's id for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    headings = re.findall(r"^#{1,6} (.+)$", prose(page.read_text(encoding="utf-8")), re.MULTILINE)
    return {anchor(heading) for heading in headings}


def relative_links(page: Path) -> list[str]:
    found = LINK.findall(prose(page.read_text(encoding="utf-8")))
    return [target for target in found if not re.match(r"[a-z]+:", target)]


def resolves(page: Path, target: str) -> bool:
    """A file or folder that exists and, for `#fragment`, a heading of that page."""
    path, _, fragment = target.partition("#")
    resolved = (page.parent / path).resolve() if path else page
    if not resolved.exists():
        return False
    return not fragment or (resolved.suffix == ".md" and fragment in anchors(resolved))


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves_to_a_file_and_heading(page: Path) -> None:
    assert [target for target in relative_links(page) if not resolves(page, target)] == []


def test_readme_lists_every_guide_with_one_line() -> None:
    guides = README.split("\n## Guides\n", 1)[1].split("\n## ", 1)[0]
    items = [item for item in guides.split("\n- ") if item.strip()]
    linked = [LINK.findall(item)[0] for item in items]
    pages = [f"docs/{page.name}" for page in DOCS.glob("*.md")]
    assert sorted(linked) == sorted([*pages, "docs/reference/README.md"])


def test_readme_stays_short() -> None:
    # The README keeps what the project is, the two commands, Try it and the guides' list;
    # everything else lives in docs/.
    headings = re.findall(r"^## (.+)$", prose(README), re.MULTILINE)
    assert headings == ["Try it", "Guides"]
