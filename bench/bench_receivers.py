"""Our receiver against a floor and the receiver a user would otherwise run, in one run.

    .venv/bin/python -m bench.bench_receivers            # writes bench/RESULTS.md
    .venv/bin/python -m bench.bench_receivers --rounds 1 --seconds 2 --out /tmp/r.md  # quick

Four receivers, each under functions-framework's production server (gunicorn, the same
`WORKERS`/`THREADS` as `deploy/`: 1 and 8), the last three publishing to one Pub/Sub
emulator (`tests/support/emulator.py`, needs `gcloud` with the emulator component and `java`):

- (a) `bench/bare_receiver`: parse the JSON, answer 200; the framework's limit;
- (b) `bench/naive_receiver`: Google's Pub/Sub sample made into a receiver;
- (c) `bench/floor_receiver`: parse, compare the key, one publish RPC; the floor;
- (d) ours: `main.py` with `PUBSUB_TOPIC` and `PUBSUB_EMULATOR_HOST`.

For each: cold start (process spawn to the first 200 of a valid event, which for (b) to (d)
is a published one, checked in a subscription) and the CPU time the server's processes had
used by then (less disturbed than the wall time by other work on a shared machine),
requests per second and p50/p99 latency at 1, 8 and 32 keep-alive connections, and the peak
memory of the server's process tree sampled from /proc. The emulator is first warmed by a
few unrecorded seconds of load through each publishing receiver. Runs alternate, each round
starting one receiver later (a b c d, b c d a, ...), so slow drifts of the machine hit all
alike and no receiver always follows the same one; after the load rounds, `--cold-starts`
more spawns of each (alternating the same way) measure only the cold start, its figure being
the median of every spawn. The report gives medians and the ratios of ours to each of the
others.

The load generator is a raw-socket keep-alive client (one thread per connection, requests
pre-encoded, only the status line and Content-Length parsed); it reports its own CPU use so a
reader can see it was not the bottleneck. On a shared 2-core machine the client, the server
and the emulator compete for CPU: run it on a quiet machine (`uptime`), and compare ratios
rather than absolute figures with other machines. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from local_stack.emulator import emulator_problem
from tests.support.bodies import EVENT_911_DATA
from tests.support.emulator import PubSubEmulator, TestTopic
from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS_FRAMEWORK = Path(sys.executable).with_name("functions-framework")
EVENT_PATH = "/sonorancad/event"
BENCH_KEY = "bench-key-3c1f0a9e"
PROJECT = "sonoran-bench"
CONNECTIONS = (1, 8, 32)
# deploy/terraform: one worker, THREADS = the instance's request concurrency (default 8).
WORKERS = "1"
THREADS = "8"
BODY_POOL = 2000
EMULATOR_WARMUP_S = 4.0


@dataclass(frozen=True)
class Receiver:
    label: str
    name: str
    source: Path
    target: str
    publishes: bool

    def command(self, port: int) -> list[str]:
        return [
            str(FUNCTIONS_FRAMEWORK),
            "--target",
            self.target,
            "--source",
            str(self.source),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]


RECEIVERS = (
    Receiver("a", "bare", ROOT / "bench/bare_receiver/main.py", "receive", publishes=False),
    Receiver("b", "naive", ROOT / "bench/naive_receiver/main.py", "receive", publishes=True),
    Receiver("c", "floor", ROOT / "bench/floor_receiver/main.py", "receive", publishes=True),
    Receiver("d", "ours", ROOT / "main.py", "sonorancad_event", publishes=True),
)


# --- the load generator -------------------------------------------------------------------


def bodies(count: int) -> list[bytes]:
    """Distinct, realistic events (docs/reference/push-events.md "EVENT_911"), one callId
    each."""
    pool = []
    for number in range(count):
        data = copy.deepcopy(EVENT_911_DATA)
        data["call"]["callId"] = 10_000 + number
        event = {"key": BENCH_KEY, "type": "EVENT_911", "data": data}
        pool.append(json.dumps(event).encode("utf-8"))
    return pool


def raw_request(port: int, body: bytes) -> bytes:
    head = (
        f"POST {EVENT_PATH}?server=1 HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


class Connection:
    """One keep-alive HTTP/1.1 connection that sends pre-encoded requests."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._sock = self._connect()
        self._buffer = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self._port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def request(self, raw: bytes) -> int:
        """Send one request, return its status; reconnect once if the server closed."""
        try:
            return self._exchange(raw)
        except (ConnectionError, EOFError):
            self.close()
            self._sock = self._connect()
            self._buffer = b""
            return self._exchange(raw)

    def _exchange(self, raw: bytes) -> int:
        self._sock.sendall(raw)
        while b"\r\n\r\n" not in self._buffer:
            self._fill()
        head, _, rest = self._buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            rest += self._recv()
        self._buffer = rest[length:]
        return status

    def _fill(self) -> None:
        self._buffer += self._recv()

    def _recv(self) -> bytes:
        chunk = self._sock.recv(65536)
        if not chunk:
            raise EOFError("server closed the connection")
        return chunk

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()


