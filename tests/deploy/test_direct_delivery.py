"""Direct delivery: a static IP on plain HTTP port 80 in front of the event function.

The Terraform is read as HCL (`terraform validate` needs the provider, which cannot be
downloaded here); the gcloud path runs `deploy/gcloud.sh --dry-run` with a `gcloud` that
only records calls; the guide's promises about an event arriving both ways run on the real app.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import flask
import hcl2
import pytest
import yaml
from hcl2.utils import SerializationOptions

from sonoran_receiver.config import Settings
from sonoran_receiver.publishing.message import content_key
from tests.support.app import EVENT_PATH, ROOT, TEST_KEY
from tests.support.bodies import EVENT_911_DATA
from tests.support.deploy import (
    Command,
    flags,
    printed_commands,
    recording_gcloud,
    run_gcloud_script,
)

TF_FILE = ROOT / "deploy" / "terraform" / "direct_delivery.tf"
GUIDE = ROOT / "docs" / "direct-delivery.md"
PROJECT = "demo-project"
PREFIX = "sonorancad"

Block = dict[str, Any]

# Terraform resource type -> the gcloud command group that creates the same thing.
GCLOUD_GROUP = {
    "google_compute_global_address": "addresses",
    "google_compute_region_network_endpoint_group": "network-endpoint-groups",
    "google_compute_security_policy": "security-policies",
    "google_compute_backend_service": "backend-services",
    "google_compute_url_map": "url-maps",
    "google_compute_target_http_proxy": "target-http-proxies",
    "google_compute_global_forwarding_rule": "forwarding-rules",
}
ABORT_404 = {"fault_injection_policy": [{"abort": [{"http_status": 404, "percentage": 100}]}]}


# --- reading the HCL -------------------------------------------------------------------


@cache
def hcl() -> dict[str, Any]:
    options = SerializationOptions(
        with_comments=False, explicit_blocks=False, strip_string_quotes=True
    )
    with TF_FILE.open(encoding="utf-8") as handle:
        parsed: dict[str, Any] = hcl2.load(handle, serialization_options=options)
    return parsed


def resources() -> dict[tuple[str, str], Block]:
    return {
        (type_name, name): body
        for entry in hcl()["resource"]
        for type_name, named in entry.items()
        for name, body in named.items()
    }


def resource(type_name: str) -> Block:
    return resources()[(type_name, "direct_delivery")]


def variable(name: str) -> Block:
    merged = {key: body for entry in hcl()["variable"] for key, body in entry.items()}
    block: Block = merged[name]
    return block


def local(name: str) -> Any:
    merged = {key: value for entry in hcl()["locals"] for key, value in entry.items()}
    return merged[name]


def output(name: str) -> Block:
    merged = {key: body for entry in hcl()["output"] for key, body in entry.items()}
    block: Block = merged[name]
    return block


def only(blocks: list[Block]) -> Block:
    assert len(blocks) == 1, blocks
    return blocks[0]


def ref(expression: str) -> str:
    return "${" + expression + "}"


def terraform_name(type_name: str) -> str:
    name: str = resource(type_name)["name"]
    return name.replace(ref("var.name_prefix"), PREFIX)


# --- running the gcloud script ----------------------------------------------------------------


def run_script(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`deploy/gcloud.sh --dry-run` with a `gcloud` on PATH that records any call."""
    return run_gcloud_script(
        "--dry-run", "--project", PROJECT, *args, env=recording_gcloud(tmp_path)
    )


def dry_run(*args: str, tmp_path: Path) -> list[str]:
    finished = run_script(*args, tmp_path=tmp_path)
    assert finished.returncode == 0, finished.stderr
    assert not (tmp_path / "gcloud-called").exists()
    return finished.stdout.splitlines()


def commands(lines: list[str]) -> list[Command]:
    return printed_commands("\n".join(lines))


def position(found: list[Command], *prefix: str) -> int:
    """Index of the one command starting with `prefix`."""
    matches = [index for index, command in enumerate(found) if command[: len(prefix)] == [*prefix]]
    assert len(matches) == 1, (prefix, matches)
    return matches[0]


def command(found: list[Command], *prefix: str) -> Command:
    return found[position(found, *prefix)]


