"""The FIX venue adapter (venues/fix_venue.py) and the exchange's FIX gateway (venues/sim/fix_gateway.py)
on real QuickFIX Message objects, without sockets: each side's messages go straight to the other's
``fromApp``. Translation both ways, market data into the router's books, garbage that posts nothing
harmful, and a whole router (engine, SOR, algos) trading through both translations on the simulated
clock: fills across venues, a cancel, a replace, a venue that goes down and comes back, and no venue
reachable at all."""
from __future__ import annotations

import queue
from datetime import datetime, timezone

import pytest
import quickfix as fix
from hypothesis import given, strategies as st

from router.app import build_system, load_settings
from router.clock import NANOS_PER_SECOND, SimClock, ns_to_datetime
from router.domain.commands import (AlgoParams, CancelOrder, ClientRequest, InstrumentSpec, NewOrder,
                                    ReplaceOrder)
from router.domain.enums import (BalanceHandling, ExecType, LimitType, Liquidity, OrdStatus, OrdType, Side,
                                 TimeInForce)
from router.domain.events import (BookLevel, BookUpdate, CancelChild, ChildAccepted, ChildCanceled,
                                  ChildCancelRejected, ChildFilled, ChildRejected, ChildReplaced,
                                  ChildReplaceRejected, ReplaceChild, SubmitChild, TradePrint, VenueConnectivity)
from router.domain.orders import ChildStatus
from router.engine.market_inbox import MARKET_WAKE, MarketInbox
from router.market.securities import SecurityMaster
from venues.fees import FeeSchedule
from venues.fix_protocol import (CHANGE, DELETE, NEW, apply_level_change, data_dictionary, level_changes, message)
from venues.fix_venue import FixVenueLink
from venues.sim.fix_gateway import FixGateway, Subscribe, Unsubscribe
from venues.sim.market import build_sim_market

START = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)
CALL = "AAPL  261218C00200000"
SESSION = "FIX.4.4:ROUTER->CLIENT1"
VENUES = ("XCBO", "XISX")


def router_side(venue: str) -> fix.SessionID:
    return fix.SessionID("FIX.4.4", "ROUTER", venue)


def venue_side(venue: str) -> fix.SessionID:
    return fix.SessionID("FIX.4.4", venue, "ROUTER")


def field(msg: fix.Message, tag: int) -> str | None:
    return msg.getField(tag) if msg.isSetField(tag) else None


def validated(msg: fix.Message, sender: str, target: str) -> fix.Message:
    """``msg`` as a session would send it, checked against the venue dictionary (raises if invalid)."""
    header = msg.getHeader()
    for tag, value in ((49, sender), (56, target), (34, "1"), (52, "20261120-15:00:00.000")):
        header.setField(tag, value)
    parsed = fix.Message(msg.toString(), data_dictionary(), True)
    data_dictionary().validate(parsed)
    return parsed


class Link:
    """A FixVenueLink without sockets: what it sends is kept, what it posts is kept."""

    def __init__(self, tmp_path, venues=VENUES, symbols=(CALL,)) -> None:
        self.clock = SimClock.at(START)
        self.sent: list[tuple[str, fix.Message]] = []
        self.posted: list[object] = []
        self.market = MarketInbox(lambda marker: None)
        self.link = FixVenueLink("127.0.0.1", 1, venues, tmp_path, now_ns=self.clock.now_ns, connect=False,
                                 send_to_target=lambda m, sid: self.sent.append((sid.getTargetCompID().getValue(), m)))
        self.link.start(self.posted.append, self.market, symbols=symbols)
        self.posted.clear()

    def logon(self, venue: str = "XCBO") -> None:
        self.link.onLogon(router_side(venue))

    def receive(self, venue: str, msg_type: str, body) -> None:
        self.link.fromApp(message(msg_type, body), router_side(venue))

    def sent_types(self) -> list[str]:
        return [m.getHeader().getField(35) for _, m in self.sent]


@pytest.fixture
def wire(tmp_path) -> Link:
    return Link(tmp_path)


