"""The simulated crypto market: each crypto option venue's mark (Black-76 on the perpetual with
the venue's mark smile) reaches the router's books, differs from a naive Black-Scholes price,
and is what the venue's market maker quotes around; the perpetual trades on its own venue; fills
pay the crypto fees; the US market is untouched by it."""
from __future__ import annotations

import numpy as np
import pytest

from router.domain.enums import Liquidity, Side, TimeInForce
from router.domain.events import ChildFilled, MarkPrice, SubmitChild
from router.market.books import MarketBooks
from router.market.pricing import black76, bsm
from router.market.securities import years_between
from router.market.simulation import Smile
from router.app import build_system
from router.clock import SimClock
from tests.harness import START, Harness

MONTHLY_CALL = "BTC-25DEC26-90000-C"
MONTHLY_PUT = "BTC-25DEC26-90000-P"
CRYPTO_VENUES = ("DRBT", "OKXO")


@pytest.fixture(scope="module")
def market():
    h = Harness(background=True)
    h.settle(2.2)            # a few path steps; every mark published
    return h


def btc_config(h):
    return next(u for u in h.settings.router.market.underliers if u.symbol == "BTCUSDT")


def venue_config(h, name):
    return next(v for v in h.settings.venues if v.name == name)


def best(h, venue, symbol):
    book = h.venues[venue].book(symbol)
    tick = h.venues[venue].price_tick
    return book.best_bid()[0] * tick, book.best_ask()[0] * tick


def test_marks_reach_the_routers_books(market):
    flow = market.system.crypto
    assert len(flow.options) == 28
    for venue in CRYPTO_VENUES:
        for option in flow.options:
            published = flow.marks[venue][option.symbol]
            book = market.engine.books.book(option.symbol)
            assert book.mark(venue) == published.price > 0
            assert book.marks[venue].underlier_price == pytest.approx(flow.spot["BTCUSDT"])
    both = market.engine.books.book(MONTHLY_CALL)
    assert both.mark() == pytest.approx((both.mark("DRBT") + both.mark("OKXO")) / 2)


def test_the_mark_is_black76_on_the_perpetual_with_the_venues_smile(market):
    flow, und = market.system.crypto, btc_config(market)
    smile = Smile(und.vol, und.smile_skew, und.smile_curvature)
    for venue in CRYPTO_VENUES:
        mark = flow.marks[venue][MONTHLY_CALL]
        forward = mark.underlier_price
        years = years_between(market.clock.now_ns(), market.system.securities.get(MONTHLY_CALL).expiry, 8)
        vol = float(smile.vol(np.log(90000.0 / forward))) + venue_config(market, venue).mark_vol_offset
        expected = float(black76(forward, 90000.0, years, vol, True).price) / forward
        # marked at the last step, a fraction of a second ago: the time to expiry differs by that
        assert mark.price == pytest.approx(expected, rel=1e-6) and mark.iv == pytest.approx(vol)
    assert flow.marks["DRBT"][MONTHLY_CALL].price != flow.marks["OKXO"][MONTHLY_CALL].price


def naive_bs_btc(h, symbol) -> float:
    """Seed 002's mistake: Black-Scholes on spot with the at-the-money vol and the rate."""
    option = h.system.securities.get(symbol)
    spot = h.system.crypto.spot["BTCUSDT"]
    years = years_between(h.clock.now_ns(), option.expiry)          # and the US close, not 08:00 UTC
    price = bsm(spot, option.strike, years, btc_config(h).vol, option.is_call, h.settings.router.market.rate).price
    return float(price) / spot


def test_quoters_centre_on_the_venues_mark_not_a_fresh_bs_price(market):
    flow = market.system.crypto
    outside = 0
    for venue in CRYPTO_VENUES:
        for option in flow.options:
            bid, ask = best(market, venue, option.symbol)
            mark = market.engine.books.book(option.symbol).mark(venue)
            assert bid < mark < ask, (venue, option.symbol, bid, mark, ask)
            assert option.tick_rule.is_on_tick(round(bid, 6)) and option.tick_rule.is_on_tick(round(ask, 6))
            naive = naive_bs_btc(market, option.symbol)
            outside += not (bid <= naive <= ask)
        # the month's at-the-money pair: the naive price is off the quote altogether
        for symbol in (MONTHLY_CALL, MONTHLY_PUT):
            bid, ask = best(market, venue, symbol)
            assert not bid <= naive_bs_btc(market, symbol) <= ask
    assert outside > 0


def test_the_perpetual_is_quoted_on_its_venue_and_only_there(market):
    spot = market.system.crypto.spot["BTCUSDT"]
    bid, ask = best(market, "BNPF", "BTCUSDT")
    assert bid <= spot < ask and ask - bid == pytest.approx(0.10)
    nbbo = market.engine.books.nbbo("BTCUSDT")
    assert (nbbo.bid, nbbo.ask) == (pytest.approx(bid), pytest.approx(ask))
    assert market.venues["XNAS"].book("BTCUSDT").best_bid() is None
    assert "BTCUSDT" not in market.system.background.spot
    for venue in ("XCBO", "BATO"):
        assert not market.venues[venue].lists(MONTHLY_CALL)
    for venue in CRYPTO_VENUES:
        assert not market.venues[venue].lists("AAPL  261218C00200000")


