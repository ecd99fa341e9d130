"""Events that flow through the engine: inbound venue and market reports, timers, and the
outbound reports the FIX layer turns into messages."""
from __future__ import annotations

from dataclasses import dataclass, field

from .enums import ChildRole, CxlRejResponseTo, ExecType, Liquidity, OrdStatus, Side, TimeInForce


# ---- the journal

@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One inbound event (or engine decision), durable before its effects leave the process."""
    seq: int                # assigned by the engine, strictly increasing
    ts_ns: int              # engine clock time when the event was handled
    kind: str               # "fix_in", "venue_report", "child_out", "timer", ...
    session: str | None     # FIX session for client events, else None
    payload: str            # the raw FIX message, or the event as JSON


# ---- inbound, from venues (in sim they arrive through the clock with the venue's latency)
# Venue protocol v2: every report names the child; every reject carries the venue's reason.

@dataclass(frozen=True, slots=True)
class ChildAccepted:
    child_id: str
    venue: str


@dataclass(frozen=True, slots=True)
class ChildFilled:
    child_id: str
    venue: str
    exec_id: str            # unique per venue, not across venues
    qty: int
    price: float
    fee: float              # $ for this fill; negative is a rebate
    liquidity: Liquidity = Liquidity.REMOVED


@dataclass(frozen=True, slots=True)
class ChildReplaced:
    """The venue applied a replace: the child's total OrderQty and price are now these."""
    child_id: str
    venue: str
    qty: int
    price: float


@dataclass(frozen=True, slots=True)
class ChildReplaceRejected:
    child_id: str
    venue: str
    reason: str


@dataclass(frozen=True, slots=True)
class ChildCancelRejected:
    child_id: str
    venue: str
    reason: str


@dataclass(frozen=True, slots=True)
class ChildCanceled:
    child_id: str
    venue: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ChildRejected:
    child_id: str
    venue: str
    reason: str


VenueReport = (ChildAccepted | ChildFilled | ChildReplaced | ChildReplaceRejected | ChildCancelRejected
               | ChildCanceled | ChildRejected)
VENUE_REPORT_TYPES = (ChildAccepted, ChildFilled, ChildReplaced, ChildReplaceRejected, ChildCancelRejected,
                      ChildCanceled, ChildRejected)


@dataclass(frozen=True, slots=True)
class VenueConnectivity:
    """A venue's link went down (``up`` False) or came back (a FIX venue's logout and logon): the
    SOR routes around a venue that is down."""
    venue: str
    up: bool


# ---- inbound market data

@dataclass(frozen=True, slots=True)
class BookLevel:
    price: float
    qty: int


@dataclass(frozen=True, slots=True)
class BookUpdate:
    """A venue's displayed book for one instrument, best level first on each side."""
    venue: str
    symbol: str
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]


@dataclass(frozen=True, slots=True)
class TradePrint:
    """A trade on a venue's tape: any participant's, not only ours."""
    venue: str
    symbol: str
    price: float
    qty: int
    aggressor: Side          # the side that removed liquidity


@dataclass(frozen=True, slots=True)
class MarkPrice:
    """A venue's mark price for one instrument: the fair value it margins and liquidates by, and
    what quoting should centre on (seed 002). Deribit and OKX publish one per option from their
    own mark-volatility surface on the forward; ``price`` is in the instrument's quote currency
    (BTC for coin-margined options), ``iv`` the venue's mark volatility, ``underlier_price`` the
    price it was computed on."""
    venue: str
    symbol: str
    price: float
    iv: float
    underlier_price: float


# ---- outbound, to venues

@dataclass(frozen=True, slots=True)
class SubmitChild:
    child_id: str
    venue: str
    symbol: str
    side: Side
    qty: int
    price: float
    time_in_force: TimeInForce          # IOC and FOK never rest; DAY/GTC/GTD rest
    post_only: bool = False             # rejected by the venue if it would take
    display_qty: int | None = None      # reserve order: show this much, refresh from the hidden rest
    short_sale: bool = False            # a sell marked short (equity underliers)
    capacity: str = "customer"          # the account type the venue sees: the router is an agency broker
                                        # for institutional clients (customer, professional, market_maker,
                                        # broker_dealer); a priority customer under pro-rata allocation
    alt_route_code: str | None = None   # the parent's SRAltRouteCode (5028), echoed on every child


@dataclass(frozen=True, slots=True)
class ReplaceChild:
    """Change a resting child's total OrderQty and/or price. ``revision`` counts the child's
    replaces, so a FIX venue can chain ClOrdIDs (child_id, child_id~1, child_id~2, ...)."""
    child_id: str
    venue: str
    qty: int
    price: float
    revision: int


@dataclass(frozen=True, slots=True)
class CancelChild:
    child_id: str
    venue: str


VenueCommand = SubmitChild | ReplaceChild | CancelChild


# ---- outbound, to FIX clients

@dataclass(frozen=True, slots=True)
class ExecReport:
    session: str
    order_id: str
    cl_ord_id: str
    exec_id: str
    exec_type: ExecType
    ord_status: OrdStatus
    symbol: str
    side: Side
    order_qty: int
    cum_qty: int
    leaves_qty: int
    avg_px: float
    transact_ns: int
    account: str = ""
    price: float | None = None
    orig_cl_ord_id: str | None = None
    last_qty: int = 0
    last_px: float = 0.0
    last_mkt: str | None = None
    text: str | None = None
    ord_rej_reason: int | None = None
    sr_reject_code: int | None = None
    liquidity: Liquidity | None = None
    fee: float | None = None
    role: ChildRole = ChildRole.WORK     # HEDGE: a hedge execution, reported under the hedge ClOrdID
    strategy: str | None = None          # the parent's SRStrategy (5034), echoed
    ref_metrics: tuple[tuple[int, str], ...] = ()   # its SROrderRefRMetric1-4 (5192-5198) as sent, echoed


@dataclass(frozen=True, slots=True)
class CancelRejectReport:
    session: str
    order_id: str
    cl_ord_id: str
    orig_cl_ord_id: str
    ord_status: OrdStatus
    response_to: CxlRejResponseTo
    reason: int
    text: str
    transact_ns: int
    sr_reject_code: int | None = None


@dataclass(frozen=True, slots=True)
class BusinessRejectReport:
    session: str
    ref_seq_num: int | None
    ref_msg_type: str
    reason: int               # 380
    text: str
    ref_id: str | None = None


@dataclass(frozen=True, slots=True)
class MassCancelReportOut:
    session: str
    cl_ord_id: str
    order_id: str
    request_type: str
    response: str             # 531: 0 rejected, 1 by security, 7 all
    affected: tuple[str, ...] = field(default_factory=tuple)
    text: str | None = None
    account: str = ""
    transact_ns: int = 0


ClientReport = ExecReport | CancelRejectReport | BusinessRejectReport | MassCancelReportOut
CLIENT_REPORT_TYPES = (ExecReport, CancelRejectReport, BusinessRejectReport, MassCancelReportOut)


@dataclass(frozen=True, slots=True)
class ResentReport:
    """A report stored before a crash whose sending is not known to have happened: sent again
    after the restart with PossResend (97=Y). The client may have it already; its ExecID tells."""
    report: ClientReport