@dataclass
class LoadResult:
    connections: int
    requests: int
    errors: int
    statuses: dict[int, int]
    rps: float
    p50_ms: float
    p99_ms: float
    client_cpu: float
    """The load generator's CPU time over the wall time (1.0 = one core)."""


@dataclass
class _Window:
    """When the clients start, when counting starts, when they stop (perf_counter)."""

    start: float
    measure_from: float
    stop_at: float


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    failures: int = 0


def _drive(
    port: int, requests: Sequence[bytes], offset: int, window: _Window, tally: _Tally
) -> None:
    """One client: send back to back on one connection until the window closes."""
    connection = Connection(port)
    position = offset
    while (now := time.perf_counter()) < window.start:
        time.sleep(min(0.01, window.start - now))
    try:
        while (began := time.perf_counter()) < window.stop_at:
            raw = requests[position % len(requests)]
            position += 1
            try:
                status = connection.request(raw)
            except OSError:
                tally.failures += 1
                connection.close()
                connection = Connection(port)
                continue
            ended = time.perf_counter()
            if began >= window.measure_from and ended <= window.stop_at:
                tally.latencies.append(ended - began)
                tally.statuses[status] = tally.statuses.get(status, 0) + 1
    finally:
        connection.close()


def load(
    port: int, pool: Sequence[bytes], connections: int, warmup_s: float, seconds: float
) -> LoadResult:
    """`connections` threads, each on its own keep-alive connection, send back to back for
    `warmup_s` + `seconds`; only requests started and finished in the last `seconds` count."""
    requests = [raw_request(port, body) for body in pool]
    start = time.perf_counter() + 0.2
    window = _Window(start, start + warmup_s, start + warmup_s + seconds)
    tallies = [_Tally() for _ in range(connections)]
    clients = [
        threading.Thread(target=_drive, args=(port, requests, i * 7919, window, tallies[i]))
        for i in range(connections)
    ]
    for client in clients:
        client.start()
    time.sleep(max(0.0, window.measure_from - time.perf_counter()))
    cpu_from = os.times()
    for client in clients:
        client.join()
    cpu_to = os.times()
    latencies = sorted(value for tally in tallies for value in tally.latencies)
    statuses: dict[int, int] = {}
    for tally in tallies:
        for status, count in tally.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    not_ok = sum(count for status, count in statuses.items() if status != 200)
    cpu = (cpu_to.user + cpu_to.system) - (cpu_from.user + cpu_from.system)
    return LoadResult(
        connections=connections,
        requests=len(latencies),
        errors=sum(tally.failures for tally in tallies) + not_ok,
        statuses=statuses,
        rps=len(latencies) / seconds,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        client_cpu=cpu / seconds,
    )


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


# --- the server and its memory -------------------------------------------------------------


