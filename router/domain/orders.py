"""Parent and child order state. Mutated only on the engine thread."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from math import gcd

from .commands import AlgoParams
from .enums import ChildRole, Liquidity, OrdStatus, OrdType, PendingKind, Side, SRTimeInForce, TimeInForce


class ChildStatus(str, Enum):
    PENDING_NEW = "pending_new"
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    PENDING_REPLACE = "pending_replace"
    PENDING_CANCEL = "pending_cancel"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"

    @property
    def is_done(self) -> bool:
        return self in (ChildStatus.FILLED, ChildStatus.CANCELED, ChildStatus.REJECTED)


    @property
    def is_pending(self) -> bool:
        return self in (ChildStatus.PENDING_NEW, ChildStatus.PENDING_REPLACE, ChildStatus.PENDING_CANCEL)


@dataclass(slots=True)
class ChildOrder:
    """A child as the router knows it. ``qty`` and ``price`` are what the venue last confirmed
    (or was sent, while PendingNew); a replace in flight is ``want_qty``/``want_price``, and a
    newer target that arrived meanwhile waits in ``next_qty``/``next_price`` (one request in
    flight per child; the newest target supersedes a queued one)."""
    child_id: str            # derived from the parent: P7.3 is the third child of P7
    parent_id: str
    venue: str
    symbol: str
    side: Side
    qty: int
    price: float
    time_in_force: TimeInForce
    sent_ns: int
    status: ChildStatus = ChildStatus.PENDING_NEW
    cum_qty: int = 0
    notional: float = 0.0
    fees: float = 0.0
    role: ChildRole = ChildRole.WORK
    leg: int | None = None
    post_only: bool = False
    display_qty: int | None = None
    revision: int = 0                  # replaces the venue has been sent
    want_qty: int | None = None        # the replace in flight
    want_price: float | None = None
    next_qty: int | None = None        # a newer target, sent when the one in flight is answered
    next_price: float | None = None
    cancel_queued: bool = False        # a cancel asked for while a request was in flight
    status_since_ns: int = 0           # when the current status began (pending timeouts)
    accepted_ns: int | None = None     # when the venue first acknowledged it (minimum resting time)

    @property
    def leaves_qty(self) -> int:
        return 0 if self.status.is_done else self.qty - self.cum_qty

    @property
    def is_open(self) -> bool:
        return not self.status.is_done

    @property
    def in_flight(self) -> bool:
        return self.status.is_pending

    @property
    def target_qty(self) -> int:
        """The quantity this child is heading for, counting requests in flight and queued."""
        if self.next_qty is not None:
            return self.next_qty
        return self.want_qty if self.want_qty is not None else self.qty

    @property
    def target_price(self) -> float:
        if self.next_price is not None:
            return self.next_price
        return self.want_price if self.want_price is not None else self.price


@dataclass(slots=True)
class Fill:
    exec_id: str
    parent_id: str
    child_id: str
    venue: str
    qty: int
    price: float
    fee: float
    liquidity: Liquidity
    ts_ns: int
    role: ChildRole = ChildRole.WORK
    symbol: str = ""
    side: Side | None = None


@dataclass(slots=True)
class PendingChange:
    """A cancel or replace the client asked for, waiting for open children to come back."""
    kind: PendingKind
    cl_ord_id: str                  # the request's ClOrdID (for FINISH: the parent's own)
    orig_cl_ord_id: str
    new_qty: int | None = None
    new_price: float | None = None
    new_ord_type: OrdType | None = None
    new_time_in_force: TimeInForce | None = None
    new_expire_ns: int | None = None
    text: str | None = None         # FINISH: why the algo ended the order; CANCEL by mass cancel: its id
    kill: bool = False              # a mass cancel: auto-hedges are pulled too


def static_price(price: float | None, ord_type: OrdType, params: AlgoParams) -> float | None:
    """The client's fixed price before its offset: Price (44) on a limit order, else SROrderPrcLimit (5106)."""
    if ord_type is OrdType.LIMIT and price is not None:
        return price
    return params.order_prc_limit or None


def static_limit(price: float | None, ord_type: OrdType, params: AlgoParams, side: Side) -> float | None:
    """The client's fixed price limit, if any, with SROrderPrcOffset (5126) applied (a buy may pay
    the offset more, a sell accept it less)."""
    base = static_price(price, ord_type, params)
    if base is None:
        return None
    offset = params.order_prc_offset or 0.0
    return base + offset if side.is_buy else base - offset


def immediate_or_cancel(time_in_force: TimeInForce, params: AlgoParams) -> bool:
    """IOC by SRTimeInForce (5084) when given, else by TimeInForce (59)."""
    if params.sr_time_in_force is not None:
        return params.sr_time_in_force is SRTimeInForce.IOC
    return time_in_force is TimeInForce.IOC