def a_child(**changes) -> SubmitChild:
    values = dict(child_id="P1.1", venue="XCBO", symbol=CALL, side=Side.BUY, qty=10, price=5.2,
                  time_in_force=TimeInForce.DAY)
    values.update(changes)
    return SubmitChild(**values)


# ------------------------------------------------------------------ router to venue

def test_a_child_is_a_new_order_single_in_the_venue_dialect_and_valid_by_its_dictionary(wire):
    wire.logon()
    wire.sent.clear()
    wire.link.submit(a_child(side=Side.SELL, short_sale=True, post_only=True, display_qty=3, capacity="professional",
                             price=5.15))
    (venue, msg), = wire.sent
    msg = validated(msg, "ROUTER", venue)
    assert venue == "XCBO"
    assert msg.getHeader().getField(35) == "D"
    assert {t: field(msg, t) for t in (11, 100, 55, 54, 38, 40, 44, 59, 18, 111, 9047)} == {
        11: "P1.1", 100: "XCBO", 55: CALL, 54: "5", 38: "10", 40: "2", 44: "5.15", 59: "0", 18: "6", 111: "3",
        9047: "U"}
    assert field(msg, 60) == ns_to_datetime(wire.clock.now_ns()).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]


def test_replaces_chain_cl_ord_ids_from_the_last_one_the_venue_accepted_and_a_cancel_names_it(wire):
    wire.logon()
    wire.link.submit(a_child())
    wire.sent.clear()
    wire.link.replace(ReplaceChild("P1.1", "XCBO", 12, 5.1, 1))
    wire.receive("XCBO", "8", report_body("P1.1~1", "5", "0", qty=12, price=5.1, orig="P1.1"))
    wire.link.replace(ReplaceChild("P1.1", "XCBO", 14, 5.0, 2))
    wire.link.cancel(CancelChild("P1.1", "XCBO"))
    g1, g2, f = (validated(m, "ROUTER", "XCBO") for _, m in wire.sent)
    assert [(field(g, 11), field(g, 41), field(g, 38), field(g, 44)) for g in (g1, g2)] == [
        ("P1.1~1", "P1.1", "12", "5.1"), ("P1.1~2", "P1.1~1", "14", "5")]
    assert (field(f, 41), field(f, 55), field(f, 54)) == ("P1.1~1", CALL, "1")
    assert field(f, 11).startswith("P1.1~x")


def test_a_child_for_a_venue_that_is_down_is_rejected_at_once_and_nothing_is_sent(wire):
    wire.link.submit(a_child())
    assert wire.sent == []
    (rejected,) = wire.posted
    assert isinstance(rejected, ChildRejected) and "XCBO unreachable" in rejected.reason


def test_logon_subscribes_and_asks_the_status_of_every_open_child_logout_empties_the_books(wire):
    wire.logon()
    assert wire.posted == [VenueConnectivity("XCBO", True)]
    v = validated(wire.sent[0][1], "ROUTER", "XCBO")
    assert (v.getHeader().getField(35), field(v, 263), field(v, 146)) == ("V", "1", "1")
    assert f"\x01146=1\x0155={CALL}\x01" in v.toString()        # the symbol, in its NoRelatedSym group
    wire.link.submit(a_child())
    wire.link.submit(a_child(child_id="P1.2"))
    wire.receive("XCBO", "8", report_body("P1.2", "8", "8", text="price off the tick grid"))
    wire.receive("XCBO", "W", snapshot_body(CALL, bids=[(5.0, 4)], asks=[]))
    wire.market.take()
    wire.posted.clear()
    wire.link.onLogout(router_side("XCBO"))
    assert wire.posted == [VenueConnectivity("XCBO", False)]
    assert wire.market.take()[0] == [BookUpdate("XCBO", CALL, (), ())]     # its quotes are out of reach
    wire.sent.clear()
    wire.logon()
    kinds = [(m.getHeader().getField(35), field(m, 11)) for _, m in wire.sent]
    assert kinds == [("V", None), ("H", "P1.1")]           # the rejected P1.2 is not asked about
    validated(wire.sent[1][1], "ROUTER", "XCBO")


