"""The simulated market's participants, each a small type with documented parameters. They act
when the orchestrator (venues/sim/background.py) calls them, drawing from the seeded numpy
Generator it passes (the makers share one; each kind of arrival has its own stream), so a seed
fixes everything they do.

- ``StockMarketMaker``: a few levels of round lots each side of every underlier on one equity
  venue, one underlier tick apart around the path's spot, re-quoted at every path step.
- ``OptionMarketMaker``: one per option venue, every listed option a few levels deep around fair
  value with seed 002's delta-bucket widths (router.market.quoting) times the venue's width.
  The orchestrator calls it after the venue's reaction latency, so its quotes are stale for a
  few milliseconds after each move.
- ``QuoteFlicker``: a maker's resting order is pulled and re-entered a moment later (20 ms on
  average), at the back of its queue: option quotes flicker; the stock maker's touch orders are
  canceled at the rate fitted on LOBSTER (venues/sim/calibration.py), which lets orders behind
  them move up between the maker's re-quotes.
- ``UninformedTaker``: market orders (IOC at the far touch) on a random book, random side, with
  Poisson arrivals at a rate per book and sizes from a ``SizeDistribution``.
- ``InformedTaker``: knows the underlier path ``horizon_s`` ahead (``LookaheadPaths`` steps the
  seeded path early and keeps the future steps) and so the option's value then. On arrival at
  a random option book it buys the ask when that value exceeds the ask by more than its taker
  fee per share plus ``min_edge``, sells the bid in the mirror case, and otherwise does nothing.
  This is the adverse selection a resting order meets: it is hit just before the price moves
  through it (Glosten and Milgrom 1985; markouts in bench/markouts.py).
"""
from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Protocol

import numpy as np

from router.clock import NANOS_PER_SECOND, Clock
from router.domain.enums import Side
from router.domain.instruments import Instrument
from router.market.paths import UnderlierPaths
from router.market.quoting import quote_prices

from .matching import from_ticks
from .venue import PRICE_TICK, SimVenue

ROUND_LOT = 100
RECENT_INFORMED = 10_000     # informed orders kept for inspection (tests, benches)
STOCK_LOTS_MAX = 20          # the stock maker shows 1..20 round lots a level


class OrderIds:
    """Background order ids, unique across every participant of one market."""

    def __init__(self) -> None:
        self._seq = itertools.count(1)

    def next(self, prefix: str) -> str:
        return f"{prefix}{next(self._seq)}"


def seconds_of_day(now_ns: int) -> int:
    now = datetime.fromtimestamp(now_ns / NANOS_PER_SECOND, tz=timezone.utc)
    return now.hour * 3600 + now.minute * 60 + now.second


class LookaheadPaths:
    """The seeded underlier paths, stepped ``steps_ahead`` steps early: ``current`` is the spot at
    the latest step, ``ahead`` the spot ``steps_ahead`` steps later. Each step draws with the
    intraday volatility of its own time, so the path is the one the market would have stepped
    without looking ahead (with ``steps_ahead=0`` it is exactly that)."""

    def __init__(self, paths: UnderlierPaths, step_s: float, steps_ahead: int, start_ns: int) -> None:
        self.symbols = paths.symbols
        self._paths = paths
        self._step_s = step_s
        self._step_ns = int(round(step_s * NANOS_PER_SECOND))
        self.steps_ahead = steps_ahead
        self.current = paths.spots.copy()
        self._future: deque[np.ndarray] = deque()
        self._next_step_ns = start_ns + self._step_ns          # time of the next step not yet drawn
        for _ in range(steps_ahead):
            self._draw()

    def _draw(self) -> None:
        self._future.append(self._paths.step(self._step_s, seconds_of_day(self._next_step_ns)).copy())
        self._next_step_ns += self._step_ns

    def step(self) -> np.ndarray:
        """Move to the next step."""
        self._draw()
        self.current = self._future.popleft()
        return self.current

    def ahead(self, steps: int) -> np.ndarray:
        """The spot ``steps`` steps after the current one (1 <= steps <= steps_ahead)."""
        if not 1 <= steps <= len(self._future):
            raise ValueError(f"can look 1 to {len(self._future)} steps ahead, not {steps}")
        return self._future[steps - 1]


