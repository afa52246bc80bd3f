"""What hostile requests cost the real server, next to normal events, in one run.

    .venv/bin/python -m bench.bench_hostile            # prints, and updates bench/RESULTS.md
    .venv/bin/python -m bench.bench_hostile --no-write --runs 1

Each request kind gets a fresh server as deployed (functions-framework's gunicorn,
`WORKERS=1`, `THREADS=8`, the default limits: `SONORAN_MAX_BODY_BYTES` 1 MiB,
`SONORAN_BODY_TIMEOUT_S` 10 s; the local sink to a temporary file), warmed with a few valid
events. The requests go over raw sockets (`tests/support/hostile.py`, a client that stops
sending once an answer arrives) and each is measured: the time until its answer (the
slowest of the eight for the eight-at-once kinds), the worker's peak memory above what it
held before (`VmHWM` after resetting it through /proc/PID/clear_refs, minus `VmRSS`
before) and the worker's CPU time (10 ms ticks, averaged over the runs). Normal events (a
valid 315-byte `EVENT_911`) are measured the same way, one at a time and eight at once; a
hostile kind is compared with the normal events sent with the same concurrency. Targets
(docs/reference/contract.md "What an unauthenticated request may cost"):
every unauthenticated hostile body answered within 10 times a normal event's time (15 times
for request lines, header blocks and chunked framing, which gunicorn reads before the
function runs), adding less than 50 MiB. Bodies and heads that arrive slowly or never are
bounded by their deadline instead; 20,000 small requests under an hour's body deadline
must add less than 3 MiB to the worker's peak memory (what a cancelled deadline kept). Only
127.0.0.1 is contacted; every request is bounded in bytes and time.
"""

from __future__ import annotations

import argparse
import os
import platform
import select
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from tests.support.app import EVENT_PATH, event_env
from tests.support.bodies import envelope
from tests.support.hostile import (
    WRONG_KEY,
    Answer,
    PeakMemory,
    chunked,
    colliding_integers,
    concurrently,
    empty_objects,
    escaped_backslashes,
    exchange,
    lone_halves,
    many_identities,
    oversized,
    post,
    read_answer,
    request_head,
    tiny_chunks,
    worker_pid,
)
from tests.support.server import RunningServer, start_server

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
BEGIN = "<!-- bench_hostile -->"
END = "<!-- /bench_hostile -->"
TIME_TARGET = 10.0
MEMORY_TARGET_MIB = 50.0
DEPLOYED = {"WORKERS": "1", "THREADS": "8"}


@dataclass(frozen=True)
class Measure:
    statuses: str
    seconds: float
    peak_mib: float
    cpu_ms: float


@dataclass(frozen=True)
class Case:
    name: str
    send: Callable[[RunningServer], list[Answer]]
    # Compared with this many normal events sent at once (the same concurrency).
    at_once: int = 1
    # Slow and never-sent bodies take as long as their sender: the deadline bounds them,
    # and each is measured once.
    deadline_bound: bool = False
    time_target: float = TIME_TARGET
    memory_target_mib: float = MEMORY_TARGET_MIB
    # Extra server settings for this kind only.
    env: dict[str, str] = field(default_factory=dict)


def one(parts: list[bytes], pause_s: float = 0.0) -> Callable[[RunningServer], list[Answer]]:
    return lambda server: [exchange(server.port, parts, pause_s=pause_s)]


def eight(parts: list[bytes]) -> Callable[[RunningServer], list[Answer]]:
    return lambda server: concurrently(8, lambda: exchange(server.port, parts))


def valid_during_slow_bodies(server: RunningServer) -> list[Answer]:
    """A valid event sent while eight slow bodies hold all eight threads."""
    slow_parts = [request_head(headers={"Content-Length": "400"}), *[b"x"] * 400]
    slow = [
        threading.Thread(target=exchange, args=(server.port, slow_parts), kwargs={"pause_s": 0.5})
        for _ in range(8)
    ]
    for sender in slow:
        sender.start()
    time.sleep(0.5)
    answer = exchange(server.port, post(envelope()))
    for sender in slow:
        sender.join()
    return [answer]


def valid_during_header_tricklers(server: RunningServer) -> list[Answer]:
    """A valid event sent while eight clients trickle their request heads, a byte every 2 s
    (a head of some 60 bytes would take two minutes); each trickler stops after 40 s."""
    head = request_head(headers={"Content-Length": "2"})
    tricklers = [
        threading.Thread(target=trickle, args=(server.port, head, 2.0, 40.0)) for _ in range(8)
    ]
    for trickler in tricklers:
        trickler.start()
    time.sleep(1.0)
    answer = exchange(server.port, post(envelope()), timeout_s=60)
    for trickler in tricklers:
        trickler.join()
    return [answer]


