"""A simulated venue driven directly on a simulated clock, with lists as its report and market-data
sinks: the adapter protocol v2, its order types, its latency, equity venues and the background
stock maker; and the smart order router's choice of venue by kind, fee and displayed size."""
from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from router.app import load_settings
from router.clock import SimClock
from router.domain.enums import Liquidity, Side, TimeInForce
from router.domain.events import (BookLevel, BookUpdate, CancelChild, ChildAccepted, ChildCanceled,
                                  ChildCancelRejected, ChildFilled, ChildRejected, ChildReplaced,
                                  ChildReplaceRejected, ReplaceChild, SubmitChild, TradePrint)
from router.market.books import InstrumentBook
from router.market.securities import SecurityMaster
from venues.fees import FeeSchedule, VenueFees
from venues.sim.background import ROUND_LOT, BackgroundFlow
from venues.sim.venue import SimVenue, exec_token
from venues.sor import SmartOrderRouter, SweepRequest

CALL = "AAPL  261218C00200000"
LATENCY = 300_000          # 0.3 ms each way
MD_LATENCY = 100_000
BUY, SELL = Side.BUY, Side.SELL
DAY, IOC, FOK = TimeInForce.DAY, TimeInForce.IOC, TimeInForce.FOK
FEES = FeeSchedule([VenueFees("OPT", taker=0.50, maker=-0.25), VenueFees("EQ", taker=0.0030, maker=-0.0020)])


class Rig:
    """One venue on a SimClock; reports and market data land in lists with their arrival times."""

    def __init__(self, name: str = "OPT", symbols=(CALL,)) -> None:
        self.clock = SimClock(1_000_000_000)
        self.reports: list[tuple[int, object]] = []
        self.market: list[tuple[int, object]] = []
        self.venue = SimVenue(name, self.clock, FEES, LATENCY, MD_LATENCY,
                              lambda r: self.reports.append((self.clock.now_ns(), r)),
                              lambda m: self.market.append((self.clock.now_ns(), m)), symbols=symbols)
        self.symbol = symbols[0]
        self._ids = 0

    def submit(self, child_id: str, side: Side, qty: int, price: float, tif: TimeInForce = DAY, **kw) -> None:
        self.venue.submit(SubmitChild(child_id, self.venue.name, kw.pop("symbol", self.symbol), side, qty, price,
                                      tif, **kw))
        self.settle()

    def replace(self, child_id: str, qty: int, price: float) -> None:
        self.venue.replace(ReplaceChild(child_id, self.venue.name, qty, price, revision=1))
        self.settle()

    def cancel(self, child_id: str) -> None:
        self.venue.cancel(CancelChild(child_id, self.venue.name))
        self.settle()

    def place(self, side: Side, qty: int, price: float, owner: str = "mm") -> str:
        self._ids += 1
        order_id = f"{owner}{self._ids}"
        self.venue.place(owner, order_id, self.symbol, side, qty, price)
        self.settle()
        return order_id

    def take(self, side: Side, qty: int, price: float) -> None:
        self._ids += 1
        self.venue.place("taker", f"tk{self._ids}", self.symbol, side, qty, price, ioc=True)
        self.settle()

    def settle(self) -> None:
        self.clock.advance(10 * LATENCY)

    def queue(self, side: Side) -> list[str]:
        return [v.order_id for v in self.venue.book(self.symbol).resting(side)]

    def got(self, kind=None) -> list:
        return [r for _, r in self.reports if kind is None or isinstance(r, kind)]

    def fills(self, child_id: str) -> list[tuple[int, float]]:
        return [(r.qty, r.price) for r in self.got(ChildFilled) if r.child_id == child_id]


@pytest.fixture
def rig() -> Rig:
    return Rig()


# ---- replace

def test_replace_size_down_at_same_price_keeps_queue_priority(rig):
    rig.submit("C1", BUY, 10, 1.00)
    rig.place(BUY, 5, 1.00)
    assert rig.queue(BUY) == ["C1", "mm1"]
    rig.replace("C1", 6, 1.00)
    assert rig.got()[-1] == ChildReplaced("C1", "OPT", 6, 1.00)
    assert rig.queue(BUY) == ["C1", "mm1"]
    assert rig.venue.book(CALL).queue_ahead("C1") == 0
    rig.take(SELL, 6, 1.00)
    assert rig.fills("C1") == [(6, 1.00)]
    assert rig.queue(BUY) == ["mm1"]