# ---- sizes


class SizeDistribution(Protocol):
    def draw(self, rng: np.random.Generator) -> int: ...


@dataclass(frozen=True, slots=True)
class UniformSize:
    """Whole lots, uniform in ``lots_min..lots_max``."""
    lots_min: int
    lots_max: int
    lot: int = 1

    def draw(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.lots_min, self.lots_max + 1)) * self.lot


@dataclass(frozen=True, slots=True)
class LognormalSize:
    """exp(N(log_mean, log_std)) units (a fit of venues/sim/calibration.py), rounded to whole lots,
    at least one lot and at most ``lots_max``."""
    log_mean: float
    log_std: float
    lot: int = 1
    lots_max: int = 1_000_000

    def draw(self, rng: np.random.Generator) -> int:
        units = math.exp(rng.normal(self.log_mean, self.log_std))
        return min(max(1, round(units / self.lot)), self.lots_max) * self.lot


# ---- makers


class StockMarketMaker:
    """Round lots on ``levels`` prices a side of each underlier on one equity venue, one
    underlier tick apart: the best bid is the tick at or below spot, the best ask the next."""
    owner = "smm"

    def __init__(self, venue: SimVenue, symbols: list[str], tick_ticks: dict[str, int], levels: int,
                 ids: OrderIds) -> None:
        self.venue = venue
        self.symbols = symbols
        self._tick_ticks = tick_ticks
        self._levels = levels
        self._ids = ids
        self.quoted: dict[str, list[str]] = {}

    def symbol_of(self, key: str) -> str:
        return key

    def orders_of(self, key: str) -> list[str] | None:
        return self.quoted.get(key)

    def quote(self, spot: dict[str, float], rng: np.random.Generator) -> None:
        venue = self.venue
        for symbol in self.symbols:
            for order_id in self.quoted.pop(symbol, ()):
                venue.pull(order_id, symbol)
            bids, asks = stock_ladder(spot[symbol], self._tick_ticks[symbol], self._levels)
            lots = rng.integers(1, STOCK_LOTS_MAX + 1, size=(2, self._levels))
            placed = []
            for side, prices, side_lots in ((Side.BUY, bids, lots[0]), (Side.SELL, asks, lots[1])):
                for price_ticks, lot_count in zip(prices, side_lots):
                    order_id = self._ids.next(self.owner)
                    result = venue.place(self.owner, order_id, symbol, side, int(lot_count) * ROUND_LOT,
                                         from_ticks(price_ticks, PRICE_TICK), capacity="market_maker")
                    if result.rested_qty:
                        placed.append(order_id)
            self.quoted[symbol] = placed


def stock_ladder(spot: float, tick_ticks: int, levels: int) -> tuple[list[int], list[int]]:
    """Bid and ask prices in book ticks, best first, ``tick_ticks`` apart: the best bid is the
    underlier tick at or below spot and the best ask the next one up."""
    best_bid = math.floor(spot / (tick_ticks * PRICE_TICK) + 1e-9) * tick_ticks
    bids = [best_bid - level * tick_ticks for level in range(levels)]
    asks = [best_bid + (level + 1) * tick_ticks for level in range(levels)]
    return [b for b in bids if b > 0], asks