def trickle(port: int, data: bytes, pause_s: float, for_s: float) -> None:
    """Send `data` a byte at a time, `pause_s` apart, for at most `for_s` seconds."""
    stop = time.monotonic() + for_s
    with socket.create_connection(("127.0.0.1", port), timeout=pause_s) as connection:
        for byte in data:
            try:
                connection.sendall(bytes([byte]))
            except OSError:
                return
            remaining = stop - time.monotonic()
            readable, _, _ = select.select([connection], [], [], min(pause_s, max(remaining, 0)))
            if readable or remaining <= 0:
                return


def many_small_wrong_key(count: int, clients: int) -> Callable[[RunningServer], list[Answer]]:
    """`count` small wrong-key events over `clients` kept-alive connections at once."""
    body = envelope(key=WRONG_KEY)

    def client(server: RunningServer) -> Answer:
        started = time.monotonic()
        statuses = set()
        request = b"".join(post(body))
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
            for _ in range(count // clients):
                connection.sendall(request)
                statuses.add(read_answer(connection).status)
        return Answer(
            statuses.pop() if len(statuses) == 1 else None, b"", time.monotonic() - started
        )

    return lambda server: concurrently(clients, lambda: client(server))


def cases() -> list[Case]:
    big = oversized()
    chunked_head = request_head(headers={"Transfer-Encoding": "chunked"})
    slow_parts = [request_head(headers={"Content-Length": "400"}), *[b"x"] * 400]
    big_headers = {f"X-Padding-{number}": "p" * 8000 for number in range(70)}

    def long_line(megabytes: int) -> list[bytes]:
        return [request_head("GET", EVENT_PATH + "?q=" + "a" * megabytes * 1_000_000)]

    return [
        Case("wrong key, 495 KB EVENT_REMOVE_911, colliding ids", one(post(colliding_integers()))),
        Case("wrong key, 1 MiB EVENT_911, 500,000 identities", one(post(many_identities()))),
        Case(
            'eight wrong-key 1 MiB bodies of `{"":{}}` at once',
            eight(post(empty_objects())),
            at_once=8,
        ),
        Case("eight 32 MiB wrong-key bodies at once", eight(post(big)), at_once=8),
        Case("eight 32 MiB wrong-key bodies at once, chunked", eight(chunked(big)), at_once=8),
        Case("1 MB request line (GET probe)", one(long_line(1)), time_target=15.0),
        Case("4 MB request line (GET probe)", one(long_line(4)), time_target=15.0),
        Case("8 MB request line (GET probe)", one(long_line(8)), time_target=15.0),
        Case("malformed chunked body", one([chunked_head + b"zz\r\n"])),
        Case(
            "wrong key, 940 KiB of escaped backslashes and one `\\u0041`",
            one(post(escaped_backslashes())),
        ),
        Case("wrong key, 940 KiB of lone surrogate halves", one(post(lone_halves()))),
        Case(
            "wrong key, 960 KiB in 1-byte chunks (6 MiB on the wire)",
            one(tiny_chunks(oversized(960 * 1024))),
            time_target=15.0,
        ),
        Case(
            "wrong key, 960 KiB in 1 KiB chunks with 4 KiB extensions",
            one(tiny_chunks(oversized(960 * 1024), b";x=" + b"e" * 4096, 1024)),
            time_target=15.0,
        ),
        Case(
            "wrong key, 960 KiB in 2 KiB chunks (framing within its limits)",
            one(tiny_chunks(oversized(960 * 1024), chunk_bytes=2048)),
            time_target=15.0,
        ),
        Case(
            "the same 960 KiB body, Content-Length",
            one(post(oversized(960 * 1024))),
        ),
        Case(
            "request head of 70 headers of 8 KB (GET probe)",
            one([request_head("GET", EVENT_PATH, big_headers)]),
            time_target=15.0,
        ),
        Case(
            "valid event while eight clients trickle their headers",
            valid_during_header_tricklers,
            deadline_bound=True,
        ),
        Case(
            "20,000 small wrong-key events from 4 clients, body deadline 3600 s",
            many_small_wrong_key(20_000, 4),
            deadline_bound=True,
            memory_target_mib=3.0,
            env={"SONORAN_BODY_TIMEOUT_S": "3600"},
        ),
        Case("slow body (a byte every 0.5 s)", one(slow_parts, pause_s=0.5), deadline_bound=True),
        Case(
            "body announced, never sent",
            one([request_head(headers={"Content-Length": "500"})]),
            deadline_bound=True,
        ),
        Case(
            "valid event while eight slow bodies hold all 8 threads",
            valid_during_slow_bodies,
            deadline_bound=True,
        ),
    ]


@contextmanager
def fresh_server(
    workdir: Path, number: int, extra: dict[str, str] | None = None
) -> Iterator[RunningServer]:
    env = event_env(
        LOCAL_SINK_FILE=str(workdir / f"sink-{number}.jsonl"), **DEPLOYED, **(extra or {})
    )
    server = start_server(env, workdir / f"server-{number}.log")
    try:
        for _ in range(5):
            exchange(server.port, post(envelope()))
        yield server
    finally:
        server.stop()


def cpu_ms(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def measure(server: RunningServer, send: Callable[[RunningServer], list[Answer]]) -> Measure:
    worker = worker_pid(server)
    peak = PeakMemory(worker)
    cpu_before = cpu_ms(worker)
    answers = send(server)
    return Measure(
        statuses="/".join(sorted({str(answer.status) for answer in answers})),
        seconds=max(answer.seconds for answer in answers),
        peak_mib=peak.added_mib(),
        cpu_ms=cpu_ms(worker) - cpu_before,
    )


def repeated(
    server: RunningServer, send: Callable[[RunningServer], list[Answer]], runs: int
) -> Measure:
    """Median time and mean CPU over `runs`; the largest peak (the first run's, usually:
    later runs reuse memory the allocator kept)."""
    measures = [measure(server, send) for _ in range(runs)]
    return Measure(
        statuses="/".join(sorted({m.statuses for m in measures})),
        seconds=statistics.median(m.seconds for m in measures),
        peak_mib=max(m.peak_mib for m in measures),
        cpu_ms=statistics.fmean(m.cpu_ms for m in measures),
    )


def report(baselines: dict[int, Measure], results: list[tuple[Case, Measure]]) -> str:
    lines = [
        "| request | answer | time | times normal | peak memory added | worker CPU | targets |",
        "|---|---|---|---|---|---|---|",
    ]
    for at_once, normal in baselines.items():
        name = "normal event" if at_once == 1 else f"{at_once} normal events at once"
        lines.append(
            f"| **{name}** (valid key, 315 bytes) | {normal.statuses} "
            f"| {seconds(normal.seconds)} | 1 | {normal.peak_mib:.1f} MiB "
            f"| {normal.cpu_ms:.1f} ms | |"
        )
    for case, result in results:
        ratio = result.seconds / baselines[case.at_once].seconds
        if case.deadline_bound:
            verdict = "deadline-bound"
            if case.memory_target_mib != MEMORY_TARGET_MIB:
                met = result.peak_mib < case.memory_target_mib
                verdict = f"memory {'met' if met else 'NOT met'}"
        else:
            met = ratio <= case.time_target and result.peak_mib < case.memory_target_mib
            verdict = "met" if met else "NOT met"
        lines.append(
            f"| {case.name} | {result.statuses} | {seconds(result.seconds)} | {ratio:,.1f} "
            f"| {result.peak_mib:.1f} MiB | {result.cpu_ms:.1f} ms | {verdict} |"
        )
    return "\n".join(lines)


def seconds(value: float) -> str:
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def header(started: datetime, elapsed: float) -> str:
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("functions-framework", "gunicorn", "pydantic")
    )
    return (
        f"- date: {started:%Y-%m-%d %H:%M} UTC; whole run {elapsed:.0f} s; load average after: "
        f"{' '.join(f'{load:.2f}' for load in os.getloadavg())}\n"
        f"- machine: {platform.machine()}, {os.cpu_count()} cores; "
        f"Python {platform.python_version()}; {versions}\n"
        f"- server: functions-framework (gunicorn gthread), WORKERS=1, THREADS=8, a fresh one per "
        f"request kind; body limit 1 MiB, body deadline 10 s (the defaults)\n"
    )


def write(section: str, out: Path) -> None:
    text = out.read_text(encoding="utf-8") if out.is_file() else ""
    block = f"{BEGIN}\n{section}{END}\n"
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        after = rest.split(END, 1)[1].lstrip("\n")
        text = before + block + ("\n" + after if after else "")
    else:
        # At the end, inside the hand-written notes that bench_receivers.py keeps.
        text = text.rstrip("\n") + "\n\n## Hostile traffic\n\n" + block
    out.write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="runs per request kind")
    parser.add_argument("--normal-runs", type=int, default=30)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--only", metavar="TEXT", help="measure only the kinds whose name holds TEXT (print only)"
    )
    options = parser.parse_args(argv)
    started = datetime.now(UTC)
    clock = time.monotonic()
    normal = one(post(envelope()))
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        workdir = Path(tmp)
        with fresh_server(workdir, 0) as server:
            baselines = {
                1: repeated(server, normal, options.normal_runs),
                8: repeated(server, eight(post(envelope())), options.normal_runs),
            }
        results = []
        chosen = [case for case in cases() if options.only is None or options.only in case.name]
        for number, case in enumerate(chosen, start=1):
            runs = 1 if case.deadline_bound else options.runs
            with fresh_server(workdir, number, case.env) as server:
                results.append((case, repeated(server, case.send, runs)))
            print(f"measured: {case.name}", file=sys.stderr)
    section = header(started, time.monotonic() - clock) + "\n" + report(baselines, results) + "\n"
    print(section)
    if not options.no_write and options.only is None:
        write(section, options.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