def test_replace_size_up_loses_queue_priority(rig):
    rig.submit("C1", BUY, 10, 1.00)
    rig.place(BUY, 5, 1.00)
    rig.replace("C1", 12, 1.00)
    assert rig.got()[-1] == ChildReplaced("C1", "OPT", 12, 1.00)
    assert rig.queue(BUY) == ["mm1", "C1"]
    assert rig.venue.book(CALL).queue_ahead("C1") == 5


def test_replace_to_a_new_price_goes_behind_that_level(rig):
    rig.place(BUY, 5, 1.01)
    rig.submit("C1", BUY, 10, 1.00)
    rig.replace("C1", 10, 1.01)
    assert rig.got()[-1] == ChildReplaced("C1", "OPT", 10, 1.01)
    assert rig.queue(BUY) == ["mm1", "C1"]


def test_replace_that_crosses_reports_replaced_then_fills(rig):
    rig.place(SELL, 4, 1.05)
    rig.submit("C1", BUY, 10, 1.00)
    rig.replace("C1", 10, 1.05)
    replaced, filled = rig.got()[-2:]
    assert replaced == ChildReplaced("C1", "OPT", 10, 1.05)
    assert (filled.qty, filled.price, filled.liquidity) == (4, 1.05, Liquidity.REMOVED)
    assert rig.venue.book(CALL).order("C1").leaves == 6


def test_replace_of_unknown_or_finished_order_is_rejected(rig):
    rig.replace("NOPE", 5, 1.00)
    assert rig.got()[-1] == ChildReplaceRejected("NOPE", "OPT", "unknown or finished order")
    rig.place(SELL, 3, 1.00)
    rig.submit("C1", BUY, 3, 1.00)                  # fills in full at once
    rig.replace("C1", 5, 1.00)
    assert rig.got()[-1] == ChildReplaceRejected("C1", "OPT", "unknown or finished order")


def test_replace_to_no_more_than_the_filled_qty_is_rejected(rig):
    rig.submit("C1", BUY, 10, 1.00)
    rig.take(SELL, 4, 1.00)
    rig.replace("C1", 4, 1.00)
    rejected = rig.got()[-1]
    assert isinstance(rejected, ChildReplaceRejected) and "4 already filled" in rejected.reason
    assert rig.venue.book(CALL).order("C1").leaves == 6
    rig.replace("C1", 6, 1.00)                      # total 6 with 4 filled: 2 left
    assert rig.got()[-1] == ChildReplaced("C1", "OPT", 6, 1.00)
    assert rig.venue.book(CALL).order("C1").leaves == 2


def test_replace_of_post_only_that_would_now_take_is_rejected(rig):
    rig.place(SELL, 3, 1.05)
    rig.submit("C1", BUY, 10, 1.00, post_only=True)
    rig.replace("C1", 10, 1.05)
    assert rig.got()[-1] == ChildReplaceRejected("C1", "OPT", "post-only order would take liquidity")
    assert rig.venue.book(CALL).order("C1").price_ticks == 100
    assert rig.fills("C1") == []


# ---- cancel

def test_cancel_of_unknown_or_finished_order_is_rejected(rig):
    rig.cancel("NOPE")
    assert rig.got() == [ChildCancelRejected("NOPE", "OPT", "unknown or finished order")]
    rig.submit("C1", BUY, 2, 1.00, IOC)              # nothing to take: done at once
    rig.cancel("C1")
    assert rig.got()[-1] == ChildCancelRejected("C1", "OPT", "unknown or finished order")


def test_cancel_of_resting_child_pulls_it(rig):
    rig.submit("C1", BUY, 10, 1.00)
    rig.cancel("C1")
    assert rig.got()[-1] == ChildCanceled("C1", "OPT", "canceled on request")
    assert rig.venue.book(CALL).order("C1") is None


