"""The replay command (docs/reference/contract.md "Replay"), end to end on the emulator.

Events are quarantined by the real app under `SONORAN_STRICT_TYPES=true` (an unknown type is
refused) and replayed with strict types off, which stands in for a release whose models now
accept them; a known type with data of the wrong kind still fails. Dead-lettered messages
are published to a dead-letter topic as Pub/Sub forwards them (the worker's message with
Pub/Sub's `CloudPubSubDeadLetter*` attributes added).
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import flask
import pytest
from google.api_core import exceptions as api_exceptions

from sonoran_receiver.publishing.message import CanonicalEvent
from sonoran_receiver.tools import replay
from tests.support.app import EVENT_PATH, ROOT, TEST_KEY
from tests.support.emulator import PROJECT, PubSubEmulator, TestTopic

pytestmark = pytest.mark.emulator

CANARY = "CANARY-free-text-7f3a"
NEW_TYPE = "EVENT_SOMETHING_NEW"
# An unknown type: refused under strict types, accepted (routed as UNKNOWN) without.
NEW_EVENT = {"type": NEW_TYPE, "data": {"note": CANARY, "unitId": 12}}
# A known type whose data is of the wrong kind: refused by every release.
BROKEN_EVENT = {"type": "EVENT_UNIT_STATUS", "data": {"identIds": CANARY, "status": 3}}
# The emulator answers a pull on an empty subscription at its deadline: a short one keeps
# each run's last, empty pull short.
WAIT = ("--wait", "1")


REPLAY_COMMAND = (sys.executable, "-m", "sonoran_receiver.tools.replay")


def command_environment(emulator: PubSubEmulator) -> dict[str, str]:
    """The command's environment in a subprocess: none of the receiver's variables, and the
    emulator's host."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SONORAN_", "PUBSUB_", "GOOGLE_CLOUD_"))
    }
    return {**environ, "PUBSUB_EMULATOR_HOST": emulator.host}


@dataclass
class Run:
    status: int
    out: str
    err: str

    def line_for(self, message_id: str) -> str:
        [line] = [line for line in self.out.splitlines() if line.startswith(f"{message_id} ")]
        return line


@dataclass
class Setup:
    """An events topic, a quarantine topic, and the real app publishing to both."""

    emulator: PubSubEmulator
    events: TestTopic
    quarantine: TestTopic
    client: flask.testing.FlaskClient

    def send(self, event: dict[str, Any], query: str = "") -> int:
        body = json.dumps({"key": TEST_KEY, **event}).encode("utf-8")
        response = self.client.post(EVENT_PATH + query, data=body, content_type="application/json")
        return response.status_code

    def replay(self, *arguments: str, strict: bool = False, **environ: str) -> Run:
        out, err = io.StringIO(), io.StringIO()
        status = replay.main(
            [
                "--subscription",
                self.quarantine.subscription_path,
                "--topic",
                self.events.topic_path,
                *WAIT,
                *arguments,
            ],
            {
                **self.emulator.env(),
                "SONORAN_STRICT_TYPES": "true" if strict else "false",
                **environ,
            },
            out,
            err,
        )
        return Run(status, out.getvalue(), err.getvalue())


@pytest.fixture
def setup(
    make_app: Callable[..., flask.Flask], pubsub_emulator: PubSubEmulator, pubsub_topic: TestTopic
) -> Setup:
    quarantine = pubsub_emulator.new_topic()
    app = make_app(
        SONORAN_STRICT_TYPES="true",
        PUBSUB_QUARANTINE_TOPIC=quarantine.name,
        **pubsub_topic.env(),
    )
    return Setup(pubsub_emulator, pubsub_topic, quarantine, app.test_client())


@pytest.fixture
def copies(pubsub_emulator: PubSubEmulator, setup: Setup) -> str:
    """A second subscription on the quarantine topic: what was quarantined, as stored."""
    path = f"{setup.quarantine.subscription_path}-copies"
    subscriber = pubsub_emulator.subscriber()
    try:
        subscriber.create_subscription(
            name=path, topic=setup.quarantine.topic_path, ack_deadline_seconds=60, timeout=10
        )
    finally:
        subscriber.close()
    return path


