"""The child order manager: every order the router itself sends, for every algo and role.

It makes child IDs (P7.3 is P7's third child), runs each new or amended child through the risk
checks, and keeps one request in flight per child: a replace or cancel asked for while one is
in flight waits, and a newer replace target supersedes a queued one (hftbacktest's rule), so a
fast market never stacks requests at a venue. Venue reports drive the child state machine

    PendingNew -> New -> PartiallyFilled -> Filled
         |         |  \\-> PendingReplace -> New / PartiallyFilled (replaced or replace rejected)
         |         \\---> PendingCancel  -> Canceled (or back, cancel rejected)
         \\-> Rejected

and are passed on to the listener (fill accounting and the algo runtime). A child pending longer
than the configured timeout is reconciled with its venue, and its owner is told. A venue that
refuses a parent's child is left out of that parent's plans for a while (refusals.py).
"""
from __future__ import annotations

import logging
from typing import Callable, Protocol

from router import faults
from router.clock import Clock
from router.domain.enums import ChildRole, Side, TimeInForce
from router.domain.events import (CancelChild, ChildAccepted, ChildCanceled, ChildCancelRejected, ChildFilled,
                                  ChildRejected, ChildReplaced, ChildReplaceRejected, StartAuction, SubmitChild)
from router.domain.instruments import Instrument
from router.domain.orders import ChildOrder, ChildStatus, ParentOrder
from router.market.books import MarketBooks
from router.market.securities import SecurityMaster
from router.risk import RiskReject, default_child_checks
from router.risk.holds import RiskHolds
from venues.sor import SmartOrderRouter, SweepRequest

from .batch import UnitOfWork
from .child_caps import ChildCaps
from .refusals import VenueRefusals
from .child_records import Amended as _Amended, replace_child as _replace_child
from .child_records import replace_entry as _replace_entry, report_payload as _report_payload
from .state import Orders
from .timers import Timers

log = logging.getLogger(__name__)
_EPS = 1e-9
_NEVER_RESTS = (TimeInForce.IOC, TimeInForce.FOK)
_PENDING_REPLACE = ChildStatus.PENDING_REPLACE
_PENDING_CANCEL = ChildStatus.PENDING_CANCEL
# ChildStatus.is_done / is_pending and Side.is_buy as plain tuples and members: the properties
# look their members up on the enum class at every call, which a batch pays per child.
_DONE = tuple(status for status in ChildStatus if status.is_done)
_PENDING = tuple(status for status in ChildStatus if status.is_pending)
_BUY = Side.BUY
_ROUNDED_MEMO = 4096         # prices remembered per tick rule and side (round_passive is pure)


class ChildListener(Protocol):
    def child_accepted(self, child: ChildOrder) -> None: ...
    def child_filled(self, child: ChildOrder, report: ChildFilled) -> None: ...
    def child_replaced(self, child: ChildOrder) -> None: ...
    def child_rejected(self, child: ChildOrder, reason: str) -> None: ...
    def child_done(self, child: ChildOrder) -> None: ...
    def retry_due(self, parent_id: str, role: ChildRole, symbol: str) -> None: ...


class InvariantError(RuntimeError):
    """The engine found its own state impossible (an overfill, a fill on a done order)."""


def _resting(child: ChildOrder) -> ChildStatus:
    return ChildStatus.PARTIALLY_FILLED if child.cum_qty else ChildStatus.NEW