def test_router_cannot_cancel_background_liquidity(rig):
    order_id = rig.place(BUY, 5, 1.00)
    rig.cancel(order_id)
    assert isinstance(rig.got()[-1], ChildCancelRejected)
    assert rig.queue(BUY) == [order_id]


# ---- order types

def test_post_only_that_would_take_is_rejected(rig):
    rig.place(SELL, 3, 1.05)
    rig.submit("C1", BUY, 5, 1.05, post_only=True)
    assert rig.got() == [ChildRejected("C1", "OPT", "post-only order would take liquidity")]
    assert rig.venue.book(CALL).best_ask() == (105, 3)
    rig.submit("C2", BUY, 5, 1.04, post_only=True)
    assert rig.got()[-1] == ChildAccepted("C2", "OPT") and rig.queue(BUY) == ["C2"]


def test_fok_fills_all_or_nothing(rig):
    rig.place(SELL, 3, 1.05)
    rig.submit("F1", BUY, 5, 1.05, FOK)
    assert rig.got() == [ChildAccepted("F1", "OPT"), ChildCanceled("F1", "OPT", "FOK could not fill in full")]
    assert rig.venue.book(CALL).best_ask() == (105, 3)
    rig.submit("F2", BUY, 3, 1.05, FOK)
    assert rig.fills("F2") == [(3, 1.05)]
    assert not [r for r in rig.got(ChildCanceled) if r.child_id == "F2"]


def test_ioc_is_chosen_by_the_enum_and_its_remainder_canceled(rig):
    rig.place(SELL, 3, 1.05)
    rig.submit("I1", BUY, 5, 1.05, IOC)
    assert rig.fills("I1") == [(3, 1.05)]
    assert rig.got()[-1] == ChildCanceled("I1", "OPT", "IOC remainder")
    assert rig.venue.book(CALL).best_bid() is None


def test_reserve_order_shows_its_slice_and_refresh_loses_priority(rig):
    rig.submit("R1", SELL, 30, 1.10, display_qty=10)
    rig.place(SELL, 5, 1.10)
    assert rig.market[-1][1].asks == (BookLevel(1.10, 15),)        # 20 hidden
    rig.take(BUY, 10, 1.10)
    assert rig.fills("R1") == [(10, 1.10)]
    assert rig.queue(SELL) == ["mm1", "R1"]                        # the refreshed slice is behind
    assert rig.market[-1][1].asks == (BookLevel(1.10, 15),)
    rig.take(BUY, 7, 1.10)
    assert rig.fills("R1") == [(10, 1.10), (2, 1.10)]
    assert rig.venue.book(CALL).order("R1").leaves == 18


# ---- reconcile

def test_reconcile_reports_the_venue_view(rig):
    rig.submit("C1", BUY, 10, 1.00)
    rig.take(SELL, 4, 1.00)
    [fill] = rig.got(ChildFilled)
    rig.replace("C1", 8, 0.99)
    rig.reports.clear()
    rig.venue.reconcile("C1")
    rig.settle()
    assert rig.got() == [ChildAccepted("C1", "OPT"), fill, ChildReplaced("C1", "OPT", 8, 0.99)]
    rig.reports.clear()
    rig.venue.reconcile("GONE")
    rig.settle()
    assert rig.got() == [ChildCanceled("GONE", "OPT", "unknown at venue")]


def test_reconcile_resends_every_fill_of_a_done_child_under_its_exec_ids(rig):
    rig.place(SELL, 3, 1.00)
    rig.place(SELL, 3, 1.01)
    rig.submit("FILLED", BUY, 6, 1.01)
    rig.place(SELL, 2, 1.02)
    rig.submit("IOC", BUY, 5, 1.02, IOC)
    rig.submit("PULLED", BUY, 5, 0.90)
    rig.take(SELL, 1, 0.90)
    rig.cancel("PULLED")
    first = rig.got()
    rig.reports.clear()
    for child_id in ("FILLED", "IOC", "PULLED"):
        rig.venue.reconcile(child_id)
    rig.settle()
    story = lambda child_id, reports: [r for r in reports if r.child_id == child_id]
    assert story("FILLED", rig.got()) == story("FILLED", first)
    assert [f.exec_id for f in story("FILLED", rig.got(ChildFilled))] == [
        f.exec_id for f in story("FILLED", first) if isinstance(f, ChildFilled)] != []
    assert story("IOC", rig.got()) == story("IOC", first)
    assert story("IOC", rig.got())[-1] == ChildCanceled("IOC", "OPT", "IOC remainder")
    assert story("PULLED", rig.got()) == story("PULLED", first)
    assert story("PULLED", rig.got())[-1] == ChildCanceled("PULLED", "OPT", "canceled on request")


