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
