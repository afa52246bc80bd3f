"""Lone surrogate escapes become U+FFFD before parsing; everything else stays byte for byte."""

from __future__ import annotations

import pytest

from sonoran_receiver.receiving.surrogates import without_lone_surrogates


@pytest.mark.parametrize(
    ("sent", "parsed"),
    [
        (rb'"help \ud83d"', rb'"help \ufffd"'),
        (rb'"\udc00x"', rb'"\ufffdx"'),
        (rb'"\ud83d\ud83d\ude00"', rb'"\ufffd\ud83d\ude00"'),
        (rb'"\\\ud83d"', rb'"\\\ufffd"'),
    ],
    ids=["high half", "low half", "half before a pair", "after an escaped backslash"],
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