def test_reconcile_of_a_refused_child_repeats_the_refusal(rig):
    rig.submit("OFF", BUY, 1, 1.00, symbol="NOT LISTED")
    rig.reports.clear()
    rig.venue.reconcile("OFF")
    rig.settle()
    assert rig.got() == [ChildRejected("OFF", "OPT", "NOT LISTED is not listed on OPT")]


def test_a_child_id_is_taken_for_the_day_and_every_submit_is_counted(rig):
    rig.submit("C1", BUY, 2, 1.00, IOC)                 # nothing to take: done at once
    rig.submit("C1", BUY, 2, 1.00)
    assert rig.got()[-1] == ChildRejected("C1", "OPT", "duplicate child id C1")
    assert rig.venue.book(CALL).order("C1") is None
    rig.submit("C2", BUY, 2, 1.00)
    assert rig.venue.submits == {"C1": 2, "C2": 1}


# ---- latency

def test_commands_and_reports_each_take_the_venue_latency(rig):
    t0 = rig.clock.now_ns()
    rig.venue.submit(SubmitChild("C1", "OPT", CALL, BUY, 10, 1.00, DAY))
    rig.clock.advance(LATENCY - 1)
    assert rig.venue.book(CALL).order("C1") is None                 # still on its way
    rig.clock.advance(1)
    assert rig.venue.book(CALL).order("C1") is not None
    rig.settle()
    assert rig.reports == [(t0 + 2 * LATENCY, ChildAccepted("C1", "OPT"))]
    assert rig.market == [(t0 + LATENCY + MD_LATENCY, BookUpdate("OPT", CALL, (BookLevel(1.00, 10),), ()))]
    t1 = rig.clock.now_ns()
    rig.venue.place("taker", "tk", CALL, SELL, 4, 1.00, ioc=True)
    rig.venue.replace(ReplaceChild("C1", "OPT", 8, 1.00, 1))
    rig.settle()
    assert [(t - t1, type(r)) for t, r in rig.reports[1:]] == [(LATENCY, ChildFilled), (2 * LATENCY, ChildReplaced)]
    assert [(t - t1, type(m)) for t, m in rig.market[1:]] == [
        (MD_LATENCY, TradePrint), (MD_LATENCY, BookUpdate), (LATENCY + MD_LATENCY, BookUpdate)]
    t2 = rig.clock.now_ns()
    rig.venue.reconcile("C1")
    rig.venue.cancel(CancelChild("C1", "OPT"))
    rig.venue.cancel(CancelChild("C1", "OPT"))
    rig.settle()
    assert [(t - t2, type(r)) for t, r in rig.reports[3:]] == [
        (2 * LATENCY, ChildAccepted), (2 * LATENCY, ChildFilled), (2 * LATENCY, ChildReplaced),
        (2 * LATENCY, ChildCanceled), (2 * LATENCY, ChildCancelRejected)]


# ---- fills

def test_fills_carry_liquidity_fee_and_venue_exec_ids(rig):
    rig.submit("C1", BUY, 10, 1.00)
    rig.take(SELL, 4, 1.00)
    rig.place(SELL, 5, 1.02)
    rig.submit("C2", BUY, 5, 1.02, IOC)
    maker, taker = rig.got(ChildFilled)
    token = exec_token(1_000_000_000)
    assert (maker.liquidity, maker.fee, maker.exec_id) == (Liquidity.ADDED, -1.00, f"OPT-{token}-1")
    assert (taker.liquidity, taker.fee, taker.exec_id) == (Liquidity.REMOVED, 2.50, f"OPT-{token}-2")


