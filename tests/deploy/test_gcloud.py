"""deploy/gcloud.sh deploys what deploy/terraform does, and --dry-run shows every command."""

from __future__ import annotations

import json
import os
import re
import subprocess
from itertools import takewhile
from pathlib import Path

import pytest

from tests.deploy.test_terraform import LOCAL_STACK_SAMPLE, archive_files
from tests.support.app import ROOT
from tests.support.deploy import (
    GCLOUD_SCRIPT,
    REQUIRED_APIS,
    Command,
    flags,
    matching,
    printed_commands,
    project_gcloud,
    recording_gcloud,
    run_gcloud_script,
)

PROJECT = "demo-project"
PUBSUB_AGENT = "serviceAccount:service-PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com"
BUILD_SA = f"sonorancad-build@{PROJECT}.iam.gserviceaccount.com"
REPOSITORY = f"projects/{PROJECT}/locations/us-central1/repositories/sonorancad-functions"


def run_script(
    *args: str, env: dict[str, str] | None = None, tmp_path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the script, with a `gcloud` on PATH that only records that it was called when
    `tmp_path` is given."""
    fake = recording_gcloud(tmp_path) if tmp_path is not None else {}
    return run_gcloud_script(*args, env={**fake, **(env or {})})


def dry_run(*args: str) -> list[Command]:
    finished = run_script("--dry-run", "--project", PROJECT, *args)
    assert finished.returncode == 0, finished.stderr
    return printed_commands(finished.stdout)


def deploy_of(commands: list[Command], function: str) -> dict[str, str]:
    (command,) = matching(commands, "gcloud", "functions", "deploy", function)
    return flags(command)


def env_vars(deploy: dict[str, str]) -> dict[str, str]:
    """`--set-env-vars=^@^A=1@B=2,3` as a dict (gcloud's alternate-delimiter syntax)."""
    value = deploy["--set-env-vars"]
    assert value.startswith("^@^")
    return dict(item.split("=", 1) for item in value.removeprefix("^@^").split("@"))


def test_script_is_strict_bash_and_parses() -> None:
    text = GCLOUD_SCRIPT.read_text(encoding="utf-8")
    assert "set -euo pipefail" in text
    assert subprocess.run(["bash", "-n", str(GCLOUD_SCRIPT)], check=False).returncode == 0


def test_help_lists_the_settings() -> None:
    finished = run_script("--help")
    assert finished.returncode == 0
    for word in ("--dry-run", "--project", "PROJECT_ID", "--region", "--prefix", "NAME_PREFIX"):
        assert word in finished.stdout


def test_dry_run_calls_no_gcloud_and_prints_only_gcloud_commands(tmp_path: Path) -> None:
    finished = run_script("--dry-run", "--project", PROJECT, tmp_path=tmp_path)

    assert finished.returncode == 0, finished.stderr
    assert not (tmp_path / "gcloud-called").exists()
    for line in finished.stdout.splitlines():
        assert line.startswith(("gcloud ", "#")), line


def test_only_the_event_function_allows_unauthenticated_calls() -> None:
    commands = dry_run()

    event = deploy_of(commands, "sonorancad-event")
    assert "--allow-unauthenticated" in event
    assert event["--entry-point"] == "sonorancad_event"
    assert event["--runtime"] == "python312"
    assert "--gen2" in event
    assert "--trigger-http" in event
    assert event["--ingress-settings"] == "all"
    assert event["--service-account"] == f"sonorancad-event@{PROJECT}.iam.gserviceaccount.com"

    worker = deploy_of(commands, "sonorancad-worker")
    assert "--no-allow-unauthenticated" in worker
    assert "--allow-unauthenticated" not in worker
    assert worker["--entry-point"] == "sonorancad_worker"
    # IAM keeps the worker private, not ingress: the Cloud Run functions page does not count
    # a Pub/Sub push as internal (deploy/terraform/functions.tf quotes both pages).
    assert worker["--ingress-settings"] == "all"

    everything = " ".join(" ".join(command) for command in commands)
    assert "allUsers" not in everything
    assert "allAuthenticatedUsers" not in everything
    assert everything.count("--allow-unauthenticated") == 1


def test_api_key_is_a_secret_volume_never_an_env_var_or_an_argument() -> None:
    commands = dry_run()

    event = deploy_of(commands, "sonorancad-event")
    assert event["--set-secrets"] == "/etc/sonoran-keys/api-keys=sonorancad-api-keys:latest"
    env = env_vars(event)
    assert env["SONORAN_API_KEYS_FILE"] == "/etc/sonoran-keys/api-keys"
    assert "SONORAN_API_KEYS" not in env
    (create,) = matching(commands, "gcloud", "secrets", "create", "sonorancad-api-keys")
    assert "--data-file" not in flags(create)
    assert not any("--data-file" in flags(command) for command in commands)
    assert not matching(commands, "gcloud", "secrets", "versions", "add")
    (grant,) = matching(commands, "gcloud", "secrets", "add-iam-policy-binding")
    assert flags(grant)["--role"] == "roles/secretmanager.secretAccessor"
    assert flags(grant)["--member"] == (
        f"serviceAccount:sonorancad-event@{PROJECT}.iam.gserviceaccount.com"
    )


def test_event_function_settings_match_terraform() -> None:
    event = deploy_of(dry_run("--concurrency", "12", "--max-instances", "7"), "sonorancad-event")

    env = env_vars(event)
    assert event["--concurrency"] == "12"
    assert env["THREADS"] == "12"  # one gunicorn thread per concurrent request
    assert event["--cpu"] == "1"
    assert event["--max-instances"] == "7"
    assert env["PUBSUB_TOPIC"] == f"projects/{PROJECT}/topics/sonorancad-events"
    assert env["SONORAN_ROUTES"] == "*=publish,GET_LOGS=drop"


def test_push_subscription_sends_an_oidc_token_and_dead_letters() -> None:
    commands = dry_run("--dead-letter-attempts", "25")

    (create,) = matching(
        commands, "gcloud", "pubsub", "subscriptions", "create", "sonorancad-worker-push"
    )
    push = flags(create)
    assert push["--topic"] == "sonorancad-events"
    assert push["--push-endpoint"].startswith("https://WORKER_URL/")
    assert (
        push["--push-auth-service-account"] == f"sonorancad-push@{PROJECT}.iam.gserviceaccount.com"
    )
    assert push["--push-auth-token-audience"] == "https://WORKER_URL"
    assert push["--dead-letter-topic"] == f"projects/{PROJECT}/topics/sonorancad-events-dead-letter"
    assert push["--max-delivery-attempts"] == "25"
    assert push["--min-retry-delay"] == "10s"
    assert push["--max-retry-delay"] == "600s"
    assert push["--ack-deadline"] == "60"

    # A dead-letter topic needs its own subscription, or dead letters are lost.
    (dead,) = matching(
        commands, "gcloud", "pubsub", "subscriptions", "create", "sonorancad-events-dead-letter"
    )
    assert flags(dead)["--topic"] == "sonorancad-events-dead-letter"


def test_service_agent_and_invoker_grants_are_on_single_resources() -> None:
    commands = dry_run()

    def grant(*prefix: str) -> dict[str, str]:
        (command,) = matching(commands, *prefix)
        return flags(command)

    dead_letter = grant(
        "gcloud", "pubsub", "topics", "add-iam-policy-binding", "sonorancad-events-dead-letter"
    )
    assert dead_letter == {
        **dead_letter,
        "--member": PUBSUB_AGENT,
        "--role": "roles/pubsub.publisher",
    }
    source = grant(
        "gcloud", "pubsub", "subscriptions", "add-iam-policy-binding", "sonorancad-worker-push"
    )
    assert source == {**source, "--member": PUBSUB_AGENT, "--role": "roles/pubsub.subscriber"}
    push_account = f"sonorancad-push@{PROJECT}.iam.gserviceaccount.com"
    token = grant("gcloud", "iam", "service-accounts", "add-iam-policy-binding", push_account)
    assert token["--role"] == "roles/iam.serviceAccountTokenCreator"
    invoker = grant("gcloud", "run", "services", "add-iam-policy-binding", "sonorancad-worker")
    assert invoker["--role"] == "roles/run.invoker"
    assert invoker["--member"] == f"serviceAccount:{push_account}"
    publisher = grant("gcloud", "pubsub", "topics", "add-iam-policy-binding", "sonorancad-events")
    assert publisher["--role"] == "roles/pubsub.publisher"
    # Project-wide: only the build account's two grants no narrower resource takes.
    project_wide = matching(commands, "gcloud", "projects", "add-iam-policy-binding")
    assert {flags(command)["--member"] for command in project_wide} == {
        f"serviceAccount:{BUILD_SA}"
    }
    assert sorted(flags(command)["--role"] for command in project_wide) == [
        "roles/logging.logWriter",
        "roles/storage.objectViewer",
    ]


def test_discord_webhook_reaches_the_worker_through_set_secrets() -> None:
    commands = dry_run("--with-discord", "--handlers", "*=log,EVENT_911=log+discord")

    worker = deploy_of(commands, "sonorancad-worker")
    assert worker["--set-secrets"] == "DISCORD_WEBHOOK_URL=sonorancad-discord-webhook:latest"
    assert "DISCORD_WEBHOOK_URL" not in env_vars(worker)
    assert env_vars(worker)["SONORAN_HANDLERS"] == "*=log,EVENT_911=log+discord"
    # No inline route: the event function runs no handler and gets no webhook.
    event = deploy_of(commands, "sonorancad-event")
    assert "DISCORD_WEBHOOK_URL" not in event["--set-secrets"]
    assert "SONORAN_HANDLERS" not in env_vars(event)


def test_inline_routes_give_the_event_function_the_handler_secrets_too() -> None:
    commands = dry_run("--with-discord", "--handlers", "*=discord", "--routes", "*=inline+publish")

    event = deploy_of(commands, "sonorancad-event")
    assert event["--set-secrets"] == (
        "/etc/sonoran-keys/api-keys=sonorancad-api-keys:latest,"
        "DISCORD_WEBHOOK_URL=sonorancad-discord-webhook:latest"
    )
    assert env_vars(event)["SONORAN_HANDLERS"] == "*=discord"


def test_every_create_is_guarded_by_a_describe() -> None:
    finished = run_script("--dry-run", "--project", PROJECT, "--with-pull-subscription")
    lines = finished.stdout.splitlines()
    creates = [
        i
        for i, line in enumerate(lines)
        if " create " in f" {line} "
        and not line.startswith("#")
        # Idempotent by itself: it returns the agent when it exists.
        and not line.startswith("gcloud beta services identity create ")
    ]
    assert creates
    for index in creates:
        guard = lines[index - 1]
        # Monitoring's resources have server-made ids: found by display name in a list.
        if guard.startswith("# if there is no "):
            assert re.search(r" yet: gcloud .* (list|list-configs) ", guard), lines[index]
            continue
        assert guard.startswith("# if missing: gcloud "), lines[index]
        assert " describe " in guard


def test_settings_come_from_the_environment_and_flags_win() -> None:
    finished = run_script(
        "--dry-run",
        "--prefix",
        "cadtwo",
        env={"PROJECT_ID": "env-project", "REGION": "europe-west1", "NAME_PREFIX": "ignored"},
    )
    assert finished.returncode == 0, finished.stderr
    event = deploy_of(printed_commands(finished.stdout), "cadtwo-event")
    assert event["--project"] == "env-project"
    assert event["--region"] == "europe-west1"


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--project", "demo-project", "--cpu", "0.5"],
        ["--project", "demo-project", "--dead-letter-attempts", "3"],
        ["--project", "demo-project", "--handlers", "*=discord"],
        ["--project", "demo-project", "--forward-url", "http://insecure.example"],
        ["--project", "demo-project", "--no-such-flag"],
        ["--project", "Demo Project"],
    ],
    ids=[
        "no-project",
        "fractional-cpu",
        "few-attempts",
        "discord-without-secret",
        "http-forward",
        "unknown-flag",
        "bad-project",
    ],
)
def test_bad_settings_stop_before_any_command(args: list[str]) -> None:
    finished = run_script("--dry-run", *args)
    assert finished.returncode == 2
    assert finished.stdout == ""
    assert finished.stderr.startswith("gcloud.sh: ")


