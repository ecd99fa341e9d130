"""TakeReach (5104): which of the displayed far-side size an alpha-taking order may take.

Our definitions (SpiderRock names the rules; the numbers are ours, in config):
- Immediate (0): whatever is displayed at the take price now.
- Delayed (1): only size that has been displayed at the take price (or better) without a break
  for at least ``delayed_ms``: the smallest far-touch size seen over that time. A quote that
  just appeared (a flicker, a bait) is never taken.
- Passive (2): only right after the other side aggressed into our price: a trade whose
  aggressor is the far side (a seller for our buy) printed at or through the take price within
  the last ``passive_window_ms``.
- WeakOnly (3): only while the far touch shows less than its time-weighted average displayed
  size over the last ``weak_window_s``: a thin offer is more likely to be the last of it.
RespondOnly, FullSize and ISOSweep are refused at entry (``reach_problem``). Alpha taking and the
taking side of alpha taking+making both read it.
"""
from __future__ import annotations

from collections import deque

from router.domain.enums import Side, TakeReach
from router.market.books import InstrumentBook

_EPS = 1e-9
SUPPORTED = (TakeReach.IMMEDIATE, TakeReach.DELAYED, TakeReach.PASSIVE, TakeReach.WEAK_ONLY)


def reach_problem(reach: TakeReach | None, algo: str) -> str | None:
    """The entry reject of a TakeReach the algo cannot honour, naming the tag and the value."""
    if reach is None or reach in SUPPORTED:
        return None
    return (f"SRTakeReachRule (5104) {reach.name.title().replace('_', '')} ({int(reach)}) is not supported "
            f"by {algo}: use Immediate (0), Delayed (1), Passive (2) or WeakOnly (3)")


class FarTouchHistory:
    """The far touch (price, size) an order has seen, each in force from its time on."""

    __slots__ = ("is_buy", "keep_ns", "_seen")

    def __init__(self, is_buy: bool, keep_ns: int) -> None:
        self.is_buy = is_buy
        self.keep_ns = keep_ns
        self._seen: deque[tuple[int, float | None, int]] = deque()

    def record(self, now_ns: int, price: float | None, qty: int) -> None:
        if self._seen and self._seen[-1][1:] == (price, qty):
            return
        self._seen.append((now_ns, price, qty))
        while len(self._seen) > 1 and self._seen[1][0] <= now_ns - self.keep_ns:
            self._seen.popleft()

    def _at_or_better(self, price: float | None, limit: float) -> bool:
        if price is None:
            return False
        return price <= limit + _EPS if self.is_buy else price >= limit - _EPS

    def stayed_qty(self, now_ns: int, window_ns: int, price: float) -> int:
        """The size displayed at ``price`` or better for the whole of the last ``window_ns``; 0
        if the far touch was ever worse in that time, or was not seen that far back."""
        start = now_ns - window_ns
        if not self._seen or self._seen[0][0] > start:
            return 0
        smallest = None
        for i, (at_ns, seen_price, qty) in enumerate(self._seen):
            ends = self._seen[i + 1][0] if i + 1 < len(self._seen) else now_ns + 1
            if ends <= start:
                continue            # replaced before the window began
            if not self._at_or_better(seen_price, price):
                return 0
            smallest = qty if smallest is None else min(smallest, qty)
        return smallest or 0

    def average_qty(self, now_ns: int, window_ns: int) -> float | None:
        """The time-weighted average displayed far-touch size over the last ``window_ns`` (as
        far back as seen); None before any time has passed."""
        start = now_ns - window_ns
        total = weight = 0.0
        for i, (at_ns, _, qty) in enumerate(self._seen):
            ends = self._seen[i + 1][0] if i + 1 < len(self._seen) else now_ns
            begins = max(at_ns, start)
            if ends > begins:
                total += qty * (ends - begins)
                weight += ends - begins
        return total / weight if weight > 0 else None


def aggressed_into(book: InstrumentBook, side: Side, price: float, since_ns: int) -> bool:
    """A trade by the other side's aggressor at or through ``price`` reached us since ``since_ns``."""
    other = side.opposite()
    for at_ns, trade in zip(reversed(book.trade_times), reversed(book.trades)):
        if at_ns < since_ns:
            break
        if trade.aggressor is other and (trade.price <= price + _EPS if side.is_buy else trade.price >= price - _EPS):
            return True
    return False


def reachable_qty(rule: TakeReach, history: FarTouchHistory, book: InstrumentBook, side: Side, price: float,
                  shown: int, now_ns: int, settings) -> int:
    """How much of the ``shown`` far-touch size at ``price`` the rule lets the order take now."""
    if rule is TakeReach.DELAYED:
        return min(shown, history.stayed_qty(now_ns, int(settings.delayed_ms * 1e6), price))
    if rule is TakeReach.PASSIVE:
        return shown if aggressed_into(book, side, price, now_ns - int(settings.passive_window_ms * 1e6)) else 0
    if rule is TakeReach.WEAK_ONLY:
        average = history.average_qty(now_ns, int(settings.weak_window_s * 1e9))
        return shown if average is not None and shown < average - _EPS else 0
    return shown