def pull_subscription(emulator: PubSubEmulator, path: str, quiet_s: float = 1.0) -> list[Any]:
    """Every message on `path` until none arrives for `quiet_s`, acknowledged."""
    subscriber = emulator.subscriber()
    received: list[Any] = []
    try:
        quiet_until = time.monotonic() + quiet_s
        while time.monotonic() < quiet_until:
            try:
                response = subscriber.pull(
                    subscription=path, max_messages=100, timeout=2, retry=None
                )
            except api_exceptions.DeadlineExceeded:
                continue
            if not response.received_messages:
                time.sleep(0.05)
                continue
            subscriber.acknowledge(
                subscription=path,
                ack_ids=[message.ack_id for message in response.received_messages],
                timeout=10,
            )
            received.extend(message.message for message in response.received_messages)
            quiet_until = time.monotonic() + quiet_s
    finally:
        subscriber.close()
    return received


def message_json(message: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(message.data.decode("utf-8"))
    return data


def test_events_that_now_pass_are_published_once_with_their_original_received_at_and_server(
    setup: Setup, copies: str
) -> None:
    assert setup.send(NEW_EVENT, "?server=7") == 422
    [stored] = pull_subscription(setup.emulator, copies)
    quarantined = message_json(stored)

    first = setup.replay()
    again = setup.replay()

    assert first.status == 0, first.err
    assert f"{NEW_TYPE} replayed" in first.out
    assert "1 read: 1 replayed, 0 dropped, 0 kept, 0 failed" in first.out
    assert "0 read" in again.out
    [published] = setup.events.pull_all(quiet_s=1.0)
    data = message_json(published)
    assert data["type"] == NEW_TYPE
    assert data["data"] == NEW_EVENT["data"]
    assert data["event_id"] == quarantined["event_id"]
    assert data["received_at"] == quarantined["received_at"]
    assert data["server"] == "7"
    assert "problems" not in data
    assert published.attributes["replayed_from"] == "quarantine"
    assert published.attributes["received_at"] == quarantined["received_at"]
    assert published.attributes["server"] == "7"
    assert published.attributes["event_id"] == quarantined["event_id"]
    assert "quarantine" not in published.attributes
    assert setup.quarantine.pull_all(quiet_s=1.0) == []


def test_events_that_still_fail_stay_in_the_subscription_with_a_one_line_reason(
    setup: Setup,
) -> None:
    assert setup.send(BROKEN_EVENT) == 422
    assert setup.send(NEW_EVENT) == 422

    run = setup.replay()

    assert run.status == 0, run.err
    [kept] = [line for line in run.out.splitlines() if " kept: " in line]
    assert kept.split(" ")[1:3] == ["EVENT_UNIT_STATUS", "kept:"]
    assert kept.endswith("data.identIds: Input should be a valid list")
    assert "2 read: 1 replayed, 0 dropped, 1 kept, 0 failed" in run.out
    # Released at the end of the run, so available again at once (not after the lease).
    [still_there] = setup.quarantine.pull(1, deadline_s=5)
    assert message_json(still_there)["type"] == "EVENT_UNIT_STATUS"
    assert [message_json(m)["type"] for m in setup.events.pull_all(quiet_s=1.0)] == [NEW_TYPE]


def test_unknown_types_stay_quarantined_while_strict_types_is_on(setup: Setup) -> None:
    assert setup.send(NEW_EVENT) == 422

    run = setup.replay(strict=True)

    assert f"{NEW_TYPE} kept: type: unknown event type" in run.out
    assert setup.events.pull_all(quiet_s=1.0) == []
    assert len(setup.quarantine.pull(1, deadline_s=5)) == 1


def test_dry_run_changes_nothing(setup: Setup) -> None:
    assert setup.send(NEW_EVENT) == 422
    assert setup.send(BROKEN_EVENT) == 422

    run = setup.replay("--dry-run")

    assert run.status == 0, run.err
    assert f"{NEW_TYPE} would replay" in run.out
    assert "EVENT_UNIT_STATUS would keep: data.identIds" in run.out
    assert "(dry run) done: 2 read: 1 would replay, 0 would drop, 1 would keep" in run.out
    assert setup.events.pull_all(quiet_s=1.0) == []
    assert len(setup.quarantine.pull(2, deadline_s=5)) == 2


def test_a_type_routed_to_drop_is_acknowledged_and_not_published(setup: Setup) -> None:
    assert setup.send(NEW_EVENT) == 422

    run = setup.replay(SONORAN_ROUTES="*=publish,UNKNOWN=drop")

    assert f"{NEW_TYPE} dropped: SONORAN_ROUTES drops this type" in run.out
    assert setup.events.pull_all(quiet_s=1.0) == []
    assert setup.quarantine.pull_all(quiet_s=1.0) == []


def test_a_run_reads_at_most_max_messages(setup: Setup) -> None:
    for _ in range(3):
        assert setup.send(NEW_EVENT) == 422

    run = setup.replay("--max-messages", "2")

    assert "done: 2 read: 2 replayed" in run.out
    assert len(setup.events.pull_all(quiet_s=1.0)) == 2
    assert len(setup.quarantine.pull_all(quiet_s=1.0)) == 1


def test_long_runs_print_a_progress_line(setup: Setup) -> None:
    for _ in range(5):
        assert setup.send(NEW_EVENT) == 422

    run = setup.replay("--progress-every", "2")

    assert run.err.splitlines() == [
        "replay: 2 read: 2 replayed, 0 dropped, 0 kept, 0 failed",
        "replay: 4 read: 4 replayed, 0 dropped, 0 kept, 0 failed",
    ]


def test_output_never_holds_event_text_or_the_key(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    assert setup.send(NEW_EVENT) == 422
    assert setup.send(BROKEN_EVENT) == 422
    # A type that is no type name is the sender's text: printed as `-`.
    assert setup.send({"type": f"{CANARY} {TEST_KEY}", "data": {}}) == 400
    capsys.readouterr()

    runs = [setup.replay("--dry-run", strict=True), setup.replay()]

    printed = "".join(run.out + run.err for run in runs) + "".join(capsys.readouterr())
    assert "- kept: type: type must be 1 to 128" in printed
    assert CANARY not in printed
    assert TEST_KEY not in printed


def test_a_publish_that_fails_keeps_the_message_and_fails_the_run(setup: Setup) -> None:
    assert setup.send(NEW_EVENT) == 422

    run = setup.replay("--topic", f"projects/{PROJECT}/topics/no-such-topic-{uuid.uuid4().hex}")

    assert run.status == 1
    assert f"{NEW_TYPE} failed: publish failed, kept" in run.out
    assert len(setup.quarantine.pull(1, deadline_s=5)) == 1


def dead_lettered(event: CanonicalEvent) -> dict[str, str]:
    """The worker's message as Pub/Sub forwards it to a dead-letter topic."""
    return {
        **event.attributes(),
        "CloudPubSubDeadLetterSourceDeliveryCount": "10",
        "CloudPubSubDeadLetterSourceSubscription": "sonorancad-worker-push",
        "CloudPubSubDeadLetterSourceSubscriptionProject": PROJECT,
        "CloudPubSubDeadLetterSourceTopicPublishTime": "2026-11-27T21:43:29.123Z",
    }


def test_dead_letter_replay_moves_messages_back_unchanged(
    pubsub_emulator: PubSubEmulator, pubsub_topic: TestTopic
) -> None:
    dead_letter = pubsub_emulator.new_topic()
    events = [
        CanonicalEvent.create("EVENT_UNIT_STATUS", {"identIds": [57], "status": 3}, server="1"),
        # Unreadable to the worker (a newer schema): moved all the same, byte for byte.
        CanonicalEvent.create(NEW_TYPE, {"note": CANARY}, server=None),
    ]
    sent = [event.message_bytes() for event in events]
    sent[1] = sent[1].replace(b'"schema_version":1', b'"schema_version":2')
    publisher = pubsub_emulator.publisher()
    try:
        for data, event in zip(sent, events, strict=True):
            publisher.publish(dead_letter.topic_path, data, **dead_lettered(event)).result(10)
    finally:
        publisher.transport.close()
    out, err = io.StringIO(), io.StringIO()

    status = replay.main(
        [
            "--from",
            "dead-letter",
            "--subscription",
            dead_letter.subscription_path,
            "--topic",
            pubsub_topic.topic_path,
            *WAIT,
        ],
        pubsub_emulator.env(),
        out,
        err,
    )

    assert status == 0, err.getvalue()
    assert "2 read: 2 replayed" in out.getvalue()
    assert CANARY not in out.getvalue() + err.getvalue()
    moved = {message.data: message for message in pubsub_topic.pull_all(quiet_s=1.0)}
    assert sorted(moved) == sorted(sent)
    for data, event in zip(sent, events, strict=True):
        assert dict(moved[data].attributes) == {
            **event.attributes(),
            "replayed_from": "dead-letter",
        }
    assert dead_letter.pull_all(quiet_s=1.0) == []


def test_the_command_derives_names_from_the_prefix_and_runs_with_python_dash_m(
    pubsub_emulator: PubSubEmulator,
) -> None:
    prefix = f"sonoran-{uuid.uuid4().hex[:8]}"
    events = TestTopic(pubsub_emulator, name=f"{prefix}-events")
    events.create()
    quarantine_topic = f"projects/{PROJECT}/topics/{prefix}-quarantine"
    publisher, subscriber = pubsub_emulator.publisher(), pubsub_emulator.subscriber()
    try:
        publisher.create_topic(name=quarantine_topic, timeout=10)
        subscriber.create_subscription(
            name=f"projects/{PROJECT}/subscriptions/{prefix}-quarantine-pull",
            topic=quarantine_topic,
            timeout=10,
        )
    finally:
        subscriber.close()
        publisher.transport.close()
    finished = subprocess.run(
        [
            *REPLAY_COMMAND,
            "--project",
            PROJECT,
            "--prefix",
            prefix,
            *WAIT,
        ],
        env=command_environment(pubsub_emulator),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.splitlines() == [
        f"replay from projects/{PROJECT}/subscriptions/{prefix}-quarantine-pull "
        f"to projects/{PROJECT}/topics/{prefix}-events",
        "replay done: 0 read: 0 replayed, 0 dropped, 0 kept, 0 failed",
    ]


def test_a_missing_project_is_one_configuration_line() -> None:
    out, err = io.StringIO(), io.StringIO()

    status = replay.main([], {}, out, err)

    assert status == 2
    assert err.getvalue() == (
        "configuration error: GOOGLE_CLOUD_PROJECT: "
        "needed for the subscription sonorancad-quarantine-pull (or --project)\n"
    )


def test_a_killed_dry_run_leaves_the_messages_to_other_readers_within_seconds(
    setup: Setup,
) -> None:
    # Killed while it waits in its last pull, every message decided and still leased.
    for _ in range(3):
        assert setup.send(NEW_EVENT) == 422
    dry_run = subprocess.Popen(
        [
            *REPLAY_COMMAND,
            "--subscription",
            setup.quarantine.subscription_path,
            "--topic",
            setup.events.topic_path,
            "--wait",
            "60",
            "--dry-run",
        ],
        env=command_environment(setup.emulator),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert dry_run.stdout is not None
        decided = 0
        # Up to the third decision: the run then pulls again, and waits.
        for line in dry_run.stdout:
            decided += " would " in line
            if decided == 3:
                break
        assert decided == 3
    finally:
        dry_run.kill()
        dry_run.wait(timeout=30)

    # The dry run's lease is 10 s; a real run's would have hidden them for 600 s.
    assert len(setup.quarantine.pull(3, deadline_s=25)) == 3
    assert setup.events.pull_all(quiet_s=1.0) == []


def test_a_kept_reason_prints_no_control_characters() -> None:
    # A field name the sender chose, holding C0 and C1 terminal controls.
    reason = replay._reason([{"loc": "data.\x1b]0;title\x07\x9b2J", "msg": "Field required"}])
    assert not re.search("[\x00-\x1f\x7f-\x9f]", reason)
    assert reason.endswith("Field required")
