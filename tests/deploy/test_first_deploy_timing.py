"""A first deploy cannot trip on timing, on either path.

- A new log-based metric can take up to 10 minutes before an alert policy may name it
  ("404 Cannot find metric(s) ... it could take up to 10 minutes to become available"):
  the metrics are created first, and the policies get a 10-minute window, as a wait in
  Terraform and as retries in deploy/gcloud.sh.
- logging.googleapis.com is enabled once on each path.
- gcloud.sh uses the GA `gcloud monitoring` commands where this gcloud has them, and the
  beta or alpha form otherwise.

The Terraform side reads the HCL (python-hcl2); the gcloud side runs the script, as a dry
run or against the fake gcloud of tests/support/deploy.py.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

from tests.support.app import ROOT
from tests.support.deploy import (
    GCLOUD_SCRIPT,
    gcloud_calls,
    printed_commands,
    project_gcloud,
    run_gcloud_script,
)

TF_DIR = ROOT / "deploy" / "terraform"
PROJECT = "demo-project"
_OPTIONS = SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True
)
NOT_YET = (
    "ERROR: (gcloud.monitoring.policies.create) NOT_FOUND: Cannot find metric(s) that match "
    'type = "logging.googleapis.com/user/sonorancad-answers". If a metric was created '
    "recently, it could take up to 10 minutes to become available. Please try again soon."
)


def terraform_resources() -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(TF_DIR.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            parsed = hcl2.load(handle, serialization_options=_OPTIONS)
        for entry in parsed.get("resource", []):
            for type_name, named in entry.items():
                for name, body in named.items():
                    found[(type_name, name)] = body
    return found


def minutes(duration: str) -> float:
    units = {"h": 60.0, "m": 1.0, "s": 1 / 60}
    return units[duration[-1]] * float(duration[:-1])


def real_run(
    tmp_path: Path, first: str = "", retry_seconds: int = 600
) -> subprocess.CompletedProcess[str]:
    env = {
        **project_gcloud(tmp_path, first=first),
        "MONITORING_POLICY_RETRY_EVERY": "0",
        "MONITORING_POLICY_RETRY_SECONDS": str(retry_seconds),
    }
    return run_gcloud_script("--project", PROJECT, env=env)


def policy_creates(tmp_path: Path) -> list[str]:
    return [call for call in gcloud_calls(tmp_path) if "policies create" in call]


# --- metrics first, policies 10 minutes later: Terraform --------------------------------------


def test_terraform_policies_wait_ten_minutes_after_the_metrics() -> None:
    resources = terraform_resources()
    wait = resources[("time_sleep", "log_metrics_available")]
    assert minutes(wait["create_duration"]) >= 10
    # The wait starts when the metrics exist (its triggers name them) ...
    assert "google_logging_metric.receiver" in wait["triggers"]["metrics"]
    # ... and every policy comes after it.
    policy = resources[("google_monitoring_alert_policy", "receiver")]
    assert "${time_sleep.log_metrics_available}" in policy["depends_on"]
    assert "${google_logging_metric.receiver}" in policy["depends_on"]


def test_terraform_metrics_wait_only_for_the_apis_so_the_wait_overlaps_the_builds() -> None:
    metric = terraform_resources()[("google_logging_metric", "receiver")]
    assert set(metric["depends_on"]) == {
        "${google_project_service.enabled}",
        "${google_project_service.monitoring}",
    }
    assert "google_cloudfunctions2_function" not in str(metric)


def test_terraform_enables_logging_once() -> None:
    text = "\n".join(path.read_text(encoding="utf-8") for path in TF_DIR.glob("*.tf"))
    assert text.count('"logging.googleapis.com"') == 1
    monitoring = terraform_resources()[("google_project_service", "monitoring")]
    assert monitoring["service"] == "monitoring.googleapis.com"


# --- metrics first, policies retried for 10 minutes: gcloud -----------------------------------


def test_gcloud_creates_the_metrics_before_the_function_builds_and_the_policies_after(
    tmp_path: Path,
) -> None:
    finished = run_gcloud_script(
        "--dry-run", "--project", PROJECT, env={"DEPLOY_SETTINGS_DIR": str(tmp_path)}
    )
    assert finished.returncode == 0, finished.stderr
    commands = [" ".join(command) for command in printed_commands(finished.stdout)]

    def first(prefix: str) -> int:
        return min(i for i, command in enumerate(commands) if command.startswith(prefix))

    def last(prefix: str) -> int:
        return max(i for i, command in enumerate(commands) if command.startswith(prefix))

    assert last("gcloud logging metrics create") < first("gcloud functions deploy")
    assert last("gcloud functions deploy") < first("gcloud monitoring policies create")
    assert "retried every 30 s for up to 10 minutes" in finished.stdout


def test_gcloud_enables_logging_once() -> None:
    finished = run_gcloud_script("--dry-run", "--project", PROJECT)
    enables = [
        command
        for command in printed_commands(finished.stdout)
        if command[:3] == ["gcloud", "services", "enable"]
    ]
    assert sum(command.count("logging.googleapis.com") for command in enables) == 1


def test_gcloud_retries_a_policy_while_its_metric_is_not_available(tmp_path: Path) -> None:
    # Refused three times as Cloud Monitoring refuses a metric it does not know yet.
    refuse = (
        'case "$*" in *"policies create"*)\n'
        f"  n=$(cat {tmp_path}/refused 2>/dev/null || echo 0)\n"
        f'  if [ "$n" -lt 3 ]; then echo $((n + 1)) > {tmp_path}/refused; '
        f"echo '{NOT_YET}' >&2; exit 1; fi ;;\nesac"
    )
    finished = real_run(tmp_path, first=refuse)
    assert finished.returncode == 0, finished.stderr
    policies = policy_creates(tmp_path)
    assert len(policies) == 3 + 6  # three refusals, then each of the six policies once
    assert "a log-based metric is not available to alert policies yet" in finished.stdout


def test_gcloud_stops_at_once_on_any_other_policy_error(tmp_path: Path) -> None:
    fail = (
        'case "$*" in *"policies create"*) '
        "echo 'ERROR: (gcloud.monitoring.policies.create) INVALID_ARGUMENT: bad filter' >&2; "
        "exit 1 ;; esac"
    )
    finished = real_run(tmp_path, first=fail)
    assert finished.returncode == 1
    assert len(policy_creates(tmp_path)) == 1
    assert "INVALID_ARGUMENT: bad filter" in finished.stderr


def test_gcloud_gives_up_with_the_reason_once_the_window_has_passed(tmp_path: Path) -> None:
    never = f'case "$*" in *"policies create"*) echo \'{NOT_YET}\' >&2; exit 1 ;; esac'
    finished = real_run(tmp_path, first=never, retry_seconds=0)
    assert finished.returncode == 2
    assert "Cannot find metric" in finished.stderr
    assert "run the script again later" in finished.stderr


# --- GA where gcloud has it -------------------------------------------------------------------


def test_gcloud_uses_ga_monitoring_policies_where_it_exists(tmp_path: Path) -> None:
    finished = real_run(tmp_path)
    assert finished.returncode == 0, finished.stderr
    assert all(call.startswith("monitoring policies") for call in policy_creates(tmp_path))


def test_gcloud_falls_back_to_alpha_where_ga_and_beta_lack_policies(tmp_path: Path) -> None:
    # gcloud 528: `monitoring policies` in alpha only.
    only_alpha = (
        'case "$*" in "monitoring policies --help"|"beta monitoring policies --help") exit 1 ;;'
        " esac"
    )
    finished = real_run(tmp_path, first=only_alpha)
    assert finished.returncode == 0, finished.stderr
    creates = policy_creates(tmp_path)
    assert creates
    assert all(call.startswith("alpha monitoring policies create") for call in creates)
    lists = [call for call in gcloud_calls(tmp_path) if "policies list" in call]
    assert all(call.startswith("alpha ") for call in lists)


def test_gcloud_help_says_which_tracks_and_how_apt_installs_differ() -> None:
    help_text = " ".join(run_gcloud_script("--help").stdout.split())
    assert "gcloud monitoring policies" in help_text
    assert "apt or dnf has them already" in help_text
    assert "gcloud alpha monitoring policies" not in GCLOUD_SCRIPT.read_text(encoding="utf-8")
