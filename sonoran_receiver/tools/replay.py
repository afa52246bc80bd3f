"""`python -m sonoran_receiver.tools.replay`: quarantined or dead-lettered events, published again.

Neither sender retries (docs/reference/contract.md "Quarantine"), so an event our models refused is
kept in the quarantine topic until a release that reads it is deployed. This command then:

- `--from quarantine` (default): pulls `<prefix>-quarantine-pull`, re-validates each message
  with the current models and settings (`SONORAN_STRICT_TYPES`, `SONORAN_ROUTES`), publishes
  those that now pass to `<prefix>-events` as canonical events with their original
  `event_id`, `received_at` and `server` and a `replayed_from` attribute, and acknowledges
  them; a type routed to `drop` is acknowledged unpublished, as the receiver would have done.
  The rest stay, with a one-line reason each.
- `--from dead-letter`: pulls `<prefix>-events-dead-letter` and publishes each message to the
  events topic as it is: the same data bytes and the receiver's attributes (the worker reads
  it again from scratch); Pub/Sub's own `CloudPubSubDeadLetter*` attributes, which describe
  the failed delivery, are left out and `replayed_from` is added.
- `--dry-run`: every decision is printed, nothing is published or acknowledged, and no
  message is hidden from other readers for more than `_DRY_RUN_LEASE_S` seconds: each
  batch's lease is cut to that as soon as it is pulled and given back at the end, so even
  a dry run killed mid-way leaves its messages to others within seconds (a real run holds
  them for 600 s).

A message is acknowledged only once its publish was confirmed; every message not
acknowledged is made available again at the end (ack deadline 0) instead of waiting out its
lease. Each message is decided once per run, however often Pub/Sub redelivers it, and a run
reads at most `--max-messages`. Output names messages by id, type and verdict; reasons are
field paths and model messages only: never event text, never a key.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TextIO

import grpc
import pydantic_core
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions
from google.cloud import pubsub_v1
from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport
from pydantic import ValidationError

from sonoran_receiver.config import WORKER_TARGET, ConfigError, Settings, load_settings
from sonoran_receiver.events import problems
from sonoran_receiver.events.types import TYPE_NAME
from sonoran_receiver.publishing.message import CanonicalEvent
from sonoran_receiver.publishing.pubsub import PubSubSink
from sonoran_receiver.publishing.quarantine import type_refusal
from sonoran_receiver.publishing.sink import PublishFailed, check_size
from sonoran_receiver.worker.published import PublishedData, UnreadableMessage, message_payload

Source = Literal["quarantine", "dead-letter"]
Verdict = Literal["replayed", "dropped", "kept", "failed"]

DEFAULT_PREFIX = "sonorancad"
DEFAULT_MAX_MESSAGES = 1000
DEFAULT_PROGRESS_EVERY = 100
# A pull without `return_immediately` (deprecated: PullRequest in the Pub/Sub reference)
# waits, up to its deadline, until a message is there: an empty answer ends the run. Pub/Sub
# may hold back some of a backlog now and then (the `gcloud pubsub subscriptions pull` page):
# a second run picks those up.
DEFAULT_WAIT_S = 10.0
_PULL_BATCH = 100
# Batches that bring only messages this run has decided already (redelivered copies) before
# the run ends: the rest of the subscription is leased to someone else, or it is all seen.
_STALE_PULLS_TO_STOP = 3
# The longest lease ModifyAckDeadline gives (the ModifyAckDeadlineRequest reference: 600 s).
_HOLD_S = 600
# A dry run's lease, set on each batch as soon as it is pulled: a dry run killed mid-way
# hides nothing from other readers for longer than this. Not 0 (released each batch at
# once): a message given back can come straight back to the run's next pull, which would
# then read the first batch again and again and never the rest.
_DRY_RUN_LEASE_S = 10
_CALL_TIMEOUT_S = 30.0
_ACK_CHUNK = 1000
_REASON_PROBLEMS = 3
# Added by Pub/Sub when it forwards a message to a dead-letter topic ("Dead-letter topics",
# cloud.google.com/pubsub/docs/handling-failures): about the failed delivery, not the event.
_DEAD_LETTER_ATTRIBUTE_PREFIX = "CloudPubSubDeadLetter"
_NO_TYPE = "-"


@dataclass(frozen=True)
class ReplayedEvent:
    """A canonical event published again: its own attributes plus where it came from."""

    event: CanonicalEvent
    replayed_from: Source

    @property
    def type(self) -> str:
        return self.event.type

    @property
    def event_id(self) -> str:
        return self.event.event_id

    def message_data(self) -> dict[str, Any]:
        return self.event.message_data()

    def attributes(self) -> dict[str, str]:
        return {**self.event.attributes(), "replayed_from": self.replayed_from}

    def message_bytes(self) -> bytes:
        return self.event.message_bytes()


@dataclass(frozen=True)
class VerbatimMessage:
    """A dead-lettered message published again byte for byte; it is not read here, since
    the worker may have refused it for being unreadable."""

    data: bytes
    kept_attributes: Mapping[str, str]

    @property
    def type(self) -> str | None:
        return type_label(self.kept_attributes.get("event_type"))

    @property
    def event_id(self) -> str:
        return self.kept_attributes.get("event_id", "")

    def message_data(self) -> dict[str, Any]:
        """The data as an object, for a sink that writes JSON; `{}` when it is not one."""
        with contextlib.suppress(ValueError):
            parsed = pydantic_core.from_json(self.data)
            if isinstance(parsed, dict):
                return parsed
        return {}

    def attributes(self) -> dict[str, str]:
        return {**self.kept_attributes, "replayed_from": "dead-letter"}

    def message_bytes(self) -> bytes:
        return self.data


@dataclass(frozen=True)
class Decision:
    """What to do with one message: publish `message` (then ack), ack only, or keep it."""

    type: str
    action: Literal["publish", "drop", "keep"]
    reason: str = ""
    message: ReplayedEvent | VerbatimMessage | None = None


@dataclass
class Counts:
    read: int = 0
    by_verdict: dict[Verdict, int] = field(
        default_factory=lambda: {"replayed": 0, "dropped": 0, "kept": 0, "failed": 0}
    )

    def summary(self, dry_run: bool) -> str:
        parts = ", ".join(
            f"{count} {_said(verdict, dry_run)}" for verdict, count in self.by_verdict.items()
        )
        return f"{self.read} read: {parts}"


_VERDICTS: dict[str, Verdict] = {"publish": "replayed", "drop": "dropped", "keep": "kept"}
_DRY_NAMES: dict[Verdict, str] = {
    "replayed": "would replay",
    "dropped": "would drop",
    "kept": "would keep",
    "failed": "failed",
}


def _said(verdict: Verdict, dry_run: bool) -> str:
    """How the output names a verdict: what a dry run would have done, or what was done."""
    return _DRY_NAMES[verdict] if dry_run else verdict


def type_label(value: object) -> str:
    """A type as printed: a type name, or `-`. A string that is not a name may be anything
    the sender wrote, so it is never printed."""
    if isinstance(value, str) and TYPE_NAME.fullmatch(value):
        return value
    return _NO_TYPE


class _Keep(Exception):
    """A quarantine message that stays: its printable type and a one-line reason."""

    def __init__(self, label: str, reason: str) -> None:
        super().__init__(reason)
        self.label = label
        self.reason = reason


def decide_quarantined(data: bytes, settings: Settings) -> Decision:
    """Re-validate one quarantine message as the receiver's steps 6 to 8 would today."""
    try:
        label, event = _replayable(data, settings)
    except _Keep as kept:
        return Decision(kept.label, "keep", kept.reason)
    route = settings.routes.lookup(event.type)
    if "drop" in route or not route:
        return Decision(label, "drop", "SONORAN_ROUTES drops this type")
    return Decision(label, "publish", message=ReplayedEvent(event, "quarantine"))