def test_a_child_known_only_to_the_engine_is_named_from_its_records_in_a_status_request(tmp_path):
    wire = Link(tmp_path)
    wire.link.start(wire.posted.append, wire.market, symbols=(CALL,),
                    describe=lambda child_id: (CALL, Side.SELL) if child_id == "P9.1" else None)
    wire.logon()
    wire.sent.clear()
    wire.link.reconcile("XCBO", "P9.1")
    (_, h), = wire.sent
    h = validated(h, "ROUTER", "XCBO")
    assert (h.getHeader().getField(35), field(h, 11), field(h, 55), field(h, 54)) == ("H", "P9.1", CALL, "2")


# ------------------------------------------------------------------ venue to router

def report_body(cl_ord_id, exec_type, status, *, qty=10, price=5.2, cum=0, exec_id="E1", orig=None, text=None,
                extra=()):
    body = [(37, f"XCBO-{cl_ord_id}"), (11, cl_ord_id)]
    if orig:
        body.append((41, orig))
    body += [(17, exec_id), (150, exec_type), (39, status), (55, CALL), (54, "1"), (38, qty), (40, "2"),
             (44, price), (151, max(qty - cum, 0)), (14, cum), (6, 0), *extra]
    if text:
        body.append((58, text))
    return body


FILL = [(31, "5.2"), (32, 4), (12, "-0.250000"), (13, "3"), (851, "1")]


@pytest.mark.parametrize("msg_type,body,expected", [
    ("8", report_body("P1.1", "0", "0"), [ChildAccepted("P1.1", "XCBO")]),
    ("8", report_body("P1.1", "F", "1", cum=4, exec_id="XCBO-k-7", extra=FILL),
     [ChildFilled("P1.1", "XCBO", "XCBO-k-7", 4, 5.2, -0.25, Liquidity.ADDED)]),
    ("8", report_body("P1.1", "F", "2", qty=4, cum=4, exec_id="XCBO-k-8",
                      extra=[(31, "5.25"), (32, 4), (12, "2.000000"), (13, "3"), (851, "2")]),
     [ChildFilled("P1.1", "XCBO", "XCBO-k-8", 4, 5.25, 2.0, Liquidity.REMOVED)]),
    ("8", report_body("P1.1~2", "5", "0", qty=12, price=5.1, orig="P1.1~1"), [ChildReplaced("P1.1", "XCBO", 12, 5.1)]),
    ("8", report_body("P1.1~x3", "4", "4", orig="P1.1", text="canceled on request"),
     [ChildCanceled("P1.1", "XCBO", "canceled on request")]),
    ("8", report_body("P1.1", "8", "8", text="post-only order would take"),
     [ChildRejected("P1.1", "XCBO", "post-only order would take")]),
    ("8", report_body("P1.1", "I", "1", qty=10, price=5.05, cum=3),
     [ChildAccepted("P1.1", "XCBO"), ChildReplaced("P1.1", "XCBO", 10, 5.05)]),
    ("9", [(37, "X"), (11, "P1.1~x1"), (41, "P1.1"), (39, "2"), (434, "1"), (58, "unknown or finished order")],
     [ChildCancelRejected("P1.1", "XCBO", "unknown or finished order")]),
    ("9", [(37, "X"), (11, "P1.1~2"), (41, "P1.1~1"), (39, "0"), (434, "2"), (58, "new qty 3 is not above")],
     [ChildReplaceRejected("P1.1", "XCBO", "new qty 3 is not above")]),
])
def test_venue_messages_become_the_venue_reports_they_stand_for(wire, msg_type, body, expected):
    wire.receive("XCBO", msg_type, body)
    assert wire.posted == expected


def snapshot_body(symbol, bids, asks):
    body = [(262, "r1"), (55, symbol), (268, len(bids) + len(asks))]
    for kind, levels in (("0", bids), ("1", asks)):
        for position, (price, qty) in enumerate(levels, 1):
            body += [(269, kind), (270, price), (271, qty), (290, position)]
    return body


