"""deploy/terraform keeps its promises: least privilege, no key in plain sight, dead letters wired.

`terraform validate` needs the provider, which CI cannot download, so these read the HCL.
"""

from __future__ import annotations

import ast
import base64
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2.utils import SerializationOptions

from sonoran_receiver.publishing.message import CanonicalEvent
from sonoran_receiver.tools.samples import sample_body
from tests.support.app import ROOT, build_app
from tests.support.deploy import REQUIRED_APIS

TF_DIR = ROOT / "deploy" / "terraform"
_OPTIONS = SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True
)

Block = dict[str, Any]

IAM_MEMBER_TYPES = (
    "google_pubsub_topic_iam_member",
    "google_pubsub_subscription_iam_member",
    "google_secret_manager_secret_iam_member",
    "google_cloud_run_v2_service_iam_member",
    "google_service_account_iam_member",
)
PUBLIC_MEMBERS = {"allUsers", "allAuthenticatedUsers"}


def _parse(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        parsed: dict[str, Any] = hcl2.load(handle, serialization_options=_OPTIONS)
    return parsed


@cache
def config() -> dict[str, dict[Any, Any]]:
    """Every .tf file merged: resources and data by (type, name), the rest by name."""
    merged: dict[str, dict[Any, Any]] = {
        "resource": {},
        "data": {},
        "variable": {},
        "output": {},
        "locals": {},
    }
    for path in sorted(TF_DIR.glob("*.tf")):
        parsed = _parse(path)
        for kind in ("resource", "data"):
            for entry in parsed.get(kind, []):
                for type_name, named in entry.items():
                    for name, body in named.items():
                        merged[kind][(type_name, name)] = body
        for kind in ("variable", "output"):
            for entry in parsed.get(kind, []):
                merged[kind].update(entry)
        for entry in parsed.get("locals", []):
            merged["locals"].update(entry)
    return merged


def resources(type_name: str | None = None) -> dict[tuple[str, str], Block]:
    return {
        address: body
        for address, body in config()["resource"].items()
        if type_name is None or address[0] == type_name
    }


def resource(type_name: str, name: str) -> Block:
    body: Block = config()["resource"][(type_name, name)]
    return body


def function(name: str) -> Block:
    return resource("google_cloudfunctions2_function", name)


def only(blocks: list[Block]) -> Block:
    assert len(blocks) == 1, blocks
    return blocks[0]


def raw_text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(TF_DIR.glob("*.tf")))


def iam_members() -> dict[tuple[str, str], Block]:
    return {
        address: body
        for address, body in config()["resource"].items()
        if address[0] in IAM_MEMBER_TYPES
    }


# --- files and versions ---------------------------------------------------------


def test_files_are_split_by_concern() -> None:
    names = {path.name for path in TF_DIR.glob("*.tf")}
    assert {
        "versions.tf",
        "variables.tf",
        "apis.tf",
        "source.tf",
        "functions.tf",
        "pubsub.tf",
        "iam.tf",
        "secrets.tf",
        "outputs.tf",
        "build.tf",
    } <= names
    assert (TF_DIR / "terraform.tfvars.example").is_file()


def test_terraform_and_providers_are_pinned() -> None:
    terraform = only(_parse(TF_DIR / "versions.tf")["terraform"])
    assert terraform["required_version"] == ">= 1.5.0"
    providers = only(terraform["required_providers"])
    assert providers["google"]["source"] == "hashicorp/google"
    assert providers["google"]["version"] == ">= 6.0.0, < 7.0.0"
    assert providers["archive"]["source"] == "hashicorp/archive"
    # google_project_service_identity exists only in google-beta, on the same major version.
    assert providers["google-beta"]["source"] == "hashicorp/google-beta"
    assert providers["google-beta"]["version"] == providers["google"]["version"]
    assert providers["time"]["source"] == "hashicorp/time"


def test_every_variable_has_a_description_a_type_and_a_validation() -> None:
    for name, body in config()["variable"].items():
        assert body.get("description"), name
        assert body.get("type"), name
        if body["type"] != "bool":  # a bool's type is its whole validation
            assert body.get("validation"), name


def test_tfvars_example_sets_only_declared_variables() -> None:
    example = hcl2.loads(
        (TF_DIR / "terraform.tfvars.example").read_text(encoding="utf-8"),
        serialization_options=_OPTIONS,
    )
    assert set(example) <= set(config()["variable"])
    assert "project_id" in example


