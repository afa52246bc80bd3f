"""The events guide's "Try it with the Pub/Sub emulator" works as written, on the real emulator.

Its commands run against the session emulator, with only the host and port swapped for the
emulator's own free port.
"""

from __future__ import annotations

import base64
import json
import shlex

import pytest
import requests

from tests.support.app import ROOT, build_app
from tests.support.emulator import PubSubEmulator

pytestmark = pytest.mark.emulator

README = (ROOT / "README.md").read_text(encoding="utf-8")
GUIDE = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
SECTION = GUIDE.split("\n### Try it with the Pub/Sub emulator\n", 1)[1].split("\n## ", 1)[0]
GUIDE_HOST = "127.0.0.1:8085"


def code_blocks(text: str) -> list[str]:
    return [block.removeprefix("sh\n") for block in text.split("```")[1::2]]


def run_curl(line: str, host: str) -> requests.Response:
    """One `curl -s -X METHOD URL [-H header] [-d body]` line of the guide."""
    words = shlex.split(line.replace(GUIDE_HOST, host))
    assert words[:2] == ["curl", "-s"]
    url = next(word for word in words if word.startswith("http://"))
    options = {flag: words[words.index(flag) + 1] for flag in ("-X", "-H", "-d") if flag in words}
    headers = dict([options["-H"].split(": ", 1)]) if "-H" in options else {}
    return requests.request(options["-X"], url, headers=headers, data=options.get("-d"), timeout=10)


def test_readme_emulator_walkthrough_publishes_the_try_it_event(
    pubsub_emulator: PubSubEmulator,
) -> None:
    start, create, dotenv, pull = code_blocks(SECTION)
    assert shlex.split(start)[:5] == ["gcloud", "beta", "emulators", "pubsub", "start"]
    assert f"--host-port={GUIDE_HOST}" in start

    for line in create.replace("\\\n", " ").strip().splitlines():
        assert run_curl(line, pubsub_emulator.host).ok

    env = dict(line.split("=", 1) for line in dotenv.strip().splitlines())
    env["PUBSUB_EMULATOR_HOST"] = env["PUBSUB_EMULATOR_HOST"].replace(
        GUIDE_HOST, pubsub_emulator.host
    )
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    env = {**{name: value for name, value in example.items() if value}, **env}
    env.pop("LOCAL_SINK_FILE")
    try_it = next(block for block in code_blocks(README) if block.startswith("curl"))
    words = shlex.split(try_it.replace("\\\n", " "))
    url = next(word for word in words if word.startswith("http://"))
    answer = (
        build_app(env)
        .test_client()
        .post(url.split("8080", 1)[1], data=words[words.index("-d") + 1])
    )
    assert answer.status_code == 200, answer.get_json()

    pulled = run_curl(pull.replace("\\\n", " ").strip(), pubsub_emulator.host).json()
    [received] = pulled["receivedMessages"]
    message = received["message"]
    assert message["attributes"]["event_id"] == answer.get_json()["id"]
    assert json.loads(base64.b64decode(message["data"]))["type"] == "EVENT_911"
