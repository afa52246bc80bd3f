"""Running `deploy/gcloud.sh` in tests, and reading the gcloud commands a dry run prints.

- `run_gcloud_script(*args, env=...)`: the script under bash from the repository root, with
  only `PATH` and `HOME` of this environment plus `env`.
- `recording_gcloud(tmp_path)`: a `PATH` whose first `gcloud` only records that it was
  called (in `tmp_path / "gcloud-called"`) and fails, so a dry run that calls it shows.
- `printed_commands(stdout)`, `flags(command)`, `matching(commands, *prefix)`: the commands
  a dry run prints, split as the shell would, and their `--name=value` flags.
- `require_tool(name, needed_for)`: a command's path; missing, a failure under `CI=true`
  and a skip elsewhere.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.support.app import ROOT

GCLOUD_SCRIPT = ROOT / "deploy" / "gcloud.sh"

Command = list[str]

# What both deploy paths enable (Terraform's `required_apis`, the script's first command).
REQUIRED_APIS = frozenset(
    {
        "artifactregistry.googleapis.com",
        "cloudbuild.googleapis.com",
        "cloudfunctions.googleapis.com",
        "iam.googleapis.com",
        "logging.googleapis.com",
        "pubsub.googleapis.com",
        "run.googleapis.com",
        "secretmanager.googleapis.com",
        "storage.googleapis.com",
    }
)


def run_gcloud_script(
    *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    child_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent"}
    child_env.update(env or {})
    return subprocess.run(
        ["bash", str(GCLOUD_SCRIPT), *args],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )


def recording_gcloud(tmp_path: Path) -> dict[str, str]:
    fake = tmp_path / "bin" / "gcloud"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "gcloud-called"}\nexit 1\n')
    fake.chmod(0o755)
    return {"PATH": f"{fake.parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"}


def printed_commands(stdout: str) -> list[Command]:
    lines = stdout.splitlines()
    return [shlex.split(line) for line in lines if line.strip() and not line.startswith("#")]


def flags(command: Command) -> dict[str, str]:
    """`--name=value` as name -> value; bare `--name` as name -> ''."""
    parsed: dict[str, str] = {}
    for word in command:
        if word.startswith("--"):
            name, _, value = word.partition("=")
            parsed[name] = value
    return parsed


def matching(commands: list[Command], *prefix: str) -> list[Command]:
    return [command for command in commands if command[: len(prefix)] == list(prefix)]


def require_tool(name: str, needed_for: str) -> str:
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{name} is needed under CI=true ({needed_for})")
        pytest.skip(f"{name} is not installed")
    return found