def test_a_snapshot_then_incremental_refreshes_are_the_venue_book_and_its_prints(wire):
    wire.receive("XCBO", "W", snapshot_body(CALL, bids=[(5.0, 4), (4.9, 7)], asks=[(5.2, 3)]))
    assert wire.market.take()[0] == [BookUpdate("XCBO", CALL, (BookLevel(5.0, 4), BookLevel(4.9, 7)),
                                                 (BookLevel(5.2, 3),))]
    wire.receive("XCBO", "X", [(262, "r1"), (268, 4),
                               (279, "1"), (269, "0"), (55, CALL), (270, 5.05), (271, 2), (290, 1),
                               (279, "2"), (269, "0"), (55, CALL), (290, 2),
                               (279, "0"), (269, "1"), (55, CALL), (270, 5.3), (271, 9), (290, 2),
                               (279, "0"), (269, "2"), (55, CALL), (270, 5.2), (271, 3), (2446, "2")])
    books, prints = wire.market.take()
    assert books == [BookUpdate("XCBO", CALL, (BookLevel(5.05, 2),), (BookLevel(5.2, 3), BookLevel(5.3, 9)))]
    assert prints == [TradePrint("XCBO", CALL, 5.2, 3, Side.SELL)]
    validated(message("X", [(262, "r1"), (268, 1), (279, "0"), (269, "2"), (55, CALL), (270, 5.2), (271, 3),
                            (2446, "2")]), "XCBO", "ROUTER")


@st.composite
def books(draw):
    levels = st.lists(st.tuples(st.integers(1, 500), st.integers(1, 50)), max_size=6)
    return tuple(BookLevel(p / 100, q) for p, q in draw(levels))


@given(books(), books())
def test_level_changes_applied_in_order_turn_the_old_side_into_the_new(old, new):
    levels = list(old)
    for action, position, level in level_changes(old, new):
        assert action in (NEW, CHANGE, DELETE)
        apply_level_change(levels, action, position, level)
    assert tuple(levels) == new


# ------------------------------------------------------------------ garbage

def test_garbage_from_a_venue_posts_nothing_and_raises_nothing(wire):
    wire.logon()
    wire.posted.clear()
    wire.sent.clear()
    wire.receive("XCBO", "8", [(37, "X"), (17, "E"), (150, "F"), (39, "1")])                   # no ClOrdID
    wire.receive("XCBO", "8", report_body("P1.1", "F", "1", extra=[(31, "abc"), (32, 1)]))    # LastPx not a number
    wire.receive("XCBO", "9", [(11, "P1.1"), (58, "no CxlRejResponseTo")])
    wire.receive("XCBO", "B", [(148, "news")])                                              # not a venue message
    wire.link.fromApp(fix.Message(), router_side("XCBO"))                                  # nothing at all
    wire.link.fromApp(message("8", report_body("P1.1", "0", "0")), router_side("NOPE"))     # unknown session
    assert wire.posted == []
    assert wire.sent == []


def test_an_incremental_refresh_that_does_not_fit_the_book_drops_it_and_subscribes_again(wire):
    wire.logon()
    wire.receive("XCBO", "W", snapshot_body(CALL, bids=[(5.0, 4)], asks=[]))
    wire.market.take()
    wire.sent.clear()
    wire.receive("XCBO", "X", [(262, "r1"), (268, 1), (279, "1"), (269, "0"), (55, CALL), (270, 5.1), (271, 1),
                               (290, 3)])
    assert wire.market.take() == ([], [])
    assert wire.sent_types() == ["V"]
    wire.receive("XCBO", "X", [(262, "r1"), (268, 1), (279, "0"), (269, "1"), (55, CALL), (270, 5.3), (271, 1),
                               (290, 1)])
    assert wire.market.take() == ([], [])           # nothing applies until the new snapshot


# ------------------------------------------------------------------ the gateway's translation

@pytest.fixture
def gateway():
    clock = SimClock.at(START)
    sent: list[tuple[str, fix.Message]] = []
    gw = FixGateway(clock, list(VENUES),
                    send_to_target=lambda m, sid: sent.append((sid.getSenderCompID().getValue(), m)))
    gw.sent = sent
    return gw


