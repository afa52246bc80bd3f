"""Quarantine (docs/reference/contract.md "Quarantine"): after a good key, a body refused at the
type or validation step is still answered 400/422 and is stored, as sent, before the answer; a body
refused before the key is never stored. Against the real Pub/Sub emulator, and locally."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flask
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sonoran_receiver.events.types import CANONICAL_TYPES
from sonoran_receiver.receiving.redact import REDACTED
from tests.support.app import EVENT_PATH, TEST_KEY, build_app, event_env
from tests.support.emulator import PubSubEmulator, TestTopic

CANARY_TEXT = "Caller-Free-Text-7c1d"

# (name, body without key, status, quarantine reason, type as stored)
REFUSED: list[tuple[str, dict[str, Any], int, str, str | None]] = [
    (
        "wrong kind of value",
        {"type": "EVENT_911", "data": {"call": CANARY_TEXT}},
        422,
        "invalid_event",
        "EVENT_911",
    ),
    (
        "unknown type under strict",
        {"type": " event_brand_new ", "data": {"note": CANARY_TEXT}},
        422,
        "unknown_type",
        "EVENT_BRAND_NEW",
    ),
    ("type missing", {"data": {"caller": CANARY_TEXT}}, 400, "invalid_type", None),
    (
        "type not a name",
        {"type": "EVENT\x00911", "data": [1, 2]},
        400,
        "invalid_type",
        "EVENT\x00911",
    ),
]


def body(envelope: dict[str, Any], key: str = TEST_KEY) -> bytes:
    return json.dumps({"key": key, **envelope}).encode()


def post(client: flask.testing.FlaskClient, data: bytes, query: str = "") -> Any:
    return client.post(EVENT_PATH + query, data=data, content_type="application/json")


def message_json(message: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(message.data.decode("utf-8"))
    return data


@pytest.fixture
def quarantine_topic(pubsub_emulator: PubSubEmulator) -> TestTopic:
    return pubsub_emulator.new_topic()


def quarantining_client(
    make_app: Callable[..., flask.Flask], events: TestTopic, quarantine: TestTopic
) -> flask.testing.FlaskClient:
    return make_app(
        SONORAN_STRICT_TYPES="true",
        PUBSUB_QUARANTINE_TOPIC=quarantine.topic_path,
        **events.env(),
    ).test_client()


@pytest.mark.emulator
@pytest.mark.parametrize(
    ("name", "envelope", "status", "reason", "stored_type"), REFUSED, ids=[r[0] for r in REFUSED]
)
def test_refused_event_with_a_good_key_is_quarantined_as_sent_before_the_answer(
    make_app: Callable[..., flask.Flask],
    pubsub_topic: TestTopic,
    quarantine_topic: TestTopic,
    name: str,
    envelope: dict[str, Any],
    status: int,
    reason: str,
    stored_type: str | None,
) -> None:
    client = quarantining_client(make_app, pubsub_topic, quarantine_topic)
    response = post(client, body(envelope), "?server=fivem-1")
    assert response.status_code == status
    # Stored before the answer: the message is there as soon as the answer is.
    [message] = quarantine_topic.pull(1, deadline_s=10)
    data = message_json(message)
    assert data == {
        "type": stored_type,
        "data": envelope.get("data"),
        "event_id": data["event_id"],
        "received_at": data["received_at"],
        "server": "fivem-1",
        "schema_version": 1,
        "problems": response.get_json()["problems"],
    }
    assert dict(message.attributes) == {
        "quarantine": reason,
        "event_type": stored_type or "",
        "schema_version": "1",
        "event_id": data["event_id"],
        "content_key": message.attributes["content_key"],
        "received_at": data["received_at"],
        "source": "sonorancad",
        "server": "fivem-1",
    }
    assert TEST_KEY not in message.data.decode() + json.dumps(dict(message.attributes))
    assert pubsub_topic.pull_all(quiet_s=0.5) == []


@pytest.mark.emulator
@pytest.mark.parametrize(
    ("name", "data", "status"),
    [
        ("bad key", body({"type": "EVENT_911", "data": {"call": 1}}, key="not-the-key"), 401),
        ("missing key", json.dumps({"type": "EVENT_911", "data": {"call": 1}}).encode(), 401),
        ("bad JSON", b'{"key": "' + TEST_KEY.encode() + b'", "type": ', 400),
        ("not an object", json.dumps([{"key": TEST_KEY, "type": "EVENT_911"}]).encode(), 400),
        ("too large", body({"type": "EVENT_911", "data": {"call": "x" * 2_000_000}}), 413),
    ],
)
def test_body_refused_before_the_key_matched_is_stored_nowhere(
    make_app: Callable[..., flask.Flask],
    pubsub_topic: TestTopic,
    quarantine_topic: TestTopic,
    name: str,
    data: bytes,
    status: int,
) -> None:
    client = quarantining_client(make_app, pubsub_topic, quarantine_topic)
    assert post(client, data).status_code == status
    assert quarantine_topic.pull_all(quiet_s=0.5) == []
    assert pubsub_topic.pull_all(quiet_s=0.1) == []


@pytest.mark.emulator
def test_quarantine_publish_failing_is_503_with_retry_after(
    make_app: Callable[..., flask.Flask],
    pubsub_topic: TestTopic,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = pubsub_topic.emulator.project
    client = make_app(
        PUBSUB_QUARANTINE_TOPIC=f"projects/{project}/topics/never-created-quarantine",
        PUBSUB_PUBLISH_TIMEOUT_S="3",
        **pubsub_topic.env(),
    ).test_client()
    response = post(client, body({"type": "EVENT_911", "data": {"call": "text"}}))
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    failures = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if '"pubsub publish failed"' in line
    ]
    assert [line["topic_kind"] for line in failures] == ["quarantine"]


def test_without_a_topic_the_quarantine_is_a_local_sink_line(tmp_path: Path) -> None:
    sink = tmp_path / "sink.jsonl"
    client = build_app(event_env(LOCAL_SINK_FILE=str(sink))).test_client()
    response = post(client, body({"type": "EVENT_UNIT_PANIC", "data": {"identIds": ["x"]}}))
    assert response.status_code == 422
    [line] = [json.loads(text) for text in sink.read_text().splitlines()]
    assert line["attributes"]["quarantine"] == "invalid_event"
    assert line["data"]["data"] == {"identIds": ["x"]}


def test_with_a_topic_but_no_quarantine_topic_the_start_says_refused_events_are_not_kept(
    capsys: pytest.CaptureFixture[str],
) -> None:
    build_app(event_env(PUBSUB_TOPIC="projects/p-1234/topics/events"))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert any(
        line["severity"] == "WARNING" and "PUBSUB_QUARANTINE_TOPIC" in line["message"]
        for line in lines
    )


@pytest.mark.parametrize(
    "envelope",
    [
        {"type": "EVENT_911", "data": {"call": {"callId": 1, "caller": f"my key {TEST_KEY}"}}},
        {"type": "EVENT_911", "data": {"call": TEST_KEY.upper()}},
        {"type": "EVENT_SOMETHING_NEW", "data": {TEST_KEY.lower(): 1}},
        {"type": "GET_LOGS", "logKey": "log-key-1234", "data": {"logKey": "log-key-1234"}},
    ],
    ids=["accepted", "quarantined", "unknown type field name", "logKey"],
)
def test_a_key_inside_the_payload_is_never_stored(tmp_path: Path, envelope: dict[str, Any]) -> None:
    sink = tmp_path / "sink.jsonl"
    client = build_app(
        event_env(LOCAL_SINK_FILE=str(sink), SONORAN_ROUTES="*=publish")
    ).test_client()
    assert post(client, body(envelope)).status_code in (200, 422)
    stored = sink.read_text()
    assert stored
    for needle in (TEST_KEY, TEST_KEY.lower(), TEST_KEY.upper(), "log-key-1234"):
        assert needle not in stored
    if envelope["type"] != "GET_LOGS":
        assert REDACTED in stored


@pytest.mark.parametrize("key", ['quote"key-0123456789', "back\\slash-key-0123456789"])
@pytest.mark.parametrize("routed", ["accepted", "quarantined"])
def test_a_key_holding_a_quote_or_a_backslash_is_redacted_in_names_and_values(
    tmp_path: Path, key: str, routed: str
) -> None:
    # JSON escapes these characters, so only the decoded texts can show the key.
    sink = tmp_path / "sink.jsonl"
    client = build_app(event_env(SONORAN_API_KEYS=key, LOCAL_SINK_FILE=str(sink))).test_client()
    call: Any = {"callId": 1, "caller": f"my key {key}", key.upper(): "name"}
    if routed == "quarantined":
        call["callId"] = "not an id"
    envelope = {"type": "EVENT_911", "data": {"call": call}}
    assert post(client, body(envelope, key=key)).status_code == (
        200 if routed == "accepted" else 422
    )
    [line] = sink.read_text().splitlines()
    stored = json.loads(line)["data"]["data"]
    assert stored["call"]["caller"] == f"my key {REDACTED}"
    assert stored["call"][REDACTED] == "name"
    assert key.lower() not in json.dumps(stored, ensure_ascii=False).lower()


def test_a_wrong_key_builds_no_python_object_per_json_value() -> None:
    # Contract: before the key matched, no model and no Python object per JSON value. A
    # 1 MiB body of 130,000 tiny objects costs ~30 MiB of Python objects when parsed whole;
    # the key check may hold the body and little else.
    client = build_app(event_env()).test_client()
    hostile = (
        b'{"key":"not-the-key","type":"EVENT_911","data":['
        + b",".join([b'{"":{}}'] * 130_000)
        + b"]}"
    )
    tracemalloc.start()
    try:
        response = post(client, hostile)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 401
    assert peak < 4 * len(hostile), f"peak {peak} bytes of Python objects"


_JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
_JSON = st.recursive(
    _JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["call", "callId", "identIds", "x", "note"]) | st.text(max_size=6),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)
_TYPES = (
    st.sampled_from([*CANONICAL_TYPES, "toggle_bodycam", " EVENT_911 ", "EVENT_NEW_THING"])
    | st.text(max_size=10)
    | _JSON_SCALARS
)


@pytest.mark.parametrize("strict", ["false", "true"])
def test_nothing_with_a_good_key_disappears(tmp_path: Path, strict: str) -> None:
    """Every 2xx or 4xx answer to a body with a good key comes with one stored message: the
    published event or its quarantine message (docs/reference/contract.md "Quarantine")."""
    sink = tmp_path / "sink.jsonl"
    client = build_app(
        event_env(
            LOCAL_SINK_FILE=str(sink), SONORAN_ROUTES="*=publish", SONORAN_STRICT_TYPES=strict
        )
    ).test_client()

    def stored_lines() -> list[str]:
        # JSON lines end at "\n" only: event text may hold U+0085 or U+2028, which
        # `splitlines` would also split on.
        return sink.read_text().split("\n")[:-1] if sink.exists() else []

    @given(
        event_type=_TYPES,
        data=_JSON,
        without=st.sampled_from(["nothing", "type", "data"]),
    )
    @settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
    def check(event_type: Any, data: Any, without: str) -> None:
        envelope = {"type": event_type, "data": data}
        envelope.pop(without, None)
        before = len(stored_lines())
        response = post(client, body(envelope))
        assert response.status_code in (200, 400, 422)
        lines = stored_lines()
        assert len(lines) == before + 1
        stored = json.loads(lines[-1])
        assert ("quarantine" in stored["attributes"]) == (response.status_code != 200)

    check()


def test_a_type_that_is_not_a_type_name_is_never_logged(capsys: pytest.CaptureFixture[str]) -> None:
    client = build_app(event_env()).test_client()
    sent = "BAD TYPE! <@everyone>"
    assert post(client, body({"type": sent, "data": {}})).status_code == 400
    # Log lines only: the local sink's line (also on stdout) keeps the type as sent.
    logged = "\n".join(
        line for line in capsys.readouterr().out.splitlines() if line.startswith('{"severity"')
    )
    assert '"event quarantined"' in logged
    assert sent.upper() not in logged
    assert sent not in logged


@pytest.mark.parametrize(
    ("envelope", "status"),
    [
        ({"type": "EVENT_911", "data": {"call": {"callId": 5, "caller": "help \ud83d"}}}, 200),
        ({"type": "EVENT_911", "data": {"call": "cut emoji \udc00"}}, 422),
    ],
    ids=["accepted", "quarantined"],
)
def test_an_event_with_a_lone_surrogate_is_kept_with_a_replacement_character(
    tmp_path: Path, envelope: dict[str, Any], status: int
) -> None:
    # A sender cutting a text inside an emoji writes `"\ud83d"`: JSON's grammar allows it,
    # UTF-8 cannot carry it, and our parser refuses it.
    sink = tmp_path / "sink.jsonl"
    client = build_app(event_env(LOCAL_SINK_FILE=str(sink))).test_client()
    assert post(client, body(envelope)).status_code == status
    [line] = sink.read_text().split("\n")[:-1]
    stored = json.dumps(json.loads(line)["data"]["data"])
    assert stored == json.dumps(envelope["data"]).replace("\\ud83d", "\\ufffd").replace(
        "\\udc00", "\\ufffd"
    )


def test_a_key_in_the_type_or_the_server_name_is_never_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = "ALPHANUMERICKEY0123"
    sink = tmp_path / "sink.jsonl"
    client = build_app(
        event_env(SONORAN_API_KEYS=key, LOCAL_SINK_FILE=str(sink), SONORAN_ROUTES="*=publish")
    ).test_client()
    as_type = post(client, body({"type": key.lower(), "data": {}}, key=key))
    in_type = post(client, body({"type": f"oops {key} !", "data": {}}, key=key))
    as_server = post(
        client, body({"type": "EVENT_NEW_THING", "data": {}}, key=key), f"?server={key}"
    )
    assert [as_type.status_code, in_type.status_code, as_server.status_code] == [400, 400, 200]
    stored = sink.read_text()
    assert len(stored.split("\n")[:-1]) == 3
    everything = stored + capsys.readouterr().out + as_server.get_data(as_text=True)
    assert key not in everything.upper()


def test_log_key_is_never_published_whatever_the_type(tmp_path: Path) -> None:
    sink = tmp_path / "sink.jsonl"
    client = build_app(
        event_env(LOCAL_SINK_FILE=str(sink), SONORAN_ROUTES="*=publish")
    ).test_client()
    for envelope in (
        {"type": "EVENT_NEW_THING", "data": {"logKey": "log-key-5678", "x": 1}},
        {"type": "EVENT_911", "data": {"call": {"callId": 1, "logKey": "log-key-5678"}}},
    ):
        assert post(client, body(envelope)).status_code == 200
    stored = sink.read_text()
    assert "log-key-5678" not in stored
    assert '"x":1' in stored
