"""No bad input gives a 5xx, and the key never comes back (docs/reference/contract.md
"The HTTP flow").

Three sources of bad input: a hand-written list of the classic ones, each with the answer the
contract's step gives it; at least 10,000 generated requests (hypothesis) through the Flask
app, for speed; and a sample of both through the real server (gunicorn), whose log is read
for the key. The only configured key is a canary; generated bodies carry it only where a key
belongs (`key`, in several spellings), so finding it anywhere in an answer or a log is a leak.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import flask
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sonoran_receiver.events.types import ALIASES, CANONICAL_TYPES
from tests.support.app import EVENT_PATH, build_app, event_env
from tests.support.bodies import EVENT_911_DATA
from tests.support.fixtures import load_fixtures
from tests.support.server import RunningServer

pytestmark = pytest.mark.reliability

CANARY = "Canary-Key-7d2b41e0c9"
SPELLINGS = (CANARY, CANARY.lower(), CANARY.upper())
LIMIT = 1_048_576  # SONORAN_MAX_BODY_BYTES' default
GENERATED_EXAMPLES = 10_000
SERVER_EXAMPLES = 300


@dataclass(frozen=True)
class Attempt:
    method: str
    path: str
    body: bytes


def event(event_type: Any = "EVENT_911", data: Any = None, key: Any = CANARY) -> bytes:
    return json.dumps(
        {"key": key, "type": event_type, "data": EVENT_911_DATA if data is None else data}
    ).encode("utf-8")


def raw(prefix: str, rest: bytes) -> bytes:
    """A body whose JSON json.dumps could not write, after `{"key": CANARY, `."""
    return f'{{"key": "{CANARY}", {prefix}'.encode() + rest


def sized(total: int) -> bytes:
    """A valid event of exactly `total` bytes (an unknown type, padded in `data`)."""
    empty = event("EVENT_PADDED", {"pad": ""})
    return event("EVENT_PADDED", {"pad": "x" * (total - len(empty))})


def deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# (name, method, path, body, the answer the contract gives)
HAND_WRITTEN: list[tuple[str, str, str, bytes, int]] = [
    ("empty body", "POST", EVENT_PATH, b"", 400),
    ("only whitespace", "POST", EVENT_PATH, b" \t\r\n ", 400),
    ("at the limit", "POST", EVENT_PATH, sized(LIMIT), 200),
    ("1 byte over the limit", "POST", EVENT_PATH, sized(LIMIT + 1), 413),
    ("10,000-deep nesting", "POST", EVENT_PATH, deep(10_000), 400),
    (
        "10,000-deep data",
        "POST",
        EVENT_PATH,
        raw('"type": "X", "data": ', deep(10_000) + b"}"),
        400,
    ),
    ("invalid UTF-8", "POST", EVENT_PATH, raw('"type": "X", "data": "', b'\xff\xfe\xc3"}'), 400),
    # RFC 8259 8.1: senders must not add a BOM; the contract's step 4 answers 400.
    ("UTF-8 BOM", "POST", EVENT_PATH, b"\xef\xbb\xbf" + event(), 400),
    ("UTF-16", "POST", EVENT_PATH, event().decode().encode("utf-16"), 400),
    ("NaN", "POST", EVENT_PATH, raw('"type": "X", "data": ', b'{"x": NaN}}'), 400),
    ("Infinity", "POST", EVENT_PATH, raw('"type": "X", "data": ', b"[-Infinity]}"), 400),
    (
        "1e999 (overflows to infinity)",
        "POST",
        EVENT_PATH,
        raw('"type": "X", "data": ', b"1e999}"),
        400,
    ),
    (
        "100k-digit number",
        "POST",
        EVENT_PATH,
        raw('"type": "X", "data": ', b"9" * 100_000 + b"}"),
        400,
    ),
    ("very long string", "POST", EVENT_PATH, event("EVENT_LONG", {"text": "x" * 900_000}), 200),
    # A lone surrogate (a text cut inside an emoji) is kept as U+FFFD: docs/events-normalisation.md.
    ("lone surrogate", "POST", EVENT_PATH, raw('"type": "X", "data": ', b'"\\ud800"}'), 200),
    # Duplicate members: the last one counts, as with Python's json and every step here.
    ("duplicate key, right one last", "POST", EVENT_PATH, b'{"key": "no", ' + event()[1:], 200),
    ("duplicate key, wrong one last", "POST", EVENT_PATH, event()[:-1] + b', "key": "no"}', 401),
    ("no key", "POST", EVENT_PATH, b'{"type": "EVENT_911", "data": {}}', 401),
    ("key as number", "POST", EVENT_PATH, event(key=42), 401),
    ("key as null", "POST", EVENT_PATH, event(key=None), 401),
    ("key as list", "POST", EVENT_PATH, event(key=[CANARY]), 401),
    ("key as object", "POST", EVENT_PATH, event(key={"key": CANARY}), 401),
    ("key as true", "POST", EVENT_PATH, event(key=True), 401),
    ("key with a NUL", "POST", EVENT_PATH, event(key=CANARY + "\x00"), 401),
    ("no type", "POST", EVENT_PATH, json.dumps({"key": CANARY}).encode(), 400),
    ("type as number", "POST", EVENT_PATH, event(event_type=911), 400),
    ("type as null", "POST", EVENT_PATH, event(event_type=None), 400),
    ("type as list", "POST", EVENT_PATH, event(event_type=["EVENT_911"]), 400),
    ("known type, data as string", "POST", EVENT_PATH, event(data="911"), 422),
    ("known type, data as number", "POST", EVENT_PATH, event(data=911), 422),
    ("unknown type, data as string", "POST", EVENT_PATH, event("EVENT_NEW", "text"), 200),
    (
        "unicode and NUL in keys and values",
        "POST",
        EVENT_PATH,
        event("EVENT_NEW", {"na\x00me": "v\x00lue", "🚓 unité": "Ωμέγα 警察", "\u202e": "\u2028"}),
        200,
    ),
    ("unicode and NUL in type", "POST", EVENT_PATH, event("EVENT_\x00🚓"), 400),
    ("JSON followed by garbage", "POST", EVENT_PATH, event() + b"garbage", 400),
    ("two JSON objects", "POST", EVENT_PATH, event() + event(), 400),
    ("truncated JSON", "POST", EVENT_PATH, event()[:40], 400),
    ("a JSON array", "POST", EVENT_PATH, b"[" + event() + b"]", 400),
    ("a JSON string", "POST", EVENT_PATH, json.dumps(event().decode()).encode(), 400),
    # A bad `?server=` loses the name, never the event.
    ("bad ?server=", "POST", EVENT_PATH + "?server=a%00b", event(), 200),
    ("?server= twice", "POST", EVENT_PATH + "?server=1&server=2", event(), 200),
    ("PUT", "PUT", EVENT_PATH, event(), 405),
    ("DELETE", "DELETE", EVENT_PATH, b"", 405),
    ("OPTIONS", "OPTIONS", EVENT_PATH, b"", 405),
    ("made-up method", "BREW", EVENT_PATH, event(), 405),
    ("other path", "POST", "/sonorancad/event/../../admin", event(), 404),
    ("percent-encoded NUL in path", "POST", "/sonorancad%00/event", event(), 404),
    # Paths Flask's router answers before the function runs (main.py's 404 handler).
    ("newline in path", "GET", "/sonorancad%0A/event", b"", 404),
    ("functions-framework's /robots.txt", "GET", "/robots.txt", b"", 404),
    ("functions-framework's /favicon.ico", "GET", "/favicon.ico", b"", 404),
]


# --- generated requests ---------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**18, max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=6,
)
keys = st.sampled_from([*SPELLINGS, CANARY[:-1], CANARY + "0", f" {CANARY}", ""]) | json_values
types = (
    st.sampled_from([*CANONICAL_TYPES, *ALIASES])
    | st.sampled_from([*CANONICAL_TYPES, *ALIASES]).map(lambda name: f" {name.lower()} ")
    | st.text(max_size=30)
    | json_values
)


@st.composite
def mutated(draw: st.DrawFn, value: Any) -> Any:
    """A real payload with one member replaced, removed or mutated further down."""
    if isinstance(value, dict) and value:
        name = draw(st.sampled_from(sorted(value)))
        changed = dict(value)
        action = draw(st.sampled_from(["replace", "remove", "descend", "add"]))
        if action == "replace":
            changed[name] = draw(json_values)
        elif action == "remove":
            del changed[name]
        elif action == "descend":
            changed[name] = draw(mutated(value[name]))
        else:
            changed[draw(st.text(max_size=10))] = draw(json_values)
        return changed
    if isinstance(value, list) and value:
        return [draw(mutated(item)) for item in value]
    return draw(json_values)


# Real events of every type (tests/fixtures), as sent, then spoiled a little.
REAL_REQUESTS = [fixture.request for fixture in load_fixtures()]
real_payloads = st.sampled_from([request.get("data") for request in REAL_REQUESTS])
payloads = json_values | real_payloads | real_payloads.flatmap(mutated)


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, Any]:
    """A real request with its key swapped and one member spoiled, or one made up whole."""
    if draw(st.booleans()):
        real = {**draw(st.sampled_from(REAL_REQUESTS)), "key": draw(keys)}
        spoiled: dict[str, Any] = draw(mutated(real))
        return spoiled
    body: dict[str, Any] = {}
    for name, values in (("key", keys), ("type", types), ("data", payloads)):
        if draw(st.integers(0, 9)) > 0:
            body[name] = draw(values)
    body.update(
        draw(st.dictionaries(st.sampled_from(["logKey", "extra", "id"]), json_values, max_size=2))
    )
    return body


@st.composite
def encoded(draw: st.DrawFn, body: dict[str, Any]) -> bytes:
    """The envelope as JSON, then, now and then, spoiled the ways senders spoil bodies."""
    text = json.dumps(body, allow_nan=True, ensure_ascii=draw(st.booleans()))
    data = text.encode("utf-8")
    spoil = draw(st.sampled_from(["none"] * 6 + ["truncate", "append", "bom", "flip", "utf16"]))
    if spoil == "truncate":
        return data[: draw(st.integers(0, max(0, len(data) - 1)))]
    if spoil == "append":
        return data + draw(st.binary(min_size=1, max_size=8))
    if spoil == "bom":
        return b"\xef\xbb\xbf" + data
    if spoil == "flip" and data:
        at = draw(st.integers(0, len(data) - 1))
        return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    if spoil == "utf16":
        return text.encode("utf-16")
    return data


bodies = (
    envelopes().flatmap(encoded)
    | st.binary(max_size=64)
    | json_values.map(lambda value: json.dumps(value, allow_nan=True).encode())
)
methods = st.sampled_from(
    ["POST"] * 12 + ["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"]
) | st.from_regex(r"[A-Z]{1,8}", fullmatch=True)
paths = st.sampled_from([EVENT_PATH] * 8 + [EVENT_PATH + "/", "/", "/sonorancad"]) | st.text(
    max_size=20
).map(lambda text: "/" + urllib.parse.quote(text, safe=""))
queries = st.sampled_from(["", "", "", "?server=1", "?server=fivem-eu.2"]) | st.text(
    max_size=70
).map(lambda text: "?server=" + urllib.parse.quote(text))
attempts = st.builds(
    Attempt, method=methods, path=st.builds(str.__add__, paths, queries), body=bodies
)
# gunicorn refuses methods of fewer than 3 letters with its own HTML 400 before any function
# runs (docs/guarantees.md): the real server gets only methods it parses.
server_attempts = attempts.filter(lambda attempt: len(attempt.method) >= 3)


# --- checks ---------------------------------------------------------------------------------


def leaks(*texts: bytes | str) -> bool:
    for text in texts:
        haystack = text if isinstance(text, str) else text.decode("utf-8", errors="replace")
        if any(spelling in haystack for spelling in SPELLINGS):
            return True
    return False


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    text: bytes
    """The body and the headers, where the key must never be."""

    def broken_promises(self, attempt: Attempt) -> list[str]:
        """What the contract forbids: a 5xx, the key echoed, an error body that is not JSON
        (only the GET/HEAD probe answers text)."""
        broken = []
        if self.status >= 500:
            broken.append(f"answered {self.status}")
        if leaks(self.text):
            broken.append("the key is in the answer")
        probe = attempt.method in {"GET", "HEAD"} and self.status == 200
        if not probe and self.content_type != "application/json":
            broken.append(f"answered {self.status} in {self.content_type}")
        return broken


Send = Callable[[Attempt], Reply]


@pytest.fixture(scope="module")
def app() -> flask.Flask:
    return build_app(event_env(SONORAN_API_KEYS=CANARY))


@pytest.fixture
def send(app: flask.Flask) -> Send:
    client = app.test_client()

    def to_app(attempt: Attempt) -> Reply:
        response = client.open(attempt.path, method=attempt.method, data=attempt.body)
        text = response.get_data() + str(response.headers).encode()
        return Reply(response.status_code, response.mimetype or "", text)

    return to_app


@pytest.fixture
def server_send(
    start_receiver: Callable[..., RunningServer],
) -> Iterator[tuple[RunningServer, Send]]:
    server = start_receiver(event_env(SONORAN_API_KEYS=CANARY))
    session = requests.Session()

    def to_server(attempt: Attempt) -> Reply:
        # One connection per attempt: after a body it leaves unread (a 413, a 404 with a
        # body) the server closes the connection, though gunicorn's answer said keep-alive.
        response = session.request(
            attempt.method,
            server.base_url + attempt.path,
            data=attempt.body,
            headers={"Connection": "close"},
            timeout=30,
        )
        mimetype = response.headers.get("Content-Type", "").partition(";")[0].strip()
        return Reply(
            response.status_code, mimetype, response.content + str(response.headers).encode()
        )

    yield server, to_server
    session.close()


def valid_event_accepted(send: Send) -> bool:
    return send(Attempt("POST", EVENT_PATH, event())).status == 200


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [pytest.param(*case[1:], id=case[0]) for case in HAND_WRITTEN],
)
def test_hand_written_bad_input_gets_its_step_s_answer_and_never_the_key(
    send: Send,
    capfd: pytest.CaptureFixture[str],
    method: str,
    path: str,
    body: bytes,
    status: int,
) -> None:
    attempt = Attempt(method, path, body)
    reply = send(attempt)
    assert reply.status == status
    assert reply.broken_promises(attempt) == []
    assert valid_event_accepted(send)
    output = capfd.readouterr()
    assert not leaks(output.out, output.err)


def test_generated_requests_never_get_a_5xx_nor_the_key(
    send: Send, capfd: pytest.CaptureFixture[str]
) -> None:
    @settings(
        max_examples=GENERATED_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(attempts)
    def keeps_the_promises(attempt: Attempt) -> None:
        sent.append(attempt.method)
        assert send(attempt).broken_promises(attempt) == [], attempt

    sent: list[str] = []
    keeps_the_promises()
    assert len(sent) >= GENERATED_EXAMPLES
    assert valid_event_accepted(send)
    output = capfd.readouterr()
    assert not leaks(output.out, output.err)


def test_real_server_answers_bad_input_without_5xx_or_key_and_keeps_serving(
    server_send: tuple[RunningServer, Send],
) -> None:
    server, send_to_server = server_send
    for name, method, path, body, _status in HAND_WRITTEN:
        attempt = Attempt(method, path, body)
        assert send_to_server(attempt).broken_promises(attempt) == [], name

    @settings(
        max_examples=SERVER_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(server_attempts)
    def keeps_the_promises(attempt: Attempt) -> None:
        assert send_to_server(attempt).broken_promises(attempt) == [], attempt

    keeps_the_promises()
    assert valid_event_accepted(send_to_server)
    assert server.process.poll() is None
    assert not leaks(server.output())
