"""`verify` turns gcloud's errors into lines one can act on, and says it is still waiting.

A gcloud call that fails shows gcloud's `ERROR:` line, not the last line of its advice
("to select an already authenticated account to use."), and the usual errors come with the
command that fixes them. The cloud backend runs a `gcloud` found on PATH: here a stand-in
that prints what gcloud 528 prints (captured from it), and, when gcloud is installed, the
real one with an empty configuration, as on a machine where nobody signed in.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from sonoran_receiver.tools import verify
from sonoran_receiver.tools.verify_backends import CloudBackend, LocalBackend

PROJECT = "demo-project"
NOT_SIGNED_IN = (
    ("ERROR: (gcloud.functions.describe) You do not currently have an active account selected.\n")
    + """Please run:

  $ gcloud auth login

to obtain new credentials.

If you have already logged in with a different account, run:

  $ gcloud config set account ACCOUNT

to select an already authenticated account to use.
"""
)
NO_ADC = (
    "ERROR: (gcloud.auth.application-default.print-access-token) Your default credentials were "
    "not found. To set up Application Default Credentials, see "
    "https://cloud.google.com/docs/authentication/external/set-up-adc for more information.\n"
)
API_OFF = (
    "ERROR: (gcloud.functions.describe) PERMISSION_DENIED: Cloud Functions API has not been "
    "used in project 123456789 before or it is disabled. Enable it by visiting "
    "https://console.developers.google.com/apis/api/cloudfunctions.googleapis.com/overview"
    "?project=123456789 then retry.\n"
)
WRONG_PROJECT = (
    "ERROR: (gcloud.functions.describe) PERMISSION_DENIED: Permission "
    "'cloudfunctions.functions.get' denied on 'projects/demo-project/locations/us-central1/"
    "functions/sonorancad-event' (or resource may not exist).\n"
)


def gcloud_saying(tmp_path: Path, stderr: str) -> None:
    """Put first on PATH a gcloud that fails every call with `stderr`."""
    (tmp_path / "said").write_text(stderr, encoding="utf-8")
    fake = tmp_path / "bin" / "gcloud"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\ncat {tmp_path / 'said'} >&2\nexit 1\n", encoding="utf-8")
    fake.chmod(0o755)


def probe_line(capsys: pytest.CaptureFixture[str]) -> str:
    status = verify.main(["--project", PROJECT, "--region", "us-central1"])
    assert status == verify.EXIT_FAILED
    [line] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("✗ probe")]
    return line


@pytest.mark.parametrize(
    ("stderr", "cause", "fix"),
    [
        (NOT_SIGNED_IN, "gcloud is not signed in", "Fix: gcloud auth login"),
        (
            NO_ADC,
            "no Application Default Credentials",
            "Fix: gcloud auth application-default login",
        ),
        (
            API_OFF,
            "the API cloudfunctions.googleapis.com is not enabled in project demo-project",
            "Fix: gcloud services enable cloudfunctions.googleapis.com --project=demo-project",
        ),
        (WRONG_PROJECT, "project demo-project does not exist", "gcloud projects list"),
    ],
    ids=["not-signed-in", "no-adc", "api-not-enabled", "wrong-project"],
)
def test_a_gcloud_error_shows_its_error_line_with_the_cause_and_the_fix(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stderr: str,
    cause: str,
    fix: str,
) -> None:
    gcloud_saying(tmp_path, stderr)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    line = probe_line(capsys)
    error_line = stderr.splitlines()[0].rstrip(".")
    assert f"cannot find the event URL: {error_line}. Likely cause: {cause}" in line
    assert fix in line
    assert "to select an already authenticated account" not in line


def test_verify_with_the_real_gcloud_signed_in_nowhere_says_gcloud_auth_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if shutil.which("gcloud") is None:
        pytest.skip("gcloud is not installed")
    # An empty configuration: no account, as on a machine where nobody ran gcloud auth login.
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))
    monkeypatch.delenv("CLOUDSDK_CORE_ACCOUNT", raising=False)
    monkeypatch.delenv("CLOUDSDK_AUTH_ACCESS_TOKEN_FILE", raising=False)
    line = probe_line(capsys)
    assert "ERROR: (gcloud.functions.describe)" in line
    assert line.endswith("Likely cause: gcloud is not signed in. Fix: gcloud auth login")


def test_the_worker_wait_says_it_is_still_waiting(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    log.write_text("", encoding="utf-8")
    backend = LocalBackend(
        url="http://127.0.0.1:9/sonorancad/event",
        worker_log=log,
        emulator_host="127.0.0.1:9",
        project="p",
        poll_s=0.05,
    )
    said: list[str] = []
    context = verify.Context(
        backend,
        key="",
        server=None,
        where="the local stack",
        wait_s=0.6,
        progress=said.append,
        progress_every_s=0.2,
    )
    check = verify.check_worker(context, "no-such-event", "2026-01-01T00:00:00Z")
    assert check.passed is False
    assert said[0].startswith("… worker: waiting up to 1 s for the worker's line about event")
    assert len([line for line in said if line.startswith("… worker: still waiting")]) >= 2


def test_without_a_region_verify_takes_the_one_the_gcloud_script_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOY_SETTINGS_DIR", str(tmp_path))
    assert verify.default_region(PROJECT, "sonorancad") == (
        "us-central1",
        "deploy/gcloud.sh's default",
    )
    (tmp_path / f"{PROJECT}.sonorancad.env").write_text(
        "# written by deploy/gcloud.sh\nRECORDED_AT=2026-12-03T08:00:00Z\nREGION=europe-west1\n",
        encoding="utf-8",
    )
    region, source = verify.default_region(PROJECT, "sonorancad")
    assert (region, source) == ("europe-west1", "recorded by deploy/gcloud.sh")
    backend, _ = verify.backend_from(verify._parser().parse_args(["--project", PROJECT]))
    assert isinstance(backend, CloudBackend)
    assert backend.region == "europe-west1"
