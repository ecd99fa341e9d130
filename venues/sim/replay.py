"""A venue whose book is a recording (Binance USD-M depth, or LOBSTER), played on the clock at the
recorded times, where the router's children fill through a queue model (router/models/queue.py).
It speaks the venue adapter protocol v2 (venues/base.py) with SimVenue's report semantics
(venues/sim/venue.py): the same reports in the same order, the same reasons, exec IDs carrying
a token of the venue's start time, each fill with its fee and liquidity flag, commands and
replies delayed by the venue's latency, BookUpdate and TradePrint after the market-data
latency. The engine cannot tell it from a SimVenue.

The Binance capture makes it the perpetual venue that hedges crypto options:
``BINANCE_PERP_VENUE`` ("BNPF"), symbol ``BINANCE_PERP_SYMBOL`` ("BTCUSDT"), price tick 0.1
USDT; a child's qty counts lots of 0.001 BTC (the capture's quantity step).

How fills happen (the numba core, venues/sim/replay_core.py, has the exact rules):
- A marketable child (or the marketable part of a replace) takes against the recorded visible
  book, best price first, and fills at each level's price (liquidity removed). The size it took
  stays taken for the rest of that level's life (until the recording empties the level), so no
  later child can take it again.
- A resting child joins the back of the queue: its queue ahead is the visible size at its price
  when it arrives (after latency). The queue model moves it on the recorded trades and size
  changes at its price. It fills only by a recorded trade through its price, or by trades at its
  price once the queue ahead is gone; never by a touch or by the book moving through it. What
  our children get from one recorded trade is capped at that trade's size.
- Replace: a new price, or a larger size, is a new queue position at the back; a smaller size at
  the same price keeps its place. IOC / FOK / post-only, self-match prevention (the resting child
  is canceled) and refusals follow SimVenue. Reserve orders (display qty) are refused: the
  perpetual has none.

Time: the venue applies the recording on clock timers, one per recorded timestamp, so any
caller may submit between any two recorded events (``lookahead_ns=0``, the default). A backtest
whose every input arrives by a clock timer may pass ``lookahead_ns`` > 0: the venue then applies
all recorded events up to just before the clock's next timer in one call of the core (and
emits what happened in between at its recorded time), which is what makes the replay fast
(bench/replay_speed.py). With a ``book_sink`` the venue stops after every recorded timestamp to
publish the book and the tape.

Constructing it (venues/sim/market.py ``replay_venues`` does it for a configured ``replay``)::

    events = binance_events("../shared/data/binance_usdm_btcusdt_20240808.gz")
    venue = ReplayVenue(BINANCE_PERP_VENUE, clock, fees, events, latency_ns=2_000_000,
                        md_latency_ns=1_000_000, report_sink=inbox.put, book_sink=inbox.put,
                        queue_model="risk_averse", latency=shared_latency_model)

The clock should start at or before the recording's first time (``events.ts[0]``); recorded
events older than the clock play at once.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from router.clock import Clock, TimerHandle
from router.domain.enums import Liquidity, Side, TimeInForce
from router.domain.events import (BookLevel, BookUpdate, CancelChild, ChildAccepted, ChildCanceled,
                                  ChildCancelRejected, ChildRejected, ChildReplaced,
                                  ChildReplaceRejected, ReplaceChild, SubmitChild, TradePrint, VenueReport)
from router.models.latency import VenueLatency
from venues.fees import FeeSchedule

from . import replay_core as core
from .counter import CounterChild, VenueCounter
from .matching import to_ticks
from .replay_book import ReplayBook
from .replay_events import ReplayEvents
from .venue import DEPTH_LEVELS, SELF_MATCH_RESTING, UNKNOWN_ORDER

BINANCE_PERP_VENUE = "BNPF"
BINANCE_PERP_SYMBOL = "BTCUSDT"
MAX_QTY_LOTS = 1_000_000           # 1000 BTC: Binance's maximum quantity of a BTCUSDT limit order
POST_ONLY_WOULD_TAKE = "post-only order would take liquidity"


class ReplayVenue(VenueCounter):
    def __init__(self, name: str, clock: Clock, fees: FeeSchedule, events: ReplayEvents, latency_ns: int,
                 md_latency_ns: int, report_sink: Callable[[VenueReport], None],
                 book_sink: Callable[[BookUpdate | TradePrint], None] | None = None,
                 symbol: str = BINANCE_PERP_SYMBOL, queue_model: str = "risk_averse",
                 latency: VenueLatency | None = None, lookahead_ns: int = 0, max_qty: int = MAX_QTY_LOTS) -> None:
        self._open_counter(name, clock, fees, latency_ns, latency, report_sink)
        self.symbol = symbol
        self.events = events
        self.book = ReplayBook(events, queue_model)
        self._tick = events.price_tick
        self._decimals = max(0, -math.floor(math.log10(self._tick) + 1e-9))
        self._md_latency_ns = md_latency_ns
        self._book_sink = book_sink
        self.lookahead_ns = lookahead_ns
        self.max_qty = max_qty
        self._step_handle: TimerHandle | None = None
        self._deferred: tuple[TimerHandle, Callable[[], None]] | None = None
        self._applied_ns = clock.now_ns()            # the recorded time the book has reached
        self._publish_pending = False
        self._last_book: BookUpdate | None = None
        self._schedule_step()

    def lists(self, symbol: str) -> bool:
        return symbol == self.symbol

    @property
    def done(self) -> bool:
        """Every recorded event has been applied."""
        return self.book.next_ts() is None and self._deferred is None

    def queue_ahead(self, child_id: str) -> float | None:
        return self.book.queue_ahead(child_id)

    def mid(self) -> float | None:
        """The recorded book's mid now (what the crypto option marks are priced off), None while one side is empty."""
        bid, ask = self.book.best(True), self.book.best(False)
        if bid is None or ask is None:
            return None
        return round((bid[0] + ask[0]) / 2 * self._tick, self._decimals + 1)

    # ---- the recording, on the clock

    def _schedule_step(self) -> None:
        if self._step_handle is not None:
            self._step_handle.cancel()
        at = self.book.next_ts()
        self._step_handle = None if at is None else self._clock.call_at(max(at, self._clock.now_ns()), self._step)

    def _step(self) -> None:
        self._step_handle = None
        now = self._clock.now_ns()
        if self._advance(now + self.lookahead_ns):
            self._schedule_step()

    def _advance(self, horizon: int) -> bool:
        """Apply the recording up to ``horizon``, but never up to the clock's next timer: whatever
        it does may act on the venue. What happened at a recorded time later than now (only with
        lookahead) is emitted at that time, and the replay goes on from there: returns False then,
        True when the recording is applied up to the bound."""
        every_group = self._book_sink is not None
        now = self._clock.now_ns()
        while True:
            following = self._clock.next_timer_ns()       # emitting schedules replies: look again each time
            if following is not None:
                horizon = max(now, min(horizon, following - 1))
            fills, group = self.book.run(horizon, every_group)
            if group is None:
                return True
            self._applied_ns = group[2]
            if group[2] > now:
                emit = lambda fills=fills, group=group: self._emit(fills, group)
                self._deferred = (self._clock.call_at(group[2], self._run_deferred), emit)
                return False
            self._emit(fills, group)

    def _run_deferred(self) -> None:
        _, emit = self._deferred
        self._deferred = None
        emit()
        self._step()

    def _catch_up(self) -> None:
        """Before a command acts: everything recorded up to now is in the book, nothing later."""
        now = self._clock.now_ns()
        if self._applied_ns > now:
            raise RuntimeError(f"{self.name}: a command arrived at {now} ns but the replay had looked ahead to "
                               f"{self._applied_ns} ns; with lookahead_ns every input must come by a clock timer")
        if self._deferred is not None:                # due at this very instant: it goes first
            handle, emit = self._deferred
            handle.cancel()
            self._deferred = None
            emit()
        if self._advance(now):
            self._schedule_step()

    def _emit(self, fills: list[tuple[str, int, int]], group: tuple[int, int, int]) -> None:
        for child_id, qty, tick in fills:
            child = self._children[child_id]
            self._router_fill(child_id, qty, self.price_of(tick), Liquidity.ADDED)
            if self.book.resting(child_id) is None:
                child.resting = False
        if self._book_sink is None:
            return
        start, end, _ = group
        kinds = self.events.kind[start:end]
        for i in np.flatnonzero((kinds == core.BUY_TRADE) | (kinds == core.SELL_TRADE)):
            e = start + int(i)
            aggressor = Side.BUY if self.events.kind[e] == core.BUY_TRADE else Side.SELL
            self._print(TradePrint(self.name, self.symbol, self.price_of(int(self.events.tick[e])),
                                   int(self.events.qty[e]), aggressor))
        self._publish()

    # ---- the adapter protocol: every command arrives after the order latency

    def _arrive_submit(self, order: SubmitChild) -> None:
        self._catch_up()
        self.submits[order.child_id] += 1
        if order.child_id in self._children:
            self._reply(ChildRejected(order.child_id, self.name, f"duplicate child id {order.child_id}"))
            return
        reason = self._refusal(order)
        tick = self._ticks(order.price) if reason is None else 0
        is_buy = order.side.is_buy
        if reason is None and order.post_only and self.book.would_take(is_buy, tick):
            reason = POST_ONLY_WOULD_TAKE
        if reason is not None:
            child = self._children[order.child_id] = CounterChild(self.symbol, order.side, order.capacity, resting=False)
            self._end(child, ChildRejected(order.child_id, self.name, reason))
            return
        fok = order.time_in_force is TimeInForce.FOK
        ioc = fok or order.time_in_force is TimeInForce.IOC
        self._reply(ChildAccepted(order.child_id, self.name))
        child = self._children[order.child_id] = CounterChild(self.symbol, order.side, order.capacity, order.post_only)
        self._self_match(order.child_id, is_buy, tick)
        taken = self.book.take(is_buy, tick, order.qty, fok)
        self._report_takes(order.child_id, child, is_buy, taken)
        left = order.qty - child.filled
        if left and not ioc:
            self.book.rest(order.child_id, is_buy, tick, left)
        else:
            child.resting = False
            if left:
                self._end(child, ChildCanceled(order.child_id, self.name,
                                               "FOK could not fill in full" if fok else "IOC remainder"))
        self._publish()

    def _refusal(self, order: SubmitChild) -> str | None:
        if not self.lists(order.symbol):
            return f"{order.symbol} is not listed on {self.name}"
        if order.display_qty is not None:
            return f"reserve orders (display qty) are not supported on {self.name}"
        return self._bad_qty_or_price(order.qty, order.price)

    def _bad_qty_or_price(self, qty: int, price: float) -> str | None:
        if qty <= 0:
            return f"qty must be positive, got {qty}"
        if qty > self.max_qty:                                  # SimVenue's wording, for the same refusals
            return f"qty {qty} is above {self.name}'s maximum order size {self.max_qty}"
        if not price > 0:
            return f"price must be positive, got {price}"
        if abs(self._ticks(price) * self._tick - price) > 1e-9 * max(1.0, abs(price)):
            return f"price {price:g} is off the tick grid (tick {self._tick:g})"
        return None

    def _self_match(self, incoming_id: str, is_buy: bool, tick: int) -> None:
        """The router's children never trade against each other: a resting child the incoming
        one would cross is canceled (SimVenue's default, ``cancel_resting``)."""
        for resting_id in self.book.resting_ids():
            rest_is_buy, rest_tick, _ = self.book.resting(resting_id)
            if rest_is_buy != is_buy and (tick >= rest_tick if is_buy else tick <= rest_tick):
                self.book.cancel(resting_id)
                self._end(self._children[resting_id],
                          ChildCanceled(resting_id, self.name, SELF_MATCH_RESTING.format(incoming_id)))

    def _report_takes(self, child_id: str, child: CounterChild, is_buy: bool, taken: list[tuple[int, int]]) -> None:
        aggressor = Side.BUY if is_buy else Side.SELL
        for tick, qty in taken:
            price = self.price_of(tick)
            self._print(TradePrint(self.name, self.symbol, price, qty, aggressor))
            self._router_fill(child_id, qty, price, Liquidity.REMOVED)

    def _arrive_replace(self, order: ReplaceChild) -> None:
        self._catch_up()
        child = self._replaceable(order)
        if child is None:
            return
        reason = self._bad_qty_or_price(order.qty, order.price)
        is_buy, old_tick, leaves = self.book.resting(order.child_id)
        tick = self._ticks(order.price) if reason is None else old_tick
        crosses = self.book.would_take(is_buy, tick)
        if reason is None and child.post_only and crosses:
            reason = POST_ONLY_WOULD_TAKE
        if reason is not None:
            self._reply(ChildReplaceRejected(order.child_id, self.name, reason))
            return
        new_leaves = order.qty - child.filled
        self._reply(ChildReplaced(order.child_id, self.name, order.qty, self.price_of(tick)))
        if tick == old_tick and new_leaves <= leaves:
            self.book.reduce(order.child_id, new_leaves)           # smaller at the same price: keeps its place
        else:
            self.book.cancel(order.child_id)
            if crosses:
                self._self_match(order.child_id, is_buy, tick)
                before = child.filled
                self._report_takes(order.child_id, child, is_buy, self.book.take(is_buy, tick, new_leaves, False))
                new_leaves -= child.filled - before
            if new_leaves:
                self.book.rest(order.child_id, is_buy, tick, new_leaves)      # the back of the queue
            else:
                child.resting = False
        self._publish()

    def _arrive_cancel(self, order: CancelChild) -> None:
        self._catch_up()
        child = self._resting(order.child_id)
        if child is None:
            self._reply(ChildCancelRejected(order.child_id, self.name, UNKNOWN_ORDER))
            return
        self.book.cancel(order.child_id)
        self._end(child, ChildCanceled(order.child_id, self.name, "canceled on request"))
        self._publish()

    def _sync(self) -> None:
        self._catch_up()

    def _resting_terms(self, child_id: str, child: CounterChild) -> tuple[int, float] | None:
        resting = self.book.resting(child_id)
        if resting is None:
            return None
        _, tick, leaves = resting
        return leaves, self.price_of(tick)

    # ---- prices, and market data

    def _ticks(self, price: float) -> int:
        return to_ticks(price, self._tick)

    def price_of(self, tick: int) -> float:
        return round(tick * self._tick, self._decimals)

    def _print(self, trade: TradePrint) -> None:
        if self._book_sink is not None:
            sink = self._book_sink
            self._clock.call_later(self._md_latency_ns, lambda: sink(trade))

    def _publish(self) -> None:
        """One BookUpdate per market-data hop, carrying the book as it then stands (as SimVenue);
        none when the top levels did not change."""
        if self._book_sink is None or self._publish_pending:
            return
        self._publish_pending = True
        self._clock.call_later(self._md_latency_ns, self._send_book)

    def _send_book(self) -> None:
        self._publish_pending = False
        update = self.snapshot()
        if update != self._last_book:
            self._last_book = update
            self._book_sink(update)

    def snapshots(self) -> list[BookUpdate]:
        return [self.snapshot()]

    def snapshot(self, symbol: str | None = None) -> BookUpdate:
        bids = tuple(BookLevel(self.price_of(t), q) for t, q in self.book.levels(True, DEPTH_LEVELS))
        asks = tuple(BookLevel(self.price_of(t), q) for t, q in self.book.levels(False, DEPTH_LEVELS))
        return BookUpdate(self.name, self.symbol, bids, asks)
