"""Play recorded events on a clock, each delivered to a sink at its own time, so a backtest
runs the same engine as live trading.

Lazy: one timer is pending at a time, and the next event is read from the source only when the
current one has been delivered, so millions of events never sit in the timer queue. Events run forward only: one
stamped earlier than its predecessor (a depth diff held back until its snapshot) is delivered
at the predecessor's time.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from router.clock import Clock, SimClock, TimerHandle

E = TypeVar("E")


def _ts_ns(event) -> int:
    return event.ts_ns


class Playback(Generic[E]):
    def __init__(self, clock: Clock, events: Iterable[E], sink: Callable[[E], None],
                 at: Callable[[E], int] = _ts_ns) -> None:
        self._clock = clock
        self._events = iter(events)
        self._sink = sink
        self._at = at
        self._last_ns = clock.now_ns()
        self._handle: TimerHandle | None = None
        self.delivered = 0
        self.done = False
        self._schedule_next()

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self.done = True

    def run(self) -> int:
        """Advance a SimClock until every event is delivered (firing other timers on the way);
        returns the number of events delivered."""
        clock = self._clock
        if not isinstance(clock, SimClock):
            raise TypeError("run() needs a SimClock; a live clock moves by itself")
        while not self.done:
            clock.advance_to(self._last_ns)
        return self.delivered

    def _schedule_next(self) -> None:
        for event in self._events:
            self._last_ns = at_ns = max(self._at(event), self._last_ns)
            self._handle = self._clock.call_at(at_ns, lambda: self._deliver(event))
            return
        self._handle = None
        self.done = True

    def _deliver(self, event: E) -> None:
        self.delivered += 1
        self._sink(event)
        if not self.done:
            self._schedule_next()


def play(clock: Clock, events: Iterable[E], sink: Callable[[E], None],
         at: Callable[[E], int] = _ts_ns) -> Playback[E]:
    """Schedule ``events`` (time-ordered, stamped in the clock's nanoseconds by ``at``) onto
    ``clock``; each reaches ``sink`` when the clock reaches its time."""
    return Playback(clock, events, sink, at)