def imported_url_map(lines: list[str]) -> dict[str, Any]:
    """The URL map YAML the dry run prints, as comment lines, under its import command."""
    start = next(i for i, line in enumerate(lines) if line.startswith("gcloud compute url-maps"))
    body = []
    for line in lines[start + 1 :]:
        if not line.startswith("#   "):
            break
        body.append(line.removeprefix("#   "))
    parsed: dict[str, Any] = yaml.safe_load("\n".join(body))
    return parsed


# --- Terraform: off by default, every resource behind the switch ------------------------------


def test_direct_delivery_is_off_by_default() -> None:
    assert variable("enable_direct_delivery")["type"] == "bool"
    assert variable("enable_direct_delivery")["default"] is False
    assert variable("direct_delivery_rate_limit")["default"] is False
    assert local("direct_delivery_count") == ref("var.enable_direct_delivery ? 1 : 0")
    assert local("direct_delivery_throttle") == ref(
        "var.enable_direct_delivery && var.direct_delivery_rate_limit ? 1 : 0"
    )


def test_every_resource_is_count_gated_on_the_switch() -> None:
    assert resources()
    for address, body in resources().items():
        assert body["count"] in {
            ref("local.direct_delivery_count"),
            ref("local.direct_delivery_throttle"),
        }, address


def test_compute_api_is_enabled_with_it_and_never_disabled_on_destroy() -> None:
    service = resources()[("google_project_service", "compute")]
    assert service["service"] == "compute.googleapis.com"
    assert service["disable_on_destroy"] is False
    for type_name in (
        "google_compute_global_address",
        "google_compute_region_network_endpoint_group",
        "google_compute_security_policy",
    ):
        assert resource(type_name)["depends_on"] == [ref("google_project_service.compute")]


# --- Terraform: the pieces and their wiring ----------------------------------------------------


def test_address_is_a_global_external_ipv4() -> None:
    address = resource("google_compute_global_address")
    assert address["address_type"] == "EXTERNAL"
    assert address["ip_version"] == "IPV4"


def test_neg_is_serverless_and_points_at_the_event_functions_cloud_run_service() -> None:
    neg = resource("google_compute_region_network_endpoint_group")
    assert neg["network_endpoint_type"] == "SERVERLESS"
    # The Cloud Run kind serves gen2 functions; the cloud_function kind is 1st gen only.
    assert only(neg["cloud_run"])["service"] == ref("google_cloudfunctions2_function.event.name")
    assert "cloud_function" not in neg
    assert neg["region"] == ref("google_cloudfunctions2_function.event.location")


def test_backend_service_is_external_managed_on_the_neg_without_health_checks() -> None:
    backend = resource("google_compute_backend_service")
    assert backend["load_balancing_scheme"] == "EXTERNAL_MANAGED"
    assert only(backend["backend"])["group"] == ref(
        "google_compute_region_network_endpoint_group.direct_delivery[0].id"
    )
    # A serverless NEG backend takes no health check, timeout or port name.
    assert not {"health_checks", "timeout_sec", "port_name"} & set(backend)
    assert only(backend["log_config"])["enable"] is True


def test_url_map_sends_only_the_event_path_to_the_function_and_answers_404_otherwise() -> None:
    url_map = resource("google_compute_url_map")
    backend = ref("google_compute_backend_service.direct_delivery[0].id")
    assert url_map["default_service"] == backend
    assert only(url_map["default_route_action"]) == ABORT_404
    assert only(url_map["host_rule"]) == {"hosts": ["*"], "path_matcher": "event"}
    matcher = only(url_map["path_matcher"])
    assert matcher["name"] == "event"
    assert only(matcher["default_route_action"]) == ABORT_404
    rule = only(matcher["path_rule"])
    assert rule == {"paths": ref("local.direct_delivery_paths"), "service": backend}
    assert local("direct_delivery_paths") == [EVENT_PATH, EVENT_PATH + "/"]
    assert "default_url_redirect" not in url_map  # a redirect cannot answer 404
    test = only(url_map["test"])
    assert (test["path"], test["service"]) == (EVENT_PATH, backend)


