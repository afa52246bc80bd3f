"""`make stack`: the deployment's parts on one machine, proved with the real emulator.

The supervisor runs as a subprocess (tests/support/stack.py) with the real emulator, the
worker and the receiver as functions-framework processes, and the console; every port is a
free loopback one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from sonoran_receiver.tools.send import post
from tests.support.app import ROOT, TEST_KEY
from tests.support.bodies import envelope
from tests.support.emulator import require_emulator
from tests.support.stack import RunningStack, stack_argv, stack_environ, stack_ports, start_stack

pytestmark = [pytest.mark.emulator, pytest.mark.server]


def rest(stack: RunningStack, path: str) -> dict[str, Any]:
    url = f"http://{stack.emulator_host}/v1/projects/sonorancad-local/{path}"
    with urllib.request.urlopen(url, timeout=10) as answer:
        value: dict[str, Any] = json.loads(answer.read())
        return value


def make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # The checkout's own venv when it has one (make builds it in `make test`), else this one.
    venv = ROOT / ".venv"
    variables = [] if (venv / "bin" / "python").exists() else [f"VENV={Path(sys.prefix)}"]
    return subprocess.run(
        ["make", "--no-print-directory", *variables, *args],
        cwd=ROOT,
        env=stack_environ(env),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_topics_and_subscriptions_are_named_and_set_as_the_deploy_sets_them(
    stack: RunningStack,
) -> None:
    topics = {topic["name"].rsplit("/", 1)[1] for topic in rest(stack, "topics")["topics"]}
    assert {"sonorancad-events", "sonorancad-events-dead-letter", "sonorancad-quarantine"} <= topics
    push = rest(stack, "subscriptions/sonorancad-worker-push")
    assert push["topic"].endswith("/topics/sonorancad-events")
    # The topic path in the URL, as deployed (deploy/terraform/pubsub.tf).
    assert push["pushConfig"]["pushEndpoint"] == (
        f"http://127.0.0.1:{stack.ports['worker']}/projects/sonorancad-local/topics/sonorancad-events"
    )
    assert push["ackDeadlineSeconds"] == 60
    assert push["retryPolicy"] == {"minimumBackoff": "10s", "maximumBackoff": "600s"}
    assert push["deadLetterPolicy"] == {
        "deadLetterTopic": "projects/sonorancad-local/topics/sonorancad-events-dead-letter",
        "maxDeliveryAttempts": 10,
    }
    for name, topic in (
        ("sonorancad-events-dead-letter", "sonorancad-events-dead-letter"),
        ("sonorancad-quarantine-pull", "sonorancad-quarantine"),
    ):
        assert rest(stack, f"subscriptions/{name}")["topic"].endswith(f"/topics/{topic}")


def test_make_verify_local_proves_the_running_stack_end_to_end(stack: RunningStack) -> None:
    done = make(f"STACK_DIR={stack.state_dir}", "verify-local")
    print(done.stdout, done.stderr)
    assert done.returncode == 0
    steps = [line for line in done.stdout.splitlines() if line.startswith(("✓", "✗", "-"))]
    assert len(steps) == 5
    assert all(step.startswith("✓") for step in steps)
    assert "worker: handled event" in done.stdout
    assert TEST_KEY not in done.stdout + done.stderr


def test_make_replay_reads_the_stacks_quarantine_with_no_flags(stack: RunningStack) -> None:
    status, _, answer = post(stack.event_url, envelope(data={"call": {"caller": "x"}}), 30)
    assert status == 422
    done = make(f"STACK_DIR={stack.state_dir}", "replay")
    print(done.stdout, done.stderr)
    assert done.returncode == 0
    assert (
        "replay from projects/sonorancad-local/subscriptions/sonorancad-quarantine-pull "
        "to projects/sonorancad-local/topics/sonorancad-events"
    ) in done.stdout
    # Still refused by these models: kept, with the field that fails.
    assert "EVENT_911 kept: data.call.callId" in done.stdout
    assert TEST_KEY not in done.stdout + done.stderr + answer.decode()


def test_each_process_line_is_prefixed_with_its_name(stack: RunningStack) -> None:
    names = {line.split("|", 1)[0].strip() for line in stack.lines if "|" in line}
    assert {"emulator", "worker", "receiver", "console", "stack"} <= names
    assert any(line.startswith("stack   | console:  http://127.0.0.1:") for line in stack.lines)


def test_every_process_listens_on_loopback_only(stack: RunningStack) -> None:
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no address but loopback")
    for name, port in stack.ports.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(2)
            assert probe.connect_ex((address, port)) != 0, name


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            # No packet is sent: connecting a UDP socket only picks the outgoing address.
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if address.startswith("127.") else address


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_every_process_with_nothing_left_running(
    tmp_path: Path, signum: int
) -> None:
    require_emulator()
    stack = start_stack(tmp_path)
    pids = stack.pids
    assert set(pids) == {"emulator", "worker", "receiver", "console"}
    assert stack.interrupt(signum) == 0
    for name, pid in pids.items():
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)  # the whole group: gcloud's Java server included
        print(name, "gone")
    for name, port in stack.ports.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, name
    assert not (stack.state_dir / "stack.json").exists()
    assert "stopped: nothing left running" in stack.output()


def test_without_java_or_the_emulator_it_says_what_to_install_and_stops(tmp_path: Path) -> None:
    # A PATH with python alone: no gcloud, no java.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    done = subprocess.run(
        stack_argv(stack_ports(), tmp_path / "state"),
        cwd=ROOT,
        env={**stack_environ(), "PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3
    for platform in ("Debian/Ubuntu:", "macOS:", "Windows: inside WSL"):
        assert platform in done.stderr
    assert "default-jre-headless google-cloud-cli-pubsub-emulator" in done.stderr
    assert "gcloud components install pubsub-emulator beta" in done.stderr
    assert "`make run` needs none of this" in done.stderr
    assert not (tmp_path / "state").exists()


def test_a_port_in_use_is_named_by_its_make_variable(tmp_path: Path) -> None:
    require_emulator()
    ports = stack_ports()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", ports["console"]))
        taken.listen()
        done = subprocess.run(
            stack_argv(ports, tmp_path / "state"),
            cwd=ROOT,
            env=stack_environ(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    assert f"CONSOLE_PORT={ports['console']}" in done.stderr


def test_make_stack_passes_its_port_variables() -> None:
    done = subprocess.run(
        [
            "make",
            "-n",
            "stack",
            "PORT=18080",
            "CONSOLE_PORT=18090",
            "EMULATOR_PORT=18085",
            "WORKER_PORT=18081",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "-m local_stack --port 18080 --console-port 18090" in done.stdout
    assert "--emulator-port 18085 --worker-port 18081" in done.stdout