def test_exec_ids_stay_unique_across_a_venue_restart():
    first = Rig()
    first.submit("C1", BUY, 5, 1.00)
    first.take(SELL, 5, 1.00)
    first.clock.advance(1_000_000_000)
    restarted = Rig()
    restarted.clock = first.clock                                   # same day, one second on
    restarted.venue = SimVenue("OPT", first.clock, FEES, LATENCY, MD_LATENCY,
                               lambda r: restarted.reports.append((first.clock.now_ns(), r)),
                               lambda m: None, symbols=(CALL,))
    restarted.submit("C2", BUY, 5, 1.00)
    restarted.take(SELL, 5, 1.00)
    [before], [after] = first.got(ChildFilled), restarted.got(ChildFilled)
    assert before.exec_id != after.exec_id
    assert before.exec_id.endswith("-1") and after.exec_id.endswith("-1")
    assert exec_token(1_000_000_000) == "rs" and exec_token(0) == "0"


def test_fee_schedule_takes_the_liquidity_enum():
    assert FEES.fee("EQ", 300, Liquidity.REMOVED) == pytest.approx(0.90)
    assert FEES.fee("EQ", 300, Liquidity.ADDED) == pytest.approx(-0.60)


# ---- equity venues

def test_equity_venue_trades_the_underlier_with_per_share_fees():
    rig = Rig("EQ", symbols=("AAPL",))
    rig.place(SELL, 500, 200.01)
    rig.submit("H1", BUY, 300, 200.01, IOC)
    fill = rig.got(ChildFilled)[0]
    assert (fill.qty, fill.price, fill.liquidity, fill.fee) == (300, 200.01, Liquidity.REMOVED, pytest.approx(0.90))
    rig.submit("H2", BUY, 200, 200.00)
    rig.take(SELL, 200, 200.00)
    rebate = rig.got(ChildFilled)[-1]
    assert (rebate.child_id, rebate.liquidity, rebate.fee) == ("H2", Liquidity.ADDED, pytest.approx(-0.40))


def test_option_symbol_sent_to_the_equity_venue_is_rejected():
    rig = Rig("EQ", symbols=("AAPL",))
    rig.submit("C1", BUY, 1, 1.00, symbol=CALL)
    assert rig.got() == [ChildRejected("C1", "EQ", f"{CALL} is not listed on EQ")]
    with pytest.raises(ValueError, match="not listed"):
        rig.venue.place("mm", "x", CALL, BUY, 1, 1.00)


# ---- the background market on an equity venue

def us_settings():
    """The US market alone: its venues and chains (the crypto ones: tests/unit/test_crypto_market.py)."""
    settings = load_settings()
    market = settings.router.market
    market = market.model_copy(update={"underliers": [u for u in market.underliers if u.market != "crypto"]})
    return dataclasses.replace(settings, router=settings.router.model_copy(update={"market": market}),
                               venues=[v for v in settings.venues if v.market != "crypto"])


def sim_market():
    settings = us_settings()
    market = settings.router.market
    clock = SimClock(1_800_000_000_000_000_000)
    securities = SecurityMaster.from_chains(market.underliers, date(2026, 11, 20))
    fees = FeeSchedule.from_configs(settings.venues)
    out: list = []
    venues = []
    for cfg in settings.venues:
        symbols = ({u.symbol for u in securities.underliers()} if cfg.kind == "equity"
                   else {o.symbol for o in securities.options()})
        venues.append(SimVenue(cfg.name, clock, fees, int(cfg.latency_ms * 1e6), int(cfg.market_data_latency_ms * 1e6),
                               out.append, out.append, symbols=symbols))
    flow = BackgroundFlow(clock, venues, securities, market, settings.venues)
    return clock, {v.name: v for v in venues}, flow, out, settings


