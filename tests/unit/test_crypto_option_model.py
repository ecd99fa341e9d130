"""The router's own option model on a coin-quoted BTC option: its NBBO in BTC is a USD premium of
premium x perpetual, it expires at 08:00 UTC, it is priced undiscounted on the perpetual, and its
price comes back in BTC; a US option is unchanged."""
from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import pytest

from router.app import load_settings
from router.domain.events import BookLevel, BookUpdate
from router.market.books import MarketBooks
from router.market.model import OptionModel
from router.market.pricing import black76
from router.market.securities import SecurityMaster, years_between

NOW = int(datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc).timestamp() * 1e9)
PERP = 60_000.0
VOL = 0.55


@pytest.fixture(scope="module")
def securities():
    return SecurityMaster.from_chains(load_settings().router.market.underliers, date(2026, 11, 20))


def quote(books: MarketBooks, symbol: str, bid: float, ask: float, venue: str) -> None:
    books.apply(BookUpdate(venue, symbol, (BookLevel(bid, 10),), (BookLevel(ask, 10),)))


def test_a_btc_option_quoted_in_btc_gives_back_the_vol_it_was_priced_at(securities):
    option = next(o for o in securities.options() if o.coin_quoted and o.is_call)
    years = years_between(NOW, option.expiry, 8)
    usd = float(black76(PERP, option.strike, years, VOL, True, 0.0).price)
    btc = usd / PERP
    books = MarketBooks()
    quote(books, "BTCUSDT", PERP - 0.5, PERP + 0.5, "BNPF")
    quote(books, option.symbol, btc - 1e-6, btc + 1e-6, "DRBT")
    model = OptionModel(books, rate=0.04, fallback_vol={})
    assert model.vol(option, NOW) == pytest.approx(VOL, abs=1e-3)
    greeks = model.greeks(option, NOW)
    assert float(greeks.price) == pytest.approx(btc, rel=1e-3), "the price comes back in BTC"
    assert 0 < float(greeks.delta) < 1


def test_the_expiry_hour_is_the_instruments(securities):
    option = next(o for o in securities.options() if o.coin_quoted)
    assert option.expiry_hour_utc == 8
    at_0900 = int(datetime(option.expiry.year, option.expiry.month, option.expiry.day, 9,
                           tzinfo=timezone.utc).timestamp() * 1e9)
    assert years_between(at_0900, option.expiry, option.expiry_hour_utc) == 0.0    # expired at 08:00
    assert years_between(at_0900, option.expiry) > 0                                # a US close is later


def test_a_us_option_is_priced_as_before(securities):
    option = next(o for o in securities.options() if not o.coin_quoted and o.is_call)
    books = MarketBooks()
    quote(books, option.underlying, 199.99, 200.01, "XNAS")
    model = OptionModel(books, rate=0.04, fallback_vol={option.underlying: 0.3})
    greeks = model.greeks(option, NOW)
    years = years_between(NOW, option.expiry)
    from router.market.pricing import bsm
    expected = bsm(200.0, option.strike, years, 0.3, True, 0.04, 0.0)
    assert float(greeks.price) == pytest.approx(float(np.asarray(expected.price)))
