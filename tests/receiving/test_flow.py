"""One test per row of the contract's HTTP flow table, through the real Flask app."""

from __future__ import annotations

import io
import json
import re
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import flask
import pytest

from tests.support.app import EVENT_PATH, TEST_KEY
from tests.support.bodies import envelope


def post(client: flask.testing.FlaskClient, body: bytes, path: str = EVENT_PATH, **kw: object):  # type: ignore[no-untyped-def]
    return client.post(path, data=body, content_type="application/json", **kw)


# step 1: path


@pytest.mark.parametrize("path", ["/", "/sonorancad", "/sonorancad/events", "/other/event"])
def test_path_other_than_the_event_path_is_404(
    client: flask.testing.FlaskClient, path: str
) -> None:
    response = post(client, envelope(), path=path)
    assert response.status_code == 404
    assert response.get_json() == {"error": "not found"}


def test_event_path_with_trailing_slash_is_served(client: flask.testing.FlaskClient) -> None:
    assert post(client, envelope(), path=EVENT_PATH + "/").status_code == 200


def test_event_path_is_configurable(make_app: Callable[..., flask.Flask]) -> None:
    client = make_app(SONORAN_EVENT_PATH="/hooks/cad").test_client()
    assert post(client, envelope(), path="/hooks/cad").status_code == 200
    assert post(client, envelope(), path=EVENT_PATH).status_code == 404


# step 2: method


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_get_and_head_are_a_plain_ok_probe(client: flask.testing.FlaskClient, method: str) -> None:
    response = client.open(EVENT_PATH, method=method)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    if method == "GET":
        assert response.data.startswith(b"ok")
        assert TEST_KEY.encode() not in response.data


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "OPTIONS"])
def test_other_methods_are_405_with_allow(client: flask.testing.FlaskClient, method: str) -> None:
    response = client.open(EVENT_PATH, method=method, data=envelope())
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, POST"
    assert response.get_json() == {"error": "method not allowed"}


# step 3: size


def test_body_over_the_limit_by_content_length_is_413(make_app: Callable[..., flask.Flask]) -> None:
    client = make_app(SONORAN_MAX_BODY_BYTES="1000").test_client()
    response = post(client, envelope(data={"pad": "x" * 1000}))
    assert response.status_code == 413
    assert response.get_json() == {"error": "payload too large"}


def test_body_over_the_limit_without_content_length_is_413(
    make_app: Callable[..., flask.Flask],
) -> None:
    client = make_app(SONORAN_MAX_BODY_BYTES="1000").test_client()
    body = envelope(data={"pad": "x" * 5000})
    # No Content-Length: the body must be measured while it is read.
    response = client.post(
        EVENT_PATH,
        input_stream=io.BytesIO(body),
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413


def test_body_exactly_at_the_limit_is_accepted(make_app: Callable[..., flask.Flask]) -> None:
    body = envelope()
    client = make_app(SONORAN_MAX_BODY_BYTES=str(len(body))).test_client()
    assert post(client, body).status_code == 200


# step 4: JSON; step 5b: server name

BAD_SERVER_QUERIES = [
    "server=",
    "server=" + "a" * 65,
    "server=Server%201",
    "server=a/b",
    "server=fivem-1&server=fivem-2",
    "server=%C3%A9quipe",
    "server=fivem-1&pad=" + "x" * 3000,
]


def _log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    lines = capsys.readouterr().out.splitlines()
    return [json.loads(line) for line in lines if line.startswith('{"severity"')]


@pytest.mark.parametrize("query", BAD_SERVER_QUERIES)
def test_a_bad_server_query_keeps_the_event_without_a_server_and_warns(
    make_app: Callable[..., flask.Flask],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    query: str,
) -> None:
    # A forwarder's typo in `?server=` must not lose the event (docs/reference/contract.md
    # "Step 5b: server name").
    sink = tmp_path / "sink.jsonl"
    client = make_app(LOCAL_SINK_FILE=str(sink)).test_client()
    response = post(client, envelope(), path=f"{EVENT_PATH}?{query}")
    assert response.status_code == 200
    message = json.loads(sink.read_text())
    assert message["data"]["server"] is None
    assert "server" not in message["attributes"]
    logged = _log_lines(capsys)
    [warning] = [line for line in logged if line["severity"] == "WARNING"]
    assert warning["message"] == "server name refused, event kept without a server"
    assert warning["reason"]
    value = urllib.parse.unquote(query.rsplit("server=", maxsplit=1)[-1].split("&", maxsplit=1)[0])
    if len(value) > 3:
        assert all(value not in json.dumps(line, ensure_ascii=False) for line in logged)


@pytest.mark.parametrize("query", BAD_SERVER_QUERIES)
def test_a_bad_server_query_with_a_wrong_key_is_still_401(
    client: flask.testing.FlaskClient, query: str
) -> None:
    response = post(client, envelope(key="not-the-key"), path=f"{EVENT_PATH}?{query}")
    assert response.status_code == 401
    assert response.get_json() == {"error": "unauthorized"}


@pytest.mark.parametrize("server", ["1", "fivem-2", "eu.main_1", "a" * 64])
def test_valid_server_query_is_accepted(client: flask.testing.FlaskClient, server: str) -> None:
    assert post(client, envelope(), path=f"{EVENT_PATH}?server={server}").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"\xff\xfe{}",
        b'{"key": "\xff", "type": "EVENT_911"}',
        b"not json",
        b'{"key": ',
        b'{"key": "k"} trailing',
        b"[]",
        b'"a string"',
        b"42",
        b"null",
    ],
    ids=[
        "empty",
        "whitespace",
        "not-utf8",
        "not-utf8-inside-string",
        "text",
        "truncated",
        "garbage-after",
        "array",
        "string",
        "number",
        "null",
    ],
)
@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
def test_body_that_is_not_a_json_object_is_400(
    client: flask.testing.FlaskClient, body: bytes, content_type: str | None
) -> None:
    response = client.post(EVENT_PATH, data=body, content_type=content_type)
    assert response.status_code == 400
    assert set(response.get_json()) == {"error"}


