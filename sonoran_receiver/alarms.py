"""Deadlines for blocking reads: one thread per process runs each alarm's action when due.

A socket timeout bounds one `recv`, not a request: gunicorn reads a body in a loop of
`recv` calls, so a client sending a byte just before each timeout holds a thread for as
long as it likes. An alarm bounds the total instead. One shared thread costs nothing per
request (a thread per request would cost a thread start each); it sleeps until the
earliest alarm is due and is woken only when a new alarm becomes the earliest.

Most alarms are cancelled long before they are due (a body read in a millisecond under a
deadline of seconds, or an hour if so configured). A cancelled alarm cannot be taken out of
the middle of a heap cheaply, so the clock counts them and rebuilds the heap without them
once they outnumber the live ones: the heap holds at most about twice the live alarms,
whatever the deadline, at a cost per alarm that stays constant on average.
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from collections.abc import Callable

from sonoran_receiver import logs


class Alarm:
    """One deadline: its action runs once when due, unless cancelled first."""

    def __init__(
        self,
        due: float,
        action: Callable[[], None],
        on_cancel: Callable[[], None] | None = None,
    ) -> None:
        self.due = due
        self._action: Callable[[], None] | None = action
        self._on_cancel = on_cancel
        self._lock = threading.Lock()
        self._rang = False

    @property
    def rang(self) -> bool:
        return self._rang

    @property
    def cancelled(self) -> bool:
        return self._action is None and not self._rang

    def cancel(self) -> None:
        """Once this returns, the action has either run to its end or never will."""
        with self._lock:
            pending = self._action is not None
            # Dropping the action frees what it holds (a socket) at once, not when due.
            self._action = None
        if pending and self._on_cancel is not None:
            self._on_cancel()

    def ring(self) -> None:
        with self._lock:
            action, self._action = self._action, None
            if action is None:
                return
            self._rang = True
            action()


# Below this many cancelled alarms the heap is left alone: rebuilding it would cost more
# than the few entries it frees.
_COMPACT_AFTER = 64


class AlarmClock:
    """Runs alarms on one daemon thread, started on first use in each process.

    functions-framework imports `main.py` in gunicorn's arbiter, which then forks the
    worker; a thread does not survive a fork, so the clock starts its thread lazily, and
    again in any process other than the one that started it.
    """

    def __init__(self) -> None:
        self._wakeup = threading.Condition()
        self._alarms: list[tuple[float, int, Alarm]] = []
        # Cancelled alarms still in the heap (an upper bound: one cancelled after it was
        # taken out to ring counts too, until the next rebuild).
        self._cancelled = 0
        self._order = itertools.count()
        self._owner_pid: int | None = None

    @property
    def pending(self) -> int:
        """How many alarms the heap holds, cancelled ones included."""
        with self._wakeup:
            return len(self._alarms)

    def set(self, timeout_s: float, action: Callable[[], None]) -> Alarm:
        alarm = Alarm(time.monotonic() + timeout_s, action, self._forget_one)
        with self._wakeup:
            self._ensure_thread()
            heapq.heappush(self._alarms, (alarm.due, next(self._order), alarm))
            if self._alarms[0][2] is alarm:
                self._wakeup.notify()
        return alarm

    def _ensure_thread(self) -> None:
        if self._owner_pid == os.getpid():
            return
        self._owner_pid = os.getpid()
        self._alarms.clear()
        self._cancelled = 0
        threading.Thread(target=self._run, name="sonoran-alarms", daemon=True).start()

    def _forget_one(self) -> None:
        """An alarm was cancelled: rebuild the heap once cancelled ones outnumber the rest."""
        with self._wakeup:
            self._cancelled += 1
            if self._cancelled < _COMPACT_AFTER or self._cancelled * 2 <= len(self._alarms):
                return
            self._alarms = [entry for entry in self._alarms if not entry[2].cancelled]
            heapq.heapify(self._alarms)
            self._cancelled = 0
            # The earliest alarm may have changed: the thread recomputes its wait.
            self._wakeup.notify()

    def _run(self) -> None:
        while True:
            with self._wakeup:
                alarm = self._next_due()
            try:
                alarm.ring()
            except Exception as failed:
                # The thread serves every later request: it must outlive a failed action.
                logs.error("alarm action failed", error=type(failed).__name__)

    def _next_due(self) -> Alarm:
        """Wait for the earliest alarm that is due and not cancelled; called locked."""
        while True:
            while self._alarms and self._alarms[0][2].cancelled:
                heapq.heappop(self._alarms)
                self._cancelled = max(self._cancelled - 1, 0)
            if not self._alarms:
                self._wakeup.wait()
                continue
            due, _, alarm = self._alarms[0]
            remaining = due - time.monotonic()
            if remaining <= 0:
                heapq.heappop(self._alarms)
                return alarm
            self._wakeup.wait(remaining)


CLOCK = AlarmClock()
"""The process's one clock: request bodies and handler calls set their deadlines on it."""
