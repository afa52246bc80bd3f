"""Monitoring comes from one set of definitions, deployed the same by Terraform and gcloud.

`deploy/monitoring/` holds the log-based metrics, alert policies (each with its Markdown
runbook), the uptime check, the e-mail channel and the dashboard, in the APIs' own JSON.
Both paths deploy them unless told not to. Terraform reads them with `templatefile`
(`deploy/terraform/monitoring.tf`), and `deploy/gcloud.sh` renders them with sed and hands
them to gcloud (`deploy/gcloud.d/monitoring.sh`). These tests check that the files parse, that both
renderings are the same text, that Terraform passes every field of every definition to its
resources (its locals evaluated by `terraform console`, which needs no provider), and what
the dry run creates. That the metrics count lines the code really writes is
`tests/deploy/test_monitoring_log_lines.py`.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2.utils import SerializationOptions

from tests.support.app import ROOT
from tests.support.deploy import (
    GCLOUD_SCRIPT,
    Command,
    flags,
    printed_commands,
    require_tool,
    run_gcloud_script,
)
from tests.support.monitoring import (
    DEFINITIONS,
    TEMPLATE_VALUES,
    LogFilter,
    alert_definitions,
    definition,
    extractor_path,
    files,
    filters,
    metric_definitions,
    render,
)

TF_DIR = ROOT / "deploy" / "terraform"
MONITORING_TF = TF_DIR / "monitoring.tf"
DOCS = ROOT / "docs" / "monitoring.md"
PROJECT = TEMPLATE_VALUES["project_id"]
EMAIL = TEMPLATE_VALUES["alert_email"]
# What a dry run knows of the event URL (https://EVENT_URL), and Terraform's stand-in for it.
DRY_RUN_HOST = "EVENT_URL"
TERRAFORM_HOST_STAND_IN = "event-host.invalid"
# Cloud Monitoring's limit on an alert's documentation (AlertPolicy.Documentation.content).
DOCUMENTATION_LIMIT = 8192


def dry_run_values(hours: int = 6, email: str = EMAIL) -> dict[str, str]:
    return {
        **TEMPLATE_VALUES,
        "event_host": DRY_RUN_HOST,
        "alert_email": email,
        "no_events_hours": str(hours),
        "no_events_seconds": str(hours * 3600),
    }


# --- the definition files ----------------------------------------------------------------


def test_every_definition_parses_once_rendered() -> None:
    names = [path.name for path in files("*.json")]
    assert {"dashboard.json", "uptime-check.json", "channel-email.json"} <= set(names)
    for name in names:
        assert isinstance(definition(name), dict), name


def test_definitions_use_only_placeholders_both_renderers_fill() -> None:
    for path in files("*"):
        text = path.read_text(encoding="utf-8")
        assert set(re.findall(r"\$\{([^}]*)\}", text)) <= set(TEMPLATE_VALUES), path.name
        # templatefile reads these as escapes and directives; sed would not.
        assert "$${" not in text, path.name
        assert "%{" not in text, path.name


def test_every_alert_has_a_runbook_within_the_documentation_limit() -> None:
    for path in files("alert-*.json"):
        runbook = path.with_suffix(".md")
        assert runbook.is_file(), runbook.name
        text = render(runbook.name)
        assert text.startswith("## ")
        assert "**What happened.**" in text, runbook.name
        assert "**What to do.**" in text, runbook.name
        assert len(text) <= DOCUMENTATION_LIMIT
    assert {path.stem for path in files("alert-*.md")} == {
        path.stem for path in files("alert-*.json")
    }


def test_every_name_carries_the_prefix() -> None:
    for key, metric in metric_definitions().items():
        assert metric["name"] == f"sonorancad-{key}"
    for key, policy in alert_definitions().items():
        assert policy["displayName"].startswith("sonorancad: "), key
    assert "sonorancad" in definition("dashboard.json")["displayName"]
    assert "sonorancad" in definition("uptime-check.json")["displayName"]


def test_metric_filters_name_the_cloud_run_service_and_a_message() -> None:
    for key, metric in metric_definitions().items():
        comparisons = LogFilter(metric["filter"]).comparisons()
        paths = {path for path, _, _ in comparisons}
        assert ("resource.type", "=", "cloud_run_revision") in comparisons, key
        assert "resource.labels.service_name" in paths, key
        assert "jsonPayload.message" in paths, key


def test_every_metric_label_has_an_extractor_and_every_extractor_a_label() -> None:
    for key, metric in metric_definitions().items():
        labels = {label["key"] for label in metric["metricDescriptor"].get("labels", [])}
        extractors = metric.get("labelExtractors", {})
        assert labels == set(extractors), key
        for extractor in extractors.values():
            assert extractor_path(extractor).startswith("jsonPayload."), key


def test_request_duration_is_a_distribution_in_milliseconds() -> None:
    metric = metric_definitions()["request-duration"]
    assert metric["metricDescriptor"]["valueType"] == "DISTRIBUTION"
    assert metric["metricDescriptor"]["unit"] == "ms"
    assert metric["valueExtractor"] == "EXTRACT(jsonPayload.duration_ms)"
    assert "exponentialBuckets" in metric["bucketOptions"]


def test_alerts_and_dashboard_name_defined_metrics_and_declared_labels() -> None:
    metrics = {metric["name"]: metric for metric in metric_definitions().values()}
    for document in [*alert_definitions().values(), definition("dashboard.json")]:
        for text in filters(document):
            user = re.search(r'metric\.type="logging\.googleapis\.com/user/([^"]+)"', text)
            if user is None:
                continue
            metric = metrics[user.group(1)]
            declared = {label["key"] for label in metric["metricDescriptor"]["labels"]}
            assert set(re.findall(r"metric\.label\.([a-z_]+)", text)) <= declared, text


def test_each_alert_watches_its_signal() -> None:
    def watched(key: str) -> str:
        [condition] = alert_definitions()[key]["conditions"]
        spec = condition.get("conditionThreshold") or condition["conditionAbsent"]
        text: str = spec["filter"]
        return text

    assert "user/sonorancad-publish-failures" in watched("events-lost")
    assert 'subscription_id="sonorancad-events-dead-letter"' in watched("dead-letters")
    assert 'subscription_id="sonorancad-quarantine-pull"' in watched("quarantine-backlog")
    assert 'metric.label.outcome="unauthorized"' in watched("unauthorized-burst")
    assert "user/sonorancad-handler-failures" in watched("handler-failures")
    assert "user/sonorancad-events-accepted" in watched("no-events")
    assert "uptime_check/check_passed" in watched("event-url-down")
    [absent] = alert_definitions()["no-events"]["conditions"]
    assert absent["conditionAbsent"]["duration"] == "21600s"


def test_backlog_alerts_fire_on_any_waiting_message() -> None:
    for key in ("dead-letters", "quarantine-backlog"):
        [condition] = alert_definitions()[key]["conditions"]
        threshold = condition["conditionThreshold"]
        assert threshold["comparison"] == "COMPARISON_GT"
        assert threshold["thresholdValue"] == 0


def test_uptime_check_probes_the_event_path_with_get_and_expects_ok() -> None:
    uptime = definition("uptime-check.json")
    assert uptime["monitoredResource"]["labels"]["host"] == TEMPLATE_VALUES["event_host"]
    assert uptime["httpCheck"]["requestMethod"] == "GET"
    assert uptime["httpCheck"]["path"] == "/sonorancad/event"
    assert uptime["httpCheck"]["useSsl"] is True
    assert uptime["contentMatchers"] == [{"content": "ok", "matcher": "CONTAINS_STRING"}]


def test_dashboard_shows_accepted_events_answers_latency_failures_and_backlogs() -> None:
    text = render("dashboard.json")
    for needle in (
        "user/sonorancad-events-accepted",
        "metric.label.type",
        "user/sonorancad-answers",
        "metric.label.status_class",
        "REDUCE_PERCENTILE_50",
        "REDUCE_PERCENTILE_99",
        "user/sonorancad-publish-failures",
        "sonorancad-events-dead-letter",
        "sonorancad-quarantine-pull",
        "run.googleapis.com/container/instance_count",
    ):
        assert needle in text, needle


# gcloud parses these files into the API messages it bundles (apitools); a field or enum
# value the API does not have is kept aside as "unrecognized" and a wrong type raises. Run
# in a child process with the SDK's libraries, it reports both for each file.
_GCLOUD_CHECK = """
import json, sys
from apitools.base.py import encoding
from googlecloudsdk.generated_clients.apis.logging.v2 import logging_v2_messages as logging
from googlecloudsdk.generated_clients.apis.monitoring.v1 import monitoring_v1_messages as v1
from googlecloudsdk.generated_clients.apis.monitoring.v3 import monitoring_v3_messages as v3

