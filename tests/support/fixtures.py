"""The request-body fixtures of `tests/fixtures/`, for every test (and bench) that sends events.

`tests/fixtures/*.json`: one accepted request per file, with the canonical event the
receiver must hand on: `{"description", "request", "expected": {"type", "data"}}`.
`tests/fixtures/invalid/*.json`: requests a model refuses, with the field paths of the `422`
answer: `{"description", "request", "expected": {"status", "paths"}}`.

Every request carries the same example key; `body(key)` puts the one a test needs.
Standard library only, so load tests and benchmarks can use it without the test stack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@dataclass(frozen=True)
class Fixture:
    """One accepted request and the canonical event it must become."""

    name: str
    description: str
    request: dict[str, Any]
    expected_type: str
    expected_data: Any

    def body(self, key: str | None = None) -> bytes:
        """The request as JSON bytes, with `key` in place of the example key if given."""
        return _body(self.request, key)


@dataclass(frozen=True)
class InvalidFixture:
    """One request a model refuses, and the field paths its answer lists."""

    name: str
    description: str
    request: dict[str, Any]
    expected_status: int
    expected_paths: tuple[str, ...]

    def body(self, key: str | None = None) -> bytes:
        return _body(self.request, key)


def _body(request: dict[str, Any], key: str | None) -> bytes:
    sent = request if key is None else {**request, "key": key}
    return json.dumps(sent, ensure_ascii=False).encode("utf-8")


def _read(path: Path) -> dict[str, Any]:
    content: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return content


def load_fixtures() -> list[Fixture]:
    """Every accepted-request fixture, by file name."""
    fixtures = []
    for path in sorted(FIXTURES.glob("*.json")):
        content = _read(path)
        fixtures.append(
            Fixture(
                name=path.stem,
                description=content["description"],
                request=content["request"],
                expected_type=content["expected"]["type"],
                expected_data=content["expected"]["data"],
            )
        )
    return fixtures


def load_invalid_fixtures() -> list[InvalidFixture]:
    """Every refused-request fixture, by file name."""
    fixtures = []
    for path in sorted((FIXTURES / "invalid").glob("*.json")):
        content = _read(path)
        fixtures.append(
            InvalidFixture(
                name=path.stem,
                description=content["description"],
                request=content["request"],
                expected_status=content["expected"]["status"],
                expected_paths=tuple(content["expected"]["paths"]),
            )
        )
    return fixtures