def process_tree(root_pid: int) -> list[int]:
    """`root_pid` and every descendant, from /proc (gunicorn's arbiter and its workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields start after the last ')'.
        parent = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree, pending = [], [root_pid]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def tree_memory_kib(root_pid: int) -> tuple[int, int]:
    """(sum of RSS, sum of PSS) in KiB over the tree. RSS counts pages the forked worker
    shares with the arbiter twice; PSS splits them, so it is what the tree really holds."""
    rss = pss = 0
    for pid in process_tree(root_pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                name, _, value = line.partition(":")
                if name == "Rss":
                    rss += int(value.split()[0])
                elif name == "Pss":
                    pss += int(value.split()[0])
    return rss, pss


def tree_cpu_s(root_pid: int) -> float:
    """User and system CPU time used so far by the tree's live processes, in seconds."""
    ticks = 0
    for pid in process_tree(root_pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            # utime and stime: fields 14 and 15 of stat, 12 and 13 after the name.
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Cold:
    """One spawn: wall time to the first 200, and the server tree's CPU time by then."""

    wall_s: float
    cpu_s: float


class MemorySampler:
    """Samples the tree's memory every 100 ms while a run goes on; keeps the peaks."""

    def __init__(self, root_pid: int) -> None:
        self._root = root_pid
        self._stop = threading.Event()
        self.peak_rss_kib = 0
        self.peak_pss_kib = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self._sample()

    def _sample(self) -> None:
        rss, pss = tree_memory_kib(self._root)
        self.peak_rss_kib = max(self.peak_rss_kib, rss)
        self.peak_pss_kib = max(self.peak_pss_kib, pss)


@contextlib.contextmanager
def running(
    receiver: Receiver, env: dict[str, str], log_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], int, Cold]]:
    """Spawn the server; yield it, its port and its cold start (spawn to the first 200)."""
    port = free_port()
    probe = raw_request(port, bodies(1)[0])
    with log_path.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            receiver.command(port),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wall_s = first_ok(process, port, probe, started, log_path)
        yield process, port, Cold(wall_s, tree_cpu_s(process.pid))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


def first_ok(
    process: subprocess.Popen[bytes], port: int, probe: bytes, started: float, log_path: Path
) -> float:
    deadline = started + 60
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited at start:\n{log_path.read_text()}")
        try:
            connection = Connection(port)
        except ConnectionRefusedError:
            time.sleep(0.005)
            continue
        try:
            status = connection.request(probe)
        finally:
            connection.close()
        if status == 200:
            return time.perf_counter() - started
        raise RuntimeError(f"first answer was {status}:\n{log_path.read_text()}")
    raise RuntimeError(f"no answer within 60 s:\n{log_path.read_text()}")


# --- one run, many runs, the report -------------------------------------------------------


@dataclass
class Run:
    receiver: str
    round: int
    cold: Cold
    loads: dict[int, LoadResult]
    peak_rss_mib: float
    peak_pss_mib: float


@dataclass
class Options:
    rounds: int
    seconds: float
    warmup_s: float
    out: Path
    cold_starts: int = 0
    workers: str = WORKERS
    threads: str = THREADS
    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-")))


def server_env(options: Options, topic: TestTopic) -> dict[str, str]:
    inherited = {
        name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ
    }
    return {
        **inherited,
        **topic.env(),
        "SONORAN_API_KEYS": BENCH_KEY,
        "WORKERS": options.workers,
        "THREADS": options.threads,
        "PYTHONUNBUFFERED": "1",
    }


@contextlib.contextmanager
def started(
    receiver: Receiver, log_name: str, emulator: PubSubEmulator, options: Options
) -> Iterator[tuple[subprocess.Popen[bytes], int, Cold]]:
    """A fresh server on a fresh topic, its first (published) 200 confirmed."""
    topic = emulator.new_topic()
    log_path = options.work / f"{log_name}.log"
    with running(receiver, server_env(options, topic), log_path) as (process, port, cold):
        if receiver.publishes:
            confirm_published(topic)
        # Nobody reads the load's messages: without a subscription the emulator keeps none,
        # so its memory and speed stay the same from the first run to the last.
        drop_subscription(emulator, topic)
        yield process, port, cold


def one_run(
    receiver: Receiver,
    round_number: int,
    emulator: PubSubEmulator,
    pool: Sequence[bytes],
    options: Options,
) -> Run:
    log_name = f"{receiver.name}-{round_number}"
    with (
        started(receiver, log_name, emulator, options) as (process, port, cold),
        MemorySampler(process.pid) as memory,
    ):
        loads = {
            count: load(port, pool, count, options.warmup_s, options.seconds)
            for count in CONNECTIONS
        }
    return Run(
        receiver=receiver.name,
        round=round_number,
        cold=cold,
        loads=loads,
        peak_rss_mib=memory.peak_rss_kib / 1024,
        peak_pss_mib=memory.peak_pss_kib / 1024,
    )