def test_apis_are_enabled_before_anything_else() -> None:
    commands = dry_run()
    enable = commands[0]
    assert enable[:3] == ["gcloud", "services", "enable"]
    assert {word for word in enable if word.endswith(".googleapis.com")} == REQUIRED_APIS


def test_pubsub_service_agent_is_created_before_any_grant_names_it() -> None:
    commands = dry_run()
    (create,) = matching(commands, "gcloud", "beta", "services", "identity", "create")
    assert flags(create)["--service"] == "pubsub.googleapis.com"
    assert flags(create)["--project"] == PROJECT
    naming_the_agent = [
        index for index, command in enumerate(commands) if PUBSUB_AGENT in " ".join(command)
    ]
    assert naming_the_agent
    assert commands.index(create) < min(naming_the_agent)


def test_both_functions_build_as_the_build_account_into_our_repository() -> None:
    commands = dry_run()
    (create,) = matching(
        commands, "gcloud", "iam", "service-accounts", "create", "sonorancad-build"
    )
    for function in ("sonorancad-event", "sonorancad-worker"):
        deploy = deploy_of(commands, function)
        assert deploy["--build-service-account"] == f"projects/{PROJECT}/serviceAccounts/{BUILD_SA}"
        assert deploy["--docker-repository"] == REPOSITORY
    first_deploy = min(
        commands.index(command) for command in matching(commands, "gcloud", "functions", "deploy")
    )
    assert commands.index(create) < first_deploy