def test_forwarding_rule_listens_on_port_80_of_the_address_through_the_http_proxy() -> None:
    proxy = resource("google_compute_target_http_proxy")
    assert proxy["url_map"] == ref("google_compute_url_map.direct_delivery[0].id")
    rule = resource("google_compute_global_forwarding_rule")
    assert rule["port_range"] == ref("tostring(local.direct_delivery_port)")
    assert local("direct_delivery_port") == 80
    assert rule["load_balancing_scheme"] == "EXTERNAL_MANAGED"
    assert rule["ip_protocol"] == "TCP"
    assert rule["ip_address"] == ref("google_compute_global_address.direct_delivery[0].id")
    assert rule["target"] == ref("google_compute_target_http_proxy.direct_delivery[0].id")
    assert not resources().get(("google_compute_target_https_proxy", "direct_delivery"))


def test_rate_limit_is_a_per_ip_throttle_answering_429_attached_to_the_backend() -> None:
    policy = resource("google_compute_security_policy")
    assert policy["count"] == ref("local.direct_delivery_throttle")
    throttle, default = sorted(policy["rule"], key=lambda rule: rule["priority"])
    assert throttle["action"] == "throttle"
    options = only(throttle["rate_limit_options"])
    assert options["conform_action"] == "allow"
    assert options["exceed_action"] == "deny(429)"
    assert options["enforce_on_key"] == "IP"
    threshold = only(options["rate_limit_threshold"])
    assert threshold == {
        "count": ref("var.direct_delivery_rate_limit_per_minute"),
        "interval_sec": 60,
    }
    # Every policy needs the default rule: lowest priority, matching every address.
    assert (default["priority"], default["action"]) == (2147483647, "allow")
    assert only(only(default["match"])["config"])["src_ip_ranges"] == ["*"]
    backend = resource("google_compute_backend_service")
    policy_id = "one(google_compute_security_policy.direct_delivery[*].id)"
    assert backend["security_policy"] == ref(policy_id)


def test_default_rate_is_generous_for_one_cad_and_validated() -> None:
    per_minute = variable("direct_delivery_rate_limit_per_minute")
    assert per_minute["default"] == 600
    assert per_minute["validation"]


def test_outputs_give_the_ip_and_the_game_port_to_type_in_the_panel() -> None:
    assert output("direct_delivery_ip")["value"] == ref(
        "one(google_compute_global_address.direct_delivery[*].address)"
    )
    assert output("direct_delivery_game_port")["value"] == ref(
        "var.enable_direct_delivery ? local.direct_delivery_port : null"
    )
    address = ref("google_compute_global_address.direct_delivery[0].address")
    assert f"http://{address}/sonorancad/event" in output("direct_delivery_check_url")["value"]


# --- the receiver serves every path the load balancer forwards ---------------------------------


@pytest.mark.parametrize("path", [EVENT_PATH, EVENT_PATH + "/", EVENT_PATH + "?server=1"])
def test_every_path_the_load_balancer_forwards_is_served_by_the_receiver(
    client: flask.testing.FlaskClient, path: str
) -> None:
    body = json.dumps({"key": TEST_KEY, "type": "EVENT_911", "data": EVENT_911_DATA})
    assert Settings.model_fields["event_path"].default == EVENT_PATH
    assert client.post(path, data=body).status_code == 200
    assert client.get(path).get_data(as_text=True).startswith("ok")  # the admin's browser check


def test_event_arriving_both_ways_is_two_events_with_one_content_key(
    make_app: Callable[..., flask.Flask], tmp_path: Path
) -> None:
    sink = tmp_path / "sink.jsonl"
    client = make_app(LOCAL_SINK_FILE=str(sink)).test_client()
    # The CAD posts its raw body to the load balancer; the resource forwards the websocket
    # copy re-serialised (other key order and spacing) to the function URL with ?server=1.
    direct = json.dumps({"key": TEST_KEY, "type": "EVENT_911", "data": EVENT_911_DATA})
    forwarded = json.dumps(
        {"data": EVENT_911_DATA, "type": "EVENT_911", "key": TEST_KEY}, indent=2, sort_keys=True
    )

    first = client.post(EVENT_PATH, data=direct)
    second = client.post(EVENT_PATH + "?server=1", data=forwarded)

    assert first.status_code == second.status_code == 200
    assert first.get_json()["id"] != second.get_json()["id"]
    direct_copy, forwarded_copy = (json.loads(line) for line in sink.read_text().splitlines())
    assert direct_copy["attributes"]["content_key"] == forwarded_copy["attributes"]["content_key"]
    assert direct_copy["attributes"]["content_key"] == content_key(
        "EVENT_911", direct_copy["data"]["data"]
    )
    assert direct_copy["attributes"]["event_id"] != forwarded_copy["attributes"]["event_id"]
    assert "server" not in direct_copy["attributes"]
    assert direct_copy["data"]["server"] is None
    assert forwarded_copy["attributes"]["server"] == "1"