def rotated(receivers: Sequence[Receiver], by: int) -> list[Receiver]:
    """`receivers` starting at a different one each round: no receiver always runs right
    after the same other (the one right after the naive receiver measured a few % faster)."""
    shift = by % len(receivers)
    return [*receivers[shift:], *receivers[:shift]]


def warm_emulator(
    receiver: Receiver, emulator: PubSubEmulator, pool: Sequence[bytes], options: Options
) -> None:
    """Publish through `receiver` for a while at 8 connections; nothing is recorded."""
    with started(receiver, f"{receiver.name}-warm-up", emulator, options) as (_, port, _):
        load(port, pool, 8, 0.0, EMULATOR_WARMUP_S)


def cold_start(receiver: Receiver, spawn: int, emulator: PubSubEmulator, options: Options) -> Cold:
    """One more spawn of `receiver`, only to time its first (published) 200."""
    with started(receiver, f"{receiver.name}-cold-{spawn}", emulator, options) as (_, _, cold):
        return cold


def confirm_published(topic: TestTopic) -> None:
    """The cold-start 200 must mean a message in Pub/Sub, or the figure means nothing."""
    messages = topic.pull(1, deadline_s=15)
    if len(messages) != 1:
        raise RuntimeError("the first accepted event never reached the subscription")


def drop_subscription(emulator: PubSubEmulator, topic: TestTopic) -> None:
    subscriber = emulator.subscriber()
    try:
        subscriber.delete_subscription(subscription=topic.subscription_path, timeout=10)
    finally:
        subscriber.close()


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


@dataclass
class Summary:
    cold_start_s: float
    cold_cpu_s: float
    rps: dict[int, float]
    p50_ms: dict[int, float]
    p99_ms: dict[int, float]
    peak_rss_mib: float
    peak_pss_mib: float
    errors: int
    client_cpu: float