def test_background_stock_maker_leaves_a_tradeable_underlier_book():
    clock, venues, flow, out, settings = sim_market()
    equity = [v for v in settings.venues if v.kind == "equity"]
    assert [v.name for v in equity] == ["XNAS"]
    flow.start()
    clock.advance(2_250_000_000)                     # a few path steps, and between two of them
    xnas = venues["XNAS"]
    spot = flow.spot["AAPL"]
    book = xnas.book("AAPL")
    bids, asks = book.resting(BUY), book.resting(SELL)
    assert len(bids) == len(asks) == settings.router.market.levels
    assert all(v.leaves % ROUND_LOT == 0 and v.owner == "smm" for v in bids + asks)
    assert bids[0].price_ticks * 0.01 <= spot < asks[0].price_ticks * 0.01
    assert asks[0].price_ticks - bids[0].price_ticks == 1
    published = [u for u in out if isinstance(u, BookUpdate) and u.venue == "XNAS" and u.symbol == "AAPL"]
    assert published and published[-1] == xnas.snapshot("AAPL")
    underliers = {u.symbol for u in settings.router.market.underliers}
    books = {(u.venue == "XNAS", u.symbol in underliers) for u in out if isinstance(u, BookUpdate)}
    assert books == {(True, True), (False, False)}, "stock books only on the equity venue, options only off it"
    best_ask = book.best_ask()
    xnas.submit(SubmitChild("H1", "XNAS", "AAPL", BUY, 100, best_ask[0] * 0.01, IOC))
    clock.advance(2_000_000)
    assert [r for r in out if isinstance(r, ChildFilled) and r.child_id == "H1"][0].qty == 100
    flow.stop()


def test_background_stock_maker_requotes_every_path_step_around_the_moving_spot():
    clock, venues, flow, out, settings = sim_market()
    flow.start()
    first = venues["XNAS"].book("AAPL").resting(BUY)[0].order_id
    clock.advance(int(settings.router.market.path_step_ms * 1e6))
    now = venues["XNAS"].book("AAPL").resting(BUY)
    assert first not in {v.order_id for v in now}
    assert now[0].price_ticks * 0.01 <= flow.spot["AAPL"] < now[0].price_ticks * 0.01 + 0.01
    flow.stop()


# ---- the smart order router: venue kinds, posting venue

def book_with(symbol: str, **levels) -> InstrumentBook:
    book = InstrumentBook(symbol)
    for venue, (bids, asks) in levels.items():
        book.apply(BookUpdate(venue, symbol, tuple(BookLevel(p, q) for p, q in bids),
                              tuple(BookLevel(p, q) for p, q in asks)))
    return book


def router(**fees) -> SmartOrderRouter:
    schedule = FeeSchedule([VenueFees(v, taker, maker) for v, (taker, maker) in fees.items()])
    kinds = {v: "equity" if v.startswith("EQ") else "option" for v in fees}
    return SmartOrderRouter(schedule, {v: LATENCY for v in fees}, venue_kinds=kinds, underliers={"AAPL"})


def test_plan_post_prefers_the_biggest_rebate_then_displayed_size_then_name():
    sor = router(A=(0.50, -0.25), B=(0.50, -0.40), C=(0.50, -0.40), D=(0.50, -0.40), EQ=(0.003, -0.005))
    book = book_with(CALL, A=([(1.00, 50)], []), B=([(1.00, 5)], []), C=([(1.00, 9), (0.99, 99)], []),
                     D=([(0.99, 80)], [(1.00, 70)]))
    assert sor.plan_post(BUY, 10, 1.00, book, ()) == "C"           # B, C, D pay most; C shows most at 1.00
    assert sor.plan_post(BUY, 10, 0.99, book, ()) == "C"
    assert sor.plan_post(BUY, 10, 0.98, book, ()) == "B"           # nobody shows 0.98: by name
    assert sor.plan_post(BUY, 10, 1.00, book, ("A", "B")) == "B"
    assert sor.plan_post(BUY, 10, 1.00, book, ("A",)) == "A"
    assert sor.plan_post(BUY, 10, 1.00, book, ("EQ",)) is None     # an option never posts on an equity venue


def test_plan_post_for_the_underlier_uses_only_equity_venues():
    sor = router(A=(0.50, -0.90), EQ1=(0.003, -0.002), EQ2=(0.003, -0.0025))
    book = book_with("AAPL", EQ1=([(200.00, 900)], []))
    assert sor.plan_post(BUY, 100, 200.00, book, ()) == "EQ2"
    assert sor.plan_post(BUY, 100, 200.00, book, ("A", "EQ1")) == "EQ1"
    assert sor.plan_post(BUY, 100, 200.00, book, ("A",)) is None


