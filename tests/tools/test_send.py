"""The bundled sender posts what the CAD would, says what came back, and never shows the key."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from sonoran_receiver.events.types import CANONICAL_TYPES
from sonoran_receiver.tools import send
from sonoran_receiver.tools.samples import SAMPLES, sample_body
from tests.support.app import EVENT_PATH, ROOT, TEST_KEY, build_app, event_env
from tests.support.server import RunningServer

KEY = "Send-Test-Key-7c4d2e9a1b"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeReceiver:
    """A loopback HTTP server that records requests and answers as told."""

    base_url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    answer: bytes = b'{"status": "ok"}'
    extra_headers: dict[str, str] = field(default_factory=dict)
    reason: str | None = None

    def only_request(self) -> Received:
        assert len(self.requests) == 1, self.requests
        return self.requests[0]


@pytest.fixture
def receiver() -> Iterator[FakeReceiver]:
    fake = FakeReceiver(base_url="")

    class Handler(BaseHTTPRequestHandler):
        def _record_and_answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            fake.requests.append(
                Received(self.command, self.path, dict(self.headers), self.rfile.read(length))
            )
            self.send_response(fake.status, fake.reason)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(fake.answer)))
            for name, value in fake.extra_headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(fake.answer)

        do_POST = _record_and_answer  # noqa: N815 - http.server's naming
        do_GET = _record_and_answer  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test output is the sender's."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def output_of(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    return captured.out + captured.err


def assert_key_hidden(text: str, key: str = KEY) -> None:
    for variant in (key, key.lower(), key.upper()):
        assert variant not in text


def test_posts_the_sample_of_the_type_with_the_key_in_the_body(
    receiver: FakeReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    status = send.main(["--url", receiver.base_url, "--key", KEY, "EVENT_911"])

    output = output_of(capsys)
    assert status == 0
    request = receiver.only_request()
    assert request.method == "POST"
    assert request.path == EVENT_PATH  # appended: the URL had no path
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.body)
    assert body["key"] == KEY
    assert body["type"] == "EVENT_911"
    assert body["data"] == SAMPLES["EVENT_911"]["data"]
    assert isinstance(body["data"], dict)
    assert "200" in output
    assert '{"status": "ok"}' in output
    assert_key_hidden(output)


def test_key_comes_from_the_environment_and_type_in_any_case(
    receiver: FakeReceiver, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SONORAN_API_KEY", KEY)

    status = send.main(["--url", receiver.base_url + "/", "event_unit_panic"])

    assert status == 0
    body = json.loads(receiver.only_request().body)
    assert body == {"key": KEY, **SAMPLES["EVENT_UNIT_PANIC"]}
    assert_key_hidden(output_of(capsys))


def test_server_option_sets_the_query_string_like_fivem_forwarding(
    receiver: FakeReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    send.main(["--url", receiver.base_url, "--key", KEY, "--server", "2", "EVENT_UNIT_STATUS"])
    send.main(
        [
            "--url",
            receiver.base_url + "/custom/path?server=9&keep=yes",
            "--key",
            KEY,
            "--server",
            "3",
            "EVENT_UNIT_STATUS",
        ]
    )

    first, second = (urlsplit(request.path) for request in receiver.requests)
    assert first.path == EVENT_PATH
    assert parse_qs(first.query) == {"server": ["2"]}
    assert second.path == "/custom/path"  # a URL with a path is used as written
    assert parse_qs(second.query) == {"server": ["3"], "keep": ["yes"]}
    assert_key_hidden(output_of(capsys))


def test_a_401_exits_1_and_prints_status_and_body_without_the_key(
    receiver: FakeReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver.status = 401
    receiver.answer = b'{"error": "unauthorized"}'

    status = send.main(["--url", receiver.base_url, "--key", KEY, "EVENT_911"])

    output = output_of(capsys)
    assert status == 1
    assert "401" in output
    assert '{"error": "unauthorized"}' in output
    assert_key_hidden(output)


def test_a_receiver_echoing_the_key_does_not_get_it_printed(
    receiver: FakeReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver.status = 400
    receiver.answer = json.dumps({"error": "bad", "echo": KEY.lower()}).encode()

    status = send.main(["--url", receiver.base_url, "--key", KEY, "EVENT_911"])

    output = output_of(capsys)
    assert status == 1
    assert send.REDACTED in output
    assert_key_hidden(output)


def test_a_redirect_is_reported_not_followed(
    receiver: FakeReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    # Followed, urllib would re-send a POST as a GET without the body, and the
    # receiver's GET probe would answer 200.
    receiver.status = 302
    receiver.answer = b""
    receiver.extra_headers = {"Location": receiver.base_url + "/elsewhere"}

    status = send.main(["--url", receiver.base_url, "--key", KEY, "EVENT_911"])

    output = output_of(capsys)
    assert status == 1
    assert [request.method for request in receiver.requests] == ["POST"]
    assert "302" in output
    assert "/elsewhere" in output
    assert_key_hidden(output)


def test_text_from_the_target_is_printed_without_control_characters(
    receiver: FakeReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    # Clear the screen, retitle the window, print a fake line over the real one: the
    # reason phrase, Location and body come from whoever answers.
    hostile = "\x1b[2J\x1b]0;pwned\x07\r200 OK\x7f\x9b2J"
    receiver.status = 302
    receiver.answer = ("body" + hostile).encode()
    receiver.extra_headers = {"Location": "/elsewhere" + hostile}
    receiver.reason = "Found" + hostile

    send.main(["--url", receiver.base_url, "--key", KEY, "EVENT_911"])

    output = output_of(capsys)
    assert output.count("pwned") == 3
    # Only the line ends print() itself writes.
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", output)


def test_no_answer_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    status = send.main(
        ["--url", f"http://127.0.0.1:{closed_port}", "--key", KEY, "--timeout", "5", "EVENT_911"]
    )

    assert status == 3
    assert_key_hidden(output_of(capsys))


@pytest.mark.parametrize(
    "argv",
    [
        ["--url", "http://127.0.0.1:9", "--key", KEY, "EVENT_NOT_A_THING"],
        ["--url", "http://127.0.0.1:9", "--key", KEY],
        ["--key", KEY, "EVENT_911"],
        ["--url", "ftp://127.0.0.1/x", "--key", KEY, "EVENT_911"],
        ["--url", "http://127.0.0.1:9", "--key", KEY, "--server", "two words", "EVENT_911"],
        ["--url", "http://127.0.0.1:9", "--key", "   ", "EVENT_911"],
    ],
    ids=["unknown-type", "no-type", "no-url", "not-http", "bad-server", "blank-key"],
)
def test_usage_errors_exit_2_without_sending_or_echoing_the_key(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SONORAN_API_KEY", raising=False)

    assert send.main(argv) == 2
    assert_key_hidden(output_of(capsys))


def test_no_key_anywhere_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SONORAN_API_KEY", raising=False)

    assert send.main(["--url", "http://127.0.0.1:9", "EVENT_911"]) == 2
    assert "SONORAN_API_KEY" in output_of(capsys)


def test_list_prints_every_type_with_a_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert send.main(["--list"]) == 0
    assert capsys.readouterr().out.split() == list(SAMPLES)


def test_there_is_one_sample_per_canonical_type() -> None:
    assert sorted(SAMPLES) == sorted(CANONICAL_TYPES)


@pytest.mark.parametrize("event_type", list(SAMPLES))
def test_samples_are_request_bodies_without_key_and_with_object_data(event_type: str) -> None:
    body = sample_body(event_type)
    assert body["type"] == event_type
    assert "key" not in body
    # The real sender's `data` is an object, whatever some doc pages show
    # (docs/reference/push-events.md "Uncertainties and contradictions").
    assert isinstance(body["data"], dict)


def test_sample_body_is_a_fresh_copy() -> None:
    sample_body("EVENT_UNIT_LOGIN")["data"]["unit"]["id"] = -1
    assert SAMPLES["EVENT_UNIT_LOGIN"]["data"]["unit"]["id"] == 57


@pytest.mark.parametrize("event_type", list(SAMPLES))
def test_the_receiver_accepts_every_sample(event_type: str, tmp_path: Path) -> None:
    app = build_app(event_env(LOCAL_SINK_FILE=str(tmp_path / "sink.jsonl")))

    response = app.test_client().post(
        EVENT_PATH, data=send.request_body(event_type, TEST_KEY), content_type="application/json"
    )

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["type"] == event_type


@pytest.mark.server
def test_sender_against_the_real_receiver_is_answered_200(
    start_receiver: Callable[..., RunningServer], tmp_path: Path
) -> None:
    sink = tmp_path / "sink.jsonl"
    server = start_receiver(event_env(LOCAL_SINK_FILE=str(sink)))

    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "sonoran_receiver.tools.send",
            "--url",
            server.base_url,
            "EVENT_911",
        ],
        cwd=ROOT,
        env={"SONORAN_API_KEY": TEST_KEY, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.startswith("200 ")
    assert TEST_KEY not in finished.stdout + finished.stderr
    published = json.loads(sink.read_text().splitlines()[-1])
    assert published["data"]["type"] == "EVENT_911"
    assert published["data"]["data"]["call"]["callId"] == 318
