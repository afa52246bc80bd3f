"""`verify` proves a deployment: one line per step, ✓ or ✗ with the likely cause and fix.

The steps run here against a local stack, everything real on 127.0.0.1: the event function
and the worker as functions-framework subprocesses, the Pub/Sub emulator with the
deployment's topics and subscriptions (the worker fed by a push subscription, as `deploy/`
sets it up), and the worker's output file standing in for `gcloud logging read`. The
cloud-only calls are checked through `--dry-run`, against the real gcloud's own help.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from google.cloud import pubsub_v1

from sonoran_receiver.config import WORKER_TARGET
from sonoran_receiver.tools import verify
from sonoran_receiver.tools.send import post
from sonoran_receiver.tools.verify_backends import LocalBackend
from tests.handlers.test_forward import SECRET
from tests.support.app import ROOT, TEST_KEY, event_env
from tests.support.emulator import PubSubEmulator
from tests.support.server import RunningServer, free_port
from tests.support.stand_in import Answer, StandIn

# Bounds on waiting for asynchronous delivery, not assertions about speed.
WORKER_WAIT_S = 60


@dataclass
class LocalStack:
    """A deployment's parts on the emulator, named from `prefix` as `deploy/` names them."""

    emulator: PubSubEmulator
    prefix: str
    event: RunningServer
    worker_log: Path

    def args(self, *extra: str, url: str | None = None) -> list[str]:
        return [
            "--local",
            f"--url={url or self.event.event_url}",
            f"--worker-log={self.worker_log}",
            f"--emulator-host={self.emulator.host}",
            f"--project={self.emulator.project}",
            f"--prefix={self.prefix}",
            f"--wait={WORKER_WAIT_S}",
            *extra,
        ]

    def topic(self, name: str) -> str:
        return f"projects/{self.emulator.project}/topics/{self.prefix}-{name}"

    def subscription(self, name: str) -> str:
        return f"projects/{self.emulator.project}/subscriptions/{self.prefix}-{name}"


def create_resources(emulator: PubSubEmulator, prefix: str, push_endpoint: str) -> None:
    """Topics and subscriptions as deploy/ makes them (dead-lettering is not emulated)."""
    project = emulator.project
    publisher, subscriber = emulator.publisher(), emulator.subscriber()

    def path(kind: str, name: str) -> str:
        return f"projects/{project}/{kind}/{prefix}-{name}"

    try:
        for topic in ("events", "events-dead-letter", "quarantine"):
            publisher.create_topic(name=path("topics", topic), timeout=10)
        for subscription, topic in (("events-dead-letter", "events-dead-letter"),
                                    ("quarantine-pull", "quarantine")):  # fmt: skip
            subscriber.create_subscription(
                name=path("subscriptions", subscription),
                topic=path("topics", topic),
                timeout=10,
            )
        subscriber.create_subscription(
            name=path("subscriptions", "worker-push"),
            topic=path("topics", "events"),
            push_config=pubsub_v1.types.PushConfig(push_endpoint=push_endpoint),
            ack_deadline_seconds=30,
            timeout=10,
        )
    finally:
        subscriber.close()
        publisher.transport.close()


@pytest.fixture
def local_stack(
    pubsub_emulator: PubSubEmulator,
    start_receiver: Callable[..., RunningServer],
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., LocalStack]:
    """`local_stack(worker_env=..., worker=False)`: the event function and, unless
    `worker=False` (pushes then go to a closed port), a worker with `worker_env`."""
    monkeypatch.setenv("SONORAN_API_KEY", TEST_KEY)

    def factory(worker_env: dict[str, str] | None = None, *, worker: bool = True) -> LocalStack:
        prefix = f"verify-{uuid.uuid4().hex[:10]}"
        if worker:
            running = start_receiver(
                worker_env or {"SONORAN_HANDLERS": "*=log"},
                target=WORKER_TARGET,
                signature_type="cloudevent",
            )
            endpoint, worker_log = running.base_url + "/", running.log_path
        else:
            endpoint, worker_log = f"http://127.0.0.1:{free_port()}/", Path(os.devnull)
        create_resources(pubsub_emulator, prefix, endpoint)
        event = start_receiver(
            event_env(
                **pubsub_emulator.env(),
                PUBSUB_TOPIC=f"{prefix}-events",
                PUBSUB_QUARANTINE_TOPIC=f"{prefix}-quarantine",
            )
        )
        return LocalStack(pubsub_emulator, prefix, event, worker_log)

    return factory