# --- the event function -----------------------------------------------------------


def test_event_function_is_gen2_python312_with_its_own_account() -> None:
    event = function("event")
    build = only(event["build_config"])
    service = only(event["service_config"])
    assert build["runtime"] == "python312"
    assert build["entry_point"] == "sonorancad_event"
    assert service["service_account_email"] == "${google_service_account.event.email}"
    assert service["ingress_settings"] == "ALLOW_ALL"
    assert service["max_instance_count"] == "${var.max_instance_count}"
    assert "event_trigger" not in event


def test_concurrency_has_threads_to_match_and_a_whole_vcpu() -> None:
    for name in ("event", "worker"):
        service = only(function(name)["service_config"])
        assert service["max_instance_request_concurrency"] == "${var.concurrency}"
        assert service["available_cpu"] == "${var.cpu}"
        assert "THREADS = tostring(var.concurrency)" in service["environment_variables"]
    cpu = config()["variable"]["cpu"]
    assert cpu["default"] == "1"
    # Below 1 vCPU Cloud Run forces concurrency 1: no fractional choice is allowed.
    assert 'contains(["1", "2"], var.cpu)' in only(cpu["validation"])["condition"]


def test_event_function_publishes_to_the_topic() -> None:
    env = only(function("event")["service_config"])["environment_variables"]
    assert "PUBSUB_TOPIC = google_pubsub_topic.events.id" in env


def test_event_function_platform_timeout_is_a_variable() -> None:
    service = only(function("event")["service_config"])
    assert service["timeout_seconds"] == "${var.event_timeout_seconds}"
    variable = config()["variable"]["event_timeout_seconds"]
    assert variable["default"] == 60
    validation = only(variable["validation"])
    assert "var.event_timeout_seconds <= 3600" in validation["condition"]


def test_event_timeout_below_the_receivers_own_40_s_is_refused_with_the_reason() -> None:
    # Body deadline 10 s + Pub/Sub wait 10 s + inline handlers 20 s (docs/guarantees.md).
    validation = only(config()["variable"]["event_timeout_seconds"]["validation"])
    assert "var.event_timeout_seconds >= 40 " in validation["condition"]
    for reason in ("body deadline (10 s)", "Pub/Sub wait (10 s)", "inline handlers (20 s)"):
        assert reason in validation["error_message"]


# --- secrets ------------------------------------------------------------------------


def test_api_key_comes_from_a_secret_volume_at_latest() -> None:
    service = only(function("event")["service_config"])
    volume = only(service["secret_volumes"])
    assert volume["secret"] == "${google_secret_manager_secret.api_keys.secret_id}"
    version = only(volume["versions"])
    assert version["version"] == "latest"  # a new version rotates without a redeploy
    mount = config()["locals"]["api_keys_mount_path"]
    file_name = config()["locals"]["api_keys_file_name"]
    assert mount == "/etc/sonoran-keys"
    assert version["path"] == "${local.api_keys_file_name}"
    assert file_name == "api-keys"
    env = service["environment_variables"]
    assert (
        'SONORAN_API_KEYS_FILE = "${local.api_keys_mount_path}/${local.api_keys_file_name}"' in env
    )


def test_no_secret_value_passes_through_terraform() -> None:
    text = raw_text()
    # A secret version's data would be stored in plain text in the state.
    assert not resources("google_secret_manager_secret_version")
    assert not re.search(r"^\s*secret_data\s*=", text, re.MULTILINE)
    for name in ("event", "worker"):
        env = only(function(name)["service_config"])["environment_variables"]
        assert "SONORAN_API_KEYS =" not in env
        assert "DISCORD_WEBHOOK_URL" not in env
        assert "FORWARD_SECRET" not in env
    for name, body in config()["variable"].items():
        if re.search(r"key|secret|token|password|webhook", name):
            # Only switches: a credential never has a variable to hold it.
            assert body["type"] == "bool", name


