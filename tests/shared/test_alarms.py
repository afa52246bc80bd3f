"""The alarm clock behind the body deadline (`sonoran_receiver/alarms.py`)."""

from __future__ import annotations

import threading
import time

from sonoran_receiver.alarms import AlarmClock


def test_a_due_alarm_runs_its_action_once() -> None:
    clock = AlarmClock()
    rings: list[float] = []
    rang = threading.Event()

    def ring() -> None:
        rings.append(time.monotonic())
        rang.set()

    alarm = clock.set(0.05, ring)
    assert rang.wait(5)
    time.sleep(0.1)
    assert len(rings) == 1
    assert alarm.rang
    assert rings[0] >= alarm.due


def test_a_cancelled_alarm_never_runs() -> None:
    clock = AlarmClock()
    rang = threading.Event()
    alarm = clock.set(0.05, rang.set)
    alarm.cancel()
    assert not rang.wait(0.3)
    assert not alarm.rang


def test_an_earlier_alarm_rings_before_a_later_one_set_first() -> None:
    clock = AlarmClock()
    order: list[str] = []
    done = threading.Event()

    def later() -> None:
        order.append("later")
        done.set()

    clock.set(0.4, later)
    clock.set(0.05, lambda: order.append("earlier"))
    assert done.wait(5)
    assert order == ["earlier", "later"]


def test_a_failing_action_does_not_stop_later_alarms() -> None:
    clock = AlarmClock()
    rang = threading.Event()

    def fail() -> None:
        raise OSError("socket already closed")

    clock.set(0.01, fail)
    clock.set(0.05, rang.set)
    assert rang.wait(5)


def test_cancelled_alarms_do_not_pile_up_until_they_are_due() -> None:
    # An hour's deadline, as SONORAN_BODY_TIMEOUT_S allows: every request cancels its alarm
    # within milliseconds, and the heap must not keep 10,000 of them for that hour.
    clock = AlarmClock()
    live = [clock.set(3600, lambda: None) for _ in range(10)]
    for _ in range(10_000):
        clock.set(3600, lambda: None).cancel()
    assert clock.pending <= 2 * len(live) + 64
    assert not any(alarm.cancelled for alarm in live)


def test_a_live_alarm_still_rings_after_the_heap_was_rebuilt() -> None:
    clock = AlarmClock()
    rang = threading.Event()
    clock.set(0.2, rang.set)
    for _ in range(1_000):
        clock.set(3600, lambda: None).cancel()
    assert rang.wait(5)