class ChildOrderManager:
    def __init__(self, clock: Clock, timers: Timers, work: UnitOfWork, orders: Orders, books: MarketBooks,
                 securities: SecurityMaster, sor: SmartOrderRouter, venues: dict, pending_timeout_ns: int,
                 capacity_of: Callable[[str], str] = lambda account: "customer") -> None:
        """``capacity_of``: an account's capacity at the exchanges (customer, professional, ...),
        which its children carry and the SOR ranks venues' fees by."""
        self._clock = clock
        self._capacity_of = capacity_of
        self._securities = securities
        self._timers = timers
        self._venues = venues
        self._work = work
        self._orders = orders
        self._books = books
        self._sor = sor
        self._checks = default_child_checks()
        self.holds = RiskHolds()                 # parents a holding limit (greek_limits.py) keeps from sending
        self.on_hold: Callable[[ParentOrder, str], None] | None = None   # tells the client once per hold
        self._pending_timeout_ns = pending_timeout_ns
        self._pending: set[str] = set()          # children with a request in flight
        self.seen_fills: set[tuple[str, str]] = set()   # (venue, exec_id): a fill counts once
        self._timeout_timer = None
        self._rounded: dict[int, tuple[object, dict, dict]] = {}   # id(tick rule) -> (rule, buys, sells)
        self.listener: ChildListener | None = None
        self.refusals = VenueRefusals()
        self.refusal_streak = 0                  # of the parent whose child was refused last
        self._retries: set[tuple[str, ChildRole]] = set()   # (parent, role) with a retry timer armed
        self.caps = ChildCaps(clock, timers, orders)     # ActiveOrderSize, TWAP slices, MaxChildOrders, CanCxlOverlap

    # ------------------------------------------------------------------ making children

    def _routable(self, parent: ParentOrder, role: ChildRole, symbol: str,
                  venues: tuple[str, ...]) -> tuple[str, ...] | None:
        """``venues`` (empty: any) without those backing off from this parent; None when that
        leaves none."""
        excluded = self.refusals.backing_off(parent.order_id, role, self._clock.now_ns())
        if not excluded:
            return venues
        left = tuple(v for v in (venues or self._sor.candidates(symbol)) if v not in excluded)
        if left:
            return left
        key = (parent.order_id, role)
        retry_ns = self.refusals.next_retry_ns(parent.order_id, role)
        if retry_ns is not None and key not in self._retries:
            def retry() -> None:
                self._retries.discard(key)
                self.listener.retry_due(parent.order_id, role, symbol)
            self._retries.add(key)
            self._timers.call_at(retry_ns, retry)
        return None

    def _new_child(self, parent: ParentOrder, venue: str, symbol: str, side: Side, qty: int, price: float,
                   tif: TimeInForce, role: ChildRole, delay_ns: int = 0, **extra) -> ChildOrder:
        if role is ChildRole.LEG:
            leg = parent.leg_of(symbol)
            if leg is None:
                raise InvariantError(f"{parent.order_id} has no leg on {symbol}")
            extra["leg"] = leg
        return ChildOrder(child_id=f"{parent.order_id}.{parent.child_seq + 1}", parent_id=parent.order_id,
                          venue=venue, symbol=symbol, side=side, qty=qty, price=price, time_in_force=tif,
                          sent_ns=self._clock.now_ns() + delay_ns, role=role, status_since_ns=self._clock.now_ns(),
                          **extra)

    def add_checks(self, *checks) -> None:
        """Child checks that need the engine's state (the day greek limits), after the defaults."""
        self._checks = (*self._checks, *checks)

    def _failure(self, parent: ParentOrder, child: ChildOrder, open_qty: int, underlier: str,
                 multiplier: int) -> RiskReject | None:
        for check in self._checks:                          # first_failure, without its call per child
            risk = check(parent, child, open_qty, underlier, multiplier)
            if risk is not None:
                return risk
        return None

    def _blocked(self, parent: ParentOrder, child: ChildOrder, instrument: Instrument, open_qty: int) -> bool:
        own = self._securities.get(parent.symbol)           # the parent's instrument, not the child's
        underlier, multiplier = own.underlying, own.multiplier
        if child.role is ChildRole.HEDGE and instrument.lot_size != 1:
            multiplier = round(multiplier / instrument.lot_size)     # a hedge counts lots (0.001 BTC), not units
        risk = self._failure(parent, child, open_qty, underlier, multiplier)
        held = None
        if risk is not None and risk.holds and (smaller := self._fitted(child, risk.fits_qty)) is not None:
            held = f"{risk.text}; {'sent' if type(child) is ChildOrder else 'rests'} {smaller}"   # the rest is held
            self._work.journal_add("child_sized_to_risk", parent.session,
                                   {"child": child.child_id, "qty": smaller, "reason": held})
            child.qty = smaller
            if type(child) is ChildOrder and child.display_qty is not None:
                child.display_qty = min(child.display_qty, smaller)
            risk = self._failure(parent, child, open_qty, underlier, multiplier)
        if risk is None:
            if held is not None:
                self._hold(parent, child, held)
            elif self.holds and self._adds_size(child):     # a reprice alone does not lift a hold
                self.holds.passed(parent.order_id, child.role, self._clock.now_ns())
            return False
        self._work.journal_add("child_blocked", parent.session, {"child": child.child_id, "reason": risk.text})
        if risk.holds:
            self._hold(parent, child, risk.text)
        else:
            log.warning("risk blocked %s: %s", child.child_id, risk.text)
        return True

    def _hold(self, parent: ParentOrder, child: ChildOrder, text: str) -> None:
        """Tell the client once per hold (router/risk/holds.py)."""
        if self.holds.blocked(parent.order_id, child.role, parent.account, child.symbol, self._clock.now_ns()):
            log.info("risk holds %s: %s", parent.order_id, text)
            self._work.journal_add("risk_hold", parent.session, {"parent": parent.order_id, "text": text})
            if self.on_hold is not None:
                self.on_hold(parent, text)

    def _fitted(self, child: ChildOrder, fits: int) -> int | None:
        """The smaller quantity a holding limit lets the child rest (an amended child never less
        than it rests now), or None."""
        if type(child) is not ChildOrder:
            own = self._orders.children[child.child_id]
            fits = max(fits, max(own.qty, own.target_qty) - own.cum_qty)
        return fits if 0 < fits < child.qty else None

    def _adds_size(self, child: ChildOrder) -> bool:
        """A new child, or an amendment (the Amended view) that rests more than the child did."""
        if type(child) is ChildOrder:
            return True
        own = self._orders.children[child.child_id]
        return child.qty > own.target_qty - own.cum_qty

    def _resume_holds(self, child: ChildOrder) -> None:
        """A fill or a finished child may free room under a holding limit: the account's held
        parents plan again, as after a venue's back-off."""
        parents = self._orders.parents
        for parent_id, role, symbol in self.holds.waiting(parents[child.parent_id].account, self._clock.now_ns()):
            parent = parents.get(parent_id)
            if parent is None or not parent.is_working:
                self.holds.forget(parent_id)
            else:
                self.listener.retry_due(parent_id, role, symbol)

    def _risk_open_qty(self, parent: ParentOrder, role: ChildRole, symbol: str | None = None) -> int:
        """``_open_qty`` as the risk checks count it: with CanCxlOverlap (5052) Y, WORK children
        pending cancel do not count."""
        if role is ChildRole.WORK and parent.algo.can_cxl_overlap:
            return self.caps.counted_open(parent, self.caps.exposure(parent))
        return self._open_qty(parent, role, symbol if role is ChildRole.LEG else None)

    def _open_qty(self, parent: ParentOrder, role: ChildRole, symbol: str | None = None) -> int:
        """What the parent's open children of ``role`` (on ``symbol``: a package's leg) are heading
        for, less what they filled."""
        children, total = self._orders.children, 0
        for child_id in self._orders.children_of.get(parent.order_id, ()):
            c = children[child_id]
            if c.status not in _DONE and (role is None or c.role is role) and (symbol is None or c.symbol == symbol):
                total += c.target_qty - c.cum_qty
        return total

    def register_new(self, parent: ParentOrder, child: ChildOrder, **journaled) -> None:
        """A new child, before its command goes: stored, pending (the timeout covers it) and
        journaled as ``child_out`` with its terms and ``journaled``."""
        parent.child_seq += 1
        self._orders.add_child(child)
        self._pending.add(child.child_id)
        self._arm_timeout()
        self._work.touch_child(child)
        self._work.touch(parent)
        self._work.journal_add("child_out", parent.session, {
            "child": child.child_id, "venue": child.venue, "symbol": child.symbol, "qty": child.qty,
            "price": child.price, "side": child.side.value, "tif": child.time_in_force.value,
            "role": child.role.value, "post_only": child.post_only, **journaled})

    def _send_new(self, parent: ParentOrder, child: ChildOrder, delay_ns: int, short_sale: bool, mode: str) -> None:
        self.register_new(parent, child, mode=mode)
        self._work.command(SubmitChild(child.child_id, child.venue, child.symbol, child.side, child.qty, child.price,
                                       child.time_in_force, child.post_only, child.display_qty, short_sale,
                                       self._capacity_of(parent.account), parent.algo.alt_route_code), delay_ns)
        if child.role is ChildRole.HEDGE:
            faults.reached("hedge")

    def take(self, parent: ParentOrder, instrument: Instrument, symbol: str, side: Side, qty: int, limit: float,
             venues: tuple[str, ...], max_children: int | None, role: ChildRole,
             short_sale: bool = False) -> list[ChildOrder]:
        """Marketable IOC children through the SOR for up to ``qty`` at ``limit``."""
        book = self._books.book(symbol)
        nbbo = book.nbbo()
        far = nbbo.ask if side.is_buy else nbbo.bid
        if far is None or (far > limit + _EPS if side.is_buy else far < limit - _EPS):
            return []            # nothing anywhere at the limit: skip the SOR
        venues = self._routable(parent, role, symbol, venues)
        if venues is None:
            return []            # every venue refused this parent lately: wait
        if role is ChildRole.WORK:
            qty, children_left = self.caps.new_child_room(parent, symbol, qty)
            if qty <= 0:
                return []        # held by the order's modifiers (child_caps.py)
            if children_left is not None:
                max_children = children_left if max_children is None else min(max_children, children_left)
        plan = self._sor.plan_sweep(SweepRequest(side, qty, limit, instrument.multiplier, venues, max_children,
                                                 self._capacity_of(parent.account)), book)
        rule = instrument.tick_rule
        open_qty = self._risk_open_qty(parent, role, symbol)
        made: list[ChildOrder] = []
        for allocation in plan.allocations:
            child = self._new_child(parent, allocation.venue, symbol, side, allocation.qty,
                                    rule.round_passive(allocation.price, side.is_buy), TimeInForce.IOC, role,
                                    allocation.send_delay_ns)
            if self._blocked(parent, child, instrument, open_qty):
                continue
            open_qty += child.qty
            self._send_new(parent, child, allocation.send_delay_ns, short_sale, plan.mode)
            made.append(child)
        return made

    def plan_posts(self, parent: ParentOrder, instrument: Instrument, side: Side, qty: int, price: float,
                   num_venues: int, max_exposure: int | None, exclude: tuple[str, ...]) -> list[tuple[str, int]]:
        """(venue, qty) for resting ``qty`` of the parent's own option over up to ``num_venues``
        venues (``SmartOrderRouter.plan_posts``), among its allowed venues less ``exclude`` and
        those backing off from it."""
        symbol = parent.symbol
        routable = self._routable(parent, ChildRole.WORK, symbol, parent.algo.exchanges)
        if routable is None:
            return []
        allowed = tuple(v for v in (routable or self._sor.candidates(symbol)) if v not in exclude)
        if not allowed:
            return []
        plan = self._sor.plan_posts(side, qty, price, self._books.book(symbol), allowed,
                                    self._capacity_of(parent.account), num_venues=num_venues,
                                    max_exposure=max_exposure, multiplier=instrument.multiplier,
                                    tick=instrument.tick_rule.tick_at(price), now_ns=self._clock.now_ns())
        return [(a.venue, a.qty) for a in plan]

    def post(self, parent: ParentOrder, instrument: Instrument, symbol: str, side: Side, qty: int, price: float,
             venue: str | None, post_only: bool, display_qty: int | None, tif: TimeInForce, role: ChildRole,
             allowed_venues: tuple[str, ...] = (), short_sale: bool = False) -> ChildOrder | None:
        routable = self._routable(parent, role, symbol, (venue,) if venue is not None else allowed_venues)
        if routable is None:
            return None          # every venue refused this parent lately: wait
        if role is ChildRole.WORK:
            qty, _ = self.caps.new_child_room(parent, symbol, qty)
            if qty <= 0:
                return None      # held by the order's modifiers (child_caps.py)
            if display_qty is not None:
                display_qty = min(display_qty, qty)
        if venue is None:
            allowed_venues = routable
            venue = self._sor.plan_post(side, qty, price, self._books.book(symbol), allowed_venues,
                                        self._capacity_of(parent.account), multiplier=instrument.multiplier,
                                        tick=instrument.tick_rule.tick_at(price), now_ns=self._clock.now_ns())
            if venue is None:
                self._work.journal_add("child_blocked", parent.session,
                                       {"parent": parent.order_id, "reason": f"no venue lists {symbol}"})
                return None
        child = self._new_child(parent, venue, symbol, side, qty, instrument.tick_rule.round_passive(price, side.is_buy),
                                tif, role, post_only=post_only, display_qty=display_qty)
        if self._blocked(parent, child, instrument, self._risk_open_qty(parent, role, symbol)):
            return None
        self._send_new(parent, child, 0, short_sale, "post")
        return child

    def start_auction(self, parent: ParentOrder, instrument: Instrument, venue: str, qty: int, stop: float,
                      auto_match_limit: float | None, auction_id_of: Callable[[str], str],
                      initiator_capacity: str = "broker_dealer") -> tuple[ChildOrder, ChildOrder] | str:
        """A price-improvement auction for ``qty`` of the parent (router/engine/auctions.py): the
        agency child (WORK, the client's order, through the parent's risk checks and order
        modifiers) and the initiator child (FIRM, the firm's contra order at the stop), sent as
        one StartAuction. Both are IOC: they never rest, so nothing cancels them meanwhile (the
        venue would refuse it during the exposure period). The children, or why none was sent."""
        symbol = parent.symbol
        routable = self._routable(parent, ChildRole.WORK, symbol, (venue,))
        if routable is None:
            return f"{venue} refused this order lately"
        qty, _ = self.caps.new_child_room(parent, symbol, qty)
        if qty <= 0:
            return "held by the order's modifiers"
        agency = self._new_child(parent, venue, symbol, parent.side, qty, stop, TimeInForce.IOC, ChildRole.WORK)
        if self._blocked(parent, agency, instrument, self._risk_open_qty(parent, ChildRole.WORK, symbol)):
            return f"risk blocked the agency order {agency.child_id}"
        self._register_auction_child(parent, agency, stop, auto_match_limit)
        initiator = self._new_child(parent, venue, symbol, parent.side.opposite(), agency.qty, stop, TimeInForce.IOC,
                                    ChildRole.FIRM)
        self._register_auction_child(parent, initiator, stop, auto_match_limit)
        self._work.command(StartAuction(auction_id_of(agency.child_id), venue, symbol, agency.child_id,
                                        initiator.child_id, parent.side, agency.qty, stop, auto_match_limit,
                                        self._capacity_of(parent.account), initiator_capacity))
        return agency, initiator

    def _register_auction_child(self, parent: ParentOrder, child: ChildOrder, stop: float,
                                auto_match_limit: float | None) -> None:
        """``_send_new`` without its SubmitChild (the auction's StartAuction carries both children)."""
        self.register_new(parent, child, mode="auction", stop=stop, auto_match_limit=auto_match_limit)

    def open_children(self, order_id: str, role: ChildRole | None) -> list[ChildOrder]:
        """``Orders.open_children``, with the status test spelled out (it runs per order per batch)."""
        ids = self._orders.children_of.get(order_id)
        if not ids:
            return []
        children = self._orders.children
        if len(ids) == 1:                                   # the common case, without a comprehension
            c = children[ids[0]]
            return [c] if c.status not in _DONE and (role is None or c.role is role) else []
        return [c for cid in ids if (c := children[cid]).status not in _DONE and (role is None or c.role is role)]

    # ------------------------------------------------------------------ amending

    def replace(self, parent: ParentOrder, instrument: Instrument, child: ChildOrder, qty: int | None,
                price: float | None) -> None:
        status = child.status
        if status in _DONE or status is _PENDING_CANCEL or child.cancel_queued:
            return
        target_qty = child.target_qty
        new_qty = target_qty if qty is None else qty
        new_price = child.target_price if price is None else \
            self._round_passive(instrument.tick_rule, price, child.side is _BUY)
        cum_qty = child.cum_qty
        if new_qty <= cum_qty:
            self.cancel(child)
            return
        if new_qty > target_qty and child.role is ChildRole.WORK:
            new_qty = self.caps.amended_qty(parent, child, new_qty)
        others = self._risk_open_qty(parent, child.role, child.symbol) - (target_qty - cum_qty)
        amended = _Amended(child, new_qty - cum_qty, new_price)
        if self._blocked(parent, amended, instrument, others):
            return
        new_qty = cum_qty + amended.qty                     # a holding limit may have sized it down
        if status in _PENDING:
            child.next_qty, child.next_price = new_qty, new_price
            self._work.touch_child(child)
            return
        self._send_replace(child, new_qty, new_price)

    def _round_passive(self, rule, price: float, is_buy: bool) -> float:
        """``rule.round_passive(price, is_buy)``, remembered: a batch amends many children to the
        same few prices."""
        memos = self._rounded.get(id(rule))
        if memos is None or memos[0] is not rule:
            memos = self._rounded[id(rule)] = (rule, {}, {})
        memo = memos[1] if is_buy else memos[2]
        rounded = memo.get(price)
        if rounded is None:
            if len(memo) >= _ROUNDED_MEMO:
                memo.clear()
            rounded = memo[price] = rule.round_passive(price, is_buy)
        return rounded

    def _send_replace(self, child: ChildOrder, qty: int, price: float) -> None:
        child.next_qty = child.next_price = None
        if qty == child.qty and abs(price - child.price) < _EPS:
            return
        child.want_qty, child.want_price = qty, price
        revision = child.revision = child.revision + 1
        child_id = child.child_id
        # _set_status(child, PENDING_REPLACE), spelled out
        child.status = _PENDING_REPLACE
        child.status_since_ns = self._clock.now_ns()
        self._pending.add(child_id)
        if self._timeout_timer is None:
            self._arm_timeout()
        work = self._work
        work.children[child_id] = child                     # touch_child
        work.journal_defer("child_replace", None, _replace_entry, (child_id, qty, price, revision))
        work.command(_replace_child(child_id, child.venue, qty, price, revision))

    def cancel(self, child: ChildOrder) -> None:
        if not child.is_open or child.status is ChildStatus.PENDING_CANCEL:
            return
        if child.time_in_force in _NEVER_RESTS:
            if child.sent_ns > self._clock.now_ns():
                child.cancel_queued = True       # still waiting for its staggered send: hold it back
                self._work.touch_child(child)
            return               # once sent, it ends by itself on arrival
        if child.in_flight:
            child.cancel_queued = True
            self._work.touch_child(child)
            return
        self._send_cancel(child)

    def _send_cancel(self, child: ChildOrder) -> None:
        child.cancel_queued = False
        child.next_qty = child.next_price = None
        self._set_status(child, ChildStatus.PENDING_CANCEL)
        self._work.command(CancelChild(child.child_id, child.venue))

    def held_back(self, child_id: str) -> bool:
        """At a delayed send: a child canceled before it left is never sent, and ends here."""
        child = self._orders.children.get(child_id)
        if child is None or not child.cancel_queued or child.status is not ChildStatus.PENDING_NEW:
            return False
        child.cancel_queued = False
        self._work.journal_add("child_held_back", None, {"child": child_id})
        self._set_status(child, ChildStatus.CANCELED)
        self.listener.child_done(child)
        if self.caps.child_done(child):
            self.listener.retry_due(child.parent_id, child.role, child.symbol)
        return True

    def _send_queued(self, child: ChildOrder) -> None:
        if not child.is_open or child.in_flight:
            return
        if child.cancel_queued:
            self._send_cancel(child)
        elif child.next_qty is not None:
            qty, price = child.next_qty, child.next_price
            if qty <= child.cum_qty:
                self._send_cancel(child)
            else:
                self._send_replace(child, qty, price)

    def _set_status(self, child: ChildOrder, status: ChildStatus) -> None:
        child.status = status
        child.status_since_ns = self._clock.now_ns()
        if status in _PENDING:
            self._pending.add(child.child_id)
            self._arm_timeout()
        else:
            self._pending.discard(child.child_id)
        self._work.touch_child(child)

    # ------------------------------------------------------------------ venue reports

    def on_report(self, report) -> None:
        self._work.journal_add("venue_report", None, _report_payload(report))
        if isinstance(report, ChildFilled):
            key = (report.venue, report.exec_id)
            if key in self.seen_fills:       # a venue re-sent it (a reconcile, a retransmission)
                self._work.journal_add("duplicate_fill", None, {"venue": report.venue, "exec_id": report.exec_id,
                                                                "child": report.child_id})
                return
            self.seen_fills.add(key)
        child = self._orders.children.get(report.child_id)
        if child is None:
            log.warning("report for unknown child %s", report.child_id)
            return
        listener = self.listener
        was_open = child.is_open
        if isinstance(report, ChildFilled):
            self._fill(child, report)
        elif not was_open:
            return               # late news about a finished child (a cancel reject, a reconcile answer)
        elif isinstance(report, ChildAccepted):
            if child.status is ChildStatus.PENDING_NEW:
                self.refusals.accepted(child.parent_id, child.role, child.venue)
                child.accepted_ns = self._clock.now_ns()
                self._set_status(child, _resting(child))
                listener.child_accepted(child)
        elif isinstance(report, ChildReplaced):
            child.qty, child.price = report.qty, report.price
            child.want_qty = child.want_price = None
            child.accepted_ns = self._clock.now_ns()
            self._set_status(child, ChildStatus.FILLED if child.cum_qty >= child.qty else _resting(child))
            if child.is_open:
                listener.child_replaced(child)
        elif isinstance(report, ChildReplaceRejected):
            child.want_qty = child.want_price = None
            if child.status is ChildStatus.PENDING_REPLACE:
                self._set_status(child, _resting(child))
            listener.child_rejected(child, report.reason)
        elif isinstance(report, ChildCancelRejected):
            child.cancel_queued = False
            if child.status is ChildStatus.PENDING_CANCEL:
                self._set_status(child, _resting(child))
            listener.child_rejected(child, report.reason)
        elif isinstance(report, ChildCanceled):
            self._set_status(child, ChildStatus.CANCELED)
        elif isinstance(report, ChildRejected):
            self._set_status(child, ChildStatus.REJECTED)
            self.refusal_streak = self.refusals.refused(child.parent_id, child.role, child.venue, report.reason,
                                                        self._clock.now_ns())
            listener.child_rejected(child, report.reason)
        if child.is_open:
            self._send_queued(child)
        elif was_open:
            self._pending.discard(child.child_id)
            listener.child_done(child)
            if self.caps.child_done(child):          # a child held back for this cancel may go now
                listener.retry_due(child.parent_id, child.role, child.symbol)
        if self.holds and (isinstance(report, ChildFilled) or (was_open and not child.is_open)):
            self._resume_holds(child)

    def _fill(self, child: ChildOrder, fill: ChildFilled) -> None:
        if not child.is_open:
            raise InvariantError(f"fill {fill.exec_id} on {child.child_id}, which is {child.status.name}")
        self.add_fill(child, fill)
        self.listener.child_filled(child, fill)
        faults.reached("fill")

    def add_fill(self, child: ChildOrder, fill) -> None:
        """A fill's qty, notional and fee on the child, and the status it leaves the child in."""
        if child.cum_qty + fill.qty > max(child.qty, child.want_qty or 0):
            raise InvariantError(f"fill {fill.exec_id} overfills child {child.child_id}")
        child.cum_qty += fill.qty
        child.notional += fill.qty * fill.price
        child.fees += fill.fee
        if child.cum_qty >= child.qty and child.want_qty is None:
            self._set_status(child, ChildStatus.FILLED)
        elif child.status in (ChildStatus.PENDING_NEW, ChildStatus.NEW):
            self._set_status(child, ChildStatus.PARTIALLY_FILLED)
        else:
            self._work.touch_child(child)

    # ------------------------------------------------------------------ nothing hangs

    def _arm_timeout(self) -> None:
        if self._timeout_timer is None:
            self._timeout_timer = self._timers.call_later(self._pending_timeout_ns, self._check_timeouts)

    def _check_timeouts(self) -> None:
        self._timeout_timer = None
        now = self._clock.now_ns()
        for child_id in sorted(self._pending):
            child = self._orders.children[child_id]
            if now - child.status_since_ns < self._pending_timeout_ns:
                continue
            child.status_since_ns = now              # one reconcile per timeout period
            self._work.journal_add("child_timeout", None, {"child": child_id, "status": child.status.value})
            self._venue(child).reconcile(child_id)
            self.listener.child_rejected(child, f"no answer from {child.venue} within "
                                                f"{self._pending_timeout_ns / 1e6:g} ms; reconciling")
        if self._pending:
            self._arm_timeout()

    def reconcile_all(self, children: list[ChildOrder]) -> None:
        for child in children:
            if child.status.is_pending:
                self._pending.add(child.child_id)
            self._venue(child).reconcile(child.child_id)
        if self._pending:
            self._arm_timeout()

    def _venue(self, child: ChildOrder):
        return self._venues[child.venue]
