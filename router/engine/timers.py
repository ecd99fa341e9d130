"""Timers that run as engine events: a timer firing outside the engine loop (a simulated clock
advanced by a test) is dispatched like any inbox event, so its effects are stored and released
as one batch."""
from __future__ import annotations

from typing import Callable

from router.clock import Clock, TimerHandle


class Timers:
    def __init__(self, clock: Clock, dispatch: Callable[[object], None]) -> None:
        self._clock = clock
        self._dispatch = dispatch

    def call_at(self, at_ns: int, callback: Callable[[], None]) -> TimerHandle:
        return self._clock.call_at(at_ns, lambda: self._dispatch(callback))

    def call_later(self, delay_ns: int, callback: Callable[[], None]) -> TimerHandle:
        return self._clock.call_at(self._clock.now_ns() + max(delay_ns, 0), lambda: self._dispatch(callback))