def test_json_body_is_read_whatever_the_content_type(client: flask.testing.FlaskClient) -> None:
    assert client.post(EVENT_PATH, data=envelope(), content_type="text/plain").status_code == 200


def test_nan_in_the_body_is_400(client: flask.testing.FlaskClient) -> None:
    body = b'{"key": "%s", "type": "SOME_CUSTOM_EVENT", "data": {"x": NaN}}' % TEST_KEY.encode()
    assert post(client, body).status_code == 400


# step 5: key


@pytest.mark.parametrize(
    "key",
    [None, "", "wrong-key", TEST_KEY + "x", 12345, ["list"], {"k": TEST_KEY}, True],
    ids=["null", "empty", "wrong", "longer", "number", "list", "object", "bool"],
)
def test_bad_key_is_401_and_nothing_more(client: flask.testing.FlaskClient, key: object) -> None:
    response = post(client, envelope(key=key))
    assert response.status_code == 401
    assert response.data == b'{"error": "unauthorized"}'


def test_missing_key_is_401(client: flask.testing.FlaskClient) -> None:
    response = post(client, json.dumps({"type": "EVENT_911", "data": {}}).encode())
    assert response.status_code == 401
    assert response.get_json() == {"error": "unauthorized"}


def test_key_is_compared_case_insensitively(client: flask.testing.FlaskClient) -> None:
    assert post(client, envelope(key=TEST_KEY.upper())).status_code == 200


def test_any_of_several_keys_matches(make_app: Callable[..., flask.Flask]) -> None:
    client = make_app(SONORAN_API_KEYS="old-key, new-key").test_client()
    assert post(client, envelope(key="old-key")).status_code == 200
    assert post(client, envelope(key="new-key")).status_code == 200
    assert post(client, envelope(key="other")).status_code == 401


def test_key_is_checked_before_the_payload_is_validated(
    client: flask.testing.FlaskClient,
) -> None:
    # A wrong key with an invalid payload or type learns nothing about the schema.
    assert post(client, envelope(key="wrong", data="not an object")).status_code == 401
    body = json.dumps({"key": "wrong", "type": 42}).encode()
    assert post(client, body).status_code == 401


# step 6: type


@pytest.mark.parametrize("event_type", [None, 42, ["EVENT_911"], {"t": 1}], ids=str)
def test_type_not_a_string_is_400(client: flask.testing.FlaskClient, event_type: object) -> None:
    response = post(client, json.dumps({"key": TEST_KEY, "type": event_type}).encode())
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "invalid type",
        "problems": [{"loc": "type", "msg": "type must be a string"}],
    }


@pytest.mark.parametrize(
    "event_type", ["", "   ", "EVENT_\x00", "EVENT-911", "EVENT_\u00e9", "\x1b[31m", "X" * 129]
)
def test_type_that_is_not_a_type_name_is_400(
    client: flask.testing.FlaskClient, event_type: str
) -> None:
    response = post(client, json.dumps({"key": TEST_KEY, "type": event_type, "data": {}}).encode())
    assert response.status_code == 400
    assert response.get_json()["problems"] == [
        {"loc": "type", "msg": "type must be 1 to 128 of A-Z, 0-9 and _ after upper-casing"}
    ]


@pytest.mark.parametrize("event_type", ["event_new_thing", "  EVENT_2 ", "X" * 128])
def test_unknown_type_name_of_letters_digits_and_underscores_is_accepted(
    client: flask.testing.FlaskClient, event_type: str
) -> None:
    response = post(client, json.dumps({"key": TEST_KEY, "type": event_type, "data": {}}).encode())
    assert response.status_code == 200
    assert response.get_json()["type"] == event_type.strip().upper()


def test_missing_type_is_400(client: flask.testing.FlaskClient) -> None:
    response = post(client, json.dumps({"key": TEST_KEY, "data": {}}).encode())
    assert response.status_code == 400


# step 7: validate (unknown types here; every known model is tested with the event models)


