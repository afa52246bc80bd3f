"""Publish latency and CPU per request against the Pub/Sub emulator, per way of publishing.

    .venv/bin/python -m bench.bench_publish                    # prints a table
    .venv/bin/python -m bench.bench_publish --requests 200     # quicker

Each request goes through the real flow (`Receiver.receive`: body read, key check,
validation, `content_key`, publish awaited) with one sink:

- `batching, library default`: the high-level `google.cloud.pubsub_v1.PublisherClient` with
  `BatchSettings()` (up to 100 messages or 10 ms, `max_latency`), future awaited;
- `batching, max_latency=0`: the same client committing at once (the sink before it
  published with one RPC);
- `one RPC (ours)`: `PubSubSink`, the generated client's `publish`, no thread, no future.

Each is measured with 1 sending thread (one request at a time: the forwarder's case) and
with 16 (gunicorn threads under a burst), interleaved round by round so a drift of the
machine hits all alike. "CPU" is this process's CPU time per request (the emulator is
another process). Client and emulator share this machine's CPUs: compare the sinks with
each other, not with Cloud figures. Needs `gcloud`, its pubsub emulator component and
`java` (tests/support/emulator.py).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.cloud import pubsub_v1
from google.cloud.pubsub_v1.types import BatchSettings
from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport

from handlers import build_plan
from local_stack.emulator import emulator_problem
from sonoran_receiver.config import EVENT_TARGET, load_settings
from sonoran_receiver.keys import KeyRing
from sonoran_receiver.publishing.pubsub import PubSubSink
from sonoran_receiver.publishing.sink import EventSink, Message
from sonoran_receiver.receiving.flow import HttpRequest, Receiver
from tests.support.bodies import EVENT_911_DATA
from tests.support.emulator import PubSubEmulator, TestTopic

KEY = "bench-key-7d41c2aa"
SINKS = ("batching, library default", "batching, max_latency=0", "one RPC (ours)")
THREADS = (1, 16)


class BatchingSink:
    """The high-level client's way: `publish` hands the message to a batch, whose commit
    thread sends it; the request waits on the future."""

    def __init__(self, topic: TestTopic, batch: BatchSettings) -> None:
        self._topic_path = topic.topic_path
        channel = grpc.insecure_channel(topic.emulator.host)
        self._client = pubsub_v1.PublisherClient(
            batch_settings=batch, transport=PublisherGrpcTransport(channel=channel)
        )

    def publish(self, event: Message) -> None:
        future = self._client.publish(
            self._topic_path, event.message_bytes(), timeout=10.0, **event.attributes()
        )
        future.result(timeout=10.0)


def sink_for(label: str, topic: TestTopic) -> EventSink:
    if label == SINKS[0]:
        return BatchingSink(topic, BatchSettings())
    if label == SINKS[1]:
        return BatchingSink(topic, BatchSettings(max_latency=0.0))
    return PubSubSink(topic.topic_path, 10.0, topic.emulator.host)


@dataclass
class Figures:
    latencies_ms: list[float]
    failures: int
    cpu_ms: float
    """This process's CPU time per request."""

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


def receiver_for(topic: TestTopic, label: str) -> Receiver:
    settings = load_settings(
        {"SONORAN_API_KEYS": KEY, **topic.env(), "SONORAN_HANDLERS": "*=log"}, EVENT_TARGET
    )
    sink = sink_for(label, topic)
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
        cpu_from = os.times()
        with ThreadPoolExecutor(max_workers=threads) as executor:
            results = list(executor.map(lambda body: one_request(receiver, body), pool[20:]))
        cpu_to = os.times()
    cpu_s = (cpu_to.user + cpu_to.system) - (cpu_from.user + cpu_from.system)
    return Figures(
        latencies_ms=[ms for ms, status in results if status == 200],
        failures=sum(1 for _, status in results if status != 200),
        cpu_ms=cpu_s * 1000 / max(1, len(results)),
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
                for label in SINKS:
                    topic = emulator.new_topic()
                    pool = bodies(arguments.requests + 20, offset)
                    offset += len(pool)
                    figures = measure(receiver_for(topic, label), pool, threads)
                    results.setdefault((label, threads), []).append(figures)
                    print(
                        f"round {round_number}, {threads:>2} threads, {label:<22}: "
                        f"p50 {figures.quantile(0.5):6.2f} ms, "
                        f"p99 {figures.quantile(0.99):6.2f} ms, cpu {figures.cpu_ms:5.2f} ms, "
                        f"failures {figures.failures}",
                        flush=True,
                    )
    finally:
        emulator.stop()
    print()
    print(f"Median over {arguments.rounds} rounds of {arguments.requests} requests each:")
    print("| threads | sink | p50 ms | p99 ms | CPU ms | non-200 |")
    print("|---:|---|---:|---:|---:|---:|")
    for (label, threads), runs in results.items():
        p50 = statistics.median(run.quantile(0.5) for run in runs)
        p99 = statistics.median(run.quantile(0.99) for run in runs)
        cpu = statistics.median(run.cpu_ms for run in runs)
        failures = sum(run.failures for run in runs)
        print(f"| {threads} | {label} | {p50:.2f} | {p99:.2f} | {cpu:.2f} | {failures} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