def fill_against_the_ask(h, venue, symbol, child_id) -> ChildFilled:
    reports: list = []
    sim = h.venues[venue]
    sink, sim._report_sink = sim._report_sink, reports.append
    try:
        _, ask = best(h, venue, symbol)
        sim.submit(SubmitChild(child_id, venue, symbol, Side.BUY, 1, round(ask, 4), TimeInForce.IOC))
        h.settle(0.05)
    finally:
        sim._report_sink = sink
    return next(r for r in reports if isinstance(r, ChildFilled))


def test_a_crypto_option_fill_pays_the_capped_percent_of_the_underlying_in_btc():
    h = Harness(background=True)
    h.settle(1)
    fill = fill_against_the_ask(h, "DRBT", MONTHLY_CALL, "C1")
    assert fill.liquidity is Liquidity.REMOVED and fill.price > 0.005
    assert fill.fee == pytest.approx(min(0.0003, 0.125 * fill.price))          # 0.03% of 1 BTC, in BTC
    cheap = min(h.system.crypto.options, key=lambda o: h.system.crypto.marks["OKXO"][o.symbol].price)
    fill = fill_against_the_ask(h, "OKXO", cheap.symbol, "C2")
    assert fill.fee == pytest.approx(min(0.0003, 0.07 * fill.price))


def test_a_perpetual_fill_pays_the_percent_of_notional():
    h = Harness(background=True)
    h.settle(1)
    fill = fill_against_the_ask(h, "BNPF", "BTCUSDT", "H1")
    assert fill.fee == pytest.approx(0.0005 * fill.price * 0.001, abs=1e-6)   # 0.05% taker of one 0.001-BTC lot, USDT


def test_the_crypto_market_is_seeded_and_leaves_the_us_market_as_it_was():
    a, b = Harness(background=True), Harness(background=True)
    a.settle(3), b.settle(3)
    assert a.system.crypto.spot == b.system.crypto.spot
    assert a.venues["DRBT"].snapshot(MONTHLY_CALL) == b.venues["DRBT"].snapshot(MONTHLY_CALL)
    settings = a.settings
    us_only = settings.router.market.model_copy(update={"underliers": [
        u for u in settings.router.market.underliers if u.market != "crypto"]})
    venues = [v for v in settings.venues if v.market != "crypto"]
    clock = SimClock.at(START)
    alone = build_system(clock=clock, market=us_only, venue_configs=venues, accounts=settings.accounts,
                         engine_config=settings.router.engine, send=lambda r: None,
                         algo_settings=settings.router.algos)
    clock.advance(3_000_000_000)
    assert alone.crypto is None
    assert alone.background.spot == a.system.background.spot
    assert alone.venues["XCBO"].snapshot("AAPL  261218C00200000") == a.venues["XCBO"].snapshot("AAPL  261218C00200000")


def test_books_keep_each_venues_latest_mark():
    books = MarketBooks()
    assert books.book(MONTHLY_CALL).mark() is None
    books.apply_mark(MarkPrice("DRBT", MONTHLY_CALL, 0.0600, 0.50, 90000.0))
    books.apply_mark(MarkPrice("OKXO", MONTHLY_CALL, 0.0590, 0.49, 90000.0))
    books.apply_mark(MarkPrice("DRBT", MONTHLY_CALL, 0.0610, 0.51, 90100.0))
    book = books.book(MONTHLY_CALL)
    assert book.mark("DRBT") == 0.0610 and book.mark("OKXO") == 0.0590 and book.mark("XCBO") is None
    assert book.mark() == pytest.approx(0.0600)


def test_background_takers_trade_the_crypto_books_at_their_quotes():
    h = Harness(background=True)
    h.settle(30)
    flow = h.system.crypto
    assert flow.taken > 0
    prints = [t for o in flow.options for t in h.engine.books.book(o.symbol).trades]
    prints += list(h.engine.books.book("BTCUSDT").trades)
    assert prints and {t.venue for t in prints} <= {"DRBT", "OKXO", "BNPF"}
    for trade in prints:
        rule = h.system.securities.get(trade.symbol).tick_rule
        assert rule.is_on_tick(trade.price), trade


def test_crypto_quotes_follow_a_move_only_after_each_makers_reaction_time():
    from router.clock import datetime_to_ns

    h = Harness(background=True)
    flow = h.system.crypto
    step = datetime_to_ns(START) + int(h.settings.router.market.path_step_ms * 1_000_000)
    books = [(v, o.symbol) for v in CRYPTO_VENUES for o in flow.options]
    h.clock.advance_to(step - 1)
    before = {(v, s): h.venues[v].snapshot(s) for v, s in books}
    marks_before = {v: flow.marks[v][MONTHLY_CALL].price for v in CRYPTO_VENUES}
    h.clock.advance_to(step + 1_000)                           # 1 microsecond after the perpetual moved
    assert all(flow.marks[v][MONTHLY_CALL].price != marks_before[v] for v in CRYPTO_VENUES)
    assert {(v, s): h.venues[v].snapshot(s) for v, s in books} == before, "no maker reacts instantly"
    h.clock.advance_to(step + 300 * 1_000_000)
    after = {(v, s): h.venues[v].snapshot(s) for v, s in books}
    assert {v for (v, s), snap in after.items() if snap != before[(v, s)]} == set(CRYPTO_VENUES)