def test_unknown_type_is_accepted(client: flask.testing.FlaskClient) -> None:
    response = post(client, envelope("EVENT_SOMETHING_NEW", {"anything": [1, 2]}))
    assert response.status_code == 200
    assert response.get_json()["type"] == "EVENT_SOMETHING_NEW"


def test_unknown_type_is_422_under_strict_types(make_app: Callable[..., flask.Flask]) -> None:
    client = make_app(SONORAN_STRICT_TYPES="true").test_client()
    response = post(client, envelope("EVENT_SOMETHING_NEW", {}))
    assert response.status_code == 422
    assert response.get_json()["error"] == "unknown event type"


def test_known_type_failing_its_model_is_422_without_input_values(
    client: flask.testing.FlaskClient,
) -> None:
    canary = "CANARY-VALUE-7f3a"
    response = post(client, envelope("EVENT_911", canary))
    assert response.status_code == 422
    answer = response.get_json()
    assert answer["error"] == "invalid event"
    assert answer["problems"]
    assert all(set(problem) == {"loc", "msg"} for problem in answer["problems"])
    assert canary not in response.get_data(as_text=True)


# step 8: route


def test_accepted_event_is_200_with_type_id_and_routes(
    make_app: Callable[..., flask.Flask], tmp_path: Path
) -> None:
    sink = tmp_path / "sink.jsonl"
    client = make_app(LOCAL_SINK_FILE=str(sink)).test_client()
    response = post(client, envelope(), path=EVENT_PATH + "?server=2")
    assert response.status_code == 200
    answer = response.get_json()
    assert set(answer) == {"status", "type", "id", "routes"}
    assert answer["status"] == "ok"
    assert answer["type"] == "EVENT_911"
    assert answer["routes"] == ["publish"]
    line = json.loads(sink.read_text().strip())
    assert answer["id"] == line["attributes"]["event_id"]


def test_accepted_event_without_a_topic_goes_to_the_local_sink(
    make_app: Callable[..., flask.Flask], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sink = tmp_path / "sink.jsonl"
    client = make_app(LOCAL_SINK_FILE=str(sink)).test_client()
    assert post(client, envelope(), path=EVENT_PATH + "?server=fivem-1").status_code == 200
    lines = sink.read_text().splitlines()
    assert len(lines) == 1
    message = json.loads(lines[0])
    assert set(message) == {"data", "attributes"}
    assert set(message["data"]) == {
        "type",
        "data",
        "event_id",
        "received_at",
        "server",
        "schema_version",
    }
    assert message["data"]["type"] == "EVENT_911"
    assert message["data"]["server"] == "fivem-1"
    assert message["data"]["schema_version"] == 1
    assert message["attributes"]["server"] == "fivem-1"
    assert message["attributes"]["source"] == "sonorancad"
    assert message["attributes"]["event_type"] == "EVENT_911"
    assert message["attributes"]["schema_version"] == "1"
    assert message["attributes"]["received_at"] == message["data"]["received_at"]
    # The same line is printed on stdout for a local run with no file.
    assert lines[0] in capsys.readouterr().out.splitlines()


def test_the_local_sink_echo_escapes_bidi_and_c1_controls_and_keeps_the_data(
    make_app: Callable[..., flask.Flask], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A right-to-left override shows a line in another order; U+009B is a CSI, like ESC [.
    hostile = "Sam\u202eeoP\u2066 \x9b2J\x85\x7f\u200f"
    sink = tmp_path / "sink.jsonl"
    client = make_app(LOCAL_SINK_FILE=str(sink)).test_client()
    assert post(client, envelope("EVENT_NEW_THING", {hostile: hostile})).status_code == 200
    echoed = [line for line in capsys.readouterr().out.splitlines() if '"attributes"' in line]
    for line in (*echoed, *sink.read_text().splitlines()):
        assert not re.search("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]", line)
        assert json.loads(line)["data"]["data"] == {hostile: hostile}
    assert len(echoed) == 1


def test_dropped_event_is_200_and_stored_nowhere(
    make_app: Callable[..., flask.Flask], tmp_path: Path
) -> None:
    sink = tmp_path / "sink.jsonl"
    client = make_app(LOCAL_SINK_FILE=str(sink), SONORAN_ROUTES="*=drop").test_client()
    response = post(client, envelope())
    assert response.status_code == 200
    assert response.get_json()["routes"] == ["drop"]
    assert not sink.exists()


def test_sink_failure_is_503_with_retry_after(
    make_app: Callable[..., flask.Flask], tmp_path: Path
) -> None:
    # A directory cannot be appended to: the local sink fails like an unreachable Pub/Sub.
    client = make_app(LOCAL_SINK_FILE=str(tmp_path)).test_client()
    response = post(client, envelope())
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert set(response.get_json()) == {"error"}


def test_a_long_query_on_another_path_is_just_404(client: flask.testing.FlaskClient) -> None:
    assert client.get("/elsewhere?pad=" + "x" * 100_000).status_code == 404