def test_a_named_build_account_is_used_instead_and_given_the_same_roles() -> None:
    other = f"builder@{PROJECT}.iam.gserviceaccount.com"
    commands = dry_run("--build-service-account", other)
    assert not matching(commands, "gcloud", "iam", "service-accounts", "create", "sonorancad-build")
    deploy = deploy_of(commands, "sonorancad-event")
    assert deploy["--build-service-account"] == f"projects/{PROJECT}/serviceAccounts/{other}"
    members = {
        flags(command)["--member"]
        for command in matching(commands, "gcloud", "projects", "add-iam-policy-binding")
    }
    assert members == {f"serviceAccount:{other}"}


def test_build_account_holds_the_documented_roles_each_on_the_narrowest_resource() -> None:
    commands = dry_run()
    (image_writer,) = matching(
        commands, "gcloud", "artifacts", "repositories", "add-iam-policy-binding"
    )
    assert image_writer[4] == "sonorancad-functions"
    assert flags(image_writer)["--role"] == "roles/artifactregistry.writer"
    assert flags(image_writer)["--member"] == f"serviceAccount:{BUILD_SA}"
    roles = {
        flags(command)["--role"]: flags(command)
        for command in matching(commands, "gcloud", "projects", "add-iam-policy-binding", PROJECT)
    }
    assert set(roles) == {"roles/logging.logWriter", "roles/storage.objectViewer"}
    assert roles["roles/logging.logWriter"]["--condition"] == "None"
    condition = roles["roles/storage.objectViewer"]["--condition"]
    assert condition.startswith(
        'expression=resource.name.startsWith("projects/_/buckets/'
        'gcf-v2-sources-PROJECT_NUMBER-us-central1"),'
    )