def test_the_gateway_reads_each_router_message_as_the_venue_command_it_asks_for(gateway, wire):
    wire.logon()
    wire.link.submit(a_child(side=Side.SELL, short_sale=True, post_only=True, display_qty=3, capacity="market_maker",
                             time_in_force=TimeInForce.IOC))
    wire.receive("XCBO", "8", report_body("P1.1", "0", "0"))
    wire.link.replace(ReplaceChild("P1.1", "XCBO", 12, 5.1, 1))
    wire.link.cancel(CancelChild("P1.1", "XCBO"))
    wire.link.reconcile("XCBO", "P1.1")
    v, d, g, f, h = (gateway.translate("XCBO", m.toString()) for _, m in wire.sent)
    assert v == Subscribe("XCBO", v.req_id, (CALL,))
    assert d == ("D", "5", SubmitChild("P1.1", "XCBO", CALL, Side.SELL, 10, 5.2, TimeInForce.IOC, True, 3, True,
                                       "market_maker"))
    assert g == ("G", ("P1.1~1", "P1.1"), ReplaceChild("P1.1", "XCBO", 12, 5.1, 1))
    assert g[2] and f[0] == "F" and f[2] == CancelChild("P1.1", "XCBO")
    assert h == ("H", "XCBO", "P1.1")
    assert gateway.translate("XCBO", message("V", [(262, "r"), (263, "2"), (264, 0), (267, 1), (269, "0"),
                                                   (146, 1), (55, CALL)]).toString()) == Unsubscribe("XCBO")
    with pytest.raises(fix.UnsupportedMessageType):
        gateway.fromApp(message("B", [(148, "news")]), venue_side("XCBO"))
    gateway.fromApp(message("D", [(11, "P2.1")]), venue_side("XCBO"))        # missing fields: logged, not raised
    assert gateway.inbox.empty()


def test_resent_market_data_is_never_sent_again_but_reports_are(gateway):
    stale = message("X", [(262, "r"), (268, 1), (279, "0"), (269, "2"), (55, CALL), (270, 1), (271, 1)])
    stale.getHeader().setField(43, "Y")
    with pytest.raises(fix.DoNotSend):
        gateway.toApp(stale, venue_side("XCBO"))
    report = message("8", report_body("P1.1", "0", "0"))
    report.getHeader().setField(43, "Y")
    gateway.toApp(report, venue_side("XCBO"))


def test_the_router_resends_a_cancel_but_never_an_old_subscription(wire):
    wire.logon()
    (_, subscription), = wire.sent
    subscription.getHeader().setField(43, "Y")
    with pytest.raises(fix.DoNotSend):
        wire.link.toApp(subscription, router_side("XCBO"))
    wire.link.cancel(CancelChild("P1.1", "XCBO"))
    cancel = wire.sent[-1][1]
    cancel.getHeader().setField(43, "Y")
    wire.link.toApp(cancel, router_side("XCBO"))


# ------------------------------------------------------------------ a whole router over both translations