def _replayable(data: bytes, settings: Settings) -> tuple[str, CanonicalEvent]:
    """The canonical event the receiver would publish for this message today; `_Keep`
    when it would still refuse it (or the message is not one the receiver wrote)."""
    payload = _quarantine_payload(data)
    sent_type = payload.get("type")
    label = type_label(sent_type)
    if type(payload.get("size")) is int and payload.get("data") is None:
        raise _Keep(label, "too large for Pub/Sub when received: only its size was kept")
    refused = type_refusal(sent_type, strict_types=settings.strict_types)
    if refused is not None:
        reason, found = refused
        hint = " (SONORAN_STRICT_TYPES=true)" if reason == "unknown_type" else ""
        raise _Keep(label, _reason(found) + hint)
    try:
        # The worker's reading of event_id, received_at and server: a replayed event must be
        # one the worker accepts, or it would only move on to the dead-letter topic.
        event = PublishedData.model_validate(payload).canonical_event()
    except ValidationError as invalid:
        raise _Keep(label, _reason(problems(invalid))) from None
    except ValueError:
        raise _Keep(label, "data holds NaN or Infinity") from None
    return type_label(event.type), event


def _quarantine_payload(data: bytes) -> dict[str, Any]:
    try:
        return message_payload(data)
    except UnreadableMessage as unreadable:
        raise _Keep(_NO_TYPE, str(unreadable)) from None


