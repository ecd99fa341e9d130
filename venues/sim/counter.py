"""What every simulated venue does at its counter, whatever keeps its book (the matching engine
of venues/sim/venue.py, or a recording in venues/sim/replay.py): commands arrive after the
venue's entry latency and replies leave after its response latency (router/models/latency.py);
the day's children are remembered with their fills and how they ended; each fill gets an exec
ID carrying a token of the venue's start time, its fee and its liquidity flag; and a reconcile
tells a child's whole story (venues/base.py)."""
from __future__ import annotations

import inspect
import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from router.clock import Clock
from router.domain.enums import Liquidity, Side
from router.domain.events import (CancelChild, ChildAccepted, ChildCanceled, ChildFilled, ChildRejected,
                                  ChildReplaced, ChildReplaceRejected, ReplaceChild, SubmitChild, VenueReport)
from router.models.latency import VenueLatency
from venues.fees import FeeSchedule

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
UNKNOWN_ORDER = "unknown or finished order"


def exec_token(now_ns: int) -> str:
    """The venue's start time in milliseconds, base 36: what makes its exec IDs unique across restarts."""
    millis = now_ns // 1_000_000
    digits = ""
    while True:
        millis, digit = divmod(millis, 36)
        digits = _BASE36[digit] + digits
        if not millis:
            return digits


@dataclass(slots=True)
class CounterChild:
    """A router child at the venue: what of it has filled here, and how it ended (None while it
    rests, or once it is fully filled)."""
    symbol: str
    side: Side
    capacity: str = "customer"
    post_only: bool = False
    route_code: str | None = None      # the child's AltRouteCode (5028), kept as sent
    filled: int = 0
    fills: list[ChildFilled] = field(default_factory=list)
    resting: bool = True
    ended: ChildCanceled | ChildRejected | None = None


class VenueCounter:
    """The base of a simulated venue. A subclass calls ``_open_counter`` from its constructor and
    implements ``_arrive_submit``, ``_arrive_replace``, ``_arrive_cancel`` and ``_resting_terms``."""

    name: str

    def _open_counter(self, name: str, clock: Clock, fees: FeeSchedule, latency_ns: int,
                      latency: VenueLatency | None, report_sink: Callable[[VenueReport], None],
                      fee_underlier_price: float | None = None) -> None:
        self.name = name
        self._clock = clock
        self._fees = fees
        # A schedule whose fee() takes symbol, price and capacity prices by account type and class;
        # an older one (fee(venue, qty, liquidity)) still works. Checked once, here.
        self._fee_keywords = _accepts_keywords(fees.fee, ("symbol", "price", "capacity"))
        self._fee_underlier_price = fee_underlier_price
        self.latency_ns = latency_ns
        self._latency = latency if latency is not None and name in latency.venues else None
        self._report_sink = report_sink
        self._children: dict[str, CounterChild] = {}    # every child of the day, done ones too
        self.submits: Counter[str] = Counter()          # submits that reached the venue, per child id (an audit)
        self._exec_prefix = f"{name}-{exec_token(clock.now_ns())}-"
        self._exec_ids = itertools.count(1)

    # ---- the adapter protocol (router side): every command arrives after the entry latency

    def submit(self, order: SubmitChild) -> None:
        self._clock.call_later(self._entry_delay(), lambda: self._arrive_submit(order))

    def replace(self, order: ReplaceChild) -> None:
        self._clock.call_later(self._entry_delay(), lambda: self._arrive_replace(order))

    def cancel(self, order: CancelChild) -> None:
        self._clock.call_later(self._entry_delay(), lambda: self._arrive_cancel(order))

    def reconcile(self, child_id: str) -> None:
        self._clock.call_later(self._entry_delay(), lambda: self._arrive_reconcile(child_id))

    def _arrive_submit(self, order: SubmitChild) -> None:
        raise NotImplementedError

    def _arrive_replace(self, order: ReplaceChild) -> None:
        raise NotImplementedError

    def _arrive_cancel(self, order: CancelChild) -> None:
        raise NotImplementedError

    def _resting_terms(self, child_id: str, child: CounterChild) -> tuple[int, float] | None:
        """(leaves, price) of a child resting in the book, None when it no longer is."""
        raise NotImplementedError

    def _sync(self) -> None:
        """Bring the book up to now before answering (a recording plays ahead lazily)."""

    def _arrive_reconcile(self, child_id: str) -> None:
        """The child's whole story, for a router that may have missed any part of it: accepted,
        every fill again under its original exec ID, then how it stands (resting: its total qty
        and price; canceled: why; filled: the fills said it all)."""
        self._sync()
        child = self._children.get(child_id)
        if child is None:
            self._reply(ChildCanceled(child_id, self.name, "unknown at venue"))
            return
        if isinstance(child.ended, ChildRejected):
            self._reply(child.ended)
            return
        self._reply(ChildAccepted(child_id, self.name))
        for fill in child.fills:
            self._reply(fill)
        terms = self._resting_terms(child_id, child) if child.resting else None
        if terms is not None:
            leaves, price = terms
            self._reply(ChildReplaced(child_id, self.name, child.filled + leaves, price))
        elif child.ended is not None:
            self._reply(child.ended)

    # ---- children, fills, replies

    def _replaceable(self, order: ReplaceChild) -> CounterChild | None:
        """The resting child a replace applies to; None, with the refusal sent, when the venue no
        longer has it resting or the new qty is not above what has filled."""
        child = self._resting(order.child_id)
        if child is None:
            self._reply(ChildReplaceRejected(order.child_id, self.name, UNKNOWN_ORDER))
        elif order.qty <= child.filled:
            self._reply(ChildReplaceRejected(
                order.child_id, self.name, f"new qty {order.qty} is not above the {child.filled} already filled"))
            child = None
        return child

    def _resting(self, child_id: str) -> CounterChild | None:
        child = self._children.get(child_id)
        return child if child is not None and child.resting else None

    def _end(self, child: CounterChild, report: ChildCanceled | ChildRejected) -> None:
        child.resting = False
        child.ended = report
        self._reply(report)

    def _router_fill(self, child_id: str, qty: int, price: float, liquidity: Liquidity) -> CounterChild:
        child = self._children[child_id]
        child.filled += qty
        if self._fee_keywords:
            extra = {} if self._fee_underlier_price is None else {"underlier_price": self._fee_underlier_price}
            fee = self._fees.fee(self.name, qty, liquidity, symbol=child.symbol, price=price, capacity=child.capacity,
                                 **extra)
        else:
            fee = self._fees.fee(self.name, qty, liquidity)
        fill = ChildFilled(child_id, self.name, f"{self._exec_prefix}{next(self._exec_ids)}", qty, price, fee,
                           liquidity)
        child.fills.append(fill)
        self._reply(fill)
        return child

    def _reply(self, report: VenueReport) -> None:
        self._clock.call_later(self._reply_delay(), lambda: self._report_sink(report))

    def _entry_delay(self) -> int:
        if self._latency is None:
            return self.latency_ns
        now = self._clock.now_ns()
        return self._latency.arrival_at(self.name, now) - now

    def _reply_delay(self) -> int:
        if self._latency is None:
            return self.latency_ns
        now = self._clock.now_ns()
        return self._latency.reply_at(self.name, now) - now


def _accepts_keywords(func: Callable, names: tuple[str, ...]) -> bool:
    """Whether ``func`` takes every one of ``names`` as a keyword (or has **kwargs)."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return False
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return True
    keywords = {p.name for p in params if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                     inspect.Parameter.KEYWORD_ONLY)}
    return all(name in keywords for name in names)