class OptionMarketMaker:
    """Every option of the chain that its venue lists (``listed``: indices into ``options``, the
    order of the fair-value arrays), ``levels`` deep each side around fair value (a crypto
    venue's mark), one rung of each option's own tick ladder apart, sizes uniform in
    ``size_min..size_max``; a book whose top prices have not changed is left alone (its queue
    stands)."""

    def __init__(self, venue: SimVenue, options: list[Instrument], width: float, reaction_ms: float,
                 levels: int, size_min: int, size_max: int, ids: OrderIds, owner: str = "mm") -> None:
        self.owner = owner
        rules = [o.tick_rule for o in options]
        self._ticks = {"small_tick": np.array([r.small_tick for r in rules]),
                       "large_tick": np.array([r.large_tick for r in rules]),
                       "threshold": np.array([r.threshold for r in rules])}
        self.venue = venue
        self.options = options
        self.listed = [i for i, o in enumerate(options) if venue.lists(o.symbol)]
        self.width = width
        self.reaction_ms = reaction_ms          # mean delay after a move before it re-quotes
        self._levels = levels
        self._size_min, self._size_max = size_min, size_max
        self._ids = ids
        self.quoted: dict[int, tuple[float, float, list[str]]] = {}

    def symbol_of(self, key: int) -> str:
        return self.options[key].symbol

    def orders_of(self, key: int) -> list[str] | None:
        quoted = self.quoted.get(key)
        return None if quoted is None else quoted[2]

    def requote(self, fair: np.ndarray, delta: np.ndarray, rng: np.random.Generator) -> None:
        if not self.listed:
            return
        levels, venue = self._levels, self.venue
        bids, asks = quote_prices(fair, delta, width_multiplier=self.width, **self._ticks)
        sizes = rng.integers(self._size_min, self._size_max + 1, size=(len(self.options), 2, levels))
        for index in self.listed:
            option = self.options[index]
            bid, ask = float(bids[index]), float(asks[index])
            current = self.quoted.get(index)
            if current is not None and current[0] == bid and current[1] == ask:
                continue
            if current is not None:
                for order_id in current[2]:
                    venue.pull(order_id, option.symbol)
            rule = option.tick_rule
            placed = []
            for level in range(levels):
                for side, price in ((Side.BUY, rule.step(bid, -level)), (Side.SELL, rule.step(ask, level))):
                    if price < rule.small_tick - 1e-12:
                        continue
                    order_id = self._ids.next(self.owner)
                    result = venue.place(self.owner, order_id, option.symbol, side,
                                         int(sizes[index, int(side is Side.SELL), level]), price,
                                         capacity="market_maker")
                    if result.rested_qty:
                        placed.append(order_id)
            self.quoted[index] = (bid, ask, placed)


class _Maker(Protocol):
    venue: SimVenue
    owner: str

    def symbol_of(self, key) -> str: ...

    def orders_of(self, key) -> list[str] | None:
        """The maker's live order ids on that book (the same list until it re-quotes the book)."""


class QuoteFlicker:
    """Pull one of a maker's resting orders on a random book and re-enter it ``restore_ms``
    (exponential mean) later at the back of the queue, unless the maker re-quoted the book
    meanwhile. ``touch_only``: only orders at the best price of their side (a level-1 cancel)."""

    def __init__(self, books: list[tuple[_Maker, object]], ids: OrderIds, clock: Clock, *, touch_only: bool = False,
                 restore_ms: float = 20.0) -> None:
        self.books = books
        self._ids = ids
        self._clock = clock
        self._touch_only = touch_only
        self._restore_ms = restore_ms
        self.running = True
        self.arrivals = 0
        self.pulled = 0

    def act(self, rng: np.random.Generator) -> None:
        self.arrivals += 1
        maker, key = self.books[int(rng.integers(len(self.books)))]
        orders = maker.orders_of(key)
        if not orders:
            return
        symbol = maker.symbol_of(key)
        book = maker.venue.book(symbol)
        candidates = orders
        if self._touch_only:
            best = {Side.BUY: book.best_bid(), Side.SELL: book.best_ask()}
            candidates = [o for o in orders if (view := book.order(o)) is not None
                          and best[view.side] is not None and view.price_ticks == best[view.side][0]]
            if not candidates:
                return
        order_id = candidates[int(rng.integers(len(candidates)))]
        view = book.order(order_id)
        if view is None:
            return
        maker.venue.pull(order_id, symbol)
        orders.remove(order_id)
        self.pulled += 1
        restored = self._ids.next(maker.owner)

        def restore() -> None:
            if not self.running or maker.orders_of(key) is not orders:
                return                  # re-quoted meanwhile: the fresh quote stands
            if maker.venue.place(maker.owner, restored, symbol, view.side, view.leaves,
                                 from_ticks(view.price_ticks, PRICE_TICK), capacity="market_maker").rested_qty:
                orders.append(restored)
        self._clock.call_later(int(rng.exponential(self._restore_ms) * 1_000_000), restore)


# ---- takers