def test_handler_credentials_are_secret_env_vars_not_plain_ones() -> None:
    secret_env = config()["locals"]["handler_secret_env"]
    assert "DISCORD_WEBHOOK_URL = google_secret_manager_secret.discord_webhook[0].secret_id" in (
        secret_env
    )
    assert "FORWARD_SECRET = google_secret_manager_secret.forward_secret[0].secret_id" in (
        secret_env
    )
    worker = only(function("worker")["service_config"])
    dynamic = only(worker["dynamic"])["secret_environment_variables"]
    assert dynamic["for_each"] == "${local.handler_secret_env}"
    assert only(dynamic["content"])["version"] == "latest"


def test_secrets_are_created_without_versions() -> None:
    secrets = resources("google_secret_manager_secret")
    assert {name for _, name in secrets} == {"api_keys", "discord_webhook", "forward_secret"}


# --- IAM ------------------------------------------------------------------------------


def test_public_invoke_is_on_the_event_function_service_only() -> None:
    public = {
        address: body for address, body in iam_members().items() if body["member"] in PUBLIC_MEMBERS
    }
    assert list(public) == [("google_cloud_run_v2_service_iam_member", "event_public")]
    grant = public[("google_cloud_run_v2_service_iam_member", "event_public")]
    assert grant["role"] == "roles/run.invoker"
    assert grant["name"] == "${google_cloudfunctions2_function.event.name}"
    for type_name in (
        "google_cloudfunctions2_function_iam_member",
        "google_cloudfunctions2_function_iam_binding",
        "google_cloud_run_service_iam_member",
        "google_cloud_run_service_iam_binding",
        "google_cloud_run_v2_service_iam_binding",
        "google_cloud_run_v2_service_iam_policy",
    ):
        assert not resources(type_name), type_name


def test_worker_is_private_and_invoked_only_by_the_push_account() -> None:
    worker = function("worker")
    assert "event_trigger" not in worker
    assert only(worker["build_config"])["entry_point"] == "sonorancad_worker"
    # Ingress cannot keep the worker private: the Cloud Run functions page does not count a
    # Pub/Sub push as internal (functions.tf quotes both pages). IAM does it instead.
    assert only(worker["service_config"])["ingress_settings"] == "ALLOW_ALL"
    invokers = [
        body
        for (type_name, _), body in iam_members().items()
        if type_name == "google_cloud_run_v2_service_iam_member"
        and body["name"] == "${google_cloudfunctions2_function.worker.name}"
    ]
    assert only(invokers)["member"] == "serviceAccount:${google_service_account.push.email}"
    assert only(invokers)["role"] == "roles/run.invoker"


def test_roles_are_granted_on_single_resources_never_project_wide() -> None:
    project_wide = {
        address: body
        for address, body in config()["resource"].items()
        if address[0].startswith(("google_project_iam", "google_folder_iam", "google_org"))
    }
    # Only the build account's two grants that no narrower resource takes (build.tf).
    assert set(project_wide) == {
        ("google_project_iam_member", "build_log_writer"),
        ("google_project_iam_member", "build_source_reader"),
    }
    for body in project_wide.values():
        assert body["member"] == "${local.build_service_account_member}"


def test_each_runtime_account_holds_exactly_its_grants() -> None:
    grants: dict[str, set[tuple[str, str]]] = {}
    for (type_name, _), body in iam_members().items():
        target = body.get("topic") or body.get("secret_id") or body.get("name")
        target = target or body.get("subscription") or body.get("service_account_id")
        grants.setdefault(body["member"], set()).add((type_name, f"{body['role']} on {target}"))

    event = "serviceAccount:${google_service_account.event.email}"
    assert grants[event] == {
        (
            "google_pubsub_topic_iam_member",
            "roles/pubsub.publisher on ${google_pubsub_topic.events.name}",
        ),
        (
            "google_pubsub_topic_iam_member",
            "roles/pubsub.publisher on ${google_pubsub_topic.quarantine.name}",
        ),
        (
            "google_secret_manager_secret_iam_member",
            "roles/secretmanager.secretAccessor on "
            "${google_secret_manager_secret.api_keys.secret_id}",
        ),
        # Only when a route is inline: for_each over the handlers' secrets.
        (
            "google_secret_manager_secret_iam_member",
            "roles/secretmanager.secretAccessor on ${each.value}",
        ),
    }
    worker = "serviceAccount:${google_service_account.worker.email}"
    assert grants[worker] == {
        (
            "google_secret_manager_secret_iam_member",
            "roles/secretmanager.secretAccessor on ${each.value}",
        )
    }
    push = "serviceAccount:${google_service_account.push.email}"
    assert grants[push] == {
        (
            "google_cloud_run_v2_service_iam_member",
            "roles/run.invoker on ${google_cloudfunctions2_function.worker.name}",
        )
    }


