"""Ours against the floor, both servers up at once, in short alternating bursts.

    .venv/bin/python -m bench.bench_bursts                 # 20 bursts of 1.5 s each
    .venv/bin/python -m bench.bench_bursts --bursts 8      # quicker

`bench_receivers.py` starts a fresh server for every run, which is what a cold start needs,
but its throughput figures are medians of a few 5-second runs minutes apart: on this shared
machine the speed drifts more than that between runs. Here the floor
(`bench/floor_receiver`) and ours (`main.py`) are started once, on their own topics of one
Pub/Sub emulator, both warmed (and the emulator with them) by a few unrecorded seconds of
load, then measured in turns: a burst at 8 keep-alive connections through one, then the
other, the order swapped every round. Each burst gives requests per second and the server
tree's CPU time per request; the report gives the medians and, burst pair by burst pair,
the ratio of ours to the floor with its quartiles. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.bench_receivers import (
    RECEIVERS,
    Options,
    bodies,
    load,
    percentile,
    started,
    tree_cpu_s,
)
from local_stack.emulator import emulator_problem
from tests.support.emulator import PubSubEmulator

CONNECTIONS = 8
WARMUP_S = 3.0


@dataclass(frozen=True)
class Burst:
    rps: float
    cpu_us_per_request: float


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    return percentile(ordered, 0.25), percentile(ordered, 0.5), percentile(ordered, 0.75)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bursts", type=int, default=20, help="bursts of each")
    parser.add_argument("--seconds", type=float, default=1.5, help="length of one burst")
    arguments = parser.parse_args(argv)
    problem = emulator_problem()
    if problem is not None:
        print(f"the Pub/Sub emulator is needed: {problem}", file=sys.stderr)
        return 2
    receivers = [receiver for receiver in RECEIVERS if receiver.name in ("floor", "ours")]
    # Nothing is written: the figures are printed.
    options = Options(rounds=1, seconds=arguments.seconds, warmup_s=0.0, out=Path(os.devnull))
    pool = bodies(2000)
    emulator = PubSubEmulator("sonoran-bench", options.work / "emulator.log")
    emulator.start()
    bursts: dict[str, list[Burst]] = {receiver.name: [] for receiver in receivers}
    try:
        with contextlib.ExitStack() as servers:
            running = {
                receiver.name: servers.enter_context(
                    started(receiver, receiver.name, emulator, options)
                )[:2]
                for receiver in receivers
            }
            for _, port in running.values():
                load(port, pool, CONNECTIONS, 0.5, WARMUP_S)
            for turn in range(arguments.bursts):
                for receiver in receivers if turn % 2 == 0 else receivers[::-1]:
                    process, port = running[receiver.name]
                    cpu_before = tree_cpu_s(process.pid)
                    result = load(port, pool, CONNECTIONS, 0.0, arguments.seconds)
                    cpu_s = tree_cpu_s(process.pid) - cpu_before
                    served = max(result.requests, 1)
                    bursts[receiver.name].append(Burst(result.rps, cpu_s / served * 1e6))
    finally:
        emulator.stop()
    floor, ours = bursts["floor"], bursts["ours"]
    for name, measured in bursts.items():
        print(
            f"{name}: {statistics.median(b.rps for b in measured):.0f} requests/s, "
            f"{statistics.median(b.cpu_us_per_request for b in measured):.0f} us of CPU "
            "per request (medians)"
        )
    low, middle, high = quartiles([o.rps / f.rps for o, f in zip(ours, floor, strict=True)])
    print(f"ours / floor, requests/s: {middle:.2f} (quartiles {low:.2f} to {high:.2f})")
    low, middle, high = quartiles(
        [o.cpu_us_per_request / f.cpu_us_per_request for o, f in zip(ours, floor, strict=True)]
    )
    print(f"ours / floor, CPU per request: {middle:.2f} (quartiles {low:.2f} to {high:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