def decide_dead_lettered(data: bytes, attributes: Mapping[str, str]) -> Decision:
    """Every dead-lettered message goes back as it is; the worker decides again."""
    kept = {
        name: value
        for name, value in attributes.items()
        if not name.startswith(_DEAD_LETTER_ATTRIBUTE_PREFIX)
    }
    message = VerbatimMessage(data, kept)
    return Decision(message.type or _NO_TYPE, "publish", message=message)


def _reason(found: list[dict[str, str]]) -> str:
    shown = "; ".join(
        f"{problem['loc'] or '(event)'}: {problem['msg']}" for problem in found[:_REASON_PROBLEMS]
    )
    more = len(found) - _REASON_PROBLEMS
    return _one_line(shown + (f"; and {more} more" if more > 0 else ""))


def _one_line(text: str) -> str:
    # Field names in a reason are the sender's: C0, DEL and C1 controls alike would act on
    # the terminal, as in the text send and verify print.
    return re.sub(r"[\x00-\x1f\x7f-\x9f]+", " ", text)


@dataclass(frozen=True)
class Plan:
    source: Source
    subscription: str
    topic: str
    dry_run: bool
    max_messages: int
    progress_every: int
    wait_s: float


class Replayer:
    """One run: pull, decide, publish, acknowledge; release what stays."""

    def __init__(
        self,
        plan: Plan,
        settings: Settings,
        *,
        subscriber: Any,
        sink: PubSubSink,
        out: TextIO,
        err: TextIO,
    ) -> None:
        self._plan = plan
        self._settings = settings
        self._subscriber = subscriber
        self._sink = sink
        self._out = out
        self._err = err
        self.counts = Counts()

    def run(self) -> None:
        seen: set[str] = set()
        release: list[str] = []
        stale = 0
        try:
            while self.counts.read < self._plan.max_messages and stale < _STALE_PULLS_TO_STOP:
                batch = self._pull(min(_PULL_BATCH, self._plan.max_messages - self.counts.read))
                if not batch:
                    return
                if self._plan.dry_run:
                    # The pull leased the batch for the subscription's ack deadline.
                    self._modify([received.ack_id for received in batch], _DRY_RUN_LEASE_S)
                fresh = [received for received in batch if received.message.message_id not in seen]
                # A copy Pub/Sub redelivered (a lease ran out on a long run): decided
                # already, so only given back at the end.
                release.extend(
                    received.ack_id for received in batch if received.message.message_id in seen
                )
                stale = 0 if fresh else stale + 1
                acknowledge: list[str] = []
                hold: list[str] = []
                for received in fresh:
                    seen.add(received.message.message_id)
                    (acknowledge if self._handle(received) else hold).append(received.ack_id)
                release.extend(hold)
                self._acknowledge(acknowledge)
                if not self._plan.dry_run:
                    self._modify(hold, _HOLD_S)
        finally:
            # Best effort: a failure here must not hide the run's own error.
            with contextlib.suppress(api_exceptions.GoogleAPICallError):
                self._modify(release, 0)

    def _handle(self, received: Any) -> bool:
        """Decide, publish when asked, print one line; True when it may be acknowledged."""
        message = received.message
        if self._plan.source == "quarantine":
            decision = decide_quarantined(message.data, self._settings)
        else:
            decision = decide_dead_lettered(message.data, dict(message.attributes))
        verdict = _VERDICTS[decision.action]
        reason = decision.reason
        if decision.message is not None and not self._plan.dry_run:
            try:
                # The receiver's own limit: Pub/Sub would refuse a larger message forever.
                check_size(decision.message)
                self._sink.publish(decision.message)
            except PublishFailed as failed:
                verdict, reason = "failed", f"publish failed, kept ({failed})"
        self.counts.read += 1
        self.counts.by_verdict[verdict] += 1
        line = f"{message.message_id} {decision.type} {_said(verdict, self._plan.dry_run)}"
        print(f"{line}: {reason}" if reason else line, file=self._out, flush=True)
        if self.counts.read % self._plan.progress_every == 0:
            print(f"replay: {self.counts.summary(self._plan.dry_run)}", file=self._err, flush=True)
        return verdict in ("replayed", "dropped") and not self._plan.dry_run

    def _pull(self, limit: int) -> list[Any]:
        try:
            response = self._subscriber.pull(
                subscription=self._plan.subscription,
                max_messages=limit,
                timeout=self._plan.wait_s,
            )
        except api_exceptions.DeadlineExceeded:
            return []
        return list(response.received_messages)

    def _acknowledge(self, ack_ids: list[str]) -> None:
        for chunk in _chunks(ack_ids):
            self._subscriber.acknowledge(
                subscription=self._plan.subscription, ack_ids=chunk, timeout=_CALL_TIMEOUT_S
            )

    def _modify(self, ack_ids: list[str], seconds: int) -> None:
        """A new lease for messages that stay: `_HOLD_S` while the run goes on (no
        redelivery to this run; `_DRY_RUN_LEASE_S` for a dry run), 0 at its end (available
        again now, not after the lease)."""
        for chunk in _chunks(ack_ids):
            self._subscriber.modify_ack_deadline(
                subscription=self._plan.subscription,
                ack_ids=chunk,
                ack_deadline_seconds=seconds,
                timeout=_CALL_TIMEOUT_S,
            )


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _ACK_CHUNK):
        yield items[start : start + _ACK_CHUNK]


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sonoran_receiver.tools.replay",
        description=(
            "Publish quarantined events that the current models accept (or dead-lettered "
            "worker messages, unchanged) to the events topic."
        ),
    )
    parser.add_argument(
        "--from",
        dest="source",
        choices=("quarantine", "dead-letter"),
        default="quarantine",
        help="where to read: <prefix>-quarantine-pull or <prefix>-events-dead-letter",
    )
    parser.add_argument("--project", help="Google Cloud project (default: GOOGLE_CLOUD_PROJECT)")
    parser.add_argument(
        "--prefix", default=DEFAULT_PREFIX, help=f"deploy name prefix (default {DEFAULT_PREFIX})"
    )
    parser.add_argument("--subscription", help="subscription id or full path to read instead")
    parser.add_argument("--topic", help="topic id or full path to publish to instead")
    parser.add_argument(
        "--max-messages",
        type=_positive,
        default=DEFAULT_MAX_MESSAGES,
        help=f"read at most this many messages (default {DEFAULT_MAX_MESSAGES})",
    )
    parser.add_argument(
        "--progress-every",
        type=_positive,
        default=DEFAULT_PROGRESS_EVERY,
        help=f"a progress line every N messages (default {DEFAULT_PROGRESS_EVERY})",
    )
    parser.add_argument(
        "--wait",
        dest="wait_s",
        type=_seconds,
        default=DEFAULT_WAIT_S,
        help=f"seconds a pull waits for messages before the run ends (default {DEFAULT_WAIT_S:g})",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would happen; change nothing"
    )
    return parser.parse_args(argv)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number of seconds") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 600")
    return value