class FixLoop:
    """A router (engine, SOR, algos) and an exchange (SimVenues behind a FixGateway) on one simulated
    clock, their FIX messages carried between the two ``fromApp``s while the line is up."""

    def __init__(self, tmp_path) -> None:
        settings = load_settings()
        self.clock = clock = SimClock.at(START)
        names = [v.name for v in settings.venues]
        self.line_up = True
        self._to_venue: list[tuple[str, fix.Message]] = []
        self._to_router: list[tuple[str, fix.Message]] = []
        self.gateway = FixGateway(clock, names, send_to_target=lambda m, sid: self._carry(
            self._to_router, sid.getSenderCompID().getValue(), m))
        securities = SecurityMaster.from_chains(settings.router.market.underliers, START.date())
        self.market = build_sim_market(clock, securities, settings.router.market, settings.venues,
                                       self.gateway.emit, self.gateway.emit)
        self.gateway.attach(self.market)
        self.venues = self.market.venues
        self.fees = FeeSchedule.from_configs(settings.venues)
        self.link = FixVenueLink("127.0.0.1", 1, names, tmp_path, now_ns=clock.now_ns, connect=False,
                                 send_to_target=lambda m, sid: self._carry(
                                     self._to_venue, sid.getTargetCompID().getValue(), m))
        self.out: list = []
        self.system = build_system(clock=clock, market=settings.router.market, venue_configs=settings.venues,
                                   accounts=settings.accounts, engine_config=settings.router.engine,
                                   send=self.out.append, algo_settings=settings.router.algos, exchange=self.link)
        self.engine = self.system.engine
        self._ids = 0
        for name in names:
            self.logon(name)

    def _carry(self, queue_, venue: str, msg: fix.Message) -> None:
        if self.line_up:
            queue_.append((venue, msg))

    def logon(self, venue: str) -> None:
        self.gateway.onLogon(venue_side(venue))
        self.link.onLogon(router_side(venue))
        self.pump()

    def logout(self, venue: str) -> None:
        self.link.onLogout(router_side(venue))
        self.gateway.onLogout(venue_side(venue))
        self.pump()

    def pump(self, seconds: float = 0.05) -> None:
        """Carry messages, run the exchange, advance the clock, and feed the engine, until quiet."""
        end = self.clock.now_ns() + int(seconds * NANOS_PER_SECOND)
        while True:
            moved = self._deliver()
            nxt = self.clock.next_timer_ns()
            if not moved and (nxt is None or nxt > end):
                break
            if nxt is not None and nxt <= end and not moved:
                self.clock.advance_to(nxt)
            self.gateway.flush_market()
        self.clock.advance_to(end)
        self.gateway.flush_market()
        self._deliver()

    def _deliver(self) -> bool:
        moved = False
        while self._to_venue or self._to_router or not self.gateway.inbox.empty() or not self.engine.inbox.empty():
            moved = True
            to_venue, self._to_venue = self._to_venue, []
            for venue, msg in to_venue:
                self.gateway.fromApp(msg, venue_side(venue))
            while not self.gateway.inbox.empty():
                self.gateway.handle(self.gateway.inbox.get_nowait())
            to_router, self._to_router = self._to_router, []
            for venue, msg in to_router:
                self.link.fromApp(msg, router_side(venue))
            self._feed_engine()
        return moved

    def _feed_engine(self) -> None:
        while True:
            try:
                event = self.engine.inbox.get_nowait()
            except queue.Empty:
                return
            if event is MARKET_WAKE:
                books, prints = self.engine.market.take()
                for item in (*books, *prints):
                    self.engine.dispatch(item)
            else:
                self.engine.dispatch(event)

    def quote(self, venue: str, symbol: str = CALL, *, bids=(), asks=(), owner: str = "mm") -> None:
        for side, levels in ((Side.BUY, bids), (Side.SELL, asks)):
            for price, qty in levels:
                self._ids += 1
                self.venues[venue].place(owner, f"{owner}{self._ids}", symbol, side, qty, price)
        self.pump()

    def new(self, cl_ord_id: str, side: Side, qty: int, price: float, *, tif=TimeInForce.DAY, **algo) -> None:
        cmd = NewOrder(cl_ord_id=cl_ord_id, instrument=InstrumentSpec(symbol=algo.pop("symbol", CALL)), side=side,
                       qty=qty, ord_type=OrdType.LIMIT, price=price, time_in_force=tif,
                       transact_time=ns_to_datetime(self.clock.now_ns()), algo=AlgoParams(**algo))
        self.engine.dispatch(ClientRequest(SESSION, "CLIENT1", "D", None, cmd))
        self.pump()

    def reports(self, cl_ord_id: str | None = None):
        return [r for r in self.out if getattr(r, "cl_ord_id", None) == cl_ord_id or cl_ord_id is None]

    def parent(self, order_id: str = "P1"):
        return self.engine.orders.parents[order_id]

    def children(self, order_id: str = "P1"):
        return [self.engine.orders.children[c] for c in self.engine.orders.children_of.get(order_id, ())]


