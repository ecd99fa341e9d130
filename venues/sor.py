"""Smart order routing: which venues get how much of a marketable order, and where a resting
child should post.

Two regimes, after SpiderRock's sweep description:
- Below visible size: take the cheapest liquidity first, where cheapest is the all-in price
  (level price plus the venue's taker fee per share of the contract). At equal prices that is
  simply the lowest-fee venue first.
- At or above visible size: maximise liquidity captured in one synchronized wave: every venue
  showing size within the limit gets a child for all of it, and the sends are staggered by
  venue latency so the children arrive together (a fast venue's fill cannot warn the slow
  venue's quoters before our order lands there).

Resting children (``plan_post``, ``plan_posts``) go where posting costs least in expectation,
per contract: ``p * maker_fee + (1 - p) * miss_cost``, where ``p`` is the fill-probability
model's chance (router/models/fill_probability.py) that an order joining the back of that
venue's queue at the price fills within its horizon, given the size shown ahead of it, what
traded against that queue in the last 30 s and the spread; and ``miss_cost`` is what not
filling costs: crossing later, half the spread plus the cheapest taker fee. So a rebate wins
only where the queue behind which it is earned still trades; a long queue on a venue nobody
trades loses to a short one on a venue that charges. Without a model the rank is the fee, then
the size shown (where the price is proven). Ties go by name, for determinism.
``plan_posts`` spreads a posting over the best ``num_venues`` (SpiderRock's NumMakeExchanges,
5048) with at most ``max_exposure`` shown in all (MaxExposureSize, 5046).

Option venues and equity venues never mix: an option order only goes to option venues and an
underlier order only to equity venues.

A venue marked unreachable (``set_reachable``: its FIX session is down) gets nothing until it is
back; with every venue down the plans are empty and the algos wait.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

from router.domain.enums import Liquidity, Side
from router.market.books import InstrumentBook
from router.models.fill_probability import TRADE_WINDOW_S, FillProbability

from .fees import FeeError, FeeSchedule

_EPS = 1e-9

VenueKind = Literal["option", "equity"]


@dataclass(frozen=True, slots=True)
class SweepRequest:
    side: Side
    qty: int
    limit: float
    multiplier: int
    venues: tuple[str, ...]          # allowed venues; empty means all
    max_children: int | None = None
    capacity: str | None = None      # the account's, for its own fee rates; None: each venue's default


@dataclass(frozen=True, slots=True)
class Allocation:
    venue: str
    qty: int
    price: float          # the child's limit
    send_delay_ns: int    # wait before sending, so all children of the wave arrive together


@dataclass(frozen=True, slots=True)
class PostRank:
    venue: str
    expected_cost: float            # $ per contract (module docstring); the maker fee without a model
    fill_probability: float | None  # within the model's horizon; None without a model
    maker_fee: float
    queue_ahead: int                # shown at the price on our side, ahead of a new order


@dataclass(frozen=True, slots=True)
class SweepPlan:
    allocations: tuple[Allocation, ...]
    mode: str             # "fee" (below visible size), "liquidity" (at or above) or "none"


class SmartOrderRouter:
    """``venue_kinds`` names each venue's kind (unnamed venues are option venues);
    ``underliers`` are the symbols that trade on equity venues, every other symbol on option
    venues."""

    def __init__(self, fees: FeeSchedule, latency_ns: dict[str, int], *,
                 venue_kinds: Mapping[str, VenueKind] | None = None, underliers: Collection[str] = (),
                 fill_model: FillProbability | None = None,
                 listings: Mapping[str, Collection[str]] | None = None) -> None:
        """``listings``: each venue's symbols, when known (a crypto option lists on crypto venues
        only, BTCUSDT on the perpetual venue only); a venue missing from it lists nothing."""
        self._fees = fees
        self._listings = None if listings is None else {v: frozenset(s) for v, s in listings.items()}
        self._fill_model = fill_model
        self._latency_ns = latency_ns
        self._venue_kinds = dict(venue_kinds or {})
        self._underliers = frozenset(underliers)
        self._unreachable: set[str] = set()

    @property
    def fees(self) -> FeeSchedule:
        """The fee schedule the SOR ranks venues by (the algos' expected fees come from it too)."""
        return self._fees

    def set_reachable(self, venue: str, reachable: bool) -> None:
        """Mark a venue up or down (its session logged on or out)."""
        if reachable:
            self._unreachable.discard(venue)
        else:
            self._unreachable.add(venue)

    def reachable(self, venue: str) -> bool:
        return venue not in self._unreachable

    def plan_sweep(self, request: SweepRequest, book: InstrumentBook) -> SweepPlan:
        allowed = self._candidates(book.symbol, request.venues)
        takeable = {v: book.takeable(v, request.side, request.limit) for v in allowed}
        takeable = {v: q for v, q in takeable.items() if q > 0}
        visible = sum(takeable.values())
        if not takeable or request.qty <= 0:
            return SweepPlan((), "none")
        if request.qty < visible:
            chosen = self._cheapest_fill(request, book, list(takeable))
            mode = "fee"
        else:
            chosen = self._all_liquidity(request, book, takeable)
            mode = "liquidity"
        return SweepPlan(self._synchronise(chosen), mode)

    def plan_post(self, side: Side, qty: int, price: float, book: InstrumentBook,
                  venues: tuple[str, ...] = (), capacity: str | None = None, *, multiplier: int = 1,
                  tick: float = 0.01, now_ns: int | None = None) -> str | None:
        """The venue for a child resting ``qty`` at ``price`` on ``side``, among ``venues``
        (empty means all) of the symbol's kind; None when no venue is allowed."""
        ranked = self.rank_posts(side, qty, price, book, venues, capacity, multiplier=multiplier, tick=tick,
                                 now_ns=now_ns)
        return ranked[0].venue if ranked else None

    def plan_posts(self, side: Side, qty: int, price: float, book: InstrumentBook, venues: tuple[str, ...] = (),
                   capacity: str | None = None, *, num_venues: int = 1, max_exposure: int | None = None,
                   multiplier: int = 1, tick: float = 0.01, now_ns: int | None = None) -> tuple[Allocation, ...]:
        """``qty`` to rest, split over the ``num_venues`` cheapest venues (5048), showing at most
        ``max_exposure`` in all (5046); the best-ranked venues get the odd contracts."""
        ranked = self.rank_posts(side, qty, price, book, venues, capacity, multiplier=multiplier, tick=tick,
                                 now_ns=now_ns)
        shown = min(qty, max_exposure) if max_exposure is not None else qty
        chosen = ranked[:max(1, min(num_venues, shown))]
        if shown <= 0 or not chosen:
            return ()
        each, odd = divmod(shown, len(chosen))
        return tuple(Allocation(r.venue, each + (i < odd), price, 0) for i, r in enumerate(chosen))

    def rank_posts(self, side: Side, qty: int, price: float, book: InstrumentBook, venues: tuple[str, ...] = (),
                   capacity: str | None = None, *, multiplier: int = 1, tick: float = 0.01,
                   now_ns: int | None = None) -> list["PostRank"]:
        """Every allowed venue, best place to rest first (module docstring)."""
        candidates = self._candidates(book.symbol, venues)
        if qty <= 0 or not candidates:
            return []
        maker = [self._unit_fee(v, Liquidity.ADDED, book.symbol, capacity, price) for v in candidates]
        ahead = [_shown_at(book, v, side, price) for v in candidates]
        model = self._fill_model
        if model is None or now_ns is None:
            order = sorted(range(len(candidates)), key=lambda i: (maker[i], -ahead[i], candidates[i]))
            return [PostRank(candidates[i], maker[i], None, maker[i], ahead[i]) for i in order]
        since_ns = now_ns - int(TRADE_WINDOW_S * 1e9)
        traded = [book.traded_at(v, side, price, since_ns) for v in candidates]
        nbbo = book.nbbo()
        spread = (nbbo.ask - nbbo.bid) / tick if nbbo.ask is not None and nbbo.bid is not None else float("nan")
        p = model.probability(ahead, 0.0, traded, spread)
        half_spread = 0.5 * (nbbo.ask - nbbo.bid) * multiplier if spread == spread else 0.0
        taker = min(self._unit_fee(v, Liquidity.REMOVED, book.symbol, capacity, price) for v in candidates)
        cost = p * maker + (1.0 - p) * (half_spread + taker)
        order = sorted(range(len(candidates)), key=lambda i: (round(float(cost[i]), 9), maker[i], candidates[i]))
        return [PostRank(candidates[i], float(cost[i]), float(p[i]), maker[i], ahead[i]) for i in order]

    def _unit_fee(self, venue: str, liquidity: Liquidity, symbol: str, capacity: str | None,
                  price: float | None = None) -> float:
        """$ per unit at ``venue`` for this account type and symbol; a venue whose schedule needs
        more than that (a crypto venue: the underlier's price) ranks by its default rate."""
        try:
            return self._fees.net_fee(venue, liquidity, symbol=symbol, price=price, capacity=capacity)
        except FeeError:
            return self._fees.taker(venue) if liquidity is Liquidity.REMOVED else self._fees.maker(venue)

    def candidates(self, symbol: str, venues: tuple[str, ...] = ()) -> list[str]:
        """The reachable venues among ``venues`` (empty means all) that trade this kind of symbol."""
        return self._candidates(symbol, venues)

    def _candidates(self, symbol: str, venues: tuple[str, ...]) -> list[str]:
        """Allowed venues (empty means all) that trade this kind of symbol, in fee-table order."""
        kind = "equity" if symbol in self._underliers else "option"
        down, listings = self._unreachable, self._listings
        return [v for v in (venues or tuple(self._fees.venues))
                if v in self._latency_ns and self._venue_kinds.get(v, "option") == kind and v not in down
                and (listings is None or symbol in listings.get(v, ()))]

    def _all_liquidity(self, request: SweepRequest, book: InstrumentBook,
                       takeable: dict[str, int]) -> list[tuple[str, int, float]]:
        venues = sorted(takeable, key=lambda v: (
            -takeable[v], self._unit_fee(v, Liquidity.REMOVED, book.symbol, request.capacity, request.limit), v))
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
        fee_per_unit = {v: self._unit_fee(v, Liquidity.REMOVED, book.symbol, request.capacity, request.limit)
                        / request.multiplier for v in venues}
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


def _shown_at(book: InstrumentBook, venue: str, side: Side, price: float) -> int:
    return next((level.qty for level in book.levels(venue, side) if abs(level.price - price) <= _EPS), 0)
