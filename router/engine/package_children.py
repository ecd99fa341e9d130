"""Package children: a whole package resting on a venue's complex order book (role PACKAGE),
and the complex books the router sees.

A package child's qty and price count units of the package as the venue books it, its ratios
reduced by their common factor (``scale``: a 2:4 package of 10 at 1.00 is 20 units of 1:2 at
0.50). The venue answers a fill with PackageFilled and then one PackageLegFilled per leg. The legs
are the fills that count: each is accounted on the parent (its leg report, the package's report,
positions, the hedge) as it arrives, and the child's own state moves on when the last leg of its
PackageFilled is in, so an algo never sees a filled package child before the parent has its legs.
Cancel and replace go through the child order manager's usual paths (CancelChild / ReplaceChild).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from router.clock import Clock
from router.domain.enums import ChildRole, Side, TimeInForce
from router.domain.events import ComplexBookUpdate, ComplexLeg, PackageFilled, PackageLegFilled, SubmitPackage
from router.domain.orders import ChildOrder, ParentOrder, cob_symbol, package_key, package_scale

from .batch import UnitOfWork
from .children import ChildOrderManager, InvariantError

log = logging.getLogger(__name__)


def venue_legs(parent: ParentOrder) -> tuple[ComplexLeg, ...]:
    factor = package_scale(parent.legs)
    return tuple(ComplexLeg(leg.symbol, leg.side, leg.ratio // factor) for leg in parent.legs)


@dataclass(frozen=True, slots=True)
class Response:
    """The best contra package interest on one venue, in the parent's own orientation: the net
    price per package (a debit for a buyer) and how many packages."""
    venue: str
    price: float
    qty: int


class ComplexBooks:
    """The latest ComplexBookUpdate per (venue, package)."""

    def __init__(self) -> None:
        self._books: dict[tuple[str, tuple], ComplexBookUpdate] = {}

    def apply(self, update: ComplexBookUpdate) -> str:
        key, _ = package_key(update.legs)
        self._books[(update.venue, key)] = update
        return cob_symbol(update.legs)

    def responses(self, parent: ParentOrder, venues) -> list[Response]:
        """Contra resting package interest for a parent buying its package, best first."""
        key, flipped = package_key(parent.legs)
        factor = package_scale(parent.legs)
        out = []
        for venue in venues:
            book = self._books.get((venue, key))
            if book is None:
                continue
            # buying the canonical package meets its offers; buying the reverse meets its bids, negated
            levels = book.bids if flipped else book.asks
            if levels:
                best = levels[0]
                price = -best.price if flipped else best.price
                out.append(Response(venue, price * factor, best.qty // factor))
        return sorted(out, key=lambda r: (r.price, -r.qty, r.venue))


class PackageChildren:
    def __init__(self, clock: Clock, work: UnitOfWork, manager: ChildOrderManager) -> None:
        self._clock, self._work, self._manager = clock, work, manager
        self._orders = manager._orders
        self._filling: dict[tuple[str, str], list] = {}      # (venue, exec id) -> [PackageFilled, legs to come]
        self.on_leg_fill = None         # (parent, child, PackageLegFilled) -> None: set by the engine

    def post(self, parent: ParentOrder, venue: str, packages: int, price: float,
             tif: TimeInForce = TimeInForce.DAY) -> ChildOrder | None:
        """Rest ``packages`` of the parent's package at net ``price`` on ``venue``'s complex book."""
        factor = package_scale(parent.legs)
        units, unit_price = packages * factor, price / factor
        if packages <= 0 or not parent.is_working:
            return None
        open_units = sum(c.target_qty - c.cum_qty
                         for c in self._orders.open_children(parent.order_id, ChildRole.PACKAGE))
        manager = self._manager
        child = manager._new_child(parent, venue, parent.symbol, Side.BUY, units, unit_price, tif, ChildRole.PACKAGE)
        if manager._blocked(parent, child, manager._securities.get(parent.symbol), open_units):
            return None
        legs = venue_legs(parent)
        manager.register_new(parent, child, mode="package", package=[[l.symbol, l.side.value, l.ratio] for l in legs])
        self._work.command(SubmitPackage(child.child_id, venue, legs, Side.BUY, units, unit_price, tif,
                                         manager._capacity_of(parent.account)))
        return child

    def venues(self, parent: ParentOrder) -> tuple[str, ...]:
        """Venues with a complex order book that list every option leg, reachable and allowed by
        the order's Exchanges (5082), in the SOR's order for the first leg."""
        manager = self._manager
        sor, adapters = manager._sor, manager._venues
        options = [leg.symbol for leg in parent.legs if (i := manager._securities.get(leg.symbol)) and i.is_option]
        listed = [set(sor.candidates(symbol, parent.algo.exchanges)) for symbol in options]
        return tuple(v for v in sor.candidates(options[0], parent.algo.exchanges)
                     if all(v in each for each in listed) and hasattr(adapters.get(v), "submit_package"))

    def on_report(self, report: PackageFilled | PackageLegFilled) -> None:
        self._work.journal_add("venue_report", None, {"type": type(report).__name__, **_fields(report)})
        key = (report.venue, report.exec_id)
        if key in self._manager.seen_fills:
            self._work.journal_add("duplicate_fill", None, {"venue": report.venue, "exec_id": report.exec_id,
                                                            "child": report.child_id})
            return
        self._manager.seen_fills.add(key)
        child = self._orders.children.get(report.child_id)
        if child is None or child.role is not ChildRole.PACKAGE:
            log.warning("package report for unknown child %s", report.child_id)
            return
        parent = self._orders.parents[child.parent_id]
        if isinstance(report, PackageFilled):
            self._filling[key] = [report, len(parent.legs)]
            return
        if report.leg >= len(parent.legs) or parent.legs[report.leg].symbol != report.symbol:
            raise InvariantError(f"leg fill {report.exec_id}: leg {report.leg} {report.symbol} is not a leg of "
                                 f"{parent.order_id}")
        self.on_leg_fill(parent, child, report)
        package_key = (report.venue, report.exec_id.rsplit(".", 1)[0])
        pending = self._filling.get(package_key)
        if pending is None:
            return
        pending[1] -= 1
        if pending[1] == 0:
            del self._filling[package_key]
            self._package_filled(child, pending[0])

    def _package_filled(self, child: ChildOrder, fill: PackageFilled) -> None:
        manager = self._manager
        was_open = child.is_open
        manager.add_fill(child, fill)
        if was_open and not child.is_open:
            manager._pending.discard(child.child_id)
            manager.listener.child_done(child)


def _fields(report) -> dict:
    return {name: getattr(report, name).value if hasattr(getattr(report, name), "value") else getattr(report, name)
            for name in report.__slots__}