def test_sweeps_never_cross_venue_kinds():
    sor = router(A=(0.50, -0.25), EQ=(0.003, -0.002))
    # A mis-routed book that shows size on the wrong kind of venue must still not be chosen.
    option_book = book_with(CALL, A=([], [(1.05, 5)]), EQ=([], [(1.00, 500)]))
    plan = sor.plan_sweep(SweepRequest(BUY, 5, 1.05, 100, ()), option_book)
    assert [(a.venue, a.qty) for a in plan.allocations] == [("A", 5)] and plan.mode == "liquidity"
    stock_book = book_with("AAPL", A=([], [(199.0, 500)]), EQ=([], [(200.01, 300)]))
    plan = sor.plan_sweep(SweepRequest(BUY, 100, 200.05, 1, ()), stock_book)
    assert [(a.venue, a.qty) for a in plan.allocations] == [("EQ", 100)] and plan.mode == "fee"
    assert sor.plan_sweep(SweepRequest(BUY, 100, 200.05, 1, ("A",)), stock_book).allocations == ()


def test_duplicate_child_id_is_rejected_while_the_first_rests(rig):
    rig.submit("C1", BUY, 10, 1.00)
    rig.submit("C1", SELL, 5, 1.20)
    assert rig.got()[-1] == ChildRejected("C1", "OPT", "duplicate child id C1")
    assert rig.venue.book(CALL).best_ask() is None


def test_short_sale_trades_as_a_sell_and_prints_a_sell_aggressor():
    rig = Rig("EQ", symbols=("AAPL",))
    rig.place(BUY, 300, 199.99)
    rig.submit("H1", Side.SELL_SHORT, 100, 199.99, IOC, short_sale=True)
    assert rig.fills("H1") == [(100, 199.99)]
    assert [m.aggressor for _, m in rig.market if isinstance(m, TradePrint)] == [SELL]


def test_an_underlier_tick_off_the_book_grid_is_refused():
    clock, venues, flow, out, settings = sim_market()
    market = settings.router.market
    odd = market.model_copy(update={"underliers": [market.underliers[0].model_copy(update={"underlier_tick": 0.005})]})
    securities = SecurityMaster.from_chains(odd.underliers, date(2026, 11, 20))
    with pytest.raises(ValueError, match="underlier tick 0.005"):
        BackgroundFlow(clock, list(venues.values()), securities, odd, settings.venues)


# ---- allocation, capacity, self-match prevention, fee keywords

def rig_with(**venue_kw) -> Rig:
    rig = Rig()
    rig.venue = SimVenue("OPT", rig.clock, FEES, LATENCY, MD_LATENCY,
                         lambda r: rig.reports.append((rig.clock.now_ns(), r)),
                         lambda m: rig.market.append((rig.clock.now_ns(), m)), symbols=(CALL,), **venue_kw)
    return rig


def test_venue_is_price_time_by_default_and_pro_rata_when_asked():
    assert Rig().venue.book(CALL).allocation == "price-time"
    assert rig_with(allocation="pro-rata", min_allocation=3).venue.book(CALL).min_allocation == 3
    with pytest.raises(ValueError, match="allocation"):
        rig_with(allocation="lottery")


def test_pro_rata_venue_puts_the_customer_child_first_at_its_price():
    # A market maker quotes 50 at $1.00 before the router's customer child bids 10 there: under
    # price-time the maker fills first; under pro-rata the priority customer child does.
    for allocation, child_fill in (("price-time", []), ("pro-rata", [(10, 1.00)])):
        rig = rig_with(allocation=allocation)
        rig.venue.place("mm", "mm1", CALL, BUY, 50, 1.00, capacity="market_maker")
        rig.submit("C1", BUY, 10, 1.00)
        rig.take(SELL, 10, 1.00)
        assert rig.fills("C1") == child_fill