def test_image_repository_has_cleanup_policies_that_keep_the_latest_images() -> None:
    finished = run_script("--dry-run", "--project", PROJECT)
    commands = printed_commands(finished.stdout)
    (create,) = matching(commands, "gcloud", "artifacts", "repositories", "create")
    assert create[4] == "sonorancad-functions"
    assert flags(create)["--repository-format"] == "docker"
    assert flags(create)["--location"] == "us-central1"
    (cleanup,) = matching(commands, "gcloud", "artifacts", "repositories", "set-cleanup-policies")
    assert flags(cleanup)["--policy"] == "-"
    assert "--no-dry-run" in flags(cleanup)
    shown = finished.stdout.split("# the policies, given on stdin (--policy=-):\n", 1)[1]
    policy_lines = []
    for line in shown.splitlines():
        if not line.startswith("#   "):
            break
        policy_lines.append(line.removeprefix("#   "))
    policies = {policy["name"]: policy for policy in json.loads("\n".join(policy_lines))}
    assert policies["delete-older-than-a-day"] == {
        "name": "delete-older-than-a-day",
        "action": {"type": "Delete"},
        "condition": {"tagState": "any", "olderThan": "1d"},
    }
    assert policies["keep-most-recent"]["action"] == {"type": "Keep"}
    assert policies["keep-most-recent"]["mostRecentVersions"] == {"keepCount": 5}