# --- gcloud: the same resources, in a working order -------------------------------------------


def test_gcloud_without_the_option_creates_no_load_balancer(tmp_path: Path) -> None:
    found = commands(dry_run(tmp_path=tmp_path))
    assert not [word for command in found for word in command if word == "compute"]


def test_gcloud_dry_run_creates_the_terraform_resources_with_the_same_names(
    tmp_path: Path,
) -> None:
    found = commands(
        dry_run("--with-direct-delivery", "--with-direct-delivery-rate-limit", tmp_path=tmp_path)
    )
    for type_name, group in GCLOUD_GROUP.items():
        verb = "import" if group == "url-maps" else "create"
        assert command(found, "gcloud", "compute", group, verb)[4] == terraform_name(type_name)
    created = {command[2] for command in found if command[:2] == ["gcloud", "compute"]}
    assert created == set(GCLOUD_GROUP.values())


def test_gcloud_dry_run_creates_them_in_a_working_order(tmp_path: Path) -> None:
    found = commands(
        dry_run("--with-direct-delivery", "--with-direct-delivery-rate-limit", tmp_path=tmp_path)
    )

    def at(*words: str) -> int:
        return position(found, "gcloud", *words)

    event_deploy = at("functions", "deploy", f"{PREFIX}-event")
    compute_api = at("services", "enable", "compute.googleapis.com")
    order = [
        at("compute", "addresses", "create"),
        at("compute", "network-endpoint-groups", "create"),
        at("compute", "backend-services", "create"),
        at("compute", "backend-services", "add-backend"),
        at("compute", "security-policies", "create"),
        at("compute", "security-policies", "rules", "create"),
        at("compute", "backend-services", "update"),
        at("compute", "url-maps", "import"),
        at("compute", "target-http-proxies", "create"),
        at("compute", "forwarding-rules", "create"),
    ]
    # The NEG names the function's Cloud Run service, which exists once the function does.
    assert event_deploy < compute_api < order[0]
    assert order == sorted(order)


def test_gcloud_wires_each_piece_to_the_next(tmp_path: Path) -> None:
    found = commands(
        dry_run("--with-direct-delivery", "--with-direct-delivery-rate-limit", tmp_path=tmp_path)
    )
    neg = flags(command(found, "gcloud", "compute", "network-endpoint-groups", "create"))
    assert neg["--network-endpoint-type"] == "serverless"
    assert neg["--cloud-run-service"] == f"{PREFIX}-event"
    assert neg["--region"] == "us-central1"
    backend = flags(command(found, "gcloud", "compute", "backend-services", "create"))
    assert backend["--load-balancing-scheme"] == "EXTERNAL_MANAGED"
    attach = flags(command(found, "gcloud", "compute", "backend-services", "add-backend"))
    assert attach["--network-endpoint-group"] == f"{PREFIX}-event-neg"
    assert attach["--network-endpoint-group-region"] == "us-central1"
    proxy = flags(command(found, "gcloud", "compute", "target-http-proxies", "create"))
    assert proxy["--url-map"] == f"{PREFIX}-direct"
    rule = flags(command(found, "gcloud", "compute", "forwarding-rules", "create"))
    assert rule["--ports"] == "80"
    assert rule["--load-balancing-scheme"] == "EXTERNAL_MANAGED"
    assert rule["--address"] == f"{PREFIX}-direct-ip"
    assert rule["--target-http-proxy"] == f"{PREFIX}-direct-proxy"


