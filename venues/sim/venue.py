"""A simulated options exchange: one price-time book per instrument, its own fees and latency.

Router children arrive after the venue's order latency, match in the book, and their acks and
fills travel back after the same latency. Book changes are published as ``BookUpdate`` events
after the market-data latency. Everything moves on the clock, so a run is deterministic.
"""
from __future__ import annotations

import itertools
from typing import Callable

from router.clock import Clock
from router.domain.enums import Side
from router.domain.events import (BookLevel, BookUpdate, CancelChild, ChildAccepted, ChildCanceled, ChildFilled,
                                  ChildRejected, SubmitChild, TradePrint, VenueReport)
from venues.fees import FeeSchedule

from .matching import BookError, OrderBook, SubmitResult

PRICE_TICK = 0.01      # book granularity; each instrument's own tick rule is enforced by the router
ROUTER = "router"
DEPTH_LEVELS = 5


def to_ticks(price: float) -> int:
    return int(round(price / PRICE_TICK + 1e-9))


def from_ticks(ticks: int) -> float:
    return round(ticks * PRICE_TICK, 8)


class SimVenue:
    def __init__(self, name: str, clock: Clock, fees: FeeSchedule, latency_ns: int, md_latency_ns: int,
                 report_sink: Callable[[VenueReport], None], book_sink: Callable[[BookUpdate], None],
                 symbols: set[str] | None = None) -> None:
        self.name = name
        self._clock = clock
        self._fees = fees
        self.latency_ns = latency_ns
        self._md_latency_ns = md_latency_ns
        self._report_sink = report_sink
        self._book_sink = book_sink
        self._symbols = symbols
        self._books: dict[str, OrderBook] = {}
        self._exec_ids = itertools.count(1)
        self._publish_pending: set[str] = set()

    def book(self, symbol: str) -> OrderBook:
        book = self._books.get(symbol)
        if book is None:
            book = self._books[symbol] = OrderBook()
        return book

    # ---- the adapter protocol (router side)

    def submit(self, order: SubmitChild) -> None:
        self._clock.call_later(self.latency_ns, lambda: self._arrive(order))

    def cancel(self, order: CancelChild) -> None:
        self._clock.call_later(self.latency_ns, lambda: self._arrive_cancel(order))

    def reconcile(self, child_id: str) -> None:
        resting = any(book.order(child_id) is not None for book in self._books.values())
        report = ChildAccepted(child_id, self.name) if resting else ChildCanceled(child_id, self.name, "unknown at venue")
        self._reply(report)

    def _arrive(self, order: SubmitChild) -> None:
        if self._symbols is not None and order.symbol not in self._symbols:
            self._reply(ChildRejected(order.child_id, self.name, f"{order.symbol} is not listed on {self.name}"))
            return
        try:
            result = self.book(order.symbol).submit(order.child_id, ROUTER, order.side, order.qty,
                                                    to_ticks(order.price), ioc=order.time_in_force.value == "3")
        except BookError as exc:
            self._reply(ChildRejected(order.child_id, self.name, str(exc)))
            return
        self._reply(ChildAccepted(order.child_id, self.name))
        self._report_trades(result, order.symbol, order.side)
        if result.canceled_qty:
            self._reply(ChildCanceled(order.child_id, self.name, "IOC remainder"))
        self._publish(order.symbol)

    def _arrive_cancel(self, order: CancelChild) -> None:
        for symbol, book in self._books.items():
            if book.cancel(order.child_id) is not None:
                self._reply(ChildCanceled(order.child_id, self.name, "canceled on request"))
                self._publish(symbol)
                return
        # Already done (filled or IOC-canceled): its final report is on its way.

    def _report_trades(self, result: SubmitResult, symbol: str, taker_side: Side) -> None:
        for trade in result.trades:
            price = from_ticks(trade.price_ticks)
            self._print(TradePrint(self.name, symbol, price, trade.qty, taker_side))
            if trade.taker_owner == ROUTER:
                self._reply(self._fill(trade.taker_order_id, trade.qty, price, "R"))
            if trade.maker_owner == ROUTER:
                self._reply(self._fill(trade.maker_order_id, trade.qty, price, "A"))

    def _fill(self, child_id: str, qty: int, price: float, liquidity: str) -> ChildFilled:
        exec_id = f"{self.name}-{next(self._exec_ids)}"
        return ChildFilled(child_id, self.name, exec_id, qty, price, self._fees.fee(self.name, qty, liquidity), liquidity)

    def _reply(self, report: VenueReport) -> None:
        self._clock.call_later(self.latency_ns, lambda: self._report_sink(report))

    # ---- liquidity already at the venue (background market makers and takers)

    def place(self, owner: str, order_id: str, symbol: str, side: Side, qty: int, price: float,
              ioc: bool = False) -> SubmitResult:
        result = self.book(symbol).submit(order_id, owner, side, qty, to_ticks(price), ioc=ioc)
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

    def snapshot(self, symbol: str) -> BookUpdate:
        book = self.book(symbol)
        bids = tuple(BookLevel(from_ticks(p), q) for p, q in book.depth(Side.BUY, DEPTH_LEVELS))
        asks = tuple(BookLevel(from_ticks(p), q) for p, q in book.depth(Side.SELL, DEPTH_LEVELS))
        return BookUpdate(self.name, symbol, bids, asks)
