"""Lone surrogate escapes become U+FFFD once the key has matched; everything else stays
byte for byte."""

from __future__ import annotations

import flask
import pytest

from sonoran_receiver.receiving import flow
from sonoran_receiver.receiving.surrogates import without_lone_surrogates
from tests.support.app import EVENT_PATH
from tests.support.bodies import envelope


@pytest.mark.parametrize(
    ("sent", "parsed"),
    [
        (rb'"help \ud83d"', rb'"help \ufffd"'),
        (rb'"\udc00x"', rb'"\ufffdx"'),
        (rb'"\ud83d\ud83d\ude00"', rb'"\ufffd\ud83d\ude00"'),
        (rb'"\\\ud83d"', rb'"\\\ufffd"'),
        (rb'"\ude00\ud83d"', rb'"\ufffd\ufffd"'),
        (rb'"\ud83d\\\ude00"', rb'"\ufffd\\\ufffd"'),
        (rb'"\\uD83D\uDC00"', rb'"\\uD83D\ufffd"'),
        (rb'"\\\\\ud800\\\\ud800"', rb'"\\\\\ufffd\\\\ud800"'),
    ],
    ids=[
        "high half",
        "low half",
        "half before a pair",
        "after an escaped backslash",
        "low before high",
        "halves split by an escaped backslash",
        "after text that looks like a high half",
        "after runs of escaped backslashes",
    ],
)
def test_a_lone_half_of_a_pair_becomes_the_replacement_character(
    sent: bytes, parsed: bytes
) -> None:
    assert without_lone_surrogates(sent) == parsed


@pytest.mark.parametrize(
    "sent",
    [rb'"ok \ud83d\ude00"', rb'"\\ud83d"', rb'"\u00e9"', '"déjà vu 🚓"'.encode(), b'{"a": 1}'],
    ids=["a pair", "an escaped backslash and text", "another escape", "raw UTF-8", "no escape"],
)
def test_everything_else_is_left_as_sent(sent: bytes) -> None:
    assert without_lone_surrogates(sent) == sent


def test_a_wrong_key_body_is_never_rewritten(
    client: flask.testing.FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before the key, a body costs what reading its bytes costs: 940 KiB of lone halves or
    # escaped backslashes once cost 50 to 180 times a normal event in this rewrite.
    rewritten: list[bytes] = []
    monkeypatch.setattr(flow, "without_lone_surrogates", rewritten.append)
    wrong = envelope(data={"call": {"callId": 1, "caller": "x"}}, key="wrong")
    response = client.post(EVENT_PATH, data=wrong.replace(b'"x"', rb'"\ud83d"'))
    assert (response.status_code, rewritten) == (401, [])


def test_a_trusted_body_with_a_lone_half_is_read_and_kept(
    client: flask.testing.FlaskClient,
) -> None:
    body = envelope(data={"call": {"callId": 1, "caller": "x"}})
    response = client.post(EVENT_PATH, data=body.replace(b'"x"', rb'"help \ud83d"'))
    assert response.status_code == 200