def test_the_local_stack_and_its_console_are_never_staged() -> None:
    finished = run_script("--dry-run", "--project", PROJECT)
    staged = [line for line in finished.stdout.splitlines() if line.startswith("# staged: ")]
    assert staged
    for path in LOCAL_STACK_SAMPLE:
        assert (ROOT / path).is_file(), path  # it exists, and still it is left out
        assert f"# staged: {path}" not in staged
    assert not any(line.startswith("# staged: local_stack/") for line in staged)


def test_source_is_a_staged_copy_of_the_same_allow_list_as_terraform() -> None:
    finished = run_script("--dry-run", "--project", PROJECT)
    staged = [
        line.removeprefix("# staged: ")
        for line in finished.stdout.splitlines()
        if line.startswith("# staged: ")
    ]
    assert staged == archive_files()
    commands = printed_commands(finished.stdout)
    for function in ("sonorancad-event", "sonorancad-worker"):
        assert deploy_of(commands, function)["--source"] == "STAGED_SOURCE_DIR"


def test_a_real_run_uploads_only_the_allow_list_and_removes_the_copy(tmp_path: Path) -> None:
    finished = run_script("--project", PROJECT, env=project_gcloud(tmp_path))

    assert finished.returncode == 0, finished.stderr
    expected = sorted([*archive_files(), ".gcloudignore"])
    for function in ("sonorancad-event", "sonorancad-worker"):
        assert (tmp_path / f"uploaded-{function}").read_text().split() == expected
    source_dir = Path((tmp_path / "source-dir").read_text().strip())
    assert source_dir != ROOT
    assert not source_dir.exists()


def test_an_empty_key_secret_stops_with_a_command_that_stores_and_exports_the_key(
    tmp_path: Path,
) -> None:
    finished = run_script("--project", PROJECT, env=project_gcloud(tmp_path, secret_versions=False))
    assert finished.returncode == 1
    [command] = [line.strip() for line in finished.stderr.splitlines() if "read -rs" in line]
    help_text = " ".join(run_script("--help").stdout.split())
    assert command.replace(PROJECT, "PROJECT_ID") in help_text
    # Run it as a user would: the key typed on stdin, a gcloud that records what it gets.
    recorder = tmp_path / "recorder" / "gcloud"
    recorder.parent.mkdir()
    recorder.write_text(f'#!/bin/sh\necho "$*" > {tmp_path}/args\ncat > {tmp_path}/stdin\n')
    recorder.chmod(0o755)
    typed = subprocess.run(
        ["bash", "-c", f"{command} && sh -c 'printf %s \"$SONORAN_API_KEY\"'"],
        input="k3y-typed\n",
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{recorder.parent}:{os.environ['PATH']}"},
        check=True,
    )
    assert typed.stdout == "k3y-typed"  # exported: `make verify` reads it from there
    assert (tmp_path / "stdin").read_text() == "k3y-typed"
    args = (tmp_path / "args").read_text()
    assert args.startswith("secrets versions add sonorancad-api-keys --project=demo-project")
    assert "k3y-typed" not in args


