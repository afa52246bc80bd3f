"""Every log-based metric counts lines the real receiver and worker write.

The metrics of `deploy/monitoring/metric-*.json` are computed by Cloud Logging from our JSON
lines; a filter naming a message nobody writes would count zero forever and its alert would
never fire. So this runs the real HTTP function and the real worker (functions-framework
subprocesses, the Pub/Sub emulator) through every situation a metric counts: an accepted
event, a probe, a wrong key, an event the models refuse (quarantined), a handler that fails
inline and in the worker, and a publish to a stopped emulator. It keeps their stdout, turns
each JSON line into the entry Cloud Logging stores on Cloud Run, and runs each metric's
filter and extractors on all of them.

The quarantine line (`event quarantined`) and the `topic_kind` field of publish failures
came with the quarantine work (docs/reference/contract.md "Quarantine").
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from sonoran_receiver.config import WORKER_TARGET
from tests.support.app import event_env
from tests.support.bodies import EVENT_911_DATA, envelope
from tests.support.emulator import PROJECT, PubSubEmulator, TestTopic, require_emulator
from tests.support.monitoring import (
    LogEntry,
    LogFilter,
    alert_definitions,
    definition,
    extract,
    filters,
    metric_definitions,
)
from tests.support.server import RunningServer, free_port, start_server

pytestmark = [pytest.mark.emulator, pytest.mark.server]

EVENT_SERVICE = "sonorancad-event"
WORKER_SERVICE = "sonorancad-worker"
# A Discord webhook on a port nobody listens on: the handler fails at once, every time.
DEAD_WEBHOOK = f"http://127.0.0.1:{free_port()}/api/webhooks/1/closed"
# A request without ?server= has no `server` field, so its label is empty.
OPTIONAL_LABELS = {"server"}


@dataclass(frozen=True)
class Captured:
    entries: list[LogEntry]
    """Every JSON line both functions wrote, as Cloud Logging stores it."""

    def with_message(self, message: str) -> list[LogEntry]:
        return [entry for entry in self.entries if entry.message == message]

    def matching(self, log_filter: str) -> list[LogEntry]:
        parsed = LogFilter(log_filter)
        return [entry for entry in self.entries if parsed.matches(entry)]


def _entries(server: RunningServer, service: str) -> list[LogEntry]:
    entries = []
    for line in server.output().splitlines():
        try:
            parsed = json.loads(line)
        except ValueError:
            continue  # gunicorn's own lines
        if isinstance(parsed, dict) and "severity" in parsed and "message" in parsed:
            entries.append(LogEntry.from_line(parsed, service))
    return entries


def _push_body(message: Any) -> bytes:
    """What a Pub/Sub push subscription POSTs to the worker for `message`."""
    return json.dumps(
        {
            "message": {
                "data": base64.b64encode(message.data).decode("ascii"),
                "attributes": dict(message.attributes),
                "messageId": message.message_id,
            },
            "subscription": f"projects/{PROJECT}/subscriptions/sonorancad-worker-push",
        }
    ).encode("utf-8")


@pytest.fixture(scope="module")
def captured(
    pubsub_emulator: PubSubEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Captured]:
    logs = tmp_path_factory.mktemp("monitoring-lines")
    events = pubsub_emulator.new_topic()
    quarantine = pubsub_emulator.new_topic()
    started: list[RunningServer] = []

    def start(env: dict[str, str], name: str, **kwargs: Any) -> RunningServer:
        server = start_server(env, logs / f"{name}.log", **kwargs)
        started.append(server)
        return server

    try:
        receiver = start(
            event_env(
                **events.env(),
                PUBSUB_QUARANTINE_TOPIC=quarantine.name,
                SONORAN_ROUTES="*=inline+publish,GET_LOGS=drop",
                SONORAN_HANDLERS="*=discord",
                DISCORD_WEBHOOK_URL=DEAD_WEBHOOK,
            ),
            "receiver",
        )
        worker = start(
            {"SONORAN_HANDLERS": "*=discord", "DISCORD_WEBHOOK_URL": DEAD_WEBHOOK},
            "worker",
            target=WORKER_TARGET,
            signature_type="cloudevent",
        )
        _run_situations(receiver, worker, events)
        outage = _publish_to_a_stopped_emulator(start, logs)
        for server in started:
            server.stop()
        yield Captured(
            _entries(receiver, EVENT_SERVICE)
            + _entries(outage, EVENT_SERVICE)
            + _entries(worker, WORKER_SERVICE)
        )
    finally:
        for server in started:
            server.stop()


def _run_situations(receiver: RunningServer, worker: RunningServer, events: TestTopic) -> None:
    url = receiver.event_url
    assert requests.get(url, timeout=30).status_code == 200
    # Accepted and published; the inline discord handler fails, the answer stays 200.
    assert requests.post(url + "?server=1", data=envelope(), timeout=30).status_code == 200
    assert requests.post(url, data=envelope(key="not-our-key"), timeout=30).status_code == 401
    refused = {**EVENT_911_DATA, "call": "a call given as text"}
    assert requests.post(url, data=envelope(data=refused), timeout=30).status_code == 422
    # The worker gets the published message as a push subscription delivers it.
    [message] = events.pull(1)
    pushed = requests.post(
        worker.base_url + "/",
        data=_push_body(message),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert pushed.status_code == 503  # a handler failed: redelivered


def _publish_to_a_stopped_emulator(
    start: Callable[..., RunningServer], logs: Path
) -> RunningServer:
    require_emulator()
    emulator = PubSubEmulator(PROJECT, logs / "stopped-emulator.log")
    emulator.start()
    try:
        topic = emulator.new_topic()
        server = start(event_env(**topic.env(), PUBSUB_PUBLISH_TIMEOUT_S="2"), "outage")
        # The first publish makes the client; the outage then hits a running receiver.
        assert requests.post(server.event_url, data=envelope(), timeout=30).status_code == 200
    finally:
        emulator.stop()
    assert requests.post(server.event_url, data=envelope(), timeout=60).status_code == 503
    return server


# --- one metric, one line --------------------------------------------------------------


def _counted(captured: Captured, metric: str) -> list[LogEntry]:
    return captured.matching(metric_definitions()[metric]["filter"])


def test_events_accepted_counts_the_post_event_accepted_line(captured: Captured) -> None:
    counted = _counted(captured, "events-accepted")
    assert counted
    assert counted == captured.with_message("POST event accepted")
    assert {entry.resource["labels"]["service_name"] for entry in counted} == {EVENT_SERVICE}


def test_answers_and_request_duration_count_every_request_line(captured: Captured) -> None:
    request_lines = [entry for entry in captured.entries if "outcome" in entry.json_payload]
    assert _counted(captured, "answers") == request_lines
    assert _counted(captured, "request-duration") == request_lines
    outcomes = {entry.json_payload["outcome"] for entry in request_lines}
    assert {"probe", "accepted", "unauthorized", "invalid", "unavailable"} <= outcomes


def test_publish_failures_count_the_pubsub_publish_failed_line(captured: Captured) -> None:
    counted = _counted(captured, "publish-failures")
    assert counted
    assert counted == captured.with_message("pubsub publish failed")


def test_events_quarantined_count_the_event_quarantined_line(captured: Captured) -> None:
    counted = _counted(captured, "events-quarantined")
    assert counted
    assert counted == captured.with_message("event quarantined")


def test_handler_failures_count_handler_failed_lines_of_both_functions(
    captured: Captured,
) -> None:
    counted = _counted(captured, "handler-failures")
    assert counted == captured.with_message("handler failed")
    assert {entry.resource["labels"]["service_name"] for entry in counted} == {
        EVENT_SERVICE,
        WORKER_SERVICE,
    }


def test_no_metric_counts_a_line_of_another_deployment(captured: Captured) -> None:
    # A second receiver in the project (another name prefix) has its own metrics.
    others = [
        LogEntry.from_line({"severity": entry.severity, **entry.json_payload}, "other-event")
        for entry in captured.entries
    ]
    for metric, body in metric_definitions().items():
        parsed = LogFilter(body["filter"])
        assert not [entry for entry in others if parsed.matches(entry)], metric


# --- labels and values -----------------------------------------------------------------


def test_every_label_extractor_names_a_field_the_counted_lines_carry(
    captured: Captured,
) -> None:
    for metric, body in metric_definitions().items():
        counted = _counted(captured, metric)
        for label, extractor in body.get("labelExtractors", {}).items():
            values = [extract(extractor, entry) for entry in counted]
            if label in OPTIONAL_LABELS:
                assert any(values), (metric, label)
            else:
                assert all(values), (metric, label, values)


def test_labels_take_the_values_the_lines_say(captured: Captured) -> None:
    def labels(metric: str) -> set[tuple[str | None, ...]]:
        extractors = metric_definitions()[metric]["labelExtractors"]
        return {
            tuple(extract(extractor, entry) for extractor in extractors.values())
            for entry in _counted(captured, metric)
        }

    assert ("EVENT_911", "1") in labels("events-accepted")
    assert {("2", "probe"), ("2", "accepted"), ("4", "unauthorized"), ("5", "unavailable")} <= (
        labels("answers")
    )
    assert {topic_kind for topic_kind, _ in labels("publish-failures")} == {"events"}
    assert labels("events-quarantined") == {("invalid_event",)}
    assert labels("handler-failures") == {("discord",)}


def test_request_duration_reads_a_number_of_milliseconds(captured: Captured) -> None:
    body = metric_definitions()["request-duration"]
    for entry in _counted(captured, "request-duration"):
        value = extract(body["valueExtractor"], entry)
        assert value is not None
        assert float(value) >= 0


def test_message_stays_in_json_payload_because_every_counted_line_has_more_fields(
    captured: Captured,
) -> None:
    # Cloud Logging moves `message` to textPayload when it is the only field left
    # (https://cloud.google.com/logging/docs/structured-logging#special-payload-fields).
    for metric in metric_definitions():
        for entry in _counted(captured, metric):
            assert set(entry.json_payload) - {"message"}, (metric, entry.message)


# --- what alerts and the dashboard ask of the metrics ----------------------------------

_USER_METRIC = re.compile(r'metric\.type="logging\.googleapis\.com/user/sonorancad-([a-z-]+)"')
_METRIC_LABEL = re.compile(r'metric\.label\.([a-z_]+)="([^"]*)"')


def test_alerts_and_dashboard_filter_on_label_values_the_lines_produce(
    captured: Captured,
) -> None:
    documents = [*alert_definitions().values(), definition("dashboard.json")]
    conditions = [
        (metric.group(1), label, value)
        for document in documents
        for text in filters(document)
        for metric in [_USER_METRIC.search(text)]
        if metric is not None
        for label, value in _METRIC_LABEL.findall(text)
    ]
    assert ("answers", "outcome", "unauthorized") in conditions
    assert ("request-duration", "outcome", "accepted") in conditions
    for metric, label, value in conditions:
        extractor = metric_definitions()[metric]["labelExtractors"][label]
        produced = {extract(extractor, entry) for entry in _counted(captured, metric)}
        assert value in produced, (metric, label, value)
