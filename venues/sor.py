"""Smart order routing for marketable orders: which venues get how much.

Two regimes, after SpiderRock's sweep description:
- Below visible size: take the cheapest liquidity first, where cheapest is the all-in price
  (level price plus the venue's taker fee per share of the contract). At equal prices that is
  simply the lowest-fee venue first.
- At or above visible size: maximise liquidity captured in one synchronized wave: every venue
  showing size within the limit gets a child for all of it, and the sends are staggered by
  venue latency so the children arrive together (a fast venue's fill cannot warn the slow
  venue's quoters before our order lands there).
"""
from __future__ import annotations

from dataclasses import dataclass

from router.domain.enums import Side
from router.market.books import InstrumentBook

from .fees import FeeSchedule

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class SweepRequest:
    side: Side
    qty: int
    limit: float
    multiplier: int
    venues: tuple[str, ...]          # allowed venues; empty means all
    max_children: int | None = None


@dataclass(frozen=True, slots=True)
class Allocation:
    venue: str
    qty: int
    price: float          # the child's limit
    send_delay_ns: int    # wait before sending, so all children of the wave arrive together


@dataclass(frozen=True, slots=True)
class SweepPlan:
    allocations: tuple[Allocation, ...]
    visible_qty: int
    mode: str             # "fee" (below visible size) or "liquidity" (at or above)

    @property
    def qty(self) -> int:
        return sum(a.qty for a in self.allocations)


class SmartOrderRouter:
    def __init__(self, fees: FeeSchedule, latency_ns: dict[str, int]) -> None:
        self._fees = fees
        self._latency_ns = latency_ns

    @property
    def venues(self) -> list[str]:
        return self._fees.venues

    def plan_sweep(self, request: SweepRequest, book: InstrumentBook) -> SweepPlan:
        allowed = [v for v in (request.venues or tuple(self._fees.venues)) if v in self._latency_ns]
        takeable = {v: book.takeable(v, request.side, request.limit) for v in allowed}
        takeable = {v: q for v, q in takeable.items() if q > 0}
        visible = sum(takeable.values())
        if not takeable or request.qty <= 0:
            return SweepPlan((), visible, "none")
        if request.qty < visible:
            chosen = self._cheapest_fill(request, book, list(takeable))
            mode = "fee"
        else:
            chosen = self._all_liquidity(request, book, takeable)
            mode = "liquidity"
        return SweepPlan(self._synchronise(chosen), visible, mode)

    def _all_liquidity(self, request: SweepRequest, book: InstrumentBook,
                       takeable: dict[str, int]) -> list[tuple[str, int, float]]:
        venues = sorted(takeable, key=lambda v: (-takeable[v], self._fees.taker(v), v))
        if request.max_children is not None:
            venues = venues[: request.max_children]
        return [(v, takeable[v], request.limit) for v in venues]

    def _cheapest_fill(self, request: SweepRequest, book: InstrumentBook,
                       venues: list[str]) -> list[tuple[str, int, float]]:
        while True:
            taken = self._greedy(request, book, venues)
            if request.max_children is None or len(taken) <= request.max_children:
                return [(v, qty, price) for v, (qty, price) in sorted(taken.items())]
            # Too many venues: drop the one contributing least and plan again without it.
            smallest = min(taken, key=lambda v: (taken[v][0], v))
            venues = [v for v in venues if v != smallest]

    def _greedy(self, request: SweepRequest, book: InstrumentBook,
                venues: list[str]) -> dict[str, tuple[int, float]]:
        fee_per_unit = {v: self._fees.taker(v) / request.multiplier for v in venues}
        sign = 1.0 if request.side.is_buy else -1.0
        candidates = []
        for venue in venues:
            for level in book.levels(venue, request.side.opposite()):
                if sign * (level.price - request.limit) > _EPS:
                    break
                all_in = level.price + sign * fee_per_unit[venue]
                candidates.append((sign * all_in, venue, level.price, level.qty))
        candidates.sort()
        remaining = request.qty
        taken: dict[str, tuple[int, float]] = {}
        for _, venue, price, qty in candidates:
            if remaining <= 0:
                break
            take = min(qty, remaining)
            prev_qty, prev_price = taken.get(venue, (0, price))
            worst = max(prev_price, price) if request.side.is_buy else min(prev_price, price)
            taken[venue] = (prev_qty + take, worst)
            remaining -= take
        return taken

    def _synchronise(self, chosen: list[tuple[str, int, float]]) -> tuple[Allocation, ...]:
        if not chosen:
            return ()
        slowest = max(self._latency_ns[v] for v, _, _ in chosen)
        return tuple(Allocation(v, qty, price, slowest - self._latency_ns[v]) for v, qty, price in chosen)
