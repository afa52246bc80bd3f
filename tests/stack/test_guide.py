"""docs/local-stack.md tells the truth: its commands work on a running stack, its install
lines are the ones `make stack` prints, its ports are the Makefile's defaults."""

from __future__ import annotations

import base64
import json
import re
import shlex

import pytest
import requests

from local_stack.emulator import INSTALL_LINES
from tests.support.app import ROOT, TEST_KEY
from tests.support.stack import RunningStack

GUIDE = (ROOT / "docs" / "local-stack.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
GUIDE_EMULATOR = "127.0.0.1:8085"


def section(title: str) -> str:
    return GUIDE.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def code_blocks(text: str) -> list[str]:
    return [block.split("\n", 1)[1] for block in text.split("```")[1::2]]


def run_curl(line: str, host: str) -> requests.Response:
    """One `curl -s -X METHOD URL -H header -d body` line of the guide, on `host`."""
    words = shlex.split(line.replace(GUIDE_EMULATOR, host))
    assert words[:2] == ["curl", "-s"]
    url = next(word for word in words if word.startswith("http://"))
    options = {flag: words[words.index(flag) + 1] for flag in ("-X", "-H", "-d")}
    headers = dict([options["-H"].split(": ", 1)])
    return requests.request(options["-X"], url, headers=headers, data=options["-d"], timeout=10)


@pytest.mark.emulator
@pytest.mark.server
def test_your_own_consumer_reads_the_try_it_event_from_the_running_stack(
    stack: RunningStack,
) -> None:
    [commands] = code_blocks(section("Your own consumer"))
    create, pull = commands.replace("\\\n", " ").strip().splitlines()
    assert run_curl(create, stack.emulator_host).ok
    try_it = next(block for block in code_blocks(README) if block.startswith("curl"))
    # The stack under test has the test key, not the dev key of .env.example.
    words = shlex.split(try_it.replace("\\\n", " ").replace("dev-key-change-me", TEST_KEY))
    url = next(word for word in words if word.startswith("http://"))
    answer = requests.post(
        url.replace("127.0.0.1:8080", f"127.0.0.1:{stack.ports['receiver']}"),
        data=words[words.index("-d") + 1],
        timeout=30,
    )
    assert answer.status_code == 200
    [received] = run_curl(pull, stack.emulator_host).json()["receivedMessages"]
    message = received["message"]
    assert message["attributes"]["event_id"] == answer.json()["id"]
    assert json.loads(base64.b64decode(message["data"]))["type"] == "EVENT_911"


def test_the_install_lines_are_those_make_stack_prints() -> None:
    [lines] = code_blocks(section("Before you start"))
    assert tuple(lines.rstrip("\n").splitlines()) == INSTALL_LINES


def test_the_ports_are_the_makefiles_defaults() -> None:
    rows = re.findall(r"`127\.0\.0\.1:(\d+)` \(`(\w+)`\)", section("What it starts"))
    assert {variable for _, variable in rows} == {
        "PORT",
        "CONSOLE_PORT",
        "EMULATOR_PORT",
        "WORKER_PORT",
    }
    for port, variable in rows:
        assert f"\n{variable} ?= {port}\n" in MAKEFILE
