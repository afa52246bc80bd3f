"""Running `deploy/gcloud.sh` in tests, and reading the gcloud commands a dry run prints.

- `run_gcloud_script(*args, env=...)`: the script under bash from the repository root, with
  only `PATH` and `HOME` of this environment plus `env`. Its settings records go to a
  directory of their own, empty and removed afterwards, unless `env` names one in
  `DEPLOY_SETTINGS_DIR` (a test of re-runs keeps it between runs).
- `recording_gcloud(tmp_path)`: a `PATH` whose first `gcloud` only records that it was
  called (in `tmp_path / "gcloud-called"`) and fails, so a dry run that calls it shows.
- `project_gcloud(tmp_path, ...)`: a `PATH` whose first `gcloud` answers like a project
  where everything exists, records every call (`tmp_path / "calls"`) and what each deploy
  uploads; `first` holds shell lines that may answer a command before it does.
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
import tempfile
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
    with tempfile.TemporaryDirectory(prefix="gcloud-settings-") as records:
        # Never the checkout's deploy/gcloud-settings: a developer's own records would
        # change what the script does, and a test's real run would leave one there.
        child_env.setdefault("DEPLOY_SETTINGS_DIR", records)
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


def project_gcloud(tmp_path: Path, secret_versions: bool = True, first: str = "") -> dict[str, str]:
    """A `gcloud` that answers like a project where everything exists, each secret with a
    version unless `secret_versions` is False, and records calls and uploads. `first` runs
    before those answers, with the arguments in "$@": a test's own answer for one command
    (exit there to skip the defaults)."""
    version = "projects/p/secrets/s/versions/1" if secret_versions else ""
    fake = tmp_path / "bin" / "gcloud"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {tmp_path / "calls"}\n'
        f"{first}\n"
        'case "$1 $2" in\n'
        '  "projects describe") echo 123456789 ;;\n'
        f'  "secrets versions") echo "{version}" ;;\n'
        '  "functions describe") echo https://function.example ;;\n'
        '  "functions deploy")\n'
        '    for arg in "$@"; do\n'
        "      case $arg in --source=*) dir=${arg#--source=}\n"
        f'        echo "$dir" > {tmp_path / "source-dir"}\n'
        '        (cd "$dir" && find . -type f | sed "s|^./||" | sort)'
        f" > {tmp_path}/uploaded-$3 ;;\n"
        "      esac\n"
        "    done ;;\n"
        "esac\n"
        "exit 0\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    return {
        "PATH": f"{fake.parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "TMPDIR": str(tmp_path),
    }


def gcloud_calls(tmp_path: Path) -> list[str]:
    """The argument lines `project_gcloud` recorded, in order."""
    calls = tmp_path / "calls"
    return calls.read_text(encoding="utf-8").splitlines() if calls.exists() else []


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
