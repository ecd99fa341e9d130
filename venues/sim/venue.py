"""A simulated exchange (options or equities): one book per listed instrument, its allocation rule
(price-time, the default, or pro-rata with a priority-customer overlay: venues/sim/matching.py),
its own fees and latency. It implements the venue adapter protocol v2 (venues/base.py).

Router commands arrive after the venue's order latency, act on the book, and their reports
travel back after the same latency. Book changes are published as ``BookUpdate`` events after
the market-data latency. Everything moves on the clock, so a run is deterministic.

The venue remembers every child of the day, done ones too, with the fills it made: a reconcile
answers with the whole story (accepted, each fill under its original exec ID, the current state),
so a router that lost reports (it died, or was disconnected from the exchange) recovers them all.
Exec IDs carry a token of the venue's start time, so a restarted venue never reuses one that day.

Before an order touches a book the venue checks it as an exchange would, and refuses with the
reason: a symbol it does not list, a price off the instrument's tick grid (``tick_rules``), a
quantity above its maximum order size (``max_order_qty``), a post-only order that would take,
an FOK that cannot fill in full.

Packages and auctions (venues/sim/venue_complex.py): a complex order book per venue
(SubmitPackage; complex_book.py) and a price-improvement auction (StartAuction; auction.py),
through the same latency; their reports are described in venues/base.py.

Self-match prevention: the router's own children never trade against each other. With
``self_match="cancel_resting"`` (the default) the resting child is canceled (ChildCanceled, its
reason naming self-match prevention) and the incoming child goes on; with ``"cancel_incoming"``
the incoming child's remainder is canceled instead. Background owners are not screened.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Callable

from router.clock import Clock
from router.models.latency import VenueLatency
from router.domain.enums import Liquidity, Side, TimeInForce
from router.domain.instruments import TickRule
from router.domain.events import (BookLevel, BookUpdate, CancelChild, ChildAccepted, ChildCanceled,
                                  ChildCancelRejected, ChildRejected, ChildReplaced,
                                  ChildReplaceRejected, ComplexBookUpdate, ReplaceChild, SubmitChild, TradePrint,
                                  VenueReport)
from router.domain.instruments import Instrument
from venues.fees import FeeSchedule

from .auction import AuctionRules
from .counter import UNKNOWN_ORDER, CounterChild, VenueCounter, exec_token  # noqa: F401  (re-exported)
from .matching import (PRICE_TIME, STP_CANCEL_RESTING, BookError, OrderBook, SubmitResult,
                       from_ticks, to_ticks)
from .venue_complex import NO_AUCTION_CHANGES, ComplexCounter

PRICE_TICK = 0.01      # book granularity; each instrument's own tick rule is enforced by the router
ROUTER = "router"
DEPTH_LEVELS = 5
SELF_MATCH_RESTING = "self-match prevention: canceled resting order against incoming child {}"
SELF_MATCH_INCOMING = "self-match prevention: incoming child canceled against resting child {}"


class SimVenue(ComplexCounter, VenueCounter):
    def __init__(self, name: str, clock: Clock, fees: FeeSchedule, latency_ns: int, md_latency_ns: int,
                 report_sink: Callable[[VenueReport], None], book_sink: Callable[[BookUpdate | TradePrint], None],
                 symbols: Collection[str] | None = None, allocation: str = PRICE_TIME, min_allocation: int = 1,
                 self_match: str = STP_CANCEL_RESTING, latency: VenueLatency | None = None,
                 tick_rules: Mapping[str, TickRule] | None = None, max_order_qty: int | None = None,
                 price_tick: float = PRICE_TICK, fee_underlier_price: float | None = None,
                 instruments: Mapping[str, Instrument] | None = None, cob_tick: float | None = None,
                 allow_cross_underlier: bool = False, auction_rules: AuctionRules | None = None,
                 package_sink: Callable[[ComplexBookUpdate], None] | None = None) -> None:
        """``latency``: the shared latency model (router/models/latency.py) to draw each command's
        arrival and each reply's return from; without it both take ``latency_ns``. ``tick_rules``:
        each symbol's price grid (unnamed symbols: only the book's cent grid). ``price_tick``: the
        book's granularity (0.0001 on a crypto option venue quoting BTC premiums).
        ``fee_underlier_price``: a crypto option venue's underlier price in the premium's currency,
        for the percent-of-underlying fee (1.0: premium and fee both in BTC, per BTC of underlying).
        The complex order book and auctions (venues/sim/venue_complex.py): ``instruments`` tells
        option legs from stock legs and their underliers (without it, OSI symbols are options and
        others stocks); ``cob_tick`` the net-price grid (default the book tick, Cboe's $0.01);
        ``allow_cross_underlier`` lets a package's legs be on different underliers;
        ``auction_rules`` the exposure period, minimum size and guarantees; ``package_sink``
        receives ComplexBookUpdate. ``nbbo_source`` (set after construction by the market
        builder) gives the NBBO in book ticks the leg-price and auction checks use; by default the
        venue's own best prices."""
        self._open_counter(name, clock, fees, latency_ns, latency, report_sink, fee_underlier_price)
        self.allocation = allocation
        self.min_allocation = min_allocation
        self.self_match = self_match
        OrderBook(allocation, min_allocation=min_allocation, stp_action=self_match)   # refuse bad settings now
        self._md_latency_ns = md_latency_ns
        self._book_sink = book_sink
        self._symbols = None if symbols is None else frozenset(symbols)
        self._tick_rules = dict(tick_rules or {})
        self.max_order_qty = max_order_qty
        self.price_tick = price_tick
        self._books: dict[str, OrderBook] = {}
        self._publish_pending: set[str] = set()
        self._open_complex(instruments, cob_tick, allow_cross_underlier, auction_rules, package_sink)

    def lists(self, symbol: str) -> bool:
        return self._symbols is None or symbol in self._symbols

    def book(self, symbol: str) -> OrderBook:
        book = self._books.get(symbol)
        if book is None:
            book = self._books[symbol] = OrderBook(self.allocation, min_allocation=self.min_allocation,
                                                   stp_owners=(ROUTER,), stp_action=self.self_match)
        return book

    # ---- the adapter protocol (router side): every command arrives after the order latency

    def _arrive_submit(self, order: SubmitChild) -> None:
        self.submits[order.child_id] += 1
        if order.child_id in self._children:
            self._reply(ChildRejected(order.child_id, self.name, f"duplicate child id {order.child_id}"))
            return
        if not self.lists(order.symbol):
            self._refuse(order, f"{order.symbol} is not listed on {self.name}")
            return
        invalid = self._invalid(order.symbol, order.qty, order.price)
        if invalid:
            self._refuse(order, invalid)
            return
        fok = order.time_in_force is TimeInForce.FOK
        try:
            result = self.book(order.symbol).submit(
                order.child_id, ROUTER, order.side, order.qty, to_ticks(order.price, self.price_tick),
                ioc=order.time_in_force is TimeInForce.IOC, fok=fok, post_only=order.post_only,
                display_qty=order.display_qty, capacity=order.capacity)
        except BookError as exc:
            self._refuse(order, str(exc))
            return
        if result.refused:
            self._refuse(order, result.refused)
            return
        self._reply(ChildAccepted(order.child_id, self.name))
        child = self._children[order.child_id] = CounterChild(order.symbol, order.side, order.capacity,
                                                              route_code=order.alt_route_code)
        self._self_match_cancels(result, order.child_id)
        self._report_trades(result, order.symbol, order.side)
        if not result.rested_qty:
            child.resting = False
        if result.canceled_qty:
            if result.stp_incoming is not None:
                reason = SELF_MATCH_INCOMING.format(result.stp_incoming)
            else:
                reason = "FOK could not fill in full" if fok else "IOC remainder"
            self._end(child, ChildCanceled(order.child_id, self.name, reason))
        self._publish(order.symbol)

    def _invalid(self, symbol: str, qty: int, price: float) -> str | None:
        """Why an order (or a replace to ``qty`` at ``price``) breaks the venue's rules, or None."""
        if self.max_order_qty is not None and qty > self.max_order_qty:
            return f"qty {qty} is above {self.name}'s maximum order size {self.max_order_qty}"
        rule = self._tick_rules.get(symbol)
        on_grid = rule.is_on_tick(price) if rule is not None else abs(price / self.price_tick - round(price / self.price_tick)) < 1e-6
        if not on_grid:
            grid = f"tick {rule.tick_at(price):g} at that price" if rule is not None else f"tick {self.price_tick:g}"
            return f"price {price:g} is off the tick grid ({grid})"
        return None

    def _self_match_cancels(self, result: SubmitResult, incoming_id: str) -> None:
        """Resting children that self-match prevention took off the book: each ends canceled."""
        for resting_id, _qty in result.stp_canceled:
            self._end(self._children[resting_id], ChildCanceled(resting_id, self.name,
                                                                SELF_MATCH_RESTING.format(incoming_id)))

    def _refuse(self, order: SubmitChild, reason: str) -> None:
        child = self._children[order.child_id] = CounterChild(order.symbol, order.side, order.capacity, resting=False)
        self._end(child, ChildRejected(order.child_id, self.name, reason))

    def _arrive_replace(self, order: ReplaceChild) -> None:
        if order.child_id in self._packages:
            self._arrive_package_replace(order)
            return
        if order.child_id in self._auction_children:
            self._reply(ChildReplaceRejected(order.child_id, self.name, NO_AUCTION_CHANGES))
            return
        child = self._replaceable(order)
        if child is None:
            return
        invalid = self._invalid(child.symbol, order.qty, order.price)
        if invalid:
            self._reply(ChildReplaceRejected(order.child_id, self.name, invalid))
            return
        price_ticks = to_ticks(order.price, self.price_tick)
        try:
            result = self.book(child.symbol).replace(order.child_id, order.qty - child.filled, price_ticks)
        except BookError as exc:
            self._reply(ChildReplaceRejected(order.child_id, self.name, str(exc)))
            return
        assert result is not None, "a tracked child is always resting"
        if result.refused:
            self._reply(ChildReplaceRejected(order.child_id, self.name, result.refused))
            return
        self._reply(ChildReplaced(order.child_id, self.name, order.qty, from_ticks(price_ticks, self.price_tick)))
        self._self_match_cancels(result, order.child_id)
        self._report_trades(result, child.symbol, child.side)
        if not result.rested_qty:
            child.resting = False
        if result.stp_incoming is not None:
            self._end(child, ChildCanceled(order.child_id, self.name, SELF_MATCH_INCOMING.format(result.stp_incoming)))
        self._publish(child.symbol)

    def _arrive_cancel(self, order: CancelChild) -> None:
        if order.child_id in self._packages:
            self._arrive_package_cancel(order)
            return
        if order.child_id in self._auction_children:
            self._reply(ChildCancelRejected(order.child_id, self.name, NO_AUCTION_CHANGES))
            return
        child = self._resting(order.child_id)
        if child is None:
            self._reply(ChildCancelRejected(order.child_id, self.name, UNKNOWN_ORDER))
            return
        self.book(child.symbol).cancel(order.child_id)
        self._end(child, ChildCanceled(order.child_id, self.name, "canceled on request"))
        self._publish(child.symbol)

    def _resting_terms(self, child_id: str, child: CounterChild) -> tuple[int, float] | None:
        if child_id in self._packages:
            return self._package_terms(child_id)
        view = self.book(child.symbol).order(child_id)
        return view.leaves, from_ticks(view.price_ticks, self.price_tick)

    def _report_trades(self, result: SubmitResult, symbol: str, taker_side: Side) -> None:
        aggressor = Side.BUY if taker_side.is_buy else Side.SELL
        for trade in result.trades:
            price = from_ticks(trade.price_ticks, self.price_tick)
            self._print(TradePrint(self.name, symbol, price, trade.qty, aggressor))
            if trade.taker_owner == ROUTER:
                self._router_fill(trade.taker_order_id, trade.qty, price, Liquidity.REMOVED)
            if trade.maker_owner == ROUTER:
                maker = self._router_fill(trade.maker_order_id, trade.qty, price, Liquidity.ADDED)
                if not trade.maker_leaves:
                    maker.resting = False

    # ---- liquidity already at the venue (background market makers and takers)

    def place(self, owner: str, order_id: str, symbol: str, side: Side, qty: int, price: float,
              ioc: bool = False, capacity: str = "customer") -> SubmitResult:
        """A background order; ``capacity`` is its account type ("customer" has priority under
        pro-rata; the background market makers quote as "market_maker")."""
        if not self.lists(symbol):
            raise BookError(f"{symbol} is not listed on {self.name}")
        result = self.book(symbol).submit(order_id, owner, side, qty, to_ticks(price, self.price_tick), ioc=ioc,
                                          capacity=capacity)
        self._report_trades(result, symbol, side)
        self._publish(symbol)
        return result

    def pull(self, order_id: str, symbol: str) -> None:
        if self.book(symbol).cancel(order_id) is not None:
            self._publish(symbol)

    def _print(self, trade: TradePrint) -> None:
        self._clock.call_later(self._md_latency_ns, lambda: self._book_sink(trade))

    def _publish(self, symbol: str) -> None:
        """Coalesce: one BookUpdate per symbol per market-data hop, carrying the latest book."""
        if symbol in self._publish_pending:
            return
        self._publish_pending.add(symbol)
        self._clock.call_later(self._md_latency_ns, lambda: self._send_book(symbol))

    def _send_book(self, symbol: str) -> None:
        self._publish_pending.discard(symbol)
        self._book_sink(self.snapshot(symbol))

    def snapshots(self) -> list[BookUpdate]:
        """Every book this venue has, as it stands: what a newly connected router is sent first."""
        return [self.snapshot(symbol) for symbol in self._books]

    def snapshot(self, symbol: str) -> BookUpdate:
        book = self.book(symbol)
        bids = tuple(BookLevel(from_ticks(p, self.price_tick), q) for p, q in book.depth(Side.BUY, DEPTH_LEVELS))
        asks = tuple(BookLevel(from_ticks(p, self.price_tick), q) for p, q in book.depth(Side.SELL, DEPTH_LEVELS))
        return BookUpdate(self.name, symbol, bids, asks)