def run_verify(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, list[str]]:
    status = verify.main(args)
    out = capsys.readouterr().out
    print(out)  # shown when a test fails
    assert TEST_KEY not in out
    return status, out.splitlines()


def line_of(lines: list[str], step: str) -> str:
    [line] = [line for line in lines if re.match(rf"[✓✗-] {re.escape(step)}:", line)]
    return line


# --- against the local stack ----------------------------------------------------------------


@pytest.mark.emulator
@pytest.mark.server
def test_every_step_passes_on_a_working_stack_one_line_each(
    local_stack: Callable[..., LocalStack], capsys: pytest.CaptureFixture[str]
) -> None:
    stack = local_stack()
    status, lines = run_verify(capsys, stack.args())
    assert status == verify.EXIT_OK
    steps = [line for line in lines if not line.startswith("… ")]  # the wait's progress
    assert [line.split(":", 1)[0] for line in steps] == [
        "✓ probe",
        "✓ sample EVENT_911",
        "✓ worker",
        "✓ dead letters",
        "✓ quarantine",
    ]
    event_id = line_of(lines, "sample EVENT_911").rsplit(" ", 1)[1]
    assert line_of(lines, "worker") == f"✓ worker: handled event {event_id}"


@pytest.mark.emulator
@pytest.mark.server
def test_a_key_that_differs_from_the_secret_fails_the_sample_with_that_cause(
    local_stack: Callable[..., LocalStack],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = local_stack()
    monkeypatch.setenv("SONORAN_API_KEY", "a-key-the-receiver-does-not-know")
    status, lines = run_verify(capsys, stack.args())
    assert status == verify.EXIT_FAILED
    sample = line_of(lines, "sample EVENT_911")
    assert sample.startswith("✗ sample EVENT_911: answered 401. Likely cause: the key you")
    assert f"{stack.prefix}-api-keys" in sample
    assert line_of(lines, "worker").startswith("- worker: skipped")
    assert "a-key-the-receiver-does-not-know" not in "\n".join(lines)


# What a hostile target could make a terminal do: clear it, retitle the window, and print a
# fake passing line over the real one (ESC sequences, BEL, CR, DEL and C1's CSI).
HOSTILE_TEXT = "\x1b[2J\x1b]0;pwned\x07\r\u2713 verify passed\x7f\x9b2J"


@pytest.mark.emulator
def test_text_from_the_target_is_printed_without_control_characters(
    local_stack: Callable[..., LocalStack], capsys: pytest.CaptureFixture[str]
) -> None:
    stack = local_stack(worker=False)
    probe = Answer(200, {"Content-Type": "text/plain"}, b"ok\n")
    with StandIn(probe, Answer.json(200, {"id": HOSTILE_TEXT})) as target:
        status, lines = run_verify(capsys, [*stack.args(url=target.url), "--wait=1"])
    assert status == verify.EXIT_FAILED
    assert "pwned" in line_of(lines, "sample EVENT_911")
    assert not re.search("[\x00-\x1f\x7f-\x9f]", "".join(lines))


@pytest.mark.emulator
@pytest.mark.server
def test_a_wrong_event_path_fails_the_probe_and_skips_what_needs_it(
    local_stack: Callable[..., LocalStack], capsys: pytest.CaptureFixture[str]
) -> None:
    stack = local_stack(worker=False)
    status, lines = run_verify(capsys, stack.args(url=stack.event.base_url + "/wrong/path"))
    assert status == verify.EXIT_FAILED
    assert line_of(lines, "probe").startswith("✗ probe: ")
    assert "answered 404. Likely cause: the URL's path differs" in line_of(lines, "probe")
    assert line_of(lines, "sample EVENT_911").startswith("- sample EVENT_911: skipped")
    assert line_of(lines, "worker").startswith("- worker: skipped")


@pytest.mark.emulator
@pytest.mark.server
def test_a_worker_nothing_reaches_fails_after_the_bounded_wait(
    local_stack: Callable[..., LocalStack], capsys: pytest.CaptureFixture[str]
) -> None:
    stack = local_stack(worker=False)
    status, lines = run_verify(capsys, [*stack.args(), "--wait=2"])
    assert status == verify.EXIT_FAILED
    worker = line_of(lines, "worker")
    assert re.match(
        r"✗ worker: no line for event [0-9a-f-]{36} within 2 s\. Likely cause: ", worker
    )
    assert f"{stack.prefix}-worker-push" in worker


@pytest.mark.emulator
@pytest.mark.server
def test_a_failing_handler_is_named_by_the_worker_step(
    local_stack: Callable[..., LocalStack], capsys: pytest.CaptureFixture[str]
) -> None:
    with StandIn(*[Answer(500)] * 20) as target:
        stack = local_stack(
            {"SONORAN_HANDLERS": "*=forward", "FORWARD_URL": target.url, "FORWARD_SECRET": SECRET}
        )
        status, lines = run_verify(capsys, stack.args())
    assert status == verify.EXIT_FAILED
    assert line_of(lines, "worker").startswith("✗ worker: handler(s) forward failed on event ")


@pytest.mark.emulator
@pytest.mark.server
def test_a_dead_letter_fails_its_step_and_is_left_in_the_subscription(
    local_stack: Callable[..., LocalStack], capsys: pytest.CaptureFixture[str]
) -> None:
    stack = local_stack(worker=False)
    publisher = stack.emulator.publisher()
    try:
        publisher.publish(stack.topic("events-dead-letter"), b'{"type": "EVENT_911"}').result(10)
    finally:
        publisher.transport.close()
    status, lines = run_verify(capsys, [*stack.args(), "--wait=0"])
    assert status == verify.EXIT_FAILED
    dead = line_of(lines, "dead letters")
    assert dead.startswith(f"✗ dead letters: {stack.prefix}-events-dead-letter holds 1 message")
    assert "FROM=dead-letter" in dead
    # Looked at, not consumed: the message is there for the replay.
    subscriber = stack.emulator.subscriber()
    try:
        pulled = subscriber.pull(
            subscription=stack.subscription("events-dead-letter"), max_messages=10, timeout=10
        )
    finally:
        subscriber.close()
    assert len(pulled.received_messages) == 1


@pytest.mark.emulator
@pytest.mark.server
def test_an_event_refused_after_a_good_key_fails_the_quarantine_step(
    local_stack: Callable[..., LocalStack], capsys: pytest.CaptureFixture[str]
) -> None:
    stack = local_stack()
    refused = json.dumps({"key": TEST_KEY, "type": "EVENT_911", "data": {"call": "not a call"}})
    status, _, _ = post(stack.event.event_url, refused.encode(), 30)
    assert status == 422
    status, lines = run_verify(capsys, stack.args())
    assert status == verify.EXIT_FAILED
    quarantine = line_of(lines, "quarantine")
    assert quarantine.startswith(f"✗ quarantine: {stack.prefix}-quarantine-pull holds 1 message")
    assert "docs/quarantine.md" in quarantine
    assert line_of(lines, "worker").startswith("✓ worker")


# --- the cloud calls, through --dry-run ----------------------------------------------------


def dry_run_lines(capsys: pytest.CaptureFixture[str], *extra: str) -> list[str]:
    assert verify.main(["--project=my-project", "--region=us-central1", "--dry-run", *extra]) == 0
    return capsys.readouterr().out.splitlines()


def gcloud_calls(lines: list[str]) -> list[list[str]]:
    return [shlex.split(line) for line in lines if line.startswith("gcloud ")]


def command(call: list[str]) -> list[str]:
    """The gcloud command group and verb of a call, without its arguments."""
    return call[1:3] if call[1] in ("functions", "logging") else call[1:4]


def test_dry_run_prints_every_cloud_call_and_runs_none(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no gcloud, no curl: nothing could run
    monkeypatch.delenv("SONORAN_API_KEY", raising=False)
    calls = gcloud_calls(dry_run_lines(capsys, "--prefix=cad"))
    assert [command(call) for call in calls] == [
        ["functions", "describe"],
        ["logging", "read"],
        ["pubsub", "subscriptions", "pull"],
        ["pubsub", "subscriptions", "modify-message-ack-deadline"],
        ["pubsub", "subscriptions", "pull"],
        ["pubsub", "subscriptions", "modify-message-ack-deadline"],
    ]
    assert calls[0][3] == "cad-event"
    query = calls[1][3]
    assert 'resource.labels.service_name="cad-worker"' in query
    assert 'jsonPayload.event_id="EVENT_ID"' in query
    assert "httpRequest.status>=400" in query
    pulls = [call for call in calls if call[3] == "pull"]
    assert [call[4] for call in pulls] == ["cad-events-dead-letter", "cad-quarantine-pull"]
    assert all("--auto-ack" not in call for call in pulls)
    releases = [call for call in calls if call[3] == "modify-message-ack-deadline"]
    assert all("--ack-deadline=0" in call for call in releases)
    assert all("--project=my-project" in call for call in calls)


def test_dry_run_with_a_url_needs_no_function_look_up(capsys: pytest.CaptureFixture[str]) -> None:
    url = "https://sonorancad-event-abc123-uc.a.run.app/sonorancad/event"
    calls = gcloud_calls(dry_run_lines(capsys, f"--url={url}"))
    assert [call[1] for call in calls] == ["logging", "pubsub", "pubsub", "pubsub", "pubsub"]


@pytest.mark.skipif(shutil.which("gcloud") is None, reason="gcloud is not installed")
def test_every_dry_run_call_is_a_real_gcloud_command_with_real_flags(
    capsys: pytest.CaptureFixture[str],
) -> None:
    seen: set[str] = set()
    for call in gcloud_calls(dry_run_lines(capsys)):
        if " ".join(command(call)) in seen:
            continue
        seen.add(" ".join(command(call)))
        help_text = subprocess.run(
            ["gcloud", *command(call), "--help"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "CLOUDSDK_CORE_DISABLE_PROMPTS": "1", "PAGER": "cat"},
            check=True,
        ).stdout
        for flag in (word.split("=", 1)[0] for word in call if word.startswith("--")):
            assert flag in help_text, (command(call), flag)
    assert len(seen) == 4


# --- the command line and the guide ---------------------------------------------------------


def test_the_key_cannot_be_given_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        verify.main(["--project=p", "--region=r", "--key=secret-on-the-command-line"])
    assert exit_.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_a_missing_key_fails_the_sample_step_with_how_to_set_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SONORAN_API_KEY", raising=False)
    backend = LocalBackend(
        url="http://127.0.0.1:9/sonorancad/event",
        worker_log=Path(os.devnull),
        emulator_host="127.0.0.1:9",
        project="p",
    )
    context = verify.Context(backend, key="", server=None, where="the local stack")
    check, event_id = verify.check_sample(context, backend.url)
    assert event_id is None
    assert check.line() == (
        "✗ sample EVENT_911: SONORAN_API_KEY is not set. Fix: printf 'SONORAN_API_KEY: ' >&2 "
        "&& read -rs SONORAN_API_KEY && echo >&2 && export SONORAN_API_KEY (the key stored in "
        "the API key secret; typing is not shown)"
    )


DEPLOY_GUIDE = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")


def test_deploy_guide_verify_command_is_the_make_target_it_names() -> None:
    [line] = [line for line in DEPLOY_GUIDE.splitlines() if line.startswith("make verify ")]
    words = shlex.split(line)
    assert words[:2] == ["make", "verify"]
    shown = subprocess.run(
        ["make", "-s", "-n", "--no-print-directory", *words[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    command = shlex.split(shown.replace("\\\n", " "))
    assert command[1:3] == ["-m", "sonoran_receiver.tools.verify"]
    assert command[command.index("--project") + 1] == "YOUR_PROJECT_ID"
    # No REGION=: verify takes the region deploy/gcloud.sh would (recorded, else its default).
    assert "--region" not in command


def test_deploy_guide_dry_run_command_prints_the_calls() -> None:
    runs = [line for line in DEPLOY_GUIDE.splitlines() if "sonoran_receiver.tools.verify" in line]
    [line] = [line for line in runs if line.endswith(" --dry-run")]
    words = shlex.split(line)
    assert words[:3] == ["python3", "-m", "sonoran_receiver.tools.verify"]
    done = subprocess.run(
        [sys.executable, *words[1:]], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "gcloud logging read" in done.stdout
