import numpy as np
import pytest

from router.market.quoting import quote_prices, spread_fraction


def test_widths_follow_the_delta_buckets():
    got = spread_fraction(np.array([0.05, 0.2, 0.3, 0.5, 0.8]))
    assert got.tolist() == pytest.approx([0.0275, 0.0175, 0.0125, 0.0175, 0.0125])
    assert spread_fraction(np.array([0.05]))[0] > spread_fraction(np.array([0.3]))[0]


def test_quotes_sit_on_the_tick_grid_around_fair():
    fair = np.array([0.37, 2.99, 3.40, 12.0, 150.0])
    bid, ask = quote_prices(fair, np.array([0.05, 0.2, 0.3, 0.5, 0.9]))
    assert np.all(bid < fair) and np.all(ask > fair) and np.all(bid >= 0.01)
    for b, a in zip(bid, ask):
        tick_b = 0.01 if b < 3 else 0.05
        tick_a = 0.01 if a < 3 else 0.05
        assert abs(b / tick_b - round(b / tick_b)) < 1e-6 and abs(a / tick_a - round(a / tick_a)) < 1e-6
    assert ask[-1] - bid[-1] == pytest.approx(150.0 * 0.0125, abs=0.1)


def test_skew_leans_both_prices():
    bid0, ask0 = quote_prices(np.array([10.0]), np.array([0.5]))
    bid1, ask1 = quote_prices(np.array([10.0]), np.array([0.5]), skew=1.0)
    assert bid1[0] < bid0[0] and ask1[0] < ask0[0]


def test_stock_ladder_straddles_spot_one_underlier_tick_apart():
    from venues.sim.background import stock_ladder
    bids, asks = stock_ladder(200.004, tick_ticks=1, levels=3)
    assert bids == [20000, 19999, 19998] and asks == [20001, 20002, 20003]
    bids, asks = stock_ladder(200.07, tick_ticks=5, levels=2)          # a nickel-tick underlier
    assert bids == [20005, 20000] and asks == [20010, 20015]
    bids, asks = stock_ladder(199.99999999999997, tick_ticks=1, levels=1)   # binary error of an on-tick spot
    assert bids == [20000] and asks == [20001]


def test_stock_ladder_never_bids_at_or_below_zero():
    from venues.sim.background import stock_ladder
    bids, asks = stock_ladder(0.015, tick_ticks=1, levels=3)
    assert bids == [1] and asks == [2, 3, 4]
