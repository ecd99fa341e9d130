"""The simulated market: deterministic for a seed, quotes around fair value, stale for a moment
after the underlier moves; the underliers trade on the equity venue, options only on option venues."""
from __future__ import annotations

from router.domain.enums import Side
from tests.harness import CALL, Harness


def option_venues(h: Harness) -> list:
    """The US option venues (the crypto ones list only crypto options: tests/unit/test_crypto_market.py)."""
    return [h.venues[v.name] for v in h.settings.venues if v.kind == "option" and v.market == "us_equity_options"]


def equity_venues(h: Harness) -> list:
    return [h.venues[v.name] for v in h.settings.venues if v.kind == "equity" and v.market == "us_equity_options"]


def snapshot(h: Harness) -> list:
    return [(v.name, s, v.snapshot(s)) for v in option_venues(h) for s in (CALL, "AAPL  261218P00195000")] + \
        [(v.name, s, v.snapshot(s)) for v in equity_venues(h) for s in ("AAPL", "SPY")]


def test_same_seed_same_market():
    a, b = Harness(background=True), Harness(background=True)
    a.settle(30), b.settle(30)
    assert snapshot(a) == snapshot(b)
    assert a.system.background.spot == b.system.background.spot
    assert [t for t in a.engine.books.book(CALL).trades] == [t for t in b.engine.books.book(CALL).trades]
    assert [t for t in a.engine.books.book("AAPL").trades] == [t for t in b.engine.books.book("AAPL").trades]


def test_quotes_straddle_fair_value_on_every_option_venue_and_underlier_is_quoted():
    h = Harness(background=True)
    h.settle(1)
    fair = h.system.background.fair[CALL]
    assert len(option_venues(h)) >= 6          # every option venue in config/venues.toml is quoted
    for venue in option_venues(h):
        book = venue.book(CALL)
        bid, ask = book.best_bid(), book.best_ask()
        assert bid is not None and ask is not None
        assert bid[0] * 0.01 < fair < ask[0] * 0.01
    underlier = h.engine.books.nbbo("AAPL")
    assert underlier.bid is not None and underlier.ask - underlier.bid > 0
    spot = h.system.background.spot["AAPL"]
    assert underlier.bid <= spot < underlier.ask
    assert {v.name for v in equity_venues(h)} == {"XNAS"}
    stock_book = h.engine.books.book("AAPL")
    assert all(not stock_book.levels(v.name, side) for v in option_venues(h) for side in (Side.BUY, Side.SELL))
    assert stock_book.levels("XNAS", Side.BUY) and stock_book.levels("XNAS", Side.SELL)


def test_option_market_makers_quote_only_option_venues():
    h = Harness(background=True)
    h.settle(1)
    for venue in equity_venues(h):
        assert venue.book(CALL).best_bid() is None and venue.book(CALL).best_ask() is None
    assert not [s for s in h.engine.books.book(CALL).trades if s.venue == "XNAS"]


def test_quotes_are_stale_until_each_venue_reacts():
    from router.market.quoting import quote_prices
    from tests.harness import START
    from router.clock import datetime_to_ns

    h = Harness(background=True)
    flow = h.system.background
    first_step = datetime_to_ns(START) + int(h.settings.router.market.path_step_ms * 1_000_000)
    h.clock.advance_to(first_step - 1)
    before = {v.name: v.snapshot(CALL) for v in option_venues(h)}
    fair_before = flow.fair[CALL]
    h.clock.advance_to(first_step + 1_000)                # 1 microsecond after the move
    assert flow.fair[CALL] != fair_before
    assert {v.name: v.snapshot(CALL) for v in option_venues(h)} == before, "no quoter reacts instantly"
    h.clock.advance_to(first_step + 100 * 1_000_000)       # 100 ms later every quoter has followed
    index = [o.symbol for o in flow._options].index(CALL)
    for venue in option_venues(h):
        bids, asks = quote_prices(flow._fair, flow._delta, width_multiplier=flow._width[venue.name])
        assert flow._quoted[(venue.name, index)][:2] == (float(bids[index]), float(asks[index]))


def test_background_takers_trade_options_and_the_underlier():
    h = Harness(background=True)
    h.settle(60)
    traded = sum(len(h.engine.books.book(o.symbol).trades) for o in h.system.securities.options())
    assert traded > 0
    assert {t.aggressor for o in h.system.securities.options() for t in h.engine.books.book(o.symbol).trades} \
        == {Side.BUY, Side.SELL}
    stock_trades = [t for u in ("AAPL", "SPY") for t in h.engine.books.book(u).trades]
    assert stock_trades and {t.venue for t in stock_trades} == {"XNAS"}
    assert all(t.qty % 100 == 0 for t in stock_trades)
