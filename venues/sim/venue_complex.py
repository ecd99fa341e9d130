"""The simulated venue's complex order book and price-improvement auctions at its counter: the
part of SimVenue (venues/sim/venue.py) that takes SubmitPackage and StartAuction, runs them on
the pure cores (complex_book.py, auction.py) and reports, through the same latency model as
the single-leg commands. Reports and their meaning: router/domain/events.py and venues/base.py.

Packages: CancelChild and ReplaceChild apply to a package child as to any other (ReplaceChild's
qty in reduced package units, its price the net price). A fill is one PackageFilled and then one
PackageLegFilled per leg; a stock leg's fee is 0 (the exchange routes it to a stock venue; not
modelled). Trades against the leg books (the implied route) print on those books' tapes and fill
any router child resting there; package-vs-package trades print nowhere.

Auctions: both children are accepted (or both rejected with the reason), the auction is shown
to ``auction_listeners`` (the simulated responders), and after the exposure period the agency
child fills in full, the initiator child fills its allocation (any part responders took ends it
with ChildCanceled), and an AuctionResult follows. Neither child can be canceled or replaced
during the exposure period.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable

from router.domain.enums import Liquidity, Side, TimeInForce
from router.domain.events import (AuctionAllocation, AuctionResult, BookLevel, CancelChild, ChildAccepted,
                                  ChildCanceled, ChildCancelRejected, ChildRejected, ChildReplaced,
                                  ChildReplaceRejected, ComplexBookUpdate, ComplexLeg, PackageFilled,
                                  PackageLegFilled, ReplaceChild, StartAuction, SubmitPackage, TradePrint)
from router.domain.instruments import Instrument, InstrumentKind, OsiError, parse_osi

from .auction import INITIATOR, Auction, AuctionError, AuctionRules
from .complex_book import ComplexBook, PackageError, PackageFill, PackageOrderView, PackageResult
from .complex_package import STOCK_UNIT, LegSpec, NormalPackage
from .counter import UNKNOWN_ORDER, CounterChild
from .matching import from_ticks, to_ticks

OWNER = "router"                 # the router's owner name on the books (venue.ROUTER)
DEPTH = 5
NO_AUCTION_CHANGES = "an auction's orders cannot be canceled or replaced during its exposure period"


@dataclass(frozen=True, slots=True)
class AuctionNotice:
    """What responders are shown when an auction starts (Cboe's auction message)."""
    auction_id: str
    venue: str
    symbol: str
    agency_side: Side
    qty: int
    stop_price: float
    ends_ns: int


@dataclass(slots=True)
class _Running:
    auction: Auction
    order: StartAuction


class ComplexCounter:
    """Mixed into SimVenue; ``_open_complex`` is called from its constructor."""

    def _open_complex(self, instruments: Mapping[str, Instrument] | None, cob_tick: float | None,
                      allow_cross_underlier: bool, auction_rules: AuctionRules | None,
                      package_sink: Callable[[ComplexBookUpdate], None] | None) -> None:
        self._instruments = dict(instruments or {})
        self.nbbo_source: Callable[[str], tuple[int | None, int | None]] = self.own_bbo
        tick_ticks = 1 if cob_tick is None else to_ticks(cob_tick, self.price_tick)
        self.cob = ComplexBook(lambda symbol: self.nbbo_source(symbol), self._leg_spec, self._leg_book,
                               tick_ticks=tick_ticks, allow_cross_underlier=allow_cross_underlier, stp_owners=(OWNER,))
        self.auction_rules = auction_rules or AuctionRules()
        self._auctions: dict[str, _Running] = {}
        self._packages: set[str] = set()           # package child ids
        self._auction_children: set[str] = set()
        self.package_sink = package_sink
        self.auction_listeners: list[Callable[[AuctionNotice], None]] = []
        self.package_listeners: list[Callable[[PackageOrderView], None]] = []
        self._cob_pending: dict[tuple, NormalPackage] = {}

    # ---- commands: after the entry latency, like submit/replace/cancel

    def submit_package(self, order: SubmitPackage) -> None:
        self._clock.call_later(self._entry_delay(), lambda: self._arrive_package(order))

    def start_auction(self, order: StartAuction) -> None:
        self._clock.call_later(self._entry_delay(), lambda: self._arrive_auction(order))

    # ---- what the instruments are, and the NBBO the checks use (ticks)

    def own_bbo(self, symbol: str) -> tuple[int | None, int | None]:
        book = self._books.get(symbol)
        if book is None:
            return None, None
        bid, ask = book.best_bid(), book.best_ask()
        return (bid[0] if bid else None), (ask[0] if ask else None)

    def _leg_spec(self, symbol: str) -> LegSpec | None:
        instrument = self._instruments.get(symbol)
        if instrument is not None:
            if instrument.is_option:
                if not self.lists(symbol):
                    return None
                equity = instrument.underlying_kind in (None, InstrumentKind.EQUITY)
                return LegSpec(symbol, False, instrument.underlying, equity)
            return LegSpec(symbol, True, symbol, instrument.kind is InstrumentKind.EQUITY)
        try:
            root = parse_osi(symbol)[0]
        except OsiError:
            return LegSpec(symbol, True, symbol)        # not OSI, not in the security master: a stock
        return LegSpec(symbol, False, root) if self.lists(symbol) else None

    def _leg_book(self, symbol: str):
        spec = self._leg_spec(symbol)
        return self.book(symbol) if spec is not None and not spec.is_stock else None

    def _net_ticks(self, price: float) -> int | str:
        steps = price / self.price_tick
        if abs(steps - round(steps)) > 1e-6:
            return f"net price {price:g} is off the COB's tick grid (tick {self.price_tick * self.cob.tick_ticks:g})"
        return to_ticks(price, self.price_tick)

    # ---- packages

    def _arrive_package(self, order: SubmitPackage) -> None:
        self.submits[order.child_id] += 1
        name = " ".join(f"{leg.side.name[0]}{leg.ratio} {leg.symbol.strip()}" for leg in order.legs)
        if order.child_id in self._children:
            self._reply(ChildRejected(order.child_id, self.name, f"duplicate child id {order.child_id}"))
            return
        child = self._children[order.child_id] = CounterChild(name, order.side, order.capacity)
        ticks = self._net_ticks(order.price)
        if isinstance(ticks, str):
            self._end(child, ChildRejected(order.child_id, self.name, ticks))
            return
        if self.max_order_qty is not None and order.qty > self.max_order_qty:
            self._end(child, ChildRejected(order.child_id, self.name, f"qty {order.qty} is above {self.name}'s "
                                                                      f"maximum order size {self.max_order_qty}"))
            return
        try:
            result = self.cob.submit(order.child_id, OWNER, [(l.symbol, l.side, l.ratio) for l in order.legs],
                                     order.side, order.qty, ticks, ioc=order.time_in_force is TimeInForce.IOC,
                                     fok=order.time_in_force is TimeInForce.FOK, capacity=order.capacity)
        except PackageError as exc:
            self._end(child, ChildRejected(order.child_id, self.name, str(exc)))
            return
        self._packages.add(order.child_id)
        self._reply(ChildAccepted(order.child_id, self.name))
        self._after_package(result, order.child_id)
        if result.canceled_qty:
            if order.time_in_force is TimeInForce.FOK:
                reason = "FOK could not fill in full"
            else:
                reason = "IOC remainder" + (f" ({result.stopped})" if result.stopped else "")
            self._end(child, ChildCanceled(order.child_id, self.name, reason))
        elif not result.rested_qty:
            child.resting = False

    def _after_package(self, result: PackageResult, incoming_id: str) -> None:
        """Report a COB result: self-match cancels, the router's package fills, the implied route's
        leg trades; publish the package book; tell the package listeners of a router order resting."""
        for resting_id, _qty in result.stp_canceled:
            self._end(self._children[resting_id], ChildCanceled(
                resting_id, self.name, f"self-match prevention: canceled resting package against {incoming_id}"))
        for fill in result.fills:
            if fill.owner == OWNER:
                self._package_fill(fill)
        for symbol, side, leg_result in result.leg_results:
            self._report_trades(leg_result, symbol, side)
            self._publish(symbol)
        view = self.cob.order(incoming_id)
        if view is not None:
            self._publish_package(view.package)
            if view.owner == OWNER:
                for listener in self.package_listeners:
                    listener(view)
        for fill in result.fills:
            package = self._package_of(fill.order_id)
            if package is not None:
                self._publish_package(package)

    def _package_of(self, order_id: str) -> NormalPackage | None:
        view = self.cob.order(order_id)
        return None if view is None else view.package

    def _package_fill(self, fill: PackageFill) -> None:
        child = self._children[fill.order_id]
        liquidity = Liquidity.ADDED if fill.maker else Liquidity.REMOVED
        exec_id = f"{self._exec_prefix}{next(self._exec_ids)}"
        legs = []
        for leg in fill.legs:
            price = from_ticks(leg.price_ticks, self.price_tick)
            spec = self._leg_spec(leg.symbol)
            fee = 0.0 if spec is None or spec.is_stock else self._leg_fee(leg.symbol, leg.qty, price, liquidity,
                                                                           child.capacity)
            legs.append(PackageLegFilled(fill.order_id, self.name, f"{exec_id}.{leg.leg}", leg.leg, leg.symbol,
                                         leg.side, leg.qty, price, fee, liquidity))
        report = PackageFilled(fill.order_id, self.name, exec_id, fill.qty, from_ticks(fill.price_ticks, self.price_tick),
                               round(sum(l.fee for l in legs), 6), liquidity)
        child.filled += fill.qty
        for item in (report, *legs):
            child.fills.append(item)
            self._reply(item)
        if fill.maker and not fill.leaves:
            child.resting = False

    def _leg_fee(self, symbol: str, qty: int, price: float, liquidity: Liquidity, capacity: str) -> float:
        if self._fee_keywords:
            extra = {} if self._fee_underlier_price is None else {"underlier_price": self._fee_underlier_price}
            return self._fees.fee(self.name, qty, liquidity, symbol=symbol, price=price, capacity=capacity, **extra)
        return self._fees.fee(self.name, qty, liquidity)

    def _arrive_package_replace(self, order: ReplaceChild) -> None:
        child = self._replaceable(order)
        if child is None:
            return
        ticks = self._net_ticks(order.price)
        if isinstance(ticks, str):
            self._reply(ChildReplaceRejected(order.child_id, self.name, ticks))
            return
        try:
            result = self.cob.replace(order.child_id, order.qty - child.filled, ticks)
        except PackageError as exc:
            self._reply(ChildReplaceRejected(order.child_id, self.name, str(exc)))
            return
        self._reply(ChildReplaced(order.child_id, self.name, order.qty, from_ticks(ticks, self.price_tick)))
        self._after_package(result, order.child_id)
        if not result.rested_qty:
            child.resting = False

    def _arrive_package_cancel(self, order: CancelChild) -> None:
        child = self._resting(order.child_id)
        view = self.cob.order(order.child_id)
        if child is None or view is None:
            self._reply(ChildCancelRejected(order.child_id, self.name, UNKNOWN_ORDER))
            return
        self.cob.cancel(order.child_id)
        self._end(child, ChildCanceled(order.child_id, self.name, "canceled on request"))
        self._publish_package(view.package)

    def _package_terms(self, child_id: str) -> tuple[int, float] | None:
        view = self.cob.order(child_id)
        return None if view is None else (view.leaves, from_ticks(view.price_ticks, self.price_tick))

    def place_package(self, owner: str, order_id: str, legs: tuple[tuple[str, Side, int], ...], side: Side, qty: int,
                      price: float, ioc: bool = False) -> PackageResult:
        """A background package order (the simulated market makers' package quotes)."""
        ticks = self._net_ticks(price)
        if isinstance(ticks, str):
            raise PackageError(ticks)
        result = self.cob.submit(order_id, owner, legs, side, qty, ticks, ioc=ioc, capacity="market_maker")
        self._after_package(result, order_id)
        return result

    def pull_package(self, order_id: str) -> None:
        view = self.cob.order(order_id)
        if view is not None and self.cob.cancel(order_id) is not None:
            self._publish_package(view.package)

    def package_book(self, package: NormalPackage) -> ComplexBookUpdate:
        """The package's complex book as it stands, canonical (what the package sink is sent)."""
        tick = self.price_tick
        legs = tuple(ComplexLeg(l.symbol, Side.BUY if l.sign > 0 else Side.SELL, l.ratio * (STOCK_UNIT if l.is_stock else 1))
                     for l in package.legs)
        bids, asks = (tuple(BookLevel(from_ticks(p, tick), q) for p, q in self.cob.depth(package, side, DEPTH))
                      for side in (Side.BUY, Side.SELL))
        implied = [None if top is None else BookLevel(from_ticks(top[0], tick), top[1])
                   for top in self.cob.implied(package)]
        return ComplexBookUpdate(self.name, legs, bids, asks, implied[0], implied[1])

    def _publish_package(self, package: NormalPackage) -> None:
        if self.package_sink is None or package.key in self._cob_pending:
            return
        self._cob_pending[package.key] = package

        def send() -> None:
            self._cob_pending.pop(package.key, None)
            self.package_sink(self.package_book(package))
        self._clock.call_later(self._md_latency_ns, send)

    # ---- auctions

    def respond(self, auction_id: str, owner: str, price: float, qty: int) -> None:
        """A responder's price and size in a running auction; AuctionError when refused."""
        running = self._auctions.get(auction_id)
        if running is None:
            raise AuctionError(f"no auction {auction_id!r} is running on {self.name}")
        running.auction.respond(owner, to_ticks(price, self.price_tick), qty)

    def _arrive_auction(self, order: StartAuction) -> None:
        ids = (order.agency_child_id, order.initiator_child_id)
        for child_id in ids:
            self.submits[child_id] += 1
        duplicate = next((c for c in ids if c in self._children), None)
        if duplicate is not None or ids[0] == ids[1]:
            for child_id in ids:
                self._reply(ChildRejected(child_id, self.name, f"duplicate child id {duplicate or ids[0]}"))
            return
        for child_id, side, capacity in ((ids[0], order.agency_side, order.agency_capacity),
                                         (ids[1], order.agency_side.opposite(), order.initiator_capacity)):
            self._children[child_id] = CounterChild(order.symbol, side, capacity, resting=False)
        reason = self._auction_refusal(order)
        if reason is None:
            try:
                auction = Auction(order.auction_id, order.symbol, order.agency_side, order.qty,
                                  to_ticks(order.price, self.price_tick), self.nbbo_source(order.symbol),
                                  self.auction_rules, None if order.auto_match_limit is None
                                  else to_ticks(order.auto_match_limit, self.price_tick))
            except AuctionError as exc:
                reason = str(exc)
        if reason is not None:
            for child_id in ids:
                self._end(self._children[child_id], ChildRejected(child_id, self.name, f"auction refused: {reason}"))
            return
        self._auctions[order.auction_id] = _Running(auction, order)
        self._auction_children.update(ids)
        for child_id in ids:
            self._reply(ChildAccepted(child_id, self.name))
        ends = self._clock.now_ns() + self.auction_rules.exposure_ns
        notice = AuctionNotice(order.auction_id, self.name, order.symbol, order.agency_side, order.qty,
                               order.price, ends)
        for listener in self.auction_listeners:
            listener(notice)
        self._clock.call_at(ends, lambda: self._end_auction(order.auction_id))

    def _auction_refusal(self, order: StartAuction) -> str | None:
        if order.auction_id in self._auctions:
            return f"duplicate auction id {order.auction_id}"
        if not self.lists(order.symbol):
            return f"{order.symbol} is not listed on {self.name}"
        for label, price in (("stop price", order.price), ("auto-match limit", order.auto_match_limit)):
            if price is not None and abs(price / self.price_tick - round(price / self.price_tick)) > 1e-6:
                return f"{label} {price:g} is off the tick grid (tick {self.price_tick:g})"
        if order.qty <= 0:
            return f"qty must be positive, got {order.qty}"
        return None

    def _end_auction(self, auction_id: str) -> None:
        running = self._auctions.pop(auction_id)
        auction, order = running.auction, running.order
        outcome = auction.allocate()
        agency_side = Side.BUY if order.agency_side.is_buy else Side.SELL
        for allocation in outcome.allocations:
            price = from_ticks(allocation.price_ticks, self.price_tick)
            self._router_fill(order.agency_child_id, allocation.qty, price, Liquidity.REMOVED)
            if allocation.owner == INITIATOR:
                self._router_fill(order.initiator_child_id, allocation.qty, price, Liquidity.ADDED)
            self._print(TradePrint(self.name, order.symbol, price, allocation.qty, agency_side))
        self._auction_children.difference_update((order.agency_child_id, order.initiator_child_id))
        if outcome.initiator_qty < order.qty:
            self._end(self._children[order.initiator_child_id], ChildCanceled(
                order.initiator_child_id, self.name,
                f"auction over: responders took {outcome.responder_qty} of {order.qty}"))
        avg = outcome.avg_price_ticks * self.price_tick
        improvement = round(auction.improvement_ticks(outcome.avg_price_ticks) * self.price_tick, 8)
        instrument = self._instruments.get(order.symbol)
        multiplier = instrument.multiplier if instrument is not None else 100
        self._reply(AuctionResult(
            auction_id, self.name, order.symbol, order.agency_side, order.qty, order.price,
            from_ticks(auction.nbbo_contra, self.price_tick), from_ticks(outcome.final_price_ticks, self.price_tick),
            round(avg, 8), improvement, round(improvement * order.qty * multiplier, 6), outcome.initiator_qty,
            outcome.responder_qty, outcome.responses,
            tuple(AuctionAllocation(a.owner, a.qty, from_ticks(a.price_ticks, self.price_tick))
                  for a in outcome.allocations)))

