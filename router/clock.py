"""Time for the engine: a live clock in production, a simulated one in tests, backtests and
replays. Both carry the same timer queue, so code that schedules work never knows which it has.

Timers fire in (time, insertion order), which keeps simultaneous timers deterministic.
"""
from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Protocol

NANOS_PER_SECOND = 1_000_000_000
TimerCallback = Callable[[], None]


@dataclass(order=True, slots=True)
class _Timer:
    at_ns: int
    seq: int
    callback: TimerCallback = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class TimerHandle:
    __slots__ = ("_timer",)

    def __init__(self, timer: _Timer) -> None:
        self._timer = timer

    def cancel(self) -> None:
        self._timer.cancelled = True

    @property
    def at_ns(self) -> int:
        return self._timer.at_ns


class Clock(Protocol):
    def now_ns(self) -> int: ...
    def call_at(self, at_ns: int, callback: TimerCallback) -> TimerHandle: ...
    def call_later(self, delay_ns: int, callback: TimerCallback) -> TimerHandle: ...
    def next_timer_ns(self) -> int | None: ...
    def run_due(self) -> int: ...


class _TimerQueue:
    def __init__(self) -> None:
        self._heap: list[_Timer] = []
        self._seq = itertools.count()

    def call_at(self, at_ns: int, callback: TimerCallback) -> TimerHandle:
        timer = _Timer(int(at_ns), next(self._seq), callback)
        heapq.heappush(self._heap, timer)
        return TimerHandle(timer)

    def call_later(self, delay_ns: int, callback: TimerCallback) -> TimerHandle:
        return self.call_at(self.now_ns() + max(int(delay_ns), 0), callback)

    def now_ns(self) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    def next_timer_ns(self) -> int | None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].at_ns if self._heap else None

    def _pop_due(self, now: int) -> _Timer | None:
        while self._heap and self._heap[0].at_ns <= now:
            timer = heapq.heappop(self._heap)
            if not timer.cancelled:
                return timer
        return None


class SimClock(_TimerQueue):
    """Time moves only when told to. ``advance_to`` fires every timer due on the way,
    setting the clock to each timer's own time before it runs."""

    def __init__(self, start_ns: int = 0) -> None:
        super().__init__()
        self._now = int(start_ns)

    @classmethod
    def at(cls, when: datetime) -> "SimClock":
        return cls(int(when.timestamp() * NANOS_PER_SECOND))

    def now_ns(self) -> int:
        return self._now

    def run_due(self) -> int:
        fired = 0
        while (timer := self._pop_due(self._now)) is not None:
            timer.callback()
            fired += 1
        return fired

    def advance_to(self, target_ns: int) -> int:
        fired = 0
        while True:
            nxt = self.next_timer_ns()
            if nxt is None or nxt > target_ns:
                break
            self._now = max(self._now, nxt)
            fired += self.run_due()
        self._now = max(self._now, int(target_ns))
        return fired

    def advance(self, delta_ns: int) -> int:
        return self.advance_to(self._now + int(delta_ns))

    def set_time(self, now_ns: int) -> None:
        """Jump forward without firing timers (used when replaying recorded timestamps)."""
        self._now = max(self._now, int(now_ns))


class LiveClock(_TimerQueue):
    """Wall-clock time. The engine loop calls ``run_due`` between inbox events."""

    def now_ns(self) -> int:
        return time.time_ns()

    def run_due(self) -> int:
        fired = 0
        now = self.now_ns()
        while (timer := self._pop_due(now)) is not None:
            timer.callback()
            fired += 1
        return fired


def ns_to_datetime(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / NANOS_PER_SECOND, tz=timezone.utc)


def datetime_to_ns(when: datetime) -> int:
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return int(when.timestamp()) * NANOS_PER_SECOND + when.microsecond * 1000
