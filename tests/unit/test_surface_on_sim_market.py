"""The router's SVI fit recovers the simulated market's true smile from consolidated quotes."""
from __future__ import annotations

from router.app import build_system, load_settings
from router.clock import NANOS_PER_SECOND, SimClock
from router.config import UnderlierConfig
from router.market.simulation import Smile
from router.market.surface_check import chain_quotes, fit_against_truth
from tests.harness import START


def test_fit_error_on_the_simulated_chain_is_within_quote_noise():
    settings = load_settings()
    underlier = UnderlierConfig(symbol="AAPL", spot=200.0, vol=0.28, smile_skew=-0.25, smile_curvature=0.4,
                                monthly_expiries=3, strike_step=5.0, strikes_each_side=10)
    market = settings.router.market.model_copy(update={"underliers": [underlier]})
    clock = SimClock.at(START)
    system = build_system(clock=clock, market=market, venue_configs=settings.venues, accounts=settings.accounts,
                          engine_config=settings.router.engine, send=lambda report: None)
    clock.advance(2 * NANOS_PER_SECOND)
    spot = system.background.spot["AAPL"]
    quotes = chain_quotes(system.securities, system.engine.books, "AAPL", clock.now_ns())
    report = fit_against_truth(quotes, spot, market.rate, Smile(0.28, -0.25, 0.4))
    assert report.expiries == 3 and report.options >= 40
    assert report.rmse_vol_points < 1.0, report
    assert not report.surface.arbitrage()