def test_quarantine_topic_subscription_env_and_grant() -> None:
    commands = dry_run()
    (topic,) = matching(commands, "gcloud", "pubsub", "topics", "create", "sonorancad-quarantine")
    assert flags(topic)["--message-retention-duration"] == "31d"
    (pull,) = matching(
        commands, "gcloud", "pubsub", "subscriptions", "create", "sonorancad-quarantine-pull"
    )
    assert flags(pull)["--topic"] == "sonorancad-quarantine"
    assert flags(pull)["--message-retention-duration"] == "7d"
    assert flags(pull)["--expiration-period"] == "never"
    assert "--push-endpoint" not in flags(pull)
    (grant,) = matching(
        commands, "gcloud", "pubsub", "topics", "add-iam-policy-binding", "sonorancad-quarantine"
    )
    assert flags(grant)["--role"] == "roles/pubsub.publisher"
    assert (
        flags(grant)["--member"]
        == f"serviceAccount:sonorancad-event@{PROJECT}.iam.gserviceaccount.com"
    )
    event = env_vars(deploy_of(commands, "sonorancad-event"))
    assert event["PUBSUB_QUARANTINE_TOPIC"] == f"projects/{PROJECT}/topics/sonorancad-quarantine"
    assert "PUBSUB_QUARANTINE_TOPIC" not in env_vars(deploy_of(commands, "sonorancad-worker"))


def test_event_timeout_is_a_setting() -> None:
    event = deploy_of(dry_run("--event-timeout", "45"), "sonorancad-event")
    assert event["--timeout"] == "45s"
    assert deploy_of(dry_run(), "sonorancad-event")["--timeout"] == "60s"


def test_event_timeout_below_the_receivers_own_40_s_is_refused_with_the_reason() -> None:
    # Body deadline 10 s + Pub/Sub wait 10 s + inline handlers 20 s (docs/guarantees.md).
    assert deploy_of(dry_run("--event-timeout", "40"), "sonorancad-event")["--timeout"] == "40s"
    finished = run_script("--dry-run", "--project", PROJECT, "--event-timeout", "39")
    assert finished.returncode == 2
    assert finished.stdout == ""
    for reason in ("body deadline (10 s)", "Pub/Sub wait (10 s)", "inline handlers (20 s)"):
        assert reason in finished.stderr


def test_no_line_offers_the_function_url_for_the_cad_panel() -> None:
    # The CAD panel takes an IP and a port, never a URL
    # (docs/reference/contract.md "Who sends what").
    finished = run_script("--dry-run", "--project", PROJECT)
    after = finished.stdout.split("# Done.\n", 1)[1].splitlines()
    summary = "\n".join(takewhile(lambda line: line.startswith("#   "), after))
    assert "https://EVENT_URL/sonorancad/event" in summary
    assert "In-Game Integration" not in summary
    assert "https://EVENT_URL " not in summary  # the bare URL once offered for the panel
    assert "appends /sonorancad/event" not in GCLOUD_SCRIPT.read_text(encoding="utf-8")


def test_optional_features_have_one_marked_place_at_the_end() -> None:
    text = GCLOUD_SCRIPT.read_text(encoding="utf-8")
    head, marker, tail = text.partition("# === optional features ===")
    assert marker
    assert "cat <<EOF\n# Done." in head  # the summary comes before them
    apis = head.index("# --- APIs ---")
    features = re.findall(r"^source .*gcloud\.d/(\w+)\.sh\"$", text, re.MULTILINE)
    assert set(features) == {path.stem for path in (ROOT / "deploy" / "gcloud.d").glob("*.sh")}
    for feature in features:
        # Sourced before the APIs, with the others; run in the marked place.
        assert text.index(f"gcloud.d/{feature}.sh") < apis
        assert re.search(rf"^deploy_{feature}$", tail, re.MULTILINE), feature
        assert not re.search(rf"^deploy_{feature}$", head, re.MULTILINE), feature
    # Monitoring's metrics alone run early, right after the APIs (a metric needs minutes).
    early = re.findall(r"^(deploy_\w+)$", head, re.MULTILINE)
    assert early == ["deploy_monitoring_metrics"]


def test_readme_mentions_only_options_the_script_has() -> None:
    section = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    script_lines = [line for line in section.splitlines() if "deploy/gcloud.sh" in line]
    mentioned = {flag for line in script_lines for flag in re.findall(r"(--[a-z-]+)", line)}
    mentioned |= set(re.findall(r"`(--[a-z-]+)`", section))
    help_text = run_script("--help").stdout
    assert mentioned
    for flag in mentioned:
        assert re.search(rf"(^|\s){re.escape(flag)}(\s|$)", help_text, re.MULTILINE), flag