KINDS = {"metric": logging.LogMetric, "alert": v3.AlertPolicy, "dashboard": v1.Dashboard,
         "uptime": v3.UptimeCheckConfig, "channel": v3.NotificationChannel}

def unrecognized(message, path=""):
    found = [path + name for name in message.all_unrecognized_fields()]
    for field in message.all_fields():
        value = message.get_assigned_value(field.name)
        for item in value if isinstance(value, list) else [value]:
            if hasattr(item, "all_unrecognized_fields"):
                found += unrecognized(item, path + field.name + ".")
    return found

report = {}
for name, (kind, text) in json.load(sys.stdin).items():
    try:
        report[name] = unrecognized(encoding.JsonToMessage(KINDS[kind], text))
    except Exception as error:
        report[name] = [repr(error)]
print(json.dumps(report))
"""


def _gcloud_sdk() -> Path:
    gcloud = require_tool("gcloud", needed_for="the Pub/Sub emulator needs it too")
    return Path(gcloud).resolve().parent.parent


def test_definitions_use_only_fields_and_values_the_apis_have() -> None:
    sdk = _gcloud_sdk()
    kinds = {"dashboard.json": "dashboard", "uptime-check.json": "uptime"}
    kinds["channel-email.json"] = "channel"
    documents = {
        path.name: (kinds.get(path.name) or path.name.split("-")[0], render(path.name))
        for path in files("*.json")
    }
    finished = subprocess.run(
        [sys.executable, "-c", _GCLOUD_CHECK],
        input=json.dumps(documents),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": f"{sdk / 'lib'}:{sdk / 'lib' / 'third_party'}"},
    )
    assert finished.returncode == 0, finished.stderr
    report = json.loads(finished.stdout)
    assert set(report) == set(documents)
    assert {name: problems for name, problems in report.items() if problems} == {}


# --- gcloud.sh ----------------------------------------------------------------------------


def run_script(
    *args: str, render_dir: Path | None = None, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(env_extra or {})
    if render_dir is not None:
        env["MONITORING_RENDER_DIR"] = str(render_dir)
        # The same (empty) records for every run of a test, so two printouts compare.
        env.setdefault("DEPLOY_SETTINGS_DIR", str(render_dir.parent / "records"))
    return run_gcloud_script(*args, env=env)


def dry_run(
    render_dir: Path, *args: str, env_extra: dict[str, str] | None = None
) -> tuple[list[Command], str]:
    finished = run_script(
        "--dry-run", "--project", PROJECT, *args, render_dir=render_dir, env_extra=env_extra
    )
    assert finished.returncode == 0, finished.stderr
    return printed_commands(finished.stdout), finished.stdout


def monitoring_run(render_dir: Path, hours: int = 6) -> list[Command]:
    commands, _ = dry_run(
        render_dir,
        "--alert-email",
        EMAIL,
        "--no-events-alert-hours",
        str(hours),
    )
    return commands


def files_given(commands: list[Command], render_dir: Path) -> dict[str, str]:
    """Definition file name -> the rendered text a create command hands to gcloud."""
    given = {}
    for command in commands:
        if "create" not in command:
            continue
        for name, value in flags(command).items():
            if name.endswith("-from-file") or name == "--channel-content-from-file":
                path = Path(value)
                assert path.parent == render_dir, value
                given[path.name] = path.read_text(encoding="utf-8")
    return given


def monitoring_commands(commands: list[Command]) -> list[Command]:
    return [
        command
        for command in commands
        if "monitoring" in command[1:3] or command[1:3] == ["logging", "metrics"]
    ]


def test_gcloud_deploys_monitoring_by_default(tmp_path: Path) -> None:
    commands, _ = dry_run(tmp_path)
    created = {
        " ".join(command[1:4])
        for command in monitoring_commands(commands)
        if "create" in command[:5]
    }
    # A dry run shows the GA commands (a real run falls back where gcloud lacks them).
    assert created == {
        "logging metrics create",
        "monitoring uptime create",
        "monitoring policies create",
        "monitoring dashboards create",
    }
    given = files_given(commands, tmp_path)
    assert {name for name in given if name.startswith("metric-")} == {
        f"metric-{key}.json" for key in metric_definitions()
    }
    # Every alert but "no events", which waits for its number of hours.
    assert {name for name in given if name.startswith("alert-") and name.endswith(".json")} == {
        f"alert-{key}.json" for key in alert_definitions() if key != "no-events"
    }


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--without-monitoring"], {}), ([], {"ENABLE_MONITORING": "0"})],
    ids=["flag", "environment"],
)
def test_without_monitoring_gcloud_deploys_none_of_it(
    tmp_path: Path, args: list[str], env: dict[str, str]
) -> None:
    commands, stdout = dry_run(tmp_path / "rendered", *args, env_extra=env)
    assert commands
    assert monitoring_commands(commands) == []
    assert not [command for command in commands if "monitoring.googleapis.com" in command]
    assert "Dashboard:" not in stdout
    assert not (tmp_path / "rendered").exists()


def test_with_monitoring_asks_for_the_default_and_changes_nothing(tmp_path: Path) -> None:
    # Older scripts pass it; on a re-run it turns monitoring back on after --without-monitoring.
    _, default = dry_run(tmp_path)
    _, asked = dry_run(tmp_path, "--with-monitoring")
    assert asked == default
    assert "ENABLE_MONITORING=1, the default" in run_script("--help").stdout


def test_dry_run_creates_every_definition_from_its_rendered_file(tmp_path: Path) -> None:
    commands = monitoring_run(tmp_path)
    given = files_given(commands, tmp_path)
    expected = {path.name for path in files("*") if path.suffix in (".json", ".md")}
    expected -= {"uptime-check.json"}  # gcloud takes the uptime check as flags
    assert set(given) == expected
    for name, text in given.items():
        assert text == render(name, dry_run_values()), name


def test_dry_run_creates_each_metric_under_its_name(tmp_path: Path) -> None:
    commands = monitoring_run(tmp_path)
    created = {
        command[4]: flags(command)["--config-from-file"]
        for command in commands
        if command[:4] == ["gcloud", "logging", "metrics", "create"]
    }
    assert created == {
        metric["name"]: str(tmp_path / f"metric-{key}.json")
        for key, metric in metric_definitions().items()
    }


def test_dry_run_gives_each_policy_its_runbook_and_the_channel(tmp_path: Path) -> None:
    policies = [
        flags(command)
        for command in monitoring_run(tmp_path)
        if command[:4] == ["gcloud", "monitoring", "policies", "create"]
    ]
    assert len(policies) == len(files("alert-*.json"))
    for given in policies:
        policy = given["--policy-from-file"]
        assert given["--documentation-from-file"] == policy.removesuffix(".json") + ".md"
        assert given["--documentation-format"] == "text/markdown"
        channel = given["--notification-channels"]
        assert channel.startswith(f"projects/{PROJECT}/notificationChannels/")


def test_no_events_alert_and_channel_only_when_asked_for(tmp_path: Path) -> None:
    commands, _ = dry_run(tmp_path)
    given = files_given(commands, tmp_path)
    assert "alert-no-events.json" not in given
    assert "channel-email.json" not in given
    for command in commands:
        assert "--notification-channels" not in flags(command)


def test_dry_run_uptime_flags_are_the_definitions_fields(tmp_path: Path) -> None:
    [command] = [
        command
        for command in monitoring_run(tmp_path)
        if command[:4] == ["gcloud", "monitoring", "uptime", "create"]
    ]
    uptime = definition("uptime-check.json", dry_run_values())
    http = uptime["httpCheck"]
    given = flags(command)
    assert command[4] == uptime["displayName"]
    assert given["--resource-type"] == uptime["monitoredResource"]["type"].replace("_", "-")
    labels = uptime["monitoredResource"]["labels"]
    assert given["--resource-labels"] == f"host={labels['host']},project_id={labels['project_id']}"
    assert given["--protocol"] == ("https" if http["useSsl"] else "http")
    assert given["--path"] == http["path"]
    assert given["--port"] == str(http["port"])
    assert given["--request-method"] == http["requestMethod"].lower()
    assert given["--validate-ssl"] == str(http["validateSsl"]).lower()
    [status] = http["acceptedResponseStatusCodes"]
    assert given["--status-classes"] == status["statusClass"].removeprefix("STATUS_CLASS_").lower()
    [matcher] = uptime["contentMatchers"]
    assert given["--matcher-content"] == matcher["content"]
    assert given["--matcher-type"] == matcher["matcher"].lower().replace("_", "-")
    assert int(given["--period"]) * 60 == int(uptime["period"].removesuffix("s"))
    assert given["--timeout"] == uptime["timeout"].removesuffix("s")


def test_dashboard_url_is_the_last_line(tmp_path: Path) -> None:
    _, stdout = dry_run(tmp_path)
    last = stdout.splitlines()[-1]
    assert last == (
        "# Dashboard: https://console.cloud.google.com/monitoring/dashboards/builder/"
        f"DASHBOARD_ID?project={PROJECT}"
    )


@pytest.mark.parametrize(
    ("args", "env", "complaint"),
    [
        (["--without-monitoring", "--alert-email", EMAIL], {}, "need monitoring"),
        (["--without-monitoring", "--no-events-alert-hours", "3"], {}, "need monitoring"),
        (["--alert-email", EMAIL], {"ENABLE_MONITORING": "0"}, "need monitoring"),
        ([], {"ENABLE_MONITORING": "true"}, "ENABLE_MONITORING must be 0 or 1"),
        (["--alert-email", "a&b@example.com"], {}, "--alert-email"),
        (["--alert-email", "ops@example.com,x@example.com"], {}, "--alert-email"),
        (["--no-events-alert-hours", "24"], {}, "--no-events-alert-hours"),
    ],
)
def test_bad_monitoring_settings_stop_the_script_before_anything_runs(
    args: list[str], env: dict[str, str], complaint: str
) -> None:
    finished = run_script("--dry-run", "--project", PROJECT, *args, env_extra=env)
    assert finished.returncode == 2
    assert complaint in finished.stderr
    assert finished.stdout == ""


# --- Terraform ------------------------------------------------------------------------------

_OPTIONS = SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True
)


@cache
def hcl2_config() -> dict[str, Any]:
    with MONITORING_TF.open(encoding="utf-8") as handle:
        parsed: dict[str, Any] = hcl2.load(handle, serialization_options=_OPTIONS)
    merged: dict[str, Any] = {"resource": {}, "variable": {}, "output": {}}
    for entry in parsed.get("resource", []):
        for type_name, named in entry.items():
            for name, body in named.items():
                merged["resource"][(type_name, name)] = body
    for kind in ("variable", "output"):
        for entry in parsed.get(kind, []):
            merged[kind].update(entry)
    return merged


def test_alerts_go_to_the_email_channel_which_exists_only_with_an_address() -> None:
    resources = hcl2_config()["resource"]
    channel = resources[("google_monitoring_notification_channel", "email")]
    assert channel["count"] == '${var.enable_monitoring && var.alert_email != "" ? 1 : 0}'
    policy = resources[("google_monitoring_alert_policy", "receiver")]
    assert policy["notification_channels"] == (
        "${google_monitoring_notification_channel.email[*].id}"
    )
    [documentation] = policy["documentation"]
    assert documentation["mime_type"] == "text/markdown"
    assert "each.value.documentation" in documentation["content"]


def test_the_uptime_check_and_alerts_get_the_real_event_host() -> None:
    text = MONITORING_TF.read_text(encoding="utf-8")
    assert f'monitoring_host_stand_in = "{TERRAFORM_HOST_STAND_IN}"' in text
    assert "google_cloudfunctions2_function.event.service_config[0].uri" in text
    assert text.count("local.monitoring_host_stand_in, local.monitoring_event_host") == 2
    uptime = hcl2_config()["resource"][("google_monitoring_uptime_check_config", "event_url")]
    [resource] = uptime["monitored_resource"]
    assert "host = local.monitoring_event_host" in resource["labels"]


def test_outputs_give_the_dashboard_url_and_the_policies() -> None:
    outputs = hcl2_config()["output"]
    assert (
        "console.cloud.google.com/monitoring/dashboards/builder/"
        in (outputs["dashboard_url"]["value"])
    )
    assert "google_monitoring_alert_policy.receiver" in outputs["alert_policies"]["value"]


def test_variables_are_checked_as_gcloud_checks_them() -> None:
    variables = hcl2_config()["variable"]
    assert variables["alert_email"]["default"] == ""
    [email] = variables["alert_email"]["validation"]
    pattern = "^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$"
    assert pattern.replace("\\", "\\\\") in email["condition"]
    assert pattern in GCLOUD_SCRIPT.read_text(encoding="utf-8")
    [hours] = variables["no_events_alert_hours"]["validation"]
    assert "var.no_events_alert_hours <= 23" in hours["condition"]
    assert variables["no_events_alert_hours"]["default"] == 0


# `terraform validate` needs the google provider, which cannot be downloaded here; the
# monitoring locals need none, so `terraform console` evaluates them for real.


def terraform() -> str:
    return require_tool("terraform", needed_for="make deploy-check needs it too")


def console(workdir: Path, expression: str, *variables: str) -> Any:
    """The JSON value of `expression`, evaluated by `terraform console` in `workdir`."""
    finished = subprocess.run(
        [terraform(), "console", *(f"-var={variable}" for variable in variables)],
        input=f"base64encode(jsonencode({expression}))\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=workdir,
        env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "TF_IN_AUTOMATION": "1"},
    )
    assert finished.returncode == 0, finished.stderr
    encoded = finished.stdout.strip().splitlines()[-1].strip('"')
    return json.loads(base64.b64decode(encoded))


def test_terraform_templatefile_renders_what_gcloud_sh_renders(tmp_path: Path) -> None:
    render_dir = tmp_path / "rendered"
    given = files_given(monitoring_run(render_dir), render_dir)
    values = ", ".join(f"{name} = {json.dumps(value)}" for name, value in dry_run_values().items())
    rendered = console(
        tmp_path,
        f'{{ for name in fileset("{DEFINITIONS}", "*") : name => '
        f'templatefile("{DEFINITIONS}/${{name}}", {{ {values} }}) }}',
    )
    assert given
    for name, text in given.items():
        assert text == rendered[name], name


@pytest.fixture(scope="module")
def locals_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """monitoring.tf's variables and resource-free locals, beside the definitions.

    The locals that need a resource (the function's URL) are left out; everything the
    resources read from the definition files is in the rest."""
    root = tmp_path_factory.mktemp("terraform-locals")
    (root / "monitoring").symlink_to(DEFINITIONS)
    workdir = root / "terraform"
    workdir.mkdir()
    text = MONITORING_TF.read_text(encoding="utf-8")
    blocks = re.findall(r'^((?:locals|variable "[^"]+") \{\n.*?^\}\n)', text, re.M | re.S)
    kept = [block for block in blocks if not re.search(r"\bgoogle_[a-z0-9_]+\.", block)]
    # The resources' count, from a block that also reads the function's URL.
    count = re.search(r"^  monitoring_count = .*$", text, re.M)
    assert count is not None
    kept.append(f"locals {{\n{count.group(0)}\n}}\n")
    shared = TF_DIR.joinpath("variables.tf").read_text(encoding="utf-8")
    shared_variable = r'^(variable "(?:project_id|name_prefix)" \{\n.*?^\}\n)'
    kept += re.findall(shared_variable, shared, re.M | re.S)
    (workdir / "main.tf").write_text("\n".join(kept), encoding="utf-8")
    return workdir


def _terraform_locals(workdir: Path, hours: int) -> Any:
    return console(
        workdir,
        "{ metrics = local.monitoring_metrics, alerts = local.monitoring_alerts, "
        "uptime = local.monitoring_uptime, channel = local.monitoring_channel, "
        "dashboard = local.monitoring_dashboard_json }",
        f"project_id={PROJECT}",
        f"alert_email={EMAIL}",
        f"no_events_alert_hours={hours}",
    )


def _take(fields: dict[str, Any], name: str, default: Any = None) -> Any:
    """Remove and return one field, so what is left over is what nobody read."""
    return fields.pop(name, default)


def _aggregations(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        item = dict(item)
        out.append(
            {
                "alignment_period": _take(item, "alignmentPeriod"),
                "per_series_aligner": _take(item, "perSeriesAligner"),
                "cross_series_reducer": _take(item, "crossSeriesReducer"),
                "group_by_fields": _take(item, "groupByFields"),
            }
        )
        assert not item, item
    return out


def _expected_metric(metric: dict[str, Any]) -> dict[str, Any]:
    metric = dict(metric)
    descriptor = dict(_take(metric, "metricDescriptor"))
    labels = []
    for label in _take(descriptor, "labels", []):
        label = dict(label)
        labels.append(
            {
                "key": _take(label, "key"),
                "value_type": _take(label, "valueType"),
                "description": _take(label, "description"),
            }
        )
        assert not label, label
    buckets = _take(metric, "bucketOptions")
    exponential = None
    if buckets is not None:
        buckets = dict(buckets)
        raw = dict(_take(buckets, "exponentialBuckets"))
        exponential = {
            "num_finite_buckets": _take(raw, "numFiniteBuckets"),
            "growth_factor": _take(raw, "growthFactor"),
            "scale": _take(raw, "scale"),
        }
        assert not raw, raw
        assert not buckets, buckets
    expected = {
        "name": _take(metric, "name"),
        "description": _take(metric, "description"),
        "filter": _take(metric, "filter"),
        "metric_kind": _take(descriptor, "metricKind"),
        "value_type": _take(descriptor, "valueType"),
        "unit": _take(descriptor, "unit"),
        "display_name": _take(descriptor, "displayName"),
        "labels": labels,
        "label_extractors": _take(metric, "labelExtractors"),
        "value_extractor": _take(metric, "valueExtractor"),
        "exponential_buckets": exponential,
    }
    assert not metric, metric
    assert not descriptor, descriptor
    return expected


def _trigger_count(trigger: dict[str, Any]) -> Any:
    trigger = dict(trigger)
    count = _take(trigger, "count")
    assert not trigger, trigger
    return count


def _expected_condition(condition: dict[str, Any]) -> dict[str, Any]:
    condition = dict(condition)
    expected: dict[str, Any] = {
        "display_name": _take(condition, "displayName"),
        "threshold": None,
        "absent": None,
    }
    threshold = _take(condition, "conditionThreshold")
    if threshold is not None:
        threshold = dict(threshold)
        expected["threshold"] = {
            "filter": _take(threshold, "filter"),
            "comparison": _take(threshold, "comparison"),
            "threshold_value": _take(threshold, "thresholdValue"),
            "duration": _take(threshold, "duration"),
            "trigger_count": _trigger_count(_take(threshold, "trigger")),
            "evaluation_missing_data": _take(threshold, "evaluationMissingData"),
            "aggregations": _aggregations(_take(threshold, "aggregations")),
        }
        assert not threshold, threshold
    absent = _take(condition, "conditionAbsent")
    if absent is not None:
        absent = dict(absent)
        expected["absent"] = {
            "filter": _take(absent, "filter"),
            "duration": _take(absent, "duration"),
            "trigger_count": _trigger_count(_take(absent, "trigger")),
            "aggregations": _aggregations(_take(absent, "aggregations")),
        }
        assert not absent, absent
    assert not condition, condition
    return expected


def _expected_alert(key: str, policy: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    policy = dict(policy)
    strategy = dict(_take(policy, "alertStrategy"))
    expected = {
        "display_name": _take(policy, "displayName"),
        "combiner": _take(policy, "combiner"),
        "severity": _take(policy, "severity"),
        "auto_close": _take(strategy, "autoClose"),
        "documentation": render(f"alert-{key}.md", values),
        "conditions": [_expected_condition(item) for item in _take(policy, "conditions")],
    }
    assert not policy, policy
    assert not strategy, strategy
    return expected


def test_terraform_hands_every_field_of_every_definition_to_its_resources(
    locals_workdir: Path,
) -> None:
    values = {**TEMPLATE_VALUES, "event_host": TERRAFORM_HOST_STAND_IN}
    evaluated = _terraform_locals(locals_workdir, hours=6)
    assert evaluated["metrics"] == {
        key: _expected_metric(metric) for key, metric in metric_definitions(values).items()
    }
    assert evaluated["alerts"] == {
        key: _expected_alert(key, policy, values)
        for key, policy in alert_definitions(values).items()
    }
    uptime = definition("uptime-check.json", values)
    http = uptime["httpCheck"]
    assert evaluated["uptime"] == {
        "display_name": uptime["displayName"],
        "type": uptime["monitoredResource"]["type"],
        "labels": uptime["monitoredResource"]["labels"],
        "http_check": {
            "request_method": http["requestMethod"],
            "path": http["path"],
            "port": http["port"],
            "use_ssl": http["useSsl"],
            "validate_ssl": http["validateSsl"],
            "status_classes": [code["statusClass"] for code in http["acceptedResponseStatusCodes"]],
        },
        "content_matchers": uptime["contentMatchers"],
        "period": uptime["period"],
        "timeout": uptime["timeout"],
    }
    assert set(uptime) == {
        "displayName",
        "monitoredResource",
        "httpCheck",
        "contentMatchers",
        "period",
        "timeout",
    }
    assert len(http) == 6
    channel = definition("channel-email.json", values)
    assert evaluated["channel"] == {
        "type": channel["type"],
        "display_name": channel["displayName"],
        "description": channel["description"],
        "labels": channel["labels"],
    }
    assert len(channel) == 4
    assert evaluated["dashboard"] == render("dashboard.json", values)


def _instances(workdir: Path, *variables: str) -> dict[tuple[str, str], int]:
    """How many instances of each resource in monitoring.tf Terraform would create, from
    its own count or for_each evaluated with these variables (a resource with neither
    counts 1)."""
    gates = {}
    for key, body in hcl2_config()["resource"].items():
        if "for_each" in body:
            gates[key] = f"length({body['for_each'][2:-1]})"
        else:
            gates[key] = str(body.get("count", "${1}"))[2:-1]
    counts = console(workdir, f"[{', '.join(gates.values())}]", *variables)
    return dict(zip(gates, counts, strict=True))


def test_every_monitoring_resource_is_on_by_default(locals_workdir: Path) -> None:
    assert hcl2_config()["variable"]["enable_monitoring"]["default"] is True
    created = _instances(locals_workdir, f"project_id={PROJECT}")
    channel = ("google_monitoring_notification_channel", "email")
    assert created.pop(channel) == 0  # no address given
    assert all(created.values()), created
    # Every alert but "no events", which waits for its number of hours.
    alerts = created[("google_monitoring_alert_policy", "receiver")]
    assert alerts == len(alert_definitions()) - 1
    assert _instances(locals_workdir, f"project_id={PROJECT}", f"alert_email={EMAIL}")[channel]


def test_enable_monitoring_false_creates_no_monitoring_resource(locals_workdir: Path) -> None:
    created = _instances(
        locals_workdir,
        f"project_id={PROJECT}",
        "enable_monitoring=false",
        f"alert_email={EMAIL}",
        "no_events_alert_hours=6",
    )
    assert len(created) == len(hcl2_config()["resource"])
    assert created == dict.fromkeys(created, 0)


def test_terraform_leaves_out_the_no_events_alert_at_zero_hours(locals_workdir: Path) -> None:
    evaluated = _terraform_locals(locals_workdir, hours=0)
    assert "no-events" not in evaluated["alerts"]
    assert set(evaluated["alerts"]) == set(alert_definitions()) - {"no-events"}


def _fields(node: Any) -> Iterator[str]:
    """Every attribute name in a local's value, not descending into maps handed over whole
    (label extractors, resource labels)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            if key != "label_extractors" and not (key == "labels" and isinstance(value, dict)):
                yield from _fields(value)
    elif isinstance(node, list):
        for item in node:
            yield from _fields(item)


def test_every_local_field_is_read_by_a_resource(locals_workdir: Path) -> None:
    evaluated = _terraform_locals(locals_workdir, hours=6)
    text = MONITORING_TF.read_text(encoding="utf-8")
    resources = text[text.index('resource "google_project_service" "monitoring"') :]
    fields = {
        field
        for collection in ("metrics", "alerts")
        for item in evaluated[collection].values()
        for field in _fields(item)
    }
    fields |= set(_fields(evaluated["uptime"])) | set(_fields(evaluated["channel"]))
    for field in fields:
        assert re.search(rf"\.{field}\b", resources), field


# --- the guide ------------------------------------------------------------------------------


def test_the_guide_lists_every_metric_and_alert_with_its_log_line() -> None:
    guide = DOCS.read_text(encoding="utf-8")
    for key, metric in metric_definitions().items():
        assert f"`{metric['name']}`" in guide, key
        comparisons = LogFilter(metric["filter"]).comparisons()
        messages = [value for path, _, value in comparisons if path == "jsonPayload.message"]
        for message in messages:
            assert message in guide, (key, message)
    for key in alert_definitions():
        assert f"alert-{key}" in guide, key
