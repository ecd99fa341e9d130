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


# ---- packages (complex orders) and price-improvement auctions: venue commands and reports.
# Implemented by the simulated venue (venues/sim/venue.py, complex_book.py, auction.py). A package
# child answers with the usual ChildAccepted / ChildRejected / ChildCanceled / ChildReplaced and is
# canceled or replaced with CancelChild / ReplaceChild (qty and a net price); its fills come as
# PackageFilled followed by one PackageLegFilled per leg. An auction's two children (agency and
# initiator) get ChildAccepted (or ChildRejected, both, with the reason), their ChildFilled, and
# then one AuctionResult. These reports are not in VENUE_REPORT_TYPES: the engine does not take
# them yet, and the exchange wire protocol (venues/sim/wire.py) does not carry them.

@dataclass(frozen=True, slots=True)
class ComplexLeg:
    """One leg of a package order at a venue, as the package's BUYER trades it: ``side`` BUY or
    SELL, ``ratio`` contracts per package unit (shares for the one stock leg allowed, a multiple
    of 100: the stock's unit of trading). Not router.domain.orders.PackageLeg, the parent's leg."""
    symbol: str
    side: Side
    ratio: int = 1


@dataclass(frozen=True, slots=True)
class SubmitPackage:
    """A package (complex) order for a venue's complex order book. ``side`` BUY trades the legs
    as given and pays at most ``price``; SELL trades every leg the other way and receives at
    least ``price``. ``price`` is the net premium per package unit, per share (the sum of
    ratio x leg price, buys plus and sells minus); negative is a net credit. Ratios with a common
    factor are reduced (2:4 x 10 at 1.00 books as 1:2 x 20 at 0.50): the package's fills,
    ChildReplaced and a ReplaceChild's qty and price are then per unit of the reduced package."""
    child_id: str
    venue: str
    legs: tuple[ComplexLeg, ...]
    side: Side
    qty: int
    price: float
    time_in_force: TimeInForce          # IOC and FOK never rest; DAY/GTC/GTD rest
    capacity: str = "customer"


@dataclass(frozen=True, slots=True)
class PackageFilled:
    """Package units traded at a net price (per share, in the child's own orientation). The
    legs follow as PackageLegFilled with exec IDs ``<exec_id>.<leg>``; their ratio-weighted
    prices sum to ``price`` exactly. ``fee`` is the legs' fees together."""
    child_id: str
    venue: str
    exec_id: str
    qty: int
    price: float
    fee: float
    liquidity: Liquidity


@dataclass(frozen=True, slots=True)
class PackageLegFilled:
    """One leg of a package fill: ``leg`` is its index in SubmitPackage.legs, ``side`` the side
    actually traded, ``qty`` contracts (shares for a stock leg) and ``price`` per share."""
    child_id: str
    venue: str
    exec_id: str
    leg: int
    symbol: str
    side: Side
    qty: int
    price: float
    fee: float
    liquidity: Liquidity


@dataclass(frozen=True, slots=True)
class StartAuction:
    """Start a price-improvement auction (Cboe AIM style, venues/sim/auction.py): the agency
    child (the client's order) of ``qty`` on ``agency_side`` is stopped at ``price`` by the
    initiator child (the firm's contra order), which must be at or better than the NBBO.
    Responders improve during the exposure period. ``auto_match_limit``: the initiator matches
    every better response down to (agency buy) or up to (agency sell) this price; None is a
    single-price submission at ``price``."""
    auction_id: str
    venue: str
    symbol: str
    agency_child_id: str
    initiator_child_id: str
    agency_side: Side
    qty: int
    price: float
    auto_match_limit: float | None = None
    agency_capacity: str = "customer"
    initiator_capacity: str = "broker_dealer"


@dataclass(frozen=True, slots=True)
class AuctionAllocation:
    """Who traded with the agency order at the end of an auction: ``owner`` is "initiator" or a
    responder's name."""
    owner: str
    qty: int
    price: float


@dataclass(frozen=True, slots=True)
class AuctionResult:
    """How an auction ended. ``nbbo_price`` is the NBBO on the agency's contra side when it
    started (the offer for an agency buy); ``improvement`` is the client's price improvement per
    share against it (nbbo - avg for a buy, avg - nbbo for a sell), ``improvement_usd`` that
    times qty and the contract multiplier. ``initiator_qty`` + ``responder_qty`` == ``qty``."""
    auction_id: str
    venue: str
    symbol: str
    agency_side: Side
    qty: int
    stop_price: float
    nbbo_price: float
    final_price: float
    avg_price: float
    improvement: float
    improvement_usd: float
    initiator_qty: int
    responder_qty: int
    responders: int                      # responses received
    allocations: tuple[AuctionAllocation, ...]


@dataclass(frozen=True, slots=True)
class ComplexBookUpdate:
    """A venue's complex order book for one package, in canonical form (legs sorted, the first
    bought, ratios reduced): resting package bids and offers, best first, and the bid and offer
    implied from the leg books (2-leg 1:1 spreads only; None otherwise or when a leg side is
    empty). Sent to the venue's ``package_sink`` (not its book sink), after the market-data
    latency."""
    venue: str
    legs: tuple[ComplexLeg, ...]
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    implied_bid: BookLevel | None = None
    implied_ask: BookLevel | None = None


PackageReport = PackageFilled | PackageLegFilled | AuctionResult
PACKAGE_REPORT_TYPES = (PackageFilled, PackageLegFilled, AuctionResult)


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
    multileg_reporting_type: int | None = None   # 442 on a package's reports: 2 one leg, 3 the package
    leg_ref_id: str | None = None        # 654 on a leg's report: the LegRefID the client gave it


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