def summarise(runs: Sequence[Run], cold_starts: Sequence[Cold]) -> Summary:
    def per_load(pick: Callable[[LoadResult], float]) -> dict[int, float]:
        return {n: median([pick(run.loads[n]) for run in runs]) for n in CONNECTIONS}

    colds = [*(run.cold for run in runs), *cold_starts]
    return Summary(
        cold_start_s=median([cold.wall_s for cold in colds]),
        cold_cpu_s=median([cold.cpu_s for cold in colds]),
        rps=per_load(lambda result: result.rps),
        p50_ms=per_load(lambda result: result.p50_ms),
        p99_ms=per_load(lambda result: result.p99_ms),
        peak_rss_mib=median([run.peak_rss_mib for run in runs]),
        peak_pss_mib=median([run.peak_pss_mib for run in runs]),
        errors=sum(result.errors for run in runs for result in run.loads.values()),
        client_cpu=max(result.client_cpu for run in runs for result in run.loads.values()),
    )


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError):
        total_kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{total_kib / 1024 / 1024:.1f} GiB"
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in (
            "functions-framework",
            "gunicorn",
            "Flask",
            "pydantic",
            "pydantic-core",
            "google-cloud-pubsub",
            "grpcio",
        )
    )
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "packages": versions,
    }


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def report(
    runs: Sequence[Run],
    colds: Mapping[str, Sequence[Cold]],
    options: Options,
    load_before: str,
    load_after: str,
    elapsed_s: float,
) -> str:
    summaries = {
        receiver.name: summarise(
            [run for run in runs if run.receiver == receiver.name], colds[receiver.name]
        )
        for receiver in RECEIVERS
    }
    naive, floor, ours = summaries["naive"], summaries["floor"], summaries["ours"]
    spawns = options.rounds + options.cold_starts
    facts = machine()
    lines = [
        "# Receiver benchmark",
        "",
        "Written by `.venv/bin/python -m bench.bench_receivers` (see its docstring for the "
        "method). Figures are medians over the rounds; every run starts a fresh server.",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {facts['cpu']}, {facts['memory']}, {facts['os']}",
        f"- Python {facts['python']}; {facts['packages']}",
        f"- server: functions-framework (gunicorn gthread), WORKERS={options.workers}, "
        f"THREADS={options.threads}; (b), (c) and (d) publish to one local Pub/Sub emulator",
        f"- the emulator warmed by {EMULATOR_WARMUP_S:g} s of unrecorded load through each of "
        "(b), (c) and (d); "
        f"{options.rounds} rounds, runs alternating a b c d, each round starting one later; "
        "per connection count "
        f"{options.warmup_s:g} s warm-up then {options.seconds:g} s measured; "
        f"body: a {len(bodies(1)[0])}-byte EVENT_911, {BODY_POOL} distinct events; "
        f"cold start: median of {spawns} spawns each",
        f"- load average (1/5/15 min) before: {load_before}; after: {load_after}; "
        f"whole run {elapsed_s:.0f} s",
        "",
        "| receiver | cold start (s) | its CPU (s) | rps @1 | rps @8 | rps @32 | p50/p99 ms @1 "
        "| p50/p99 ms @8 | p50/p99 ms @32 | peak RSS (MiB) | peak PSS (MiB) | non-200 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for receiver in RECEIVERS:
        summary = summaries[receiver.name]
        latency = [f"{summary.p50_ms[n]:.1f} / {summary.p99_ms[n]:.1f}" for n in CONNECTIONS]
        lines.append(
            f"| ({receiver.label}) {receiver.name} | {summary.cold_start_s:.2f} | "
            f"{summary.cold_cpu_s:.2f} | "
            + " | ".join(f"{summary.rps[n]:.0f}" for n in CONNECTIONS)
            + " | "
            + " | ".join(latency)
            + f" | {summary.peak_rss_mib:.0f} | {summary.peak_pss_mib:.0f} | {summary.errors} |"
        )
    lines += [
        "",
        "| ratio | cold start | its CPU | rps @1 | rps @8 | rps @32 | p50 @8 | p99 @8 | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for base_receiver in RECEIVERS[:-1]:
        base = summaries[base_receiver.name]
        lines.append(
            f"| d/{base_receiver.label} (ours / {base_receiver.name}) "
            f"| {ours.cold_start_s / base.cold_start_s:.2f} "
            f"| {ours.cold_cpu_s / base.cold_cpu_s:.2f} | "
            + " | ".join(f"{ours.rps[n] / base.rps[n]:.2f}" for n in CONNECTIONS)
            + f" | {ours.p50_ms[8] / base.p50_ms[8]:.2f} | {ours.p99_ms[8] / base.p99_ms[8]:.2f}"
            + f" | {ours.peak_rss_mib / base.peak_rss_mib:.2f} |"
        )
    throughput = ours.rps[8] / floor.rps[8]
    cold = ours.cold_start_s / naive.cold_start_s
    lost = sum(summary.errors for summary in summaries.values())
    lines += [
        "",
        "Targets:",
        "",
        f"- warm throughput at 8 connections, d/c (ours / floor) >= 0.95: {throughput:.2f} "
        f"({'met' if throughput >= 0.95 else 'NOT met'})",
        f"- cold start, d/b (ours / naive) <= 1.0: {cold:.2f} "
        f"({'met' if cold <= 1.0 else 'NOT met'}; its CPU "
        f"{ours.cold_cpu_s / naive.cold_cpu_s:.2f})",
        f"- peak memory of ours under 150 MiB: RSS summed over the tree "
        f"{ours.peak_rss_mib:.0f} MiB ({'met' if ours.peak_rss_mib < 150 else 'NOT met'}); "
        f"PSS {ours.peak_pss_mib:.0f} MiB ({'met' if ours.peak_pss_mib < 150 else 'NOT met'})",
        f"- no answer but 200 under load: {lost} others ({'met' if lost == 0 else 'NOT met'})",
        "",
        "Cold start is the time from spawning `functions-framework` to the first `200` for a "
        "valid event (for (b), (c) and (d) a published one, checked in a subscription); its "
        "CPU is the user and system time the server's processes had used by then. Peak "
        "RSS sums the server tree (gunicorn's arbiter and its worker) and so counts the pages "
        "the forked worker shares with the arbiter twice; PSS splits shared pages and is what "
        "the tree really holds. The load generator used at most "
        f"{max(s.client_cpu for s in summaries.values()):.0%} of one core while measuring "
        "(the server's worker is one Python process, so it can use one core at most).",
        "",
        "## Every run",
        "",
        "| run | receiver | cold start (s) | rps @1/8/32 | p99 ms @1/8/32 | peak RSS (MiB) |",
        "|---|---|---|---|---|---|",
    ]
    for index, run in enumerate(runs, start=1):
        lines.append(
            f"| {index} | {run.receiver} | {run.cold.wall_s:.2f} | "
            + " / ".join(f"{run.loads[n].rps:.0f}" for n in CONNECTIONS)
            + " | "
            + " / ".join(f"{run.loads[n].p99_ms:.1f}" for n in CONNECTIONS)
            + f" | {run.peak_rss_mib:.0f} |"
        )
    if options.cold_starts:
        lines += ["", "Cold starts only, after the rounds: wall (CPU) in s", ""]
        lines += [
            f"- {receiver.name}: "
            + " / ".join(f"{cold.wall_s:.2f} ({cold.cpu_s:.2f})" for cold in colds[receiver.name])
            for receiver in RECEIVERS
        ]
    return "\n".join(lines) + "\n"


NOTES = "\n## Notes\n"


def kept_notes(out: Path) -> str:
    """The hand-written `## Notes` section of the previous report (profiles, fixes), kept."""
    if not out.is_file():
        return ""
    previous = out.read_text(encoding="utf-8")
    at = previous.find(NOTES)
    return previous[at:] if at >= 0 else ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured per load")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured, before each")
    parser.add_argument("--cold-starts", type=int, default=6, help="spawns each, after the rounds")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    arguments = parser.parse_args(argv)
    problem = emulator_problem()
    if problem is not None:
        print(f"the Pub/Sub emulator is needed: {problem}", file=sys.stderr)
        return 2
    options = Options(
        rounds=arguments.rounds,
        seconds=arguments.seconds,
        warmup_s=arguments.warmup,
        out=arguments.out,
        cold_starts=arguments.cold_starts,
    )
    load_before = load_average()
    began = time.perf_counter()
    pool = bodies(BODY_POOL)
    emulator = PubSubEmulator(PROJECT, options.work / "emulator.log")
    emulator.start()
    runs: list[Run] = []
    colds: dict[str, list[Cold]] = {receiver.name: [] for receiver in RECEIVERS}
    try:
        # The emulator is a Java server: until its JIT has compiled the publish path, the
        # first receivers measured meet a slower Pub/Sub than the later ones (its CPU per
        # message fell about fivefold over the first rounds). Warmed first, unrecorded.
        for receiver in RECEIVERS:
            if receiver.publishes:
                warm_emulator(receiver, emulator, pool, options)
        for round_number in range(1, options.rounds + 1):
            for receiver in rotated(RECEIVERS, round_number - 1):
                run = one_run(receiver, round_number, emulator, pool, options)
                runs.append(run)
                print(
                    f"round {round_number} {receiver.name}: cold {run.cold.wall_s:.2f} s "
                    f"(cpu {run.cold.cpu_s:.2f} s), rps "
                    + "/".join(f"{run.loads[n].rps:.0f}" for n in CONNECTIONS)
                    + f", p99 ms {'/'.join(f'{run.loads[n].p99_ms:.1f}' for n in CONNECTIONS)}"
                    + f", rss {run.peak_rss_mib:.0f} MiB, pss {run.peak_pss_mib:.0f} MiB, "
                    + f"client cpu {max(r.client_cpu for r in run.loads.values()):.0%}, "
                    + f"non-200 {sum(r.errors for r in run.loads.values())}",
                    flush=True,
                )
        for spawn in range(1, options.cold_starts + 1):
            for receiver in rotated(RECEIVERS, spawn - 1):
                colds[receiver.name].append(cold_start(receiver, spawn, emulator, options))
            print(
                f"cold starts {spawn}: "
                + ", ".join(
                    f"{name} {values[-1].wall_s:.2f} s (cpu {values[-1].cpu_s:.2f})"
                    for name, values in colds.items()
                ),
                flush=True,
            )
    finally:
        emulator.stop()
    text = report(runs, colds, options, load_before, load_average(), time.perf_counter() - began)
    options.out.write_text(text + kept_notes(options.out), encoding="utf-8")
    print(text)
    print(f"server logs: {options.work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