@dataclass(slots=True)
class PackageLeg:
    """One leg of a package parent (NewOrderMultileg): ``ratio`` contracts (or shares) of it per
    package, bought or sold as ``side`` says when the package is bought. ``cum_qty`` and
    ``notional`` are what its LEG children filled."""
    ref_id: str                # LegRefID (654), echoed on the leg's reports
    symbol: str
    side: Side
    ratio: int
    multiplier: float = 100.0
    cum_qty: int = 0
    notional: float = 0.0
    # legging risk: this leg's fills beyond the complete packages (in its own contracts)
    max_unmatched: int = 0               # the largest it has been
    unmatched_since_ns: int | None = None   # when the current run of unmatched fills began
    longest_unmatched_ns: int = 0        # the longest such run that has ended

    @property
    def sign(self) -> int:
        return 1 if self.side.is_buy else -1

    @property
    def avg_px(self) -> float:
        return self.notional / self.cum_qty if self.cum_qty else 0.0


def package_scale(legs) -> int:
    """The common factor of a package's ratios: a venue books 2:4 x 10 as 1:2 x 20."""
    factor = 0
    for leg in legs:
        factor = gcd(factor, leg.ratio)
    return factor or 1


def package_key(legs) -> tuple[tuple[tuple[str, bool, int], ...], bool]:
    """A package whatever its leg order and direction: (symbol, bought, reduced ratio) sorted by
    symbol and oriented so the first leg is bought; and whether ``legs`` are that reversed."""
    factor = package_scale(legs)
    ordered = sorted(legs, key=lambda leg: leg.symbol)
    flipped = not ordered[0].side.is_buy
    return tuple((leg.symbol, leg.side.is_buy != flipped, leg.ratio // factor) for leg in ordered), flipped


def cob_symbol(legs) -> str:
    """The name a package's complex order books are published under to the algos (a subscription key)."""
    key, _ = package_key(legs)
    return "COB:" + "|".join(f"{'B' if bought else 'S'}{ratio}:{symbol}" for symbol, bought, ratio in key)


@dataclass(slots=True)
class ParentOrder:
    order_id: str
    session: str
    account: str
    cl_ord_id: str
    symbol: str
    side: Side
    qty: int
    ord_type: OrdType
    price: float | None
    time_in_force: TimeInForce
    algo_name: str
    algo: AlgoParams
    created_ns: int
    expire_ns: int | None = None
    orig_cl_ord_id: str | None = None
    status: OrdStatus = OrdStatus.PENDING_NEW
    cum_qty: int = 0
    notional: float = 0.0
    fees: float = 0.0
    child_seq: int = 0
    exec_seq: int = 0
    arrival_bid: float | None = None
    arrival_ask: float | None = None
    pending: PendingChange | None = None
    cl_ord_ids: list[str] = field(default_factory=list)   # the whole cancel/replace chain
    algo_state: dict = field(default_factory=dict)        # the algo's own state, saved in the same commit
    closed: bool = False     # its final report is out; a done parent stays open while its auto-hedge works
    # A package (NewOrderMultileg): qty, cum_qty and price count packages, the price is the net
    # premium per package (a debit when positive); ``symbol`` is its first option leg, the
    # anchor for market data, while the package's own reports name the underlier.
    legs: tuple[PackageLeg, ...] = ()

    @property
    def is_package(self) -> bool:
        return bool(self.legs)

    @property
    def packages_done(self) -> int:
        """Whole packages every leg has filled (a package's CumQty)."""
        return min(leg.cum_qty // leg.ratio for leg in self.legs)

    @property
    def legging(self) -> bool:
        """A leg has filled beyond the complete packages."""
        done = self.packages_done
        return any(leg.cum_qty != done * leg.ratio for leg in self.legs)

    def leg_of(self, symbol: str) -> int | None:
        """The index of the leg on ``symbol`` (a package holds each instrument once)."""
        for index, leg in enumerate(self.legs):
            if leg.symbol == symbol:
                return index
        return None

    @property
    def leaves_qty(self) -> int:
        return 0 if self.status.is_done else max(self.qty - self.cum_qty, 0)

    @property
    def avg_px(self) -> float:
        return self.notional / self.cum_qty if self.cum_qty else 0.0

    @property
    def is_working(self) -> bool:
        return not self.status.is_done

    @property
    def is_ioc(self) -> bool:
        return immediate_or_cancel(self.time_in_force, self.algo)

    @property
    def static_limit(self) -> float | None:
        return static_limit(self.price, self.ord_type, self.algo, self.side)

    def next_exec_id(self) -> str:
        self.exec_seq += 1
        return f"{self.order_id}-{self.exec_seq}"


@dataclass(slots=True)
class RestoredState:
    """What the engine needs after a restart: the parents still working, with their children
    and fills; the closed parents of the day, which still answer status requests; positions as
    stored, (account, parent_id, symbol, qty, avg_price, multiplier, realised_pnl, fees); and
    the counters that keep IDs unique."""
    parents: list[ParentOrder]
    children: list[ChildOrder]
    fills: list[Fill]
    used_cl_ord_ids: set[tuple[str, str]]
    next_order_number: int
    journal_seq: int
    meta: dict[str, str] = field(default_factory=dict)
    positions: list[tuple] = field(default_factory=list)
    fill_keys: set[tuple[str, str]] = field(default_factory=set)   # (venue, exec_id) of the day's fills
    unsent_reports: list = field(default_factory=list)  # ClientReports stored but perhaps never sent
