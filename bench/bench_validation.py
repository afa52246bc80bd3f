"""Validation cost per event family: our models against `json.loads` of the same bytes.

    .venv/bin/python -m bench.bench_validation              # about half a minute
    .venv/bin/python -m bench.bench_validation --number 200 --repeat 5   # quick

For every request fixture (`tests/fixtures/`), in one run and alternating so that drifts of
the machine hit both alike: microseconds per event for our validation (`parse_event(body)`
and `canonical_data()`, what the HTTP flow does) and for `json.loads(body)`, each the best
of `--repeat` runs of `--number` calls. Per family, the mean over its bodies and the ratio.

Two rows per family: bodies as the CAD sends them (a canonical type name, `data` an object:
the fast path) and the variants (legacy names, lower case, `data` arrays: the general path,
which normalises first). The target is validation at most 1.5x `json.loads` per event. On a
shared machine, look at the ratios, not the absolute figures, and at the load average.

    .venv/bin/python -m bench.bench_validation --colliding  # about ten seconds

Hostile bodies a trusted sender could send (docs/reference/contract.md "Limits"): about a megabyte
of integers that all have one Python hash (`tests/support/colliding.py`), in each list the models
fold, over the cap and just under it, and a megabyte of bad list items. Milliseconds for the whole
validation (`parse_event`, then `problems()` when refused) against `json.loads` of the same bytes,
best of `--repeat`. Normalisation is linear when our time grows with the bytes as `json.loads`'s
does (compare the 1 MB rows with the 120 kB ones); before the list cap a 0.5 MB body of colliding
ids took 6.5 s, and a megabyte about 26 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from importlib import metadata

from pydantic import ValidationError

from sonoran_receiver.events import MODELS, UnknownEvent, parse_event, problems
from sonoran_receiver.events.base import MAX_LIST_ITEMS
from sonoran_receiver.events.types import CANONICAL_TYPES
from tests.support.colliding import FOLDED_LISTS, colliding_body
from tests.support.fixtures import Fixture, load_fixtures

TARGET = 1.5


def family(fixture: Fixture) -> str:
    model = MODELS.get(fixture.expected_type, UnknownEvent)
    return model.family


def as_sent(fixture: Fixture) -> bool:
    """The shape the CAD sends: a canonical type name and `data` an object."""
    return fixture.request["type"] in CANONICAL_TYPES and isinstance(
        fixture.request.get("data"), dict
    )


def best_of(call: Callable[[], object], number: int) -> float:
    """Seconds per call of one run of `number` calls."""
    started = time.perf_counter()
    for _ in range(number):
        call()
    return (time.perf_counter() - started) / number


def measure(body: bytes, number: int, repeat: int) -> tuple[float, float]:
    """Best microseconds per call for (validation, json.loads), runs alternating."""
    ours, loads = [], []
    for _ in range(repeat):
        ours.append(best_of(lambda: parse_event(body).canonical_data(), number))
        loads.append(best_of(lambda: json.loads(body), number))
    return min(ours) * 1e6, min(loads) * 1e6


# Each id list the models fold, with its other spelling, and the 911 identities.
FOLDED = (*FOLDED_LISTS, ("EVENT_911", "identities", "communityUserIds"))
MEGABYTE = 1_000_000


def validated(body: bytes) -> str:
    """What the HTTP flow does with a body whose key matched: its model, or its problems."""
    try:
        parse_event(body).canonical_data()
    except ValidationError as refused:
        problems(refused)
        return "422"
    return "200"


def hostile_bodies() -> list[tuple[str, bytes]]:
    bodies = []
    for event_type, field, spelling in FOLDED:
        over = colliding_body(event_type, field, spelling, limit=MEGABYTE)
        bodies.append((f"{event_type} {field}, 1 MB", over))
        # Just under the cap: every id compared with the others.
        under = colliding_body(event_type, field, spelling, count=MAX_LIST_ITEMS - 1)
        bodies.append((f"{event_type} {field}, {MAX_LIST_ITEMS - 1} ids", under))
    junk = json.dumps(
        {"key": "k", "type": "EVENT_UNIT_UPDATE", "data": {"units": [1] * (MEGABYTE // 3)}}
    )
    bodies.append(("EVENT_UNIT_UPDATE units all bad, 1 MB", junk.encode()))
    return bodies


def colliding(repeat: int) -> None:
    print(
        f"python {platform.python_version()}, pydantic {metadata.version('pydantic')}, load "
        f"average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; best of {repeat} runs"
    )
    header = f"{'body':<46} {'bytes':>8} {'answer':>6} {'ours ms':>8} {'loads ms':>9} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for name, body in hostile_bodies():
        answer = validated(body)
        ours = min(best_of(partial(validated, body), 1) for _ in range(repeat)) * 1e3
        loads = min(best_of(partial(json.loads, body), 1) for _ in range(repeat)) * 1e3
        print(
            f"{name:<46} {len(body):>8} {answer:>6} {ours:>8.2f} {loads:>9.2f} {ours / loads:>6.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="validation cost per event family")
    parser.add_argument("--number", type=int, default=500, help="calls per run")
    parser.add_argument("--repeat", type=int, default=31, help="runs per body; the best counts")
    parser.add_argument(
        "--colliding", action="store_true", help="hostile bodies of colliding integers instead"
    )
    arguments = parser.parse_args()
    if arguments.colliding:
        colliding(min(arguments.repeat, 5))
        return

    rows: dict[tuple[str, str], list[tuple[float, float, int]]] = defaultdict(list)
    for fixture in load_fixtures():
        body = fixture.body()
        ours, loads = measure(body, arguments.number, arguments.repeat)
        kind = "as sent" if as_sent(fixture) else "variants"
        rows[(family(fixture), kind)].append((ours, loads, len(body)))

    print(
        f"python {platform.python_version()}, pydantic {metadata.version('pydantic')}, "
        f"pydantic-core {metadata.version('pydantic-core')}, load average "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; best of {arguments.repeat} x "
        f"{arguments.number} calls per body"
    )
    header = (
        f"{'family':<16} {'bodies':<9} {'n':>3} {'bytes':>6} {'ours us':>8} "
        f"{'loads us':>9} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    totals: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    for (name, kind), measured in sorted(rows.items()):
        totals[kind].extend(measured)
        print(line(name, kind, measured))
    print("-" * len(header))
    for kind, measured in sorted(totals.items()):
        print(line("all", kind, measured))
    worst = max(
        statistics.mean(m[0] for m in measured) / statistics.mean(m[1] for m in measured)
        for (_, kind), measured in rows.items()
        if kind == "as sent"
    )
    verdict = "met" if worst <= TARGET else "missed"
    print(f"target {TARGET}x json.loads per event, as sent: {verdict} (worst family {worst:.2f}x)")


def line(name: str, kind: str, measured: list[tuple[float, float, int]]) -> str:
    ours = statistics.mean(m[0] for m in measured)
    loads = statistics.mean(m[1] for m in measured)
    size = statistics.mean(m[2] for m in measured)
    return (
        f"{name:<16} {kind:<9} {len(measured):>3} {size:>6.0f} {ours:>8.2f} "
        f"{loads:>9.2f} {ours / loads:>6.2f}"
    )


if __name__ == "__main__":
    main()
