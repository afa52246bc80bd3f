"""Outgoing calls of handlers: one total deadline per call, a bounded answer.

docs/reference/contract.md "What an unauthenticated request may cost": inline handlers have
a total deadline per call (not per read) and read at most a bounded answer. The targets are
real local TCP servers that misbehave on purpose (`tests/support/unruly_target.py`). Elapsed
times are checked only against generous ceilings, as guards against a hang, never as speed
claims.
"""

from __future__ import annotations

import logging
import time

import pytest

from handlers.delivery import MAX_ANSWER_BYTES, Deadline, DeliveryFailed, post
from tests.support.unruly_target import (
    PATH,
    UnrulyTarget,
    drip_body,
    drip_headers,
    huge_body,
    malformed_head,
    success_then_silence,
)

DEADLINE_S = 2.5
# Far above DEADLINE_S: only a call that ignores its deadline gets near it.
HANG_GUARD_S = 15.0
# Each dripped byte comes well within any per-read timeout: only a total deadline stops it.
DRIP_INTERVAL_S = 1.0


def call(url: str, deadline_s: float = DEADLINE_S) -> tuple[float, DeliveryFailed]:
    started = time.monotonic()
    with pytest.raises(DeliveryFailed) as failed:
        post(url, b"{}", {}, handler="test", deadline=Deadline(deadline_s))
    return time.monotonic() - started, failed.value


def test_target_dripping_its_answer_head_is_abandoned_at_the_deadline() -> None:
    with UnrulyTarget(drip_headers(DRIP_INTERVAL_S)) as target:
        elapsed_s, failure = call(target.url)
        assert failure.reason == "timeout"
        assert elapsed_s < HANG_GUARD_S
        assert target.finished.wait(HANG_GUARD_S)


def test_target_dripping_an_error_body_is_abandoned_at_the_deadline() -> None:
    with UnrulyTarget(drip_body(DRIP_INTERVAL_S)) as target:
        elapsed_s, failure = call(target.url)
        assert failure.reason == "timeout"
        assert elapsed_s < HANG_GUARD_S


def test_huge_answer_is_not_read_whole() -> None:
    size = 50 * 1024 * 1024
    with UnrulyTarget(huge_body(size)) as target:
        reply = post(target.url, b"{}", {}, handler="test", deadline=Deadline(HANG_GUARD_S))
        assert reply.status == 500
        assert len(reply.body) == MAX_ANSWER_BYTES
        assert target.finished.wait(HANG_GUARD_S)
        # The client hung up after its few KiB: the target could not push the rest, beyond
        # what the two sockets' buffers held.
        assert target.sent < size // 2


def test_success_is_not_held_by_a_body_that_never_comes() -> None:
    with UnrulyTarget(success_then_silence(hold_s=HANG_GUARD_S)) as target:
        reply = post(target.url, b"{}", {}, handler="test", deadline=Deadline(DEADLINE_S))
        assert reply.status == 200
        assert reply.body == b""


def test_deadline_passed_before_the_call_sends_nothing() -> None:
    with UnrulyTarget(drip_headers(DRIP_INTERVAL_S)) as target:
        _, failure = call(target.url, deadline_s=0.0)
        assert failure.reason == "timeout"
    # Closing the target with nobody connected ends it without a request.
    assert target.sent == 0


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/hook", "http://", "not a url at all"])
def test_a_url_that_is_not_http_fails_without_quoting_it(url: str) -> None:
    with pytest.raises(DeliveryFailed) as failed:
        post(url, b"{}", {}, handler="test", deadline=Deadline(DEADLINE_S))
    assert url not in str(failed.value)


def test_malformed_answer_head_is_logged_nowhere_with_the_url(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    with UnrulyTarget(malformed_head()) as target:
        reply = post(target.url, b"{}", {}, handler="test", deadline=Deadline(DEADLINE_S))
    assert reply.status == 500
    captured = capsys.readouterr()
    for text in (caplog.text, captured.out, captured.err):
        assert PATH not in text
