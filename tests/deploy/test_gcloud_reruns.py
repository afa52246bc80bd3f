"""A re-run of deploy/gcloud.sh never changes a setting nobody asked to change.

Each real run records its settings (deploy/gcloud-settings/PROJECT.PREFIX.env) and the next
one starts from that record; `--dry-run` prints what a run would change; a region or prefix
other than the recorded one is refused unless asked for; a receiver deployed before any
record is not reset by a run that knows nothing of it. The real runs here use a fake gcloud
(tests/support/deploy.py) that answers like a project where everything exists.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.support.deploy import (
    Command,
    flags,
    gcloud_calls,
    matching,
    printed_commands,
    project_gcloud,
    run_gcloud_script,
)

PROJECT = "demo-project"
FIRST_RUN = (
    "--region",
    "europe-west1",
    "--with-discord",
    "--handlers",
    "*=log,EVENT_911=log+discord",
    "--alert-email",
    "ops@example.com",
)


def records(tmp_path: Path) -> Path:
    return tmp_path / "records"


def real_run(tmp_path: Path, *args: str, first: str = "") -> subprocess.CompletedProcess[str]:
    env = {**project_gcloud(tmp_path, first=first), "DEPLOY_SETTINGS_DIR": str(records(tmp_path))}
    return run_gcloud_script("--project", PROJECT, *args, env=env)


def dry_run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"DEPLOY_SETTINGS_DIR": str(records(tmp_path))}
    return run_gcloud_script("--dry-run", "--project", PROJECT, *args, env=env)


def first_run(tmp_path: Path) -> None:
    finished = real_run(tmp_path, *FIRST_RUN)
    assert finished.returncode == 0, finished.stderr


def deploy_of(commands: list[Command], function: str) -> dict[str, str]:
    (command,) = matching(commands, "gcloud", "functions", "deploy", function)
    return flags(command)


def handlers_of(deploy: dict[str, str]) -> str:
    env = dict(item.split("=", 1) for item in deploy["--set-env-vars"][3:].split("@"))
    return env["SONORAN_HANDLERS"]


def settings_lines(stdout: str) -> list[str]:
    """The settings block a run starts with: the comment lines before the first command."""
    lines = []
    for line in stdout.splitlines():
        if not line.startswith("# Settings") and not line.startswith("#   "):
            break
        lines.append(line)
    return lines


def test_a_rerun_with_only_the_project_keeps_the_first_runs_region_handlers_and_secrets(
    tmp_path: Path,
) -> None:
    first_run(tmp_path)

    rerun = dry_run(tmp_path)

    assert rerun.returncode == 0, rerun.stderr
    commands = printed_commands(rerun.stdout)
    worker = deploy_of(commands, "sonorancad-worker")
    assert worker["--region"] == "europe-west1"
    assert handlers_of(worker) == "*=log,EVENT_911=log+discord"
    assert worker["--set-secrets"] == "DISCORD_WEBHOOK_URL=sonorancad-discord-webhook:latest"
    assert "--clear-secrets" not in worker
    assert deploy_of(commands, "sonorancad-event")["--region"] == "europe-west1"
    assert not [command for command in commands if "us-central1" in " ".join(command)]
    assert matching(commands, "gcloud", "monitoring", "channels", "create")  # the alert e-mail


def test_a_dry_run_prints_what_would_change_and_what_is_kept(tmp_path: Path) -> None:
    first_run(tmp_path)

    unchanged = settings_lines(dry_run(tmp_path).stdout)
    changed = settings_lines(dry_run(tmp_path, "--no-events-alert-hours", "6").stdout)

    assert "#   changes no setting" in unchanged
    assert "#   a real run would change:" in changed
    assert "#     NO_EVENTS_ALERT_HOURS: 0 -> 6 (--no-events-alert-hours)" in changed
    kept = next(line for line in changed if line.startswith("#   kept as recorded: "))
    for setting in (
        "REGION=europe-west1",
        "HANDLERS='*=log,EVENT_911=log+discord'",
        "ENABLE_DISCORD_WEBHOOK=1",
        "ALERT_EMAIL=ops@example.com",
    ):
        assert setting in kept


def test_a_dry_run_records_nothing(tmp_path: Path) -> None:
    finished = dry_run(tmp_path, *FIRST_RUN)
    assert finished.returncode == 0, finished.stderr
    assert "a real run records them in" in finished.stdout
    assert not records(tmp_path).exists()


def test_an_option_given_changes_that_setting_alone_and_the_next_run_keeps_it(
    tmp_path: Path,
) -> None:
    first_run(tmp_path)
    finished = real_run(tmp_path, "--min-instances", "1")
    assert finished.returncode == 0, finished.stderr
    assert "#     MIN_INSTANCES: 0 -> 1 (--min-instances)" in finished.stdout

    event = deploy_of(printed_commands(dry_run(tmp_path).stdout), "sonorancad-event")

    assert event["--min-instances"] == "1"
    assert event["--region"] == "europe-west1"
    record = (records(tmp_path) / f"{PROJECT}.sonorancad.env").read_text(encoding="utf-8")
    assert "\nMIN_INSTANCES=1\n" in record
    assert "\nHANDLERS=*=log,EVENT_911=log+discord\n" in record


def test_a_feature_is_turned_off_only_by_its_without_option(tmp_path: Path) -> None:
    first_run(tmp_path)
    finished = dry_run(tmp_path, "--without-discord", "--handlers", "*=log")
    assert finished.returncode == 0, finished.stderr

    worker = deploy_of(printed_commands(finished.stdout), "sonorancad-worker")

    assert "--clear-secrets" in worker
    assert "#     ENABLE_DISCORD_WEBHOOK: 1 -> 0 (--without-discord)" in finished.stdout


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--region", "us-central1"], {}), ([], {"REGION": "us-central1"})],
    ids=["flag", "environment"],
)
def test_a_region_other_than_the_recorded_one_is_refused(
    tmp_path: Path, args: list[str], env: dict[str, str]
) -> None:
    first_run(tmp_path)
    finished = run_gcloud_script(
        "--dry-run",
        "--project",
        PROJECT,
        *args,
        env={"DEPLOY_SETTINGS_DIR": str(records(tmp_path)), **env},
    )
    assert finished.returncode == 2
    assert finished.stdout == ""
    assert "deployed in europe-west1" in finished.stderr
    assert "--new-region" in finished.stderr


def test_a_new_region_is_deployed_when_asked_for(tmp_path: Path) -> None:
    first_run(tmp_path)
    finished = dry_run(tmp_path, "--region", "us-central1", "--new-region")
    assert finished.returncode == 0, finished.stderr
    worker = deploy_of(printed_commands(finished.stdout), "sonorancad-worker")
    assert worker["--region"] == "us-central1"
    assert handlers_of(worker) == "*=log,EVENT_911=log+discord"  # the rest is kept


def test_a_prefix_other_than_the_recorded_one_is_refused_unless_asked_for(tmp_path: Path) -> None:
    first_run(tmp_path)

    refused = dry_run(tmp_path, "--prefix", "second")
    asked = dry_run(tmp_path, "--prefix", "second", "--new-prefix")

    assert refused.returncode == 2
    assert "--new-prefix" in refused.stderr
    assert asked.returncode == 0, asked.stderr
    second = deploy_of(printed_commands(asked.stdout), "second-worker")
    assert second["--region"] == "us-central1"  # a new receiver starts from the defaults


def test_a_receiver_deployed_before_any_record_stops_a_run_that_would_reset_it(
    tmp_path: Path,
) -> None:
    event_function = "projects/demo-project/locations/europe-west1/functions/sonorancad-event"
    deployed = f'case "$*" in "functions list"*) echo {event_function}; exit 0 ;; esac'

    stopped = real_run(tmp_path, first=deployed)
    adopted = real_run(tmp_path, *FIRST_RUN, "--adopt", first=deployed)

    assert stopped.returncode == 2
    assert "already runs in europe-west1" in stopped.stderr
    assert "--adopt" in stopped.stderr
    assert adopted.returncode == 0, adopted.stderr
    assert (records(tmp_path) / f"{PROJECT}.sonorancad.env").is_file()


def test_the_printed_complete_command_deploys_the_same_as_the_record(tmp_path: Path) -> None:
    first_run(tmp_path)
    rerun = dry_run(tmp_path)
    [complete] = re.findall(r"^#   the complete command: (.*)$", rerun.stdout, re.MULTILINE)
    assert complete.startswith(f"deploy/gcloud.sh --project {PROJECT} --region europe-west1 ")

    # The same command with no record at all (another machine, say).
    elsewhere = subprocess.run(
        ["bash", "-c", f"{complete} --dry-run"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
        env={"PATH": "/usr/bin:/bin", "DEPLOY_SETTINGS_DIR": str(tmp_path / "elsewhere")},
    )

    assert elsewhere.returncode == 0, elsewhere.stderr
    for function in ("sonorancad-event", "sonorancad-worker"):
        assert deploy_of(printed_commands(elsewhere.stdout), function) == deploy_of(
            printed_commands(rerun.stdout), function
        )


def test_each_real_run_records_its_settings_before_changing_anything(tmp_path: Path) -> None:
    # The first run stops at the empty key secret; the record is already there, so the run
    # after the key was added starts from the same options.
    env = {
        **project_gcloud(tmp_path, secret_versions=False),
        "DEPLOY_SETTINGS_DIR": str(records(tmp_path)),
    }
    stopped = run_gcloud_script("--project", PROJECT, *FIRST_RUN, env=env)
    assert stopped.returncode == 1
    assert "has no version yet" in stopped.stderr
    record = (records(tmp_path) / f"{PROJECT}.sonorancad.env").read_text(encoding="utf-8")
    assert "\nREGION=europe-west1\n" in record
    assert not [call for call in gcloud_calls(tmp_path) if call.startswith("functions deploy")]