# --- Pub/Sub ----------------------------------------------------------------------------


def test_push_subscription_sends_an_oidc_token_to_the_worker() -> None:
    push = resource("google_pubsub_subscription", "worker_push")
    assert push["topic"] == "${google_pubsub_topic.events.id}"
    config_block = only(push["push_config"])
    worker_uri = "google_cloudfunctions2_function.worker.service_config[0].uri"
    assert config_block["push_endpoint"].startswith("${" + worker_uri + "}")
    token = only(config_block["oidc_token"])
    assert token["service_account_email"] == "${google_service_account.push.email}"
    assert token["audience"] == "${" + worker_uri + "}"


def test_dead_letter_policy_retry_policy_and_the_service_agent_grants_are_wired() -> None:
    push = resource("google_pubsub_subscription", "worker_push")
    policy = only(push["dead_letter_policy"])
    assert policy["dead_letter_topic"] == "${google_pubsub_topic.dead_letter.id}"
    assert policy["max_delivery_attempts"] == "${var.dead_letter_max_attempts}"
    retry = only(push["retry_policy"])
    assert retry["minimum_backoff"] == "10s"
    assert retry["maximum_backoff"] == "600s"

    # A dead-letter topic without a subscription drops what it gets.
    dead_sub = resource("google_pubsub_subscription", "dead_letter")
    assert dead_sub["topic"] == "${google_pubsub_topic.dead_letter.id}"
    assert only(dead_sub["expiration_policy"])["ttl"] == ""

    agent = config()["locals"]["pubsub_service_agent"]
    assert agent == '${time_sleep.pubsub_service_agent.triggers["member"]}'
    publisher = resource("google_pubsub_topic_iam_member", "dead_letter_publisher")
    assert publisher["topic"] == "${google_pubsub_topic.dead_letter.name}"
    assert publisher["role"] == "roles/pubsub.publisher"
    assert publisher["member"] == "${local.pubsub_service_agent}"
    subscriber = resource("google_pubsub_subscription_iam_member", "dead_letter_subscriber")
    assert subscriber["subscription"] == "${google_pubsub_subscription.worker_push.name}"
    assert subscriber["role"] == "roles/pubsub.subscriber"
    assert subscriber["member"] == "${local.pubsub_service_agent}"


def test_worker_deployed_as_http_takes_the_push_body_at_the_topic_path() -> None:
    # Deployed without event_trigger, the platform starts the worker with the http signature
    # type; the @cloud_event decorator wins, and functions-framework converts the push body.
    app = build_app(
        {"FUNCTION_SIGNATURE_TYPE": "http", "SONORAN_HANDLERS": "*=log"},
        target="sonorancad_worker",
    )
    event = CanonicalEvent.create("EVENT_911", sample_body("EVENT_911")["data"], server="1")
    push_body = {
        "message": {
            "data": base64.b64encode(event.message_bytes()).decode(),
            "attributes": event.attributes(),
            "messageId": "318",
            "publishTime": "2026-11-27T21:43:29.123Z",
        },
        "subscription": "projects/demo-project/subscriptions/sonorancad-worker-push",
    }
    endpoint_path = only(resource("google_pubsub_subscription", "worker_push")["push_config"])[
        "push_endpoint"
    ].split("}", 1)[1]
    assert endpoint_path == "/${google_pubsub_topic.events.id}"

    response = app.test_client().post(
        "/projects/demo-project/topics/sonorancad-events", json=push_body
    )

    assert response.status_code == 200


def test_ack_deadline_follows_the_worker_timeout() -> None:
    worker = only(function("worker")["service_config"])
    assert worker["timeout_seconds"] == "${local.worker_timeout_seconds}"
    push = resource("google_pubsub_subscription", "worker_push")
    assert push["ack_deadline_seconds"] == "${local.ack_deadline_seconds}"
    assert config()["locals"]["ack_deadline_seconds"] == "${local.worker_timeout_seconds}"


def test_pull_subscription_is_optional() -> None:
    pull = resource("google_pubsub_subscription", "pull")
    assert pull["count"] == "${var.create_pull_subscription ? 1 : 0}"
    assert pull["topic"] == "${google_pubsub_topic.events.id}"