def test_gcloud_url_map_is_the_terraform_url_map(tmp_path: Path) -> None:
    url_map = imported_url_map(dry_run("--with-direct-delivery", tmp_path=tmp_path))
    backend = f"projects/{PROJECT}/global/backendServices/{PREFIX}-event-backend"
    abort = {"faultInjectionPolicy": {"abort": {"httpStatus": 404, "percentage": 100}}}
    assert url_map["defaultService"] == backend
    assert url_map["defaultRouteAction"] == abort
    assert url_map["hostRules"] == [{"hosts": ["*"], "pathMatcher": "event"}]
    (matcher,) = url_map["pathMatchers"]
    assert matcher["defaultRouteAction"] == abort
    assert matcher["pathRules"] == [{"paths": local("direct_delivery_paths"), "service": backend}]


def test_gcloud_rate_limit_throttles_each_ip_with_429_on_the_backend(tmp_path: Path) -> None:
    found = commands(
        dry_run(
            "--with-direct-delivery",
            "--with-direct-delivery-rate-limit",
            "--direct-delivery-rate-limit-per-minute",
            "900",
            tmp_path=tmp_path,
        )
    )
    rule = command(found, "gcloud", "compute", "security-policies", "rules", "create")
    options = flags(rule)
    assert rule[5] == "1000"
    assert options["--action"] == "throttle"
    assert options["--exceed-action"] == "deny-429"
    assert options["--enforce-on-key"] == "IP"
    assert options["--rate-limit-threshold-count"] == "900"
    assert options["--rate-limit-threshold-interval-sec"] == "60"
    update = flags(command(found, "gcloud", "compute", "backend-services", "update"))
    assert update["--security-policy"] == f"{PREFIX}-direct-rate-limit"

    without = commands(dry_run("--with-direct-delivery", tmp_path=tmp_path))
    assert not [c for c in without if c[:3] == ["gcloud", "compute", "security-policies"]]


def test_gcloud_refuses_a_rate_limit_without_direct_delivery_or_out_of_range(
    tmp_path: Path,
) -> None:
    alone = run_script("--with-direct-delivery-rate-limit", tmp_path=tmp_path)
    assert alone.returncode == 2
    assert "--with-direct-delivery" in alone.stderr
    too_low = run_script(
        "--with-direct-delivery", "--direct-delivery-rate-limit-per-minute", "5", tmp_path=tmp_path
    )
    assert too_low.returncode == 2


def test_gcloud_script_ends_with_the_ip_and_game_port_to_type(tmp_path: Path) -> None:
    tail = dry_run("--with-direct-delivery", tmp_path=tmp_path)[-6:]
    text = "\n".join(tail)
    assert re.search(r"IP:\s+DIRECT_DELIVERY_IP", text)
    assert re.search(r"Game Port:\s+80$", text, re.MULTILINE)
    assert "http://DIRECT_DELIVERY_IP/sonorancad/event" in text


# --- the guide --------------------------------------------------------------------------------


def test_guide_names_real_variables_outputs_options_and_resources(tmp_path: Path) -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    variables = {key for entry in hcl()["variable"] for key in entry}
    outputs = {key for entry in hcl()["output"] for key in entry}
    for name in re.findall(r"^#? ?(\w+)\s+= ", guide, re.MULTILINE):
        assert name in variables, name
    for name in re.findall(r"terraform output (\w+)", guide):
        assert name in outputs, name
    usage = run_script("--help", tmp_path=tmp_path).stdout
    for option in set(re.findall(r"--(?:with-)?direct-delivery[\w-]*", guide)):
        assert option in usage, option
    # The delete commands name exactly the resources the deploy creates.
    deleted = dict(re.findall(r"gcloud compute ([\w-]+) delete (\S+)", guide))
    assert deleted == {group: terraform_name(t) for t, group in GCLOUD_GROUP.items()}


def test_guide_has_the_monthly_cost_table_with_its_sources() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    costs = guide.split("## What it costs a month", 1)[1].split("\n## ", 1)[0]
    assert "$0.025 an hour" in costs
    assert "$18.25" in costs
    for page in ("load-balancing/pricing", "vpc/network-pricing", "armor/pricing"):
        assert f"https://cloud.google.com/{page}" in costs