def test_pro_rata_venue_splits_by_size_for_a_professional_child():
    rig = rig_with(allocation="pro-rata")
    rig.venue.place("mm", "mm1", CALL, BUY, 30, 1.00, capacity="market_maker")
    rig.submit("C1", BUY, 10, 1.00, capacity="professional")
    rig.take(SELL, 8, 1.00)
    assert rig.fills("C1") == [(2, 1.00)]                     # 8 * 10/40 = 2; the maker gets 6
    assert rig.venue.book(CALL).order("mm1").leaves == 24
    assert rig.venue.book(CALL).order("C1").capacity == "professional"


def test_self_match_prevention_cancels_the_resting_child_by_default(rig):
    rig.submit("S1", SELL, 5, 1.05)
    rig.place(SELL, 2, 1.06)
    rig.submit("B1", BUY, 4, 1.06, IOC)
    canceled = [r for r in rig.got(ChildCanceled) if r.child_id == "S1"]
    assert canceled == [ChildCanceled("S1", "OPT",
                                      "self-match prevention: canceled resting order against incoming child B1")]
    assert rig.fills("S1") == [] and rig.fills("B1") == [(2, 1.06)]
    assert rig.got()[-1] == ChildCanceled("B1", "OPT", "IOC remainder")
    assert rig.venue.book(CALL).best_ask() is None
    rig.cancel("S1")
    assert rig.got()[-1] == ChildCancelRejected("S1", "OPT", "unknown or finished order")
    rig.venue.reconcile("S1")
    rig.settle()
    assert rig.got()[-1] == canceled[0]


def test_self_match_prevention_can_cancel_the_incoming_child_instead():
    rig = rig_with(self_match="cancel_incoming")
    rig.submit("S1", SELL, 5, 1.05)
    rig.submit("B1", BUY, 4, 1.05)
    assert rig.got()[-2:] == [ChildAccepted("B1", "OPT"),
                              ChildCanceled("B1", "OPT", "self-match prevention: incoming child canceled against "
                                                         "resting child S1")]
    assert rig.queue(SELL) == ["S1"] and rig.queue(BUY) == [] and not rig.got(ChildFilled)
    rig.take(BUY, 5, 1.05)                                  # others still trade with the resting child
    assert rig.fills("S1") == [(5, 1.05)]


def test_router_children_still_trade_with_background_liquidity_under_self_match_prevention(rig):
    rig.place(SELL, 3, 1.05, owner="router-lookalike")
    rig.submit("B1", BUY, 3, 1.05, IOC)
    assert rig.fills("B1") == [(3, 1.05)]


class KeywordFees:
    """The fee schedule signature being added to venues/fees.py: keywords for the class and account type."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def fee(self, venue, qty, liquidity, *, symbol=None, price=None, capacity=None):
        self.calls.append((venue, qty, liquidity, symbol, price, capacity))
        return 0.42 * qty


def test_fills_pass_symbol_price_and_capacity_to_a_fee_schedule_that_takes_them():
    rig = Rig()
    fees = KeywordFees()
    rig.venue = SimVenue("OPT", rig.clock, fees, LATENCY, MD_LATENCY,
                         lambda r: rig.reports.append((rig.clock.now_ns(), r)), lambda m: None, symbols=(CALL,))
    rig.place(SELL, 5, 1.05)
    rig.submit("C1", BUY, 2, 1.05, IOC, capacity="professional")
    assert fees.calls == [("OPT", 2, Liquidity.REMOVED, CALL, 1.05, "professional")]
    assert rig.got(ChildFilled)[0].fee == pytest.approx(0.84)


class PositionalFees:
    """The original signature, fee(venue, qty, liquidity): keywords would be a TypeError."""

    def fee(self, venue, qty, liquidity):
        return 0.50 * qty


def test_fills_use_the_old_fee_signature_when_the_schedule_has_no_keywords():
    rig = Rig()
    rig.venue = SimVenue("OPT", rig.clock, PositionalFees(), LATENCY, MD_LATENCY,
                         lambda r: rig.reports.append((rig.clock.now_ns(), r)), lambda m: None, symbols=(CALL,))
    rig.place(SELL, 5, 1.05)
    rig.submit("C1", BUY, 2, 1.05, IOC)
    assert rig.got(ChildFilled)[0].fee == pytest.approx(1.00)