# --- a fresh project: APIs first, the Pub/Sub service agent before its grants ------------


def test_every_api_the_deploy_calls_is_enabled_and_left_on_at_destroy() -> None:
    enabled = resource("google_project_service", "enabled")
    assert enabled["for_each"] == "${local.required_apis}"
    assert enabled["disable_on_destroy"] is False
    apis = re.findall(r'"([a-z]+\.googleapis\.com)"', config()["locals"]["required_apis"])
    assert set(apis) == REQUIRED_APIS


@pytest.mark.parametrize(
    "address",
    [
        ("google_service_account", "event"),
        ("google_service_account", "worker"),
        ("google_service_account", "push"),
        ("google_service_account", "build"),
        ("google_artifact_registry_repository", "functions"),
        ("google_project_service_identity", "pubsub"),
        ("google_pubsub_topic", "events"),
        ("google_pubsub_topic", "dead_letter"),
        ("google_pubsub_topic", "quarantine"),
        ("google_secret_manager_secret", "api_keys"),
        ("google_storage_bucket", "source"),
    ],
    ids="{0[0]}.{0[1]}".format,
)
def test_first_resources_wait_for_the_apis(address: tuple[str, str]) -> None:
    assert "${google_project_service.enabled}" in resource(*address)["depends_on"]


def test_pubsub_service_agent_is_created_before_any_grant_names_it() -> None:
    identity = resource("google_project_service_identity", "pubsub")
    assert identity["provider"] == "google-beta"
    assert identity["service"] == "pubsub.googleapis.com"
    agent_grants = {
        address: body
        for address, body in iam_members().items()
        if body["member"] == "${local.pubsub_service_agent}"
    }
    assert set(agent_grants) == {
        ("google_service_account_iam_member", "pubsub_push_token_creator"),
        ("google_pubsub_topic_iam_member", "dead_letter_publisher"),
        ("google_pubsub_subscription_iam_member", "dead_letter_subscriber"),
    }
    # Through the identity's member, Terraform orders every grant after the agent exists;
    # no grant may spell the agent's address out by hand.
    assert config()["locals"]["pubsub_service_agent"] == (
        '${time_sleep.pubsub_service_agent.triggers["member"]}'
    )
    for address, body in config()["resource"].items():
        assert "gcp-sa-pubsub" not in str(body), address
    assert "gcp-sa-pubsub" not in str(config()["locals"])


def test_grants_to_the_new_pubsub_service_agent_wait_until_iam_knows_it() -> None:
    # A brand-new service agent can be refused as "does not exist" for a while, and the
    # provider does not retry that: the grants read the member through a wait after it.
    wait = resource("time_sleep", "pubsub_service_agent")
    assert duration_seconds(wait["create_duration"]) >= 60
    assert wait["triggers"] == {"member": "${google_project_service_identity.pubsub.member}"}
    for address, body in iam_members().items():
        if "pubsub_service_agent" in str(body.get("member")):
            assert body["member"] == "${local.pubsub_service_agent}", address


def duration_seconds(text: str) -> int:
    """A time_sleep duration ("60s", "10m", "1m30s") in seconds."""
    units = {"h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+)([hms])", text)
    assert "".join(number + unit for number, unit in parts) == text, text
    return sum(int(number) * units[unit] for number, unit in parts)


def test_every_provider_a_resource_uses_is_declared_in_versions_tf() -> None:
    providers = set(only(only(_parse(TF_DIR / "versions.tf")["terraform"])["required_providers"]))
    used = {type_name.split("_", 1)[0] for type_name, _ in config()["resource"]}
    used |= {type_name.split("_", 1)[0] for type_name, _ in config()["data"]}
    assert used <= providers, used - providers


# --- the build: our own account and repository --------------------------------------------


def build_grants() -> dict[tuple[str, str], Block]:
    return {
        address: body
        for address, body in config()["resource"].items()
        if isinstance(body, dict) and body.get("member") == "${local.build_service_account_member}"
    }


