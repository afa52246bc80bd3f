"""Publish latency per request against the Pub/Sub emulator, per batch setting.

    .venv/bin/python -m bench.bench_publish                    # prints a table
    .venv/bin/python -m bench.bench_publish --requests 200     # quicker

Each request goes through the real flow (`Receiver.receive`: body read, key check,
validation, `content_key`, publish awaited) with a `PubSubSink` built with one batch setting:

- `library default`: `BatchSettings()`: up to 100 messages or 10 ms (`max_latency`);
- `max_latency=0` (ours, `PubSubSink` without batch settings): committed by the timer thread at
  once, with whatever other threads published meanwhile;
- `max_messages=1`: one RPC per message, committed by the request's own thread.

Each setting is measured with 1 sending thread (one request at a time: the forwarder's
case) and with 16 (gunicorn threads under a burst), the settings interleaved round by
round so a drift of the machine hits all alike. Client, server and emulator share this
machine's CPUs: compare the settings with each other, not with Cloud figures. Needs
`gcloud`, its pubsub emulator component and `java` (tests/support/emulator.py).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from google.cloud.pubsub_v1.types import BatchSettings

from handlers import build_plan
from local_stack.emulator import emulator_problem
from sonoran_receiver.config import EVENT_TARGET, load_settings
from sonoran_receiver.keys import KeyRing
from sonoran_receiver.publishing.pubsub import PubSubSink
from sonoran_receiver.receiving.flow import HttpRequest, Receiver
from tests.support.bodies import EVENT_911_DATA
from tests.support.emulator import PubSubEmulator, TestTopic

KEY = "bench-key-7d41c2aa"
SETTINGS = {
    "library default": BatchSettings(),
    "max_latency=0 (ours)": BatchSettings(max_latency=0.0),
    "max_messages=1": BatchSettings(max_messages=1),
}
THREADS = (1, 16)


@dataclass
class Figures:
    latencies_ms: list[float]
    failures: int

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bodies(count: int, offset: int) -> list[bytes]:
    """Distinct EVENT_911 bodies: a distinct callId each."""
    pool = []
    for number in range(count):
        data = copy.deepcopy(EVENT_911_DATA)
        data["call"]["callId"] = offset + number
        pool.append(json.dumps({"key": KEY, "type": "EVENT_911", "data": data}).encode())
    return pool


def receiver_for(topic: TestTopic, batch: BatchSettings) -> Receiver:
    settings = load_settings(
        {"SONORAN_API_KEYS": KEY, **topic.env(), "SONORAN_HANDLERS": "*=log"}, EVENT_TARGET
    )
    assert settings.topic_path is not None
    sink = PubSubSink(
        settings.topic_path,
        settings.publish_timeout_s,
        settings.pubsub_emulator_host,
        batch_settings=batch,
    )
    return Receiver(settings, KeyRing(settings.api_keys), sink, build_plan(settings))


def one_request(receiver: Receiver, body: bytes) -> tuple[float, int]:
    request = HttpRequest(
        method="POST",
        path="/sonorancad/event",
        query=b"server=1",
        content_length=len(body),
        body=io.BytesIO(body),
    )
    started = time.perf_counter()
    status = receiver.receive(request).status
    return (time.perf_counter() - started) * 1000, status


def measure(receiver: Receiver, pool: list[bytes], threads: int) -> Figures:
    # The request log lines would swamp the table: they go nowhere while measuring.
    with contextlib.redirect_stdout(io.StringIO()):
        # Warm-up: the client is created and connects on first use.
        for body in pool[:20]:
            one_request(receiver, body)
        with ThreadPoolExecutor(max_workers=threads) as executor:
            results = list(executor.map(lambda body: one_request(receiver, body), pool[20:]))
    return Figures(
        latencies_ms=[ms for ms, status in results if status == 200],
        failures=sum(1 for _, status in results if status != 200),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=1000, help="per setting and round")
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args(argv)
    problem = emulator_problem()
    if problem is not None:
        print(f"the Pub/Sub emulator is needed: {problem}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    emulator = PubSubEmulator("sonoran-bench", work / "emulator.log")
    emulator.start()
    results: dict[tuple[str, int], list[Figures]] = {}
    offset = 0
    try:
        for round_number in range(1, arguments.rounds + 1):
            for threads in THREADS:
                for label, batch in SETTINGS.items():
                    topic = emulator.new_topic()
                    pool = bodies(arguments.requests + 20, offset)
                    offset += len(pool)
                    figures = measure(receiver_for(topic, batch), pool, threads)
                    results.setdefault((label, threads), []).append(figures)
                    print(
                        f"round {round_number}, {threads:>2} threads, {label:<22}: "
                        f"p50 {figures.quantile(0.5):6.2f} ms, "
                        f"p99 {figures.quantile(0.99):6.2f} ms, failures {figures.failures}",
                        flush=True,
                    )
    finally:
        emulator.stop()
    print()
    print(f"Median over {arguments.rounds} rounds of {arguments.requests} requests each:")
    print("| threads | batch setting | p50 ms | p99 ms | non-200 |")
    print("|---:|---|---:|---:|---:|")
    for (label, threads), runs in results.items():
        p50 = statistics.median(run.quantile(0.5) for run in runs)
        p99 = statistics.median(run.quantile(0.99) for run in runs)
        failures = sum(run.failures for run in runs)
        print(f"| {threads} | {label} | {p50:.2f} | {p99:.2f} | {failures} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
