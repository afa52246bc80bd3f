"""Bounds of a handler's outgoing call: ours against the `requests` call it replaced.

    .venv/bin/python -m bench.bench_delivery                  # about 90 s
    .venv/bin/python -m bench.bench_delivery --drip-bytes 12  # quicker, smaller gap

Against local misbehaving targets (`tests/support/unruly_target.py`), in one run:

- a target that drips its answer head, then one that drips an error body, one byte every
  `--interval` seconds for `--drip-bytes` bytes: how long the call held its caller;
- a target answering a `--huge-mib` MiB error: bytes the call read, bytes the target managed
  to send, and the Python memory peak of the call (tracemalloc).

Baseline: `requests.post(..., timeout=(5, 10), allow_redirects=False)`, what the handlers
did before they had a deadline (a per-read timeout; the whole answer read). Ours:
`handlers.delivery.post` with the handlers' own `HANDLER_DEADLINE_S`.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable

import requests

from handlers.delivery import HANDLER_DEADLINE_S, Deadline, DeliveryFailed, post
from tests.support.unruly_target import Script, UnrulyTarget, drip_body, drip_headers, huge_body

Call = Callable[[str], int]


def baseline(url: str) -> int:
    """The old handler call; the number of answer bytes it read."""
    try:
        response = requests.post(url, data=b"{}", timeout=(5.0, 10.0), allow_redirects=False)
    except requests.RequestException:
        return 0
    return len(response.content)


def ours(url: str) -> int:
    try:
        reply = post(url, b"{}", {}, handler="bench", deadline=Deadline(HANDLER_DEADLINE_S))
    except DeliveryFailed:
        return 0
    return len(reply.body)


def measure(call: Call, script: Script) -> tuple[float, int, int, int]:
    """Seconds held, bytes read, bytes the target sent, Python memory peak of the call."""
    with UnrulyTarget(script) as target:
        tracemalloc.start()
        started = time.monotonic()
        read = call(target.url)
        held_s = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        target.finished.wait(60)
        return held_s, read, target.sent, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--drip-bytes", type=int, default=60)
    parser.add_argument("--huge-mib", type=int, default=50)
    args = parser.parse_args()
    cases = {
        "drip head": drip_headers(args.interval, args.drip_bytes),
        "drip error body": drip_body(args.interval, args.drip_bytes),
        f"{args.huge_mib} MiB error": huge_body(args.huge_mib * 1024 * 1024),
    }
    print(f"deadline {HANDLER_DEADLINE_S} s; drip {args.drip_bytes} B every {args.interval} s")
    print("| target | call | held (s) | bytes read | bytes target sent | peak py mem (KiB) |")
    print("|---|---|---|---|---|---|")
    for name, script in cases.items():
        for label, call in (("requests (5, 10)", baseline), ("ours", ours)):
            held_s, read, sent, peak = measure(call, script)
            print(f"| {name} | {label} | {held_s:.2f} | {read} | {sent} | {peak // 1024} |")


if __name__ == "__main__":
    main()