@pytest.fixture
def loop(tmp_path) -> FixLoop:
    return FixLoop(tmp_path)


def test_a_sweep_fills_across_two_venues_through_fix_with_the_venues_own_fees_and_liquidity(loop):
    loop.quote("XCBO", asks=[(5.20, 10)])
    loop.quote("XISX", asks=[(5.20, 10)])
    nbbo = loop.engine.books.nbbo(CALL)
    assert (nbbo.ask, loop.engine.books.book(CALL).takeable("XCBO", Side.BUY, 5.2)) == (5.2, 10)
    loop.new("C1", Side.BUY, 15, 5.30)
    assert loop.parent().cum_qty == 15 and loop.parent().status is OrdStatus.FILLED
    children = loop.children()
    assert sorted(c.venue for c in children) == ["XCBO", "XISX"]
    assert all(c.status is ChildStatus.FILLED for c in children)
    for child in children:
        expected = loop.fees.fee(child.venue, child.cum_qty, Liquidity.REMOVED, symbol=CALL, price=5.2,
                                 capacity="customer")
        assert child.fees == pytest.approx(expected)
    fills = [r for r in loop.reports("C1") if r.exec_type is ExecType.TRADE]
    assert {r.last_mkt for r in fills} == {"XCBO", "XISX"} and sum(r.last_qty for r in fills) == 15
    assert all(r.liquidity is Liquidity.REMOVED for r in fills)
    assert loop.engine.books.book(CALL).takeable("XCBO", Side.BUY, 5.2) + \
        loop.engine.books.book(CALL).takeable("XISX", Side.BUY, 5.2) == 5          # the X refreshes arrived


def tied(loop: FixLoop, cl: str, limit: float, qty: int = 10) -> None:
    loop.new(cl, Side.BUY, qty, limit, limit_type=LimitType.PRC_DE, balance_handling=BalanceHandling.POST_LIMIT,
             order_ref_delta=0.5, order_ref_gamma=0.0)


def a_market(loop: FixLoop) -> None:
    loop.quote("XNAS", "AAPL", bids=[(199.99, 50_000)], asks=[(200.01, 50_000)])
    loop.quote("XCBO", bids=[(4.80, 10)], asks=[(5.20, 10)])


def test_a_resting_child_is_replaced_then_canceled_over_fix(loop):
    a_market(loop)
    tied(loop, "V1", 4.00)
    (child,) = [c for c in loop.children() if c.is_open]
    assert child.status is ChildStatus.NEW and child.price == pytest.approx(4.00)
    venue_order = loop.venues[child.venue].book(CALL).order(child.child_id)
    assert venue_order is not None
    loop.engine.dispatch(ClientRequest(SESSION, "CLIENT1", "G", None, ReplaceOrder(
        cl_ord_id="V2", orig_cl_ord_id="V1", qty=10, price=4.10, transact_time=ns_to_datetime(loop.clock.now_ns()))))
    loop.pump()
    assert child.price == pytest.approx(4.10) and child.status is ChildStatus.NEW
    assert loop.venues[child.venue].book(CALL).order(child.child_id).price_ticks == 410
    loop.engine.dispatch(ClientRequest(SESSION, "CLIENT1", "F", None, CancelOrder(
        cl_ord_id="V3", orig_cl_ord_id="V2", transact_time=ns_to_datetime(loop.clock.now_ns()))))
    loop.pump()
    assert child.status is ChildStatus.CANCELED
    assert loop.parent().status is OrdStatus.CANCELED
    assert loop.venues[child.venue].book(CALL).order(child.child_id) is None


def test_a_fill_made_while_the_venue_was_down_arrives_by_the_status_request_at_logon(loop):
    a_market(loop)
    tied(loop, "V1", 4.00)
    (child,) = [c for c in loop.children() if c.is_open]
    venue = child.venue
    loop.line_up = False
    loop.logout(venue)
    assert not loop.engine.sor.reachable(venue)
    loop.venues[venue].place("taker", "t1", CALL, Side.SELL, 4, 4.00)      # hits our bid while we are away
    loop.pump()
    assert child.cum_qty == 0
    loop.line_up = True
    loop.logon(venue)
    assert loop.engine.sor.reachable(venue)
    assert child.cum_qty == 4 and child.status is ChildStatus.PARTIALLY_FILLED
    assert loop.parent().cum_qty == 4
    loop.logon(venue)                                      # asked again: the fill counts once
    assert loop.parent().cum_qty == 4


