"""The common order modifiers that bound a parent's WORK children, whatever its algo: the child
order manager asks here before it sends or enlarges a child (our definitions where the
SpiderRock reference leaves the detail open).

- ActiveOrderSize (5044): the parent's open, unfilled WORK quantity never exceeds it; a child
  that would go above is reduced.
- TwapSliceCount (5056): the quantity filled plus working never exceeds what the clock has
  released (twap.py); a child is reduced to fit, and the parent's algo is woken when the next
  slice is released (as after a venue's back-off: ``retry_due``).
- MaxChildOrders (5080): once the parent has sent that many WORK children, the next one its algo
  asks for is not sent and the balance is canceled with a text naming 5080.
- CanCxlOverlap (5052), default N — never more exposure than the balance: while a child is
  pending cancel, a new child (or a larger one) that together with it would exceed the
  parent's leaves is not sent; the algo is woken when the cancel is confirmed and sends it then.
  With Y a child pending cancel no longer counts: the new one may go at once.

Hedge children (the auto-hedger's) are not bounded by these: they follow the option fills.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from router.clock import Clock
from router.domain.enums import ChildRole
from router.domain.orders import ChildOrder, ChildStatus, ParentOrder

from . import twap
from .state import Orders
from .timers import Timers

_WORK = ChildRole.WORK
_DONE = tuple(status for status in ChildStatus if status.is_done)


@dataclass(frozen=True, slots=True)
class Exposure:
    """A parent's open WORK children: what they are heading for, less what they filled, and the
    part of it in children pending cancel (at worst, what those could still fill)."""
    open_qty: int
    cancelling_qty: int
    sent: int


class ChildCaps:
    def __init__(self, clock: Clock, timers: Timers, orders: Orders) -> None:
        self._clock = clock
        self._timers = timers
        self._orders = orders
        # set by the parent lifecycle (parents.py): end a parent's work with a text; wake its algo
        self.finish: Callable[[ParentOrder, str], None] = lambda parent, text: None
        self.wake: Callable[[str, ChildRole, str], None] = lambda parent_id, role, symbol: None
        # when each parent's algo started (set for orders whose start was held: StartType 5090)
        self.start_of: Callable[[ParentOrder], int] = lambda parent: parent.created_ns
        self._release_timers: dict[str, int] = {}       # parent -> the slice release a wake is armed for
        self._cancel_waiters: set[str] = set()          # parents holding a child back for a cancel

    def exposure(self, parent: ParentOrder, without: ChildOrder | None = None) -> Exposure:
        children = self._orders.children
        open_qty = cancelling = sent = 0
        for child_id in self._orders.children_of.get(parent.order_id, ()):
            c = children[child_id]
            if c.role is not _WORK:
                continue
            sent += 1
            if c.status in _DONE or c is without:
                continue
            if c.status is ChildStatus.PENDING_CANCEL or c.cancel_queued:
                cancelling += max(c.qty, c.want_qty or 0) - c.cum_qty
            else:
                open_qty += c.target_qty - c.cum_qty
        return Exposure(open_qty + cancelling, cancelling, sent)

    def counted_open(self, parent: ParentOrder, exposure: Exposure) -> int:
        """The open quantity the risk checks and the caps count: with CanCxlOverlap Y a child
        pending cancel is as good as gone."""
        return exposure.open_qty - exposure.cancelling_qty if parent.algo.can_cxl_overlap else exposure.open_qty

    # ------------------------------------------------------------------ new children

    def new_child_room(self, parent: ParentOrder, symbol: str, wanted: int) -> tuple[int, int | None]:
        """(the most a new WORK child may be for, how many more children may be sent or None)."""
        if parent.pending is not None or not parent.is_working:
            return 0, 0
        exposure = self.exposure(parent)
        algo = parent.algo
        children_left = None
        if algo.max_child_orders is not None:
            children_left = algo.max_child_orders - exposure.sent
            if children_left <= 0:
                self.finish(parent, f"MaxChildOrders (5080) of {algo.max_child_orders} used; balance canceled")
                return 0, 0
        counted = self.counted_open(parent, exposure)
        qty = min(wanted, self._cap_room(parent, symbol, counted))
        leaves = parent.qty - parent.cum_qty
        if not algo.can_cxl_overlap and exposure.cancelling_qty:
            if exposure.open_qty + qty > leaves:
                qty = 0                                    # not even part of it: it waits for the cancel
            if qty < wanted:
                self._cancel_waiters.add(parent.order_id)  # woken once the cancel is confirmed
        return max(min(qty, leaves - counted), 0), children_left

    def _cap_room(self, parent: ParentOrder, symbol: str, counted: int) -> int:
        """What ActiveOrderSize and the TWAP release leave for more open quantity."""
        algo = parent.algo
        room = parent.qty
        if algo.active_size is not None:
            room = algo.active_size - counted
        if algo.slice_count is not None:
            released, next_ns = twap.released_qty(parent, self.start_of(parent), self._clock.now_ns())
            room = min(room, released - parent.cum_qty - counted)
            if next_ns is not None:
                self._wake_at(parent, symbol, next_ns)
        return max(room, 0)

    # ------------------------------------------------------------------ amending

    def amended_qty(self, parent: ParentOrder, child: ChildOrder, new_qty: int) -> int:
        """``new_qty`` for a child being enlarged, cut so the caps still hold (never below the
        child's own current target: a cap only stops growth)."""
        if new_qty <= child.target_qty or parent.pending is not None:
            return new_qty
        exposure = self.exposure(parent, without=child)
        counted = self.counted_open(parent, exposure)
        room = self._cap_room(parent, child.symbol, counted)
        if not parent.algo.can_cxl_overlap and exposure.cancelling_qty:
            room = min(room, max(parent.qty - parent.cum_qty - exposure.open_qty, 0))
            if child.cum_qty + room < new_qty:
                self._cancel_waiters.add(parent.order_id)
        return max(child.target_qty, min(new_qty, child.cum_qty + room))

    # ------------------------------------------------------------------ waking the algo

    def _wake_at(self, parent: ParentOrder, symbol: str, at_ns: int) -> None:
        order_id = parent.order_id
        if self._release_timers.get(order_id) == at_ns:
            return
        self._release_timers[order_id] = at_ns

        def release() -> None:
            if self._release_timers.get(order_id) == at_ns:
                del self._release_timers[order_id]
                self.wake(order_id, _WORK, symbol)
        self._timers.call_at(at_ns, release)

    def child_done(self, child: ChildOrder) -> bool:
        """A child reached a final state: True when its parent was holding a child back for a
        cancel to be confirmed (the caller wakes the algo once the child's own news is out)."""
        if child.parent_id not in self._cancel_waiters or child.role is not _WORK:
            return False
        parent = self._orders.parents.get(child.parent_id)
        if parent is not None and parent.is_working and self.exposure(parent).cancelling_qty:
            return False                                # another cancel still to come
        self._cancel_waiters.discard(child.parent_id)
        return parent is not None and parent.is_working