def test_both_functions_build_as_the_dedicated_build_account() -> None:
    account = resource("google_service_account", "build")
    assert account["count"] == "${var.build_service_account_email == null ? 1 : 0}"
    assert account["account_id"] == "${var.name_prefix}-build"
    locals_ = config()["locals"]
    assert locals_["build_service_account_email"] == (
        "${(var.build_service_account_email != null ? var.build_service_account_email"
        " : google_service_account.build[0].email)}"
    )
    assert locals_["build_service_account_member"] == (
        "serviceAccount:${local.build_service_account_email}"
    )
    assert locals_["build_service_account"] == (
        "projects/${var.project_id}/serviceAccounts/${local.build_service_account_email}"
    )
    for name in ("event", "worker"):
        build = only(function(name)["build_config"])
        assert build["service_account"] == "${local.build_service_account}"
    assert config()["variable"]["build_service_account_email"]["default"] is None


def test_build_account_holds_the_documented_roles_each_on_the_narrowest_resource() -> None:
    grants = {address[0]: body for address, body in build_grants().items()}
    assert set(build_grants()) == {
        ("google_project_iam_member", "build_log_writer"),
        ("google_artifact_registry_repository_iam_member", "build_image_writer"),
        ("google_project_iam_member", "build_source_reader"),
    }
    log_writer = resource("google_project_iam_member", "build_log_writer")
    assert log_writer["role"] == "roles/logging.logWriter"  # no narrower resource takes it
    assert "condition" not in log_writer
    image_writer = grants["google_artifact_registry_repository_iam_member"]
    assert image_writer["role"] == "roles/artifactregistry.writer"
    assert image_writer["repository"] == "${google_artifact_registry_repository.functions.name}"
    reader = resource("google_project_iam_member", "build_source_reader")
    assert reader["role"] == "roles/storage.objectViewer"
    # Only the bucket Cloud Functions copies each function's source to.
    assert only(reader["condition"])["expression"] == (
        'resource.name.startsWith("projects/_/buckets/${local.function_sources_bucket}")'
    )
    assert config()["locals"]["function_sources_bucket"] == (
        "gcf-v2-sources-${data.google_project.this.number}-${var.region}"
    )


def test_functions_wait_until_the_grants_have_propagated() -> None:
    wait = resource("time_sleep", "iam_propagation")
    assert wait["create_duration"] == "60s"
    assert wait["triggers"] == {"build_service_account": "${local.build_service_account_email}"}
    assert {
        "${google_project_iam_member.build_log_writer}",
        "${google_artifact_registry_repository_iam_member.build_image_writer}",
        "${google_project_iam_member.build_source_reader}",
    } <= set(wait["depends_on"])
    for name in ("event", "worker"):
        assert "${time_sleep.iam_propagation}" in function(name)["depends_on"]


def test_images_go_to_our_repository_whose_cleanup_keeps_the_latest_few() -> None:
    repository = resource("google_artifact_registry_repository", "functions")
    assert repository["format"] == "DOCKER"
    assert repository["location"] == "${var.region}"  # cross-location is not supported
    assert repository["repository_id"] == "${var.name_prefix}-functions"
    assert repository["cleanup_policy_dry_run"] is False
    policies = {policy["id"]: policy for policy in repository["cleanup_policies"]}
    delete, keep = policies["delete-older-than-a-day"], policies["keep-most-recent"]
    assert delete["action"] == "DELETE"
    assert only(delete["condition"]) == {"tag_state": "ANY", "older_than": "86400s"}
    assert keep["action"] == "KEEP"
    assert only(keep["most_recent_versions"]) == {"keep_count": "${local.images_kept}"}
    assert int(config()["locals"]["images_kept"]) >= 2
    for name in ("event", "worker"):
        build = only(function(name)["build_config"])
        assert build["docker_repository"] == "${google_artifact_registry_repository.functions.id}"


# --- quarantine ------------------------------------------------------------------------------


def test_quarantine_topic_and_its_pull_subscription_keep_refused_events() -> None:
    topic = resource("google_pubsub_topic", "quarantine")
    assert topic["name"] == "${var.name_prefix}-quarantine"
    assert topic["message_retention_duration"] == "2678400s"  # 31 days, the most Pub/Sub allows
    pull = resource("google_pubsub_subscription", "quarantine_pull")
    assert pull["name"] == "${var.name_prefix}-quarantine-pull"
    assert pull["topic"] == "${google_pubsub_topic.quarantine.id}"
    assert pull["message_retention_duration"] == "604800s"
    assert only(pull["expiration_policy"])["ttl"] == ""
    assert "push_config" not in pull


