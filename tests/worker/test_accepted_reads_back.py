"""Whatever the receiver accepts, the worker reads back unchanged (docs/reference/contract.md
"After the key, every accepted event stays valid").

A message the worker refuses is refused on every delivery: it dead-letters, and a replay
loops it. So each accepted body goes through the receiver's own flow (the raw bytes, the
key, the models, redaction, the message it would publish), and the message bytes through
the worker's own reading (`message_payload`, then `PublishedData.canonical_event`): the
event read back must be the one published, byte for byte, attributes included. Bodies: every
fixture, mutated fixtures, fixtures with generated values added, and `EVENT_911` identity
lists of generated lengths up to and over the caps.
"""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers import build_plan
from sonoran_receiver.config import load_settings
from sonoran_receiver.events.base import MAX_LIST_ITEMS
from sonoran_receiver.keys import KeyRing
from sonoran_receiver.publishing.sink import Message
from sonoran_receiver.receiving.flow import HttpRequest, Receiver
from sonoran_receiver.worker.published import PublishedData, message_payload
from tests.events.test_properties import FIXTURES, container, mutated_bodies, paths
from tests.support.app import EVENT_PATH, TEST_KEY, event_env

# Number spellings a parser reads in more than one way, written into the body as sent.
NUMBER_SPELLINGS = (
    "1e15",
    "1E2",
    "-0",
    "-0.0",
    "0.0",
    "1e-7",
    "57.0",
    "1e18",
    "9223372036854775808",
    "123456789012345678901234567890",
    "2.5e-320",
)
_NUMBER = "@number-{}@"

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(range(len(NUMBER_SPELLINGS))).map(_NUMBER.format),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)


class Recorder:
    """A sink that keeps what it was given to publish: the message bytes and attributes."""

    def __init__(self) -> None:
        self.published: list[tuple[bytes, dict[str, str]]] = []

    def publish(self, event: Message) -> None:
        self.published.append((event.message_bytes(), event.attributes()))


@pytest.fixture(scope="module")
def flow() -> tuple[Receiver, Recorder]:
    configured = load_settings(event_env(SONORAN_ROUTES="*=publish"), "sonorancad_event")
    recorder = Recorder()
    receiver = Receiver(configured, KeyRing([TEST_KEY]), recorder, build_plan(configured))
    return receiver, recorder


def published_message(flow: tuple[Receiver, Recorder], body: bytes) -> tuple[bytes, Any] | None:
    """The message the receiver published for `body`, or None when it did not accept it."""
    receiver, recorder = flow
    recorder.published.clear()
    request = HttpRequest("POST", EVENT_PATH, b"", len(body), io.BytesIO(body))
    if receiver.receive(request).status != 200:
        return None
    [message] = recorder.published
    return message


def assert_read_back_unchanged(flow: tuple[Receiver, Recorder], body: bytes) -> None:
    message = published_message(flow, body)
    if message is None:
        return
    data, attributes = message
    event = PublishedData.model_validate(message_payload(data)).canonical_event()
    assert event.message_bytes() == data
    assert event.attributes() == attributes


def encoded(body: dict[str, Any]) -> bytes:
    """`body` as JSON, each number placeholder replaced by its spelling as sent."""
    text = json.dumps({**body, "key": TEST_KEY})
    for index, spelling in enumerate(NUMBER_SPELLINGS):
        text = text.replace(f'"{_NUMBER.format(index)}"', spelling)
    return text.encode()


@st.composite
def with_values_added(draw: st.DrawFn) -> dict[str, Any]:
    """A fixture with generated values put in place of some of its own, or beside them."""
    body = copy.deepcopy(draw(st.sampled_from(FIXTURES)).request)
    places = [path for path in paths(body.get("data")) if path]
    for _ in range(draw(st.integers(1, 4))):
        value = draw(json_values)
        if not places or draw(st.booleans()):
            data = body.get("data")
            if isinstance(data, dict):
                data[draw(st.text(max_size=6))] = value
            continue
        path = draw(st.sampled_from(places))
        try:
            container(body["data"], path)[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed the place
    return body


@st.composite
def identity_lists(draw: st.DrawFn) -> dict[str, Any]:
    """An `EVENT_911` whose identity lists hold up to a little over the cap, overlapping."""
    data: dict[str, Any] = {"call": {"callId": 318}}
    for name in ("apiIds", "identities", "communityUserIds"):
        if draw(st.booleans()):
            start = draw(st.integers(0, MAX_LIST_ITEMS))
            count = draw(st.sampled_from([0, 1, 2_501, MAX_LIST_ITEMS - 1, MAX_LIST_ITEMS]))
            data[name] = [f"license:{n}" for n in range(start, start + count)]
    return {"type": "EVENT_911", "data": data}


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda fixture: fixture.name)
def test_every_accepted_fixture_is_read_back_unchanged(
    flow: tuple[Receiver, Recorder], fixture: Any
) -> None:
    assert published_message(flow, fixture.body(TEST_KEY)) is not None
    assert_read_back_unchanged(flow, fixture.body(TEST_KEY))


def test_whatever_the_receiver_accepts_the_worker_reads_back_unchanged(
    flow: tuple[Receiver, Recorder],
) -> None:
    @settings(
        max_examples=1500,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(mutated_bodies() | with_values_added() | identity_lists())
    def read_back(body: dict[str, Any]) -> None:
        assert_read_back_unchanged(flow, encoded(body))

    read_back()
