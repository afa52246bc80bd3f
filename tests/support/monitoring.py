"""The monitoring definitions of `deploy/monitoring/`, rendered, and their log filters run.

- `render(name, values)`: a definition file's text with its `${name}` placeholders filled,
  as Terraform's `templatefile` and `deploy/gcloud.sh`'s sed fill them (the deploy tests
  check that the two agree); an unknown placeholder raises.
- `metric_definitions()`, `alert_definitions()`: the parsed files by name (`metric-X.json`
  is `X`); `filters(document)`: every log or metric filter a parsed file holds.
- `LogEntry.from_line(line, service)`: one JSON line of ours as Cloud Logging stores it on
  Cloud Run: `severity` taken out, everything else (`message` included) in `jsonPayload`,
  the function's Cloud Run service as the resource.
- `LogFilter(text)`: the subset of the Logging query language our filters use, evaluated on
  a `LogEntry`: one comparison a line (lines are ANDed), `path="text"` (equal) or
  `path=~"regex"` (RE2 search; the patterns we write mean the same in Python's `re`), and a
  parenthesised OR of comparisons. Anything else raises, so a filter cannot silently use
  syntax this evaluator reads differently from Cloud Logging.
- `extract(extractor, entry)`: a log-based metric's `EXTRACT(path)` or
  `REGEXP_EXTRACT(path, "regex")`, with the field's value turned into text first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.app import ROOT

DEFINITIONS = ROOT / "deploy" / "monitoring"

# Every placeholder the definition files may use, with the values of a typical deploy.
TEMPLATE_VALUES: dict[str, str] = {
    "prefix": "sonorancad",
    "project_id": "demo-project",
    "event_host": "sonorancad-event-abc123-uc.a.run.app",
    "alert_email": "ops@example.com",
    "no_events_hours": "6",
    "no_events_seconds": "21600",
}

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


def render(name: str, values: Mapping[str, str] = TEMPLATE_VALUES) -> str:
    text = (DEFINITIONS / name).read_text(encoding="utf-8")

    def fill(found: re.Match[str]) -> str:
        return values[found.group(1)]

    return _PLACEHOLDER.sub(fill, text)


def definition(name: str, values: Mapping[str, str] = TEMPLATE_VALUES) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(render(name, values))
    return parsed


def files(pattern: str) -> list[Path]:
    return sorted(DEFINITIONS.glob(pattern))


def _keyed(prefix: str, values: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    return {
        path.stem.removeprefix(prefix): definition(path.name, values)
        for path in files(f"{prefix}*.json")
    }


def metric_definitions(values: Mapping[str, str] = TEMPLATE_VALUES) -> dict[str, dict[str, Any]]:
    return _keyed("metric-", values)


def alert_definitions(values: Mapping[str, str] = TEMPLATE_VALUES) -> dict[str, dict[str, Any]]:
    return _keyed("alert-", values)


def filters(node: Any) -> Iterator[str]:
    """Every `filter` text in a parsed definition (alert conditions, dashboard charts)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "filter" and isinstance(value, str):
                yield value
            else:
                yield from filters(value)
    elif isinstance(node, list):
        for item in node:
            yield from filters(item)


@dataclass(frozen=True)
class LogEntry:
    resource: dict[str, Any]
    severity: str
    json_payload: dict[str, Any]

    @classmethod
    def from_line(cls, line: Mapping[str, Any], service: str) -> LogEntry:
        payload = {name: value for name, value in line.items() if name != "severity"}
        return cls(
            resource={"type": "cloud_run_revision", "labels": {"service_name": service}},
            severity=str(line["severity"]),
            json_payload=payload,
        )

    @property
    def message(self) -> str:
        return str(self.json_payload["message"])

    def field(self, path: str) -> Any:
        """The value at a filter path (`resource.labels.x`, `jsonPayload.x`, `severity`)."""
        root, _, rest = path.partition(".")
        value: Any = {
            "resource": self.resource,
            "jsonPayload": self.json_payload,
            "severity": self.severity,
        }[root]
        for part in rest.split(".") if rest else []:
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return value


_PATH = r"(?:resource|jsonPayload)(?:\.[A-Za-z_][A-Za-z0-9_]*)+|severity"
_STRING = r'"(?:[^"\\]|\\.)*"'
_COMPARISON = re.compile(rf"({_PATH})(=~|=)({_STRING})")


@dataclass(frozen=True)
class _Comparison:
    path: str
    operator: str
    value: str

    def matches(self, entry: LogEntry) -> bool:
        found = entry.field(self.path)
        if found is None:
            return False
        if self.operator == "=~":
            return re.search(self.value, _text(found)) is not None
        return _text(found) == self.value


def _comparison(text: str) -> _Comparison:
    parsed = _COMPARISON.fullmatch(text.strip())
    if parsed is None:
        raise ValueError(f"not a comparison this evaluator reads: {text!r}")
    return _Comparison(parsed.group(1), parsed.group(2), json.loads(parsed.group(3)))


class LogFilter:
    def __init__(self, text: str) -> None:
        self.text = text
        self._clauses: list[list[_Comparison]] = []
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("(") and line.endswith(")"):
                self._clauses.append([_comparison(part) for part in line[1:-1].split(" OR ")])
            else:
                self._clauses.append([_comparison(line)])

    def matches(self, entry: LogEntry) -> bool:
        return all(any(option.matches(entry) for option in clause) for clause in self._clauses)

    def comparisons(self) -> list[tuple[str, str, str]]:
        return [
            (option.path, option.operator, option.value)
            for clause in self._clauses
            for option in clause
        ]


_EXTRACT = re.compile(rf"EXTRACT\(({_PATH})\)")
_REGEXP_EXTRACT = re.compile(rf"REGEXP_EXTRACT\(({_PATH}), ({_STRING})\)")


def extractor_path(extractor: str) -> str:
    parsed = _EXTRACT.fullmatch(extractor) or _REGEXP_EXTRACT.fullmatch(extractor)
    if parsed is None:
        raise ValueError(f"not an extractor this evaluator reads: {extractor!r}")
    return parsed.group(1)


def extract(extractor: str, entry: LogEntry) -> str | None:
    """The label (or distribution value) a log-based metric takes from the entry."""
    found = entry.field(extractor_path(extractor))
    if found is None:
        return None
    regexp = _REGEXP_EXTRACT.fullmatch(extractor)
    if regexp is None:
        return _text(found)
    # "The value of the field is converted to a string before applying the regex."
    matched = re.search(json.loads(regexp.group(2)), _text(found))
    return matched.group(1) if matched else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