def test_while_a_venue_is_down_the_sor_routes_around_it(loop):
    loop.quote("XCBO", asks=[(5.10, 10)])
    loop.quote("XISX", asks=[(5.20, 10)])
    loop.logout("XCBO")
    assert loop.engine.books.book(CALL).takeable("XCBO", Side.BUY, 5.3) == 0     # its quotes are out of reach
    loop.new("C1", Side.BUY, 5, 5.30)
    assert [c.venue for c in loop.children()] == ["XISX"]
    assert loop.parent().cum_qty == 5


def test_with_no_venue_reachable_an_order_is_acknowledged_and_waits_an_ioc_is_canceled_and_it_trades_once_back(loop):
    loop.quote("XCBO", asks=[(5.20, 10)])
    names = list(loop.venues)
    for name in names:
        loop.logout(name)
    loop.new("I1", Side.BUY, 5, 5.30, tif=TimeInForce.IOC)
    ack, canceled = loop.reports("I1")
    assert ack.exec_type is ExecType.NEW and "venues unreachable" in ack.text
    assert canceled.exec_type is ExecType.CANCELED and "venues unreachable" in canceled.text
    loop.new("D1", Side.BUY, 5, 5.30)
    (ack,) = loop.reports("D1")
    assert ack.exec_type is ExecType.NEW and "venues unreachable" in ack.text
    assert loop.children("P2") == []
    for name in names:
        loop.logon(name)                                   # the snapshots bring the offer back
    assert loop.parent("P2").cum_qty == 5
    assert loop.reports("D1")[-1].ord_status is OrdStatus.FILLED


def test_a_child_sent_as_its_venue_went_down_does_not_hang_in_pending_new(loop):
    loop.quote("XCBO", asks=[(5.20, 10)])
    loop.line_up = False                                   # the line is cut; the session does not know yet
    loop.new("C1", Side.BUY, 5, 5.30)
    (child,) = loop.children()
    assert child.status is ChildStatus.PENDING_NEW
    loop.logout("XCBO")
    loop.line_up = True
    loop.logon("XCBO")                                     # asks for its status
    assert child.status is ChildStatus.CANCELED            # it never reached the venue: unknown there
    assert not child.is_open


def test_a_child_whose_new_order_was_lost_is_ended_by_the_pending_timeout_reconcile(loop):
    loop.quote("XCBO", asks=[(5.20, 10)])
    loop.line_up = False                                   # lost on the way; the session stays up
    loop.new("C1", Side.BUY, 5, 5.30)
    loop.line_up = True
    (child,) = loop.children()
    assert child.status is ChildStatus.PENDING_NEW
    loop.pump(seconds=loop.engine.algo_settings.pending_timeout_ms / 1000 + 0.1)
    assert child.status is ChildStatus.CANCELED            # the timeout's status request: unknown at the venue


def test_the_unreachable_text_is_about_the_venues_that_would_take_the_order(loop):
    option_venues = loop.engine.sor.candidates(CALL)
    assert "XNAS" not in option_venues
    for name in option_venues[1:]:
        loop.logout(name)
    loop.new("I1", Side.BUY, 5, 5.30, tif=TimeInForce.IOC)          # one option venue is up: no such text
    assert all(r.text is None or "unreachable" not in r.text for r in loop.reports("I1"))
    loop.logout(option_venues[0])
    assert loop.engine.sor.reachable("XNAS")
    loop.new("I2", Side.BUY, 5, 5.30, tif=TimeInForce.IOC)
    ack, canceled = loop.reports("I2")
    assert "venues unreachable" in ack.text and "venues unreachable" in canceled.text