class UninformedTaker:
    """A market order (IOC at the book's far touch) on a random one of ``books``, buy or sell
    with even odds; ``per_book_rate`` arrivals per book per second (Poisson)."""
    owner = "taker"

    def __init__(self, books: list[tuple[SimVenue, str]], per_book_rate: float, sizes: SizeDistribution,
                 ids: OrderIds) -> None:
        self.books = books
        self.per_book_rate = per_book_rate
        self.sizes = sizes
        self._ids = ids
        self.arrivals = 0
        self.orders = 0

    @property
    def rate(self) -> float:
        """Arrivals per second over all its books."""
        return self.per_book_rate * len(self.books)

    def act(self, rng: np.random.Generator) -> None:
        self.arrivals += 1
        venue, symbol = self.books[int(rng.integers(len(self.books)))]
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        qty = self.sizes.draw(rng)
        book = venue.book(symbol)
        far = book.best_ask() if side.is_buy else book.best_bid()
        if far is None:
            return
        self.orders += 1
        venue.place(self.owner, self._ids.next("tk"), symbol, side, qty, from_ticks(far[0], PRICE_TICK), ioc=True,
                    capacity="professional")     # an IOC never rests, so its capacity never decides an allocation


@dataclass(frozen=True, slots=True)
class InformedOrder:
    """What an informed taker sent, and the option value ahead it acted on."""
    at_ns: int
    venue: str
    symbol: str
    side: Side
    qty: int
    price: float
    value_ahead: float


def informed_side(bid: float | None, ask: float | None, value_ahead: float, cost: float) -> Side | None:
    """The side an informed taker takes: buy when the value ahead beats the ask by more than its
    cost per share, sell when the bid beats it so, the larger edge if both; else none."""
    buy_edge = value_ahead - ask - cost if ask is not None else -math.inf
    sell_edge = bid - value_ahead - cost if bid is not None else -math.inf
    if max(buy_edge, sell_edge) <= 0:
        return None
    return Side.BUY if buy_edge >= sell_edge else Side.SELL


class InformedTaker:
    """Takes an option book's far touch when the option's value ``horizon_s`` ahead (from
    ``value_ahead()``: every option's value ``horizon_s`` after the latest path step, by option
    index, or None while unknown) beats the price by more than ``taker_fee(venue, option, price)``
    / multiplier + ``min_edge`` per share. Arrivals at ``per_book_rate`` per book; most find no
    edge and do nothing."""
    owner = "informed"

    def __init__(self, books: list[tuple[SimVenue, int]], options: list[Instrument], per_book_rate: float,
                 horizon_s: float, min_edge: float, sizes: SizeDistribution,
                 value_ahead: Callable[[], np.ndarray | None],
                 taker_fee: Callable[[str, str, float], float], ids: OrderIds, clock: Clock) -> None:
        self.books = books
        self.options = options
        self.per_book_rate = per_book_rate
        self.horizon_s = horizon_s
        self.min_edge = min_edge
        self.sizes = sizes
        self._value_ahead = value_ahead
        self._taker_fee = taker_fee
        self._ids = ids
        self._clock = clock
        self.arrivals = 0
        self.orders = 0
        self.recent: deque[InformedOrder] = deque(maxlen=RECENT_INFORMED)     # the latest orders, for a look

    @property
    def rate(self) -> float:
        return self.per_book_rate * len(self.books)

    def act(self, rng: np.random.Generator) -> None:
        venue, index = self.books[int(rng.integers(len(self.books)))]
        qty = self.sizes.draw(rng)
        self.arrivals += 1
        values = self._value_ahead()
        if values is None:
            return
        option = self.options[index]
        book = venue.book(option.symbol)
        bid, ask = book.best_bid(), book.best_ask()
        bid_price = from_ticks(bid[0], PRICE_TICK) if bid else None
        ask_price = from_ticks(ask[0], PRICE_TICK) if ask else None
        reference = ask_price if ask_price is not None else bid_price
        if reference is None:
            return
        cost = self._taker_fee(venue.name, option.symbol, reference) / option.multiplier + self.min_edge
        side = informed_side(bid_price, ask_price, float(values[index]), cost)
        if side is None:
            return
        self.orders += 1
        price = ask_price if side.is_buy else bid_price
        self.recent.append(InformedOrder(self._clock.now_ns(), venue.name, option.symbol, side, qty, price,
                                         float(values[index])))
        venue.place(self.owner, self._ids.next("inf"), option.symbol, side, qty, price, ioc=True,
                    capacity="professional")
