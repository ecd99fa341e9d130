"""Packages and auctions through SimVenue on a simulated clock, with its latency: SubmitPackage and
StartAuction arrive after the order latency and their reports come back after the same latency;
package cancel/replace/reconcile reuse the single-leg commands; the simulated responders
(venues/sim/auction_responders.py) answer auctions and package orders, seeded."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from router.clock import SimClock
from router.config import load_router_config, load_venues
from router.domain.enums import Liquidity, Side, TimeInForce
from router.domain.events import (AuctionResult, CancelChild, ChildAccepted, ChildCanceled, ChildCancelRejected,
                                  ChildFilled, ChildRejected, ChildReplaced, ComplexBookUpdate, ComplexLeg,
                                  PackageFilled, PackageLegFilled, ReplaceChild, StartAuction, SubmitChild,
                                  SubmitPackage, TradePrint)
from router.market.securities import SecurityMaster
from venues.fees import FeeSchedule, VenueFees
from venues.sim.auction import AuctionRules
from venues.sim.auction_responders import AuctionResponders
from venues.sim.market import build_sim_market, wire_nbbo
from venues.sim.venue import SimVenue

C200, C210 = "AAPL  261218C00200000", "AAPL  261218C00210000"
LATENCY = 300_000
MD_LATENCY = 100_000
EXPOSURE = 100_000_000
BUY, SELL = Side.BUY, Side.SELL
DAY, IOC = TimeInForce.DAY, TimeInForce.IOC
FEES = FeeSchedule([VenueFees("OPT", taker=0.50, maker=-0.25), VenueFees("OPT2", taker=0.50, maker=-0.25)])
SPREAD = (ComplexLeg(C200, BUY), ComplexLeg(C210, SELL))


class Rig:
    def __init__(self, name: str = "OPT", clock: SimClock | None = None) -> None:
        self.clock = clock or SimClock(1_000_000_000)
        self.reports: list[tuple[int, object]] = []
        self.market: list[tuple[int, object]] = []
        self.packages: list[ComplexBookUpdate] = []
        self.venue = SimVenue(name, self.clock, FEES, LATENCY, MD_LATENCY,
                              lambda r: self.reports.append((self.clock.now_ns(), r)),
                              lambda m: self.market.append((self.clock.now_ns(), m)), symbols=(C200, C210),
                              auction_rules=AuctionRules(exposure_ns=EXPOSURE), package_sink=self.packages.append)
        self._ids = 0

    def quote(self, symbol: str, bid: float, ask: float, qty: int = 50) -> None:
        for side, price in ((BUY, bid), (SELL, ask)):
            self._ids += 1
            self.venue.place("mm", f"mm{self._ids}", symbol, side, qty, price, capacity="market_maker")

    def vertical(self) -> None:
        self.quote(C200, 2.00, 2.20)
        self.quote(C210, 1.00, 1.20)

    def package(self, child_id: str, side: Side, qty: int, price: float, legs=SPREAD, tif=DAY) -> int:
        sent = self.clock.now_ns()
        self.venue.submit_package(SubmitPackage(child_id, self.venue.name, legs, side, qty, price, tif))
        self.settle()
        return sent

    def settle(self) -> None:
        self.clock.advance(10 * LATENCY)

    def got(self, kind=None) -> list:
        return [r for _, r in self.reports if kind is None or isinstance(r, kind)]

    def at(self, kind) -> list[int]:
        return [t for t, r in self.reports if isinstance(r, kind)]


@pytest.fixture
def rig() -> Rig:
    return Rig()


# ---- packages

def test_a_package_crossing_a_resting_contra_fills_leg_by_leg_after_the_latency(rig):
    rig.vertical()
    rig.venue.place_package("mmX", "x1", ((C200, BUY, 1), (C210, SELL, 1)), SELL, 10, 0.95)
    sent = rig.package("P1.1", BUY, 4, 1.00)
    assert rig.got()[0] == ChildAccepted("P1.1", "OPT")
    assert set(rig.at(ChildAccepted) + rig.at(PackageFilled)) == {sent + 2 * LATENCY}
    package = rig.got(PackageFilled)[0]
    assert (package.qty, package.price, package.liquidity) == (4, 0.95, Liquidity.REMOVED)
    legs = rig.got(PackageLegFilled)
    assert [(l.leg, l.symbol, l.side, l.qty) for l in legs] == [(0, C200, BUY, 4), (1, C210, SELL, 4)]
    assert [l.exec_id for l in legs] == [f"{package.exec_id}.0", f"{package.exec_id}.1"]
    assert round(legs[0].price - legs[1].price, 8) == 0.95
    assert 2.00 <= legs[0].price <= 2.20 and 1.00 <= legs[1].price <= 1.20
    assert all(l.fee == pytest.approx(0.50 * 4) for l in legs) and package.fee == pytest.approx(4.0)


def test_a_package_trades_the_leg_books_through_the_implied_route(rig):
    rig.quote(C200, 2.00, 2.10, qty=5)
    rig.quote(C210, 1.05, 1.15, qty=5)
    rig.package("P1.1", BUY, 3, 1.05)
    package = rig.got(PackageFilled)[0]
    assert (package.qty, package.price) == (3, 1.05)
    assert [(l.symbol, l.price) for l in rig.got(PackageLegFilled)] == [(C200, 2.10), (C210, 1.05)]
    prints = [m for _, m in rig.market if isinstance(m, TradePrint)]
    assert {(p.symbol, p.qty, p.price) for p in prints} == {(C200, 3, 2.10), (C210, 3, 1.05)}
    assert rig.venue.book(C200).best_ask() == (210, 2)


def test_a_resting_router_package_is_filled_as_maker_and_the_package_book_is_published(rig):
    rig.vertical()
    rig.package("P1.1", BUY, 5, 1.00)
    book = rig.packages[-1]
    assert book.legs == SPREAD and [(l.price, l.qty) for l in book.bids] == [(1.00, 5)]
    assert (book.implied_bid.price, book.implied_ask.price) == (0.80, 1.20)
    rig.venue.place_package("mmX", "x1", ((C200, SELL, 1), (C210, BUY, 1)), BUY, 2, -0.90)   # sells at 0.90
    rig.settle()
    package = rig.got(PackageFilled)[0]
    assert (package.qty, package.price, package.liquidity) == (2, 1.00, Liquidity.ADDED)
    assert rig.venue.cob.order("P1.1").leaves == 3


@pytest.mark.parametrize("legs, price, reason", [
    ((ComplexLeg(C200, BUY), ComplexLeg(C210, SELL, 0)), 1.00, "ratio 0"),
    ((ComplexLeg(C200, BUY), ComplexLeg(C200, SELL)), 1.00, "the same instrument may appear only once"),
    ((ComplexLeg(C200, BUY), ComplexLeg("MSFT  261218C00400000", SELL)), 1.00, "is not listed"),
    (SPREAD, 1.005, "net price 1.005 is off the COB's tick grid"),
])
def test_a_bad_package_is_rejected_with_the_reason(rig, legs, price, reason):
    rig.vertical()
    rig.package("P1.1", BUY, 1, price, legs=legs)
    (rejected,) = rig.got(ChildRejected)
    assert rejected.child_id == "P1.1" and reason in rejected.reason


def test_package_cancel_replace_and_reconcile_reuse_the_child_commands(rig):
    rig.vertical()
    rig.package("P1.1", BUY, 5, 0.90)
    rig.venue.replace(ReplaceChild("P1.1", "OPT", 5, 0.95, 1))
    rig.settle()
    assert rig.got()[-1] == ChildReplaced("P1.1", "OPT", 5, 0.95)
    rig.venue.place_package("mmX", "x1", ((C200, BUY, 1), (C210, SELL, 1)), SELL, 2, 0.95)
    rig.settle()
    rig.reports.clear()
    rig.venue.reconcile("P1.1")
    rig.settle()
    kinds = [type(r).__name__ for r in rig.got()]
    assert kinds == ["ChildAccepted", "PackageFilled", "PackageLegFilled", "PackageLegFilled", "ChildReplaced"]
    assert rig.got()[-1] == ChildReplaced("P1.1", "OPT", 5, 0.95)
    rig.venue.cancel(CancelChild("P1.1", "OPT"))
    rig.settle()
    assert rig.got()[-1] == ChildCanceled("P1.1", "OPT", "canceled on request")
    rig.venue.cancel(CancelChild("P1.1", "OPT"))
    rig.settle()
    assert isinstance(rig.got()[-1], ChildCancelRejected)


def test_an_ioc_package_remainder_is_canceled(rig):
    rig.vertical()
    rig.package("P1.1", BUY, 5, 1.00, tif=IOC)
    assert rig.got()[-1] == ChildCanceled("P1.1", "OPT", "IOC remainder")
    assert rig.venue.cob.order("P1.1") is None


# ---- auctions

def start(rig: Rig, qty: int = 100, price: float = 1.05, auto: float | None = None, side: Side = BUY) -> int:
    sent = rig.clock.now_ns()
    rig.venue.start_auction(StartAuction("AU1", rig.venue.name, C200, "P9.1", "P9.2", side, qty, price, auto))
    rig.clock.advance(2 * LATENCY)
    return sent


def test_an_auction_runs_its_exposure_period_on_the_clock_and_reports(rig):
    rig.quote(C200, 1.00, 1.05)
    sent = start(rig, auto=1.02)
    assert rig.got() == [ChildAccepted("P9.1", "OPT"), ChildAccepted("P9.2", "OPT")]
    rig.venue.respond("AU1", "A", 1.03, 100)
    rig.venue.respond("AU1", "B", 1.03, 50)
    rig.clock.advance(EXPOSURE)
    (result,) = rig.got(AuctionResult)
    assert rig.at(AuctionResult) == [sent + LATENCY + EXPOSURE + LATENCY]
    assert (result.final_price, result.avg_price, result.nbbo_price) == (1.03, 1.03, 1.05)
    assert result.improvement == pytest.approx(0.02) and result.improvement_usd == pytest.approx(200.0)
    assert (result.initiator_qty, result.responder_qty, result.responders) == (40, 60, 2)
    fills = sorted((f.child_id, f.qty, f.price, f.liquidity) for f in rig.got(ChildFilled))
    assert fills == [("P9.1", 20, 1.03, Liquidity.REMOVED), ("P9.1", 40, 1.03, Liquidity.REMOVED),
                     ("P9.1", 40, 1.03, Liquidity.REMOVED), ("P9.2", 40, 1.03, Liquidity.ADDED)]
    assert ChildCanceled("P9.2", "OPT", "auction over: responders took 60 of 100") in rig.got()


def test_an_auction_outside_the_nbbo_is_rejected_for_both_children(rig):
    rig.quote(C200, 1.00, 1.05)
    start(rig, price=1.06)
    rejected = rig.got(ChildRejected)
    assert [r.child_id for r in rejected] == ["P9.1", "P9.2"]
    assert all("auction refused: stop price 106 ticks is outside the NBBO 100 x 105" in r.reason for r in rejected)


def test_the_nbbo_across_venues_bounds_the_stop_price():
    clock = SimClock(1_000_000_000)
    home, away = Rig("OPT", clock), Rig("OPT2", clock)
    wire_nbbo([home.venue, away.venue])
    home.quote(C200, 1.00, 1.05)
    away.quote(C200, 1.00, 1.04)                  # a better offer elsewhere
    start(home, price=1.05)
    assert "outside the NBBO 100 x 104" in home.got(ChildRejected)[0].reason


def test_auction_children_cannot_be_canceled_during_exposure(rig):
    rig.quote(C200, 1.00, 1.05)
    start(rig)
    rig.venue.cancel(CancelChild("P9.1", "OPT"))
    rig.settle()
    assert isinstance(rig.got()[-1], ChildCancelRejected) and "exposure period" in rig.got()[-1].reason


def test_simulated_responders_improve_the_client_and_are_seeded():
    outcomes = []
    for _ in range(2):
        rig = Rig()
        rig.quote(C200, 1.00, 1.10)                # mid 1.05: responders sell at 1.05..1.08
        responders = AuctionResponders(rig.clock, [rig.venue], seed=3, respond_prob=1.0, max_edge_ticks=3)
        start(rig, price=1.10)                     # the firm stops the client at the offer
        rig.clock.advance(EXPOSURE)
        (result,) = rig.got(AuctionResult)
        assert responders.responses == 3 and result.responders == 3
        assert result.improvement > 0 and result.responder_qty > 0
        assert result.initiator_qty + result.responder_qty == 100
        outcomes.append(result)
    assert outcomes[0] == outcomes[1]


def test_simulated_responders_answer_a_resting_package():
    rig = Rig()
    rig.vertical()
    responders = AuctionResponders(rig.clock, [rig.venue], seed=1, package_prob=1.0, max_edge_ticks=0)
    rig.package("P1.1", BUY, 5, 1.00)              # fair is 2.10 - 1.10 = 1.00: the responder sells there
    rig.clock.advance(200_000_000)
    assert responders.package_quotes == 1
    assert sum(f.qty for f in rig.got(PackageFilled)) >= 1
    assert rig.got(PackageFilled)[0].price == 1.00


def test_a_router_child_resting_in_a_leg_book_is_filled_by_the_implied_route(rig):
    rig.quote(C210, 1.05, 1.15)
    rig.venue.submit(SubmitChild("P2.1", "OPT", C200, SELL, 3, 2.10, DAY))
    rig.settle()
    rig.venue.place_package("mmX", "x1", ((C200, BUY, 1), (C210, SELL, 1)), BUY, 3, 1.05)
    rig.settle()
    assert [(f.child_id, f.qty, f.price) for f in rig.got(ChildFilled)] == [("P2.1", 3, 2.10)]


# ---- the configured market: responders attached, NBBO over every venue

def test_the_configured_market_answers_an_auction_and_prices_a_spread_on_its_cob():
    config = Path(__file__).resolve().parents[2] / "config" / "router.toml"
    router = load_router_config(config)
    venue_configs = [v for v in load_venues(config.parent / router.venues) if v.name in ("XISX", "XCBO", "XNAS")]
    start_at = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)
    clock = SimClock.at(start_at)
    securities = SecurityMaster.from_chains(router.market.underliers, start_at.date())
    reports: list = []
    sim = build_sim_market(clock, securities, router.market, venue_configs, reports.append, lambda event: None)
    sim.background.start()
    clock.advance(50_000_000)
    venue = sim.venues["XISX"]
    call = next(o.symbol for o in securities.options() if o.symbol.startswith("AAPL") and o.is_call)
    nbbo = venue.nbbo_source(call)
    own = venue.own_bbo(call)
    other = sim.venues["XCBO"].own_bbo(call)
    assert nbbo == (max(own[0], other[0]), min(own[1], other[1]))
    venue.start_auction(StartAuction("AU1", "XISX", call, "P1.1", "P1.2", BUY, 20, nbbo[1] * venue.price_tick))
    clock.advance(200_000_000)
    sim.background.stop()
    (result,) = [r for r in reports if isinstance(r, AuctionResult)]
    assert result.responders >= 1 and result.improvement >= 0
    assert result.initiator_qty + result.responder_qty == 20
    # a vertical on the same venue: the COB's leg-price range sits inside the legs' NBBO
    calls = sorted((o for o in securities.options() if o.underlying == "AAPL" and o.is_call
                    and o.expiry == securities.get(call).expiry), key=lambda o: o.strike)
    package = venue.cob.package(((calls[0].symbol, BUY, 1), (calls[1].symbol, SELL, 1)))
    low, high = venue.cob.price_range(package)
    assert low <= high


def test_a_buy_write_prices_its_stock_leg_inside_the_equity_venues_nbbo():
    clock = SimClock(1_000_000_000)
    options = Rig("OPT", clock)
    equity = SimVenue("EQ", clock, FEES, LATENCY, MD_LATENCY, lambda r: None, lambda m: None, symbols=("AAPL",))
    wire_nbbo([options.venue, equity])
    equity.place("smm", "s1", "AAPL", BUY, 1000, 200.00)
    equity.place("smm", "s2", "AAPL", SELL, 1000, 200.02)
    options.quote(C200, 4.90, 5.10)
    buy_write = (ComplexLeg("AAPL", BUY, 100), ComplexLeg(C200, SELL))
    options.venue.place_package("mmX", "x1", (("AAPL", SELL, 100), (C200, BUY, 1)), BUY, 3, -195.00)
    options.package("P1.1", BUY, 2, 195.00, legs=buy_write)
    package = options.got(PackageFilled)[0]
    assert (package.qty, package.price) == (2, 195.00)
    stock, call = options.got(PackageLegFilled)
    assert (stock.leg, stock.symbol, stock.side, stock.qty, stock.fee) == (0, "AAPL", BUY, 200, 0.0)
    assert (call.leg, call.side, call.qty) == (1, SELL, 2)
    assert 200.00 <= stock.price <= 200.02 and 4.90 <= call.price <= 5.10
    assert round(stock.price - call.price, 8) == 195.00