def test_event_function_may_publish_to_the_quarantine_topic_and_knows_it() -> None:
    env = only(function("event")["service_config"])["environment_variables"]
    assert "PUBSUB_QUARANTINE_TOPIC = google_pubsub_topic.quarantine.id" in env
    grant = resource("google_pubsub_topic_iam_member", "event_quarantine_publisher")
    assert grant["topic"] == "${google_pubsub_topic.quarantine.name}"
    assert grant["role"] == "roles/pubsub.publisher"
    assert grant["member"] == "serviceAccount:${google_service_account.event.email}"
    assert (
        "${google_pubsub_topic_iam_member.event_quarantine_publisher}"
        in (function("event")["depends_on"])
    )
    worker_env = only(function("worker")["service_config"])["environment_variables"]
    assert "PUBSUB_QUARANTINE_TOPIC" not in worker_env


# --- source --------------------------------------------------------------------------------


# Files of `make stack` and its console, which no deploy path may take.
LOCAL_STACK_SAMPLE = (
    "local_stack/supervisor.py",
    "local_stack/console/app.py",
    "local_stack/console/templates/index.html",
    "local_stack/console/static/console.js",
)


def archive_files() -> list[str]:
    """What Terraform's fileset() puts in the archive, from source.tf's own lists."""
    locals_ = config()["locals"]
    assert locals_["source_files"] == (
        "${sort(concat(local.source_top_files, flatten([for package in local.source_packages"
        ' : tolist(fileset(local.repo_root, "${package}/**/*.py"))])))}'
    )
    packaged = [
        path.relative_to(ROOT).as_posix()
        for package in locals_["source_packages"]
        for path in (ROOT / package).rglob("*.py")
    ]
    return sorted([*locals_["source_top_files"], *packaged])


def test_source_archive_holds_only_what_the_functions_run() -> None:
    files = archive_files()
    assert {"main.py", "requirements.txt", "sonoran_receiver/receiving/flow.py"} <= set(files)
    assert "handlers/__init__.py" in files
    for path in files:
        top = path.split("/", 1)[0]
        assert top in {"main.py", "requirements.txt", "sonoran_receiver", "handlers"}, path
        assert "__pycache__" not in path, path
        assert path.endswith(".py") or path == "requirements.txt", path
    for left_out in ("README.md", "Makefile", ".env", ".env.example", ".gcloudignore"):
        assert left_out not in files
    # local_stack/: `make stack` and its console, a local tool that is never deployed.
    for directory in (
        "docs/",
        "tests/",
        "deploy/",
        "bench/",
        ".venv",
        ".git/",
        "schemas/",
        "local_stack/",
    ):
        assert not any(path.startswith(directory) for path in files), directory


def test_nothing_the_packages_hold_is_left_out_of_the_archive() -> None:
    # The allow-list takes .py files: a data file added to a package must be added to it.
    for package in config()["locals"]["source_packages"]:
        for path in (ROOT / package).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                assert path.suffix == ".py", path


def test_the_archived_code_imports_nothing_of_this_repository_left_out() -> None:
    local_modules = {path.stem for path in ROOT.iterdir() if path.suffix == ".py" or path.is_dir()}
    archived = {path.split("/", 1)[0].removesuffix(".py") for path in archive_files()}
    for path in archive_files():
        if not path.endswith(".py"):
            continue
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".", 1)[0]
                assert top not in local_modules or top in archived, f"{path} imports {name}"


def test_archive_is_built_from_the_allow_list_and_named_by_its_hash() -> None:
    archive = config()["data"][("archive_file", "source")]
    assert "source_dir" not in archive
    block = only(archive["dynamic"])["source"]
    assert block["for_each"] == "${toset(local.source_files)}"
    assert only(block["content"]) == {
        "content": '${file("${local.repo_root}/${source.value}")}',
        "filename": "${source.value}",
    }
    source = resource("google_storage_bucket_object", "source")
    assert "${data.archive_file.source.output_sha256}" in source["name"]
    for name in ("event", "worker"):
        storage = only(only(only(function(name)["build_config"])["source"])["storage_source"])
        assert storage["object"] == "${google_storage_bucket_object.source.name}"
        assert "generation" not in storage  # permadiff, terraform-provider-google#15405