def _path(kind: str, name: str, project: str | None) -> str:
    if name.startswith("projects/"):
        return name
    if not project:
        raise ConfigError("GOOGLE_CLOUD_PROJECT", f"needed for the {kind} {name} (or --project)")
    return f"projects/{project}/{kind}s/{name}"


def _plan(arguments: argparse.Namespace, settings: Settings) -> Plan:
    project = arguments.project or settings.google_cloud_project
    source: Source = arguments.source
    default_subscription = {
        "quarantine": f"{arguments.prefix}-quarantine-pull",
        "dead-letter": f"{arguments.prefix}-events-dead-letter",
    }[source]
    return Plan(
        source=source,
        subscription=_path("subscription", arguments.subscription or default_subscription, project),
        topic=_path("topic", arguments.topic or f"{arguments.prefix}-events", project),
        dry_run=arguments.dry_run,
        max_messages=arguments.max_messages,
        progress_every=arguments.progress_every,
        wait_s=arguments.wait_s,
    )


def subscriber_client(emulator_host: str | None) -> Any:
    if emulator_host is None:
        return pubsub_v1.SubscriberClient()
    # As the client does when it finds PUBSUB_EMULATOR_HOST: plain text, no credentials.
    channel = grpc.insecure_channel(emulator_host)
    return pubsub_v1.SubscriberClient(transport=SubscriberGrpcTransport(channel=channel))


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """0 when the run finished (kept messages included), 1 when a publish or Pub/Sub call
    failed, 2 for a configuration error."""
    arguments = _arguments(argv)
    try:
        # The same variables and checks as the deployed functions (strict types, routes,
        # publish timeout, emulator); the worker's target needs no API key.
        settings = load_settings(os.environ if environ is None else environ, WORKER_TARGET)
        plan = _plan(arguments, settings)
    except ConfigError as invalid:
        print(f"configuration error: {invalid}", file=err)
        return 2
    print(
        f"replay from {plan.subscription} to {plan.topic}"
        + (" (dry run: nothing is published or acknowledged)" if plan.dry_run else ""),
        file=out,
        flush=True,
    )
    sink = PubSubSink(plan.topic, settings.publish_timeout_s, settings.pubsub_emulator_host)
    replayer: Replayer | None = None
    status = 0
    try:
        subscriber = subscriber_client(settings.pubsub_emulator_host)
        replayer = Replayer(plan, settings, subscriber=subscriber, sink=sink, out=out, err=err)
        try:
            replayer.run()
        finally:
            subscriber.close()
    except auth_exceptions.GoogleAuthError as failure:
        print(f"replay stopped: no usable Google credentials ({type(failure).__name__})", file=err)
        status = 1
    except api_exceptions.GoogleAPICallError as failure:
        # The class name only: exception texts can quote requests.
        print(f"replay stopped: Pub/Sub answered {type(failure).__name__}", file=err)
        status = 1
    counts = replayer.counts if replayer is not None else Counts()
    print(
        f"replay {'(dry run) ' if plan.dry_run else ''}done: {counts.summary(plan.dry_run)}",
        file=out,
        flush=True,
    )
    return 1 if status or counts.by_verdict["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