def test_gcloudignore_allows_exactly_the_archive_files(tmp_path: Path) -> None:
    # gcloud "very closely mimics the semantics of Git's gitignore file" (its gcloudignore.py):
    # git itself reads the file here, over a copy of the checkout's paths.
    left_out = ["README.md", ".env", "docs/deploy.md", "tests/test_x.py", *LOCAL_STACK_SAMPLE]
    for path in [*archive_files(), *left_out]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).touch()
    (tmp_path / "sonoran_receiver" / "__pycache__").mkdir()
    (tmp_path / "sonoran_receiver" / "__pycache__" / "receiver.cpython-312.pyc").touch()
    (tmp_path / ".gitignore").write_text(
        (ROOT / ".gcloudignore").read_text(encoding="utf-8"), encoding="utf-8"
    )
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    listed = subprocess.run(
        ["git", "-C", str(tmp_path), "ls-files", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert sorted(listed) == archive_files()


# --- outputs -------------------------------------------------------------------------------


def test_outputs_give_the_url_to_paste_and_the_pubsub_names() -> None:
    outputs = config()["output"]
    uri = "${google_cloudfunctions2_function.event.service_config[0].uri}"
    assert outputs["event_url"]["value"] == uri + "/sonorancad/event"
    assert outputs["forward_url_server_1"]["value"] == uri + "/sonorancad/event?server=1"
    assert outputs["topic"]["value"] == "${google_pubsub_topic.events.id}"
    assert outputs["worker_subscription"]["value"] == "${google_pubsub_subscription.worker_push.id}"
    assert outputs["dead_letter_topic"]["value"] == "${google_pubsub_topic.dead_letter.id}"
    assert outputs["quarantine_topic"]["value"] == "${google_pubsub_topic.quarantine.id}"
    assert outputs["quarantine_subscription"]["value"] == (
        "${google_pubsub_subscription.quarantine_pull.id}"
    )
    assert outputs["build_service_account"]["value"] == "${local.build_service_account_email}"
    assert "dead_letter_subscription" in outputs
    assert "pull_subscription" in outputs


def test_no_output_offers_the_function_url_for_the_cad_panel() -> None:
    # The CAD panel takes an IP and a port, never a URL
    # (docs/reference/contract.md "Who sends what").
    assert "cad_server_address" not in config()["output"]
    assert "cad_server_address" not in raw_text()
    assert "cad_server_address" not in deploy_section()


# --- checkov skips ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(TF_DIR.glob("*.tf")), ids=lambda path: path.name)
def test_every_checkov_skip_says_why(path: Path) -> None:
    for line in path.read_text(encoding="utf-8").splitlines():
        if "checkov:skip" in line:
            assert re.fullmatch(r"\s*#checkov:skip=CKV2?_[A-Z]+_\d+:\S.{30,}", line), line


# --- the README's Deploy section ----------------------------------------------------------


def deploy_section() -> str:
    return (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")


def test_readme_names_real_outputs_targets_and_variables() -> None:
    section = deploy_section()
    named_outputs = set(re.findall(r"terraform (?:-chdir=\S+ )?output (?:-raw )?(\w+)", section))
    named_outputs |= set(re.findall(r"`terraform output (\w+)", section))
    assert named_outputs
    assert named_outputs <= set(config()["output"])
    targets = re.findall(r"-target=(\w+)\.(\w+)", section)
    assert targets
    for address in targets:
        assert address in config()["resource"], address
    for variable in re.findall(r"`(\w+) = ", section):
        assert variable in config()["variable"], variable


def test_worker_ingress_is_argued_from_cloud_runs_ingress_page_on_both_paths() -> None:
    # A gen2 function is a Cloud Run service: Cloud Run's page is the authority, not the
    # 1st gen Cloud Functions page the comments once quoted.
    functions = (TF_DIR / "functions.tf").read_text(encoding="utf-8")
    worker = functions.split('resource "google_cloudfunctions2_function" "worker"', 1)[1]
    script = (ROOT / "deploy" / "gcloud.sh").read_text(encoding="utf-8")
    for text in (worker, script):
        assert "https://cloud.google.com/run/docs/securing/ingress" in text
        assert "1st gen" not in text
    assert only(function("worker")["service_config"])["ingress_settings"] == "ALLOW_ALL"
