"""The smart order router on the shared models: where to rest by expected cost (fee, queue ahead,
fill probability from router/models/fill_probability.py), posting over NumMakeExchanges (5048)
within MaxExposureSize (5046), and routing around an unreachable venue."""
from __future__ import annotations

import math

import numpy as np
import pytest

from router.domain.enums import Side
from router.domain.events import BookLevel, BookUpdate, TradePrint
from router.market.books import InstrumentBook
from router.models.fill_probability import DEFAULT_PATH, FillProbability
from router.models.scoring import Logistic
from venues.fees import FeeSchedule, VenueFees
from venues.sor import SmartOrderRouter, SweepRequest

CALL = "AAPL  261218C00200000"
BUY, SELL = Side.BUY, Side.SELL
NOW = 100 * 10**9
LATENCY = 300_000

# A model with round weights on unscaled features: the chance falls with the queue ahead and rises
# with what traded against that queue (weights on log1p(ahead), log1p(behind), log1p(traded), log1p(spread)).
MODEL = FillProbability("risk_averse", 10.0, Logistic(0.0, (-1.0, 0.0, 1.0, 0.0), (0.0,) * 4, (1.0,) * 4),
                        source="hand-made", held_back={})


def book(**levels) -> InstrumentBook:
    b = InstrumentBook(CALL)
    for venue, (bids, asks) in levels.items():
        b.apply(BookUpdate(venue, CALL, tuple(BookLevel(p, q) for p, q in bids), tuple(BookLevel(p, q) for p, q in asks)))
    return b


def sor(model=MODEL, **fees) -> SmartOrderRouter:
    schedule = FeeSchedule([VenueFees(v, taker, maker) for v, (taker, maker) in fees.items()])
    return SmartOrderRouter(schedule, {v: LATENCY for v in fees}, fill_model=model)


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def test_a_rebate_behind_a_queue_nobody_trades_loses_to_a_short_queue_that_trades():
    # A pays a 0.40 rebate but shows 500 ahead and nothing traded there; B charges 0.10 to add,
    # shows 2 ahead, and 50 sold into its bid at 1.00 in the last 30 s.
    router = sor(A=(0.50, -0.40), B=(0.50, 0.10))
    b = book(A=([(1.00, 500)], [(1.10, 10)]), B=([(1.00, 2)], [(1.10, 10)]))
    b.trades.append(TradePrint("B", CALL, 1.00, 50, SELL))
    b.trade_times.append(NOW - 5 * 10**9)
    ranked = router.rank_posts(BUY, 10, 1.00, b, multiplier=100, tick=0.01, now_ns=NOW)
    assert [r.venue for r in ranked] == ["B", "A"]
    miss = 0.5 * 0.10 * 100 + 0.50                      # half the 0.10 spread on 100 shares, plus the taker fee
    p_a, p_b = sigmoid(-math.log1p(500)), sigmoid(-math.log1p(2) + math.log1p(50))
    assert ranked[1].fill_probability == pytest.approx(p_a)
    assert ranked[0].fill_probability == pytest.approx(p_b)
    assert ranked[1].expected_cost == pytest.approx(p_a * -0.40 + (1 - p_a) * miss)
    assert ranked[0].expected_cost == pytest.approx(p_b * 0.10 + (1 - p_b) * miss)
    assert router.plan_post(BUY, 10, 1.00, b, multiplier=100, tick=0.01, now_ns=NOW) == "B"


def test_trades_that_count_are_against_our_side_at_or_through_our_price_within_30_s():
    b = book(A=([(1.00, 5)], [(1.10, 5)]))
    for price, qty, aggressor, age_s in [(1.00, 900, SELL, 31), (1.00, 40, BUY, 4), (1.01, 100, SELL, 3),
                                         (0.99, 3, SELL, 2), (1.00, 7, SELL, 1)]:      # oldest first, as the tape
        b.trades.append(TradePrint("A", CALL, price, qty, aggressor))
        b.trade_times.append(NOW - age_s * 10**9)
    assert b.traded_at("A", BUY, 1.00, NOW - 30 * 10**9) == 7 + 3      # sells at 1.00 and through it (0.99)
    assert b.traded_at("A", SELL, 1.00, NOW - 30 * 10**9) == 40        # buys at 1.00 (1.01 sold: not ours)
    assert b.traded_at("B", BUY, 1.00, 0) == 0


def test_without_a_model_the_rank_is_fee_then_size_shown_then_name():
    router = sor(None, A=(0.50, -0.25), B=(0.50, -0.40), C=(0.50, -0.40))
    b = book(A=([(1.00, 50)], []), B=([(1.00, 5)], []), C=([(1.00, 9)], []))
    assert [r.venue for r in router.rank_posts(BUY, 10, 1.00, b)] == ["C", "B", "A"]


def test_num_make_exchanges_spreads_the_exposure_over_the_best_venues():
    router = sor(A=(0.50, -0.40), B=(0.50, 0.10), C=(0.50, 0.20))
    b = book(A=([(1.00, 1)], [(1.10, 10)]), B=([(1.00, 1)], [(1.10, 10)]), C=([(1.00, 1)], [(1.10, 10)]))
    plan = router.plan_posts(BUY, 100, 1.00, b, num_venues=2, max_exposure=25, multiplier=100, now_ns=NOW)
    assert [(a.venue, a.qty) for a in plan] == [("A", 13), ("B", 12)]     # 25 shown in all; the best gets the odd one
    plan = router.plan_posts(BUY, 7, 1.00, b, num_venues=5, multiplier=100, now_ns=NOW)
    assert sum(a.qty for a in plan) == 7 and len(plan) == 3              # at most every allowed venue
    plan = router.plan_posts(BUY, 2, 1.00, b, num_venues=3, multiplier=100, now_ns=NOW)
    assert [a.qty for a in plan] == [1, 1]                                # never a zero-sized child


def test_an_unreachable_venue_gets_nothing_until_it_is_back():
    router = sor(A=(0.50, -0.40), B=(0.50, 0.10))
    b = book(A=([(1.00, 1)], [(1.10, 10)]), B=([(1.00, 1)], [(1.10, 10)]))
    router.set_reachable("A", False)
    assert router.plan_post(BUY, 10, 1.00, b, now_ns=NOW) == "B"
    sweep = router.plan_sweep(SweepRequest(BUY, 20, 1.10, 100, ()), b)
    assert {a.venue for a in sweep.allocations} == {"B"}
    router.set_reachable("B", False)
    assert router.plan_post(BUY, 10, 1.00, b, now_ns=NOW) is None
    assert router.plan_sweep(SweepRequest(BUY, 20, 1.10, 100, ()), b).allocations == ()
    router.set_reachable("A", True)
    assert router.plan_post(BUY, 10, 1.00, b, now_ns=NOW) == "A"


def test_the_shipped_model_was_fitted_on_real_data_and_carries_its_held_back_scores():
    model = FillProbability.load(DEFAULT_PATH)
    assert model.source.startswith("LOBSTER_AMZN")
    assert 0 < model.held_back["brier"] < 0.25 and model.held_back["auc"] > 0.6
    p = model.probability([1, 10, 100, 1000], 0, 20, 1)
    assert np.all(np.diff(p) < 0), "more queue ahead, less chance to fill"
    assert np.all(model.probability(10, 0, [0, 10, 100], 1)[1:] > model.probability(10, 0, 0, 1))


def test_expected_time_to_fill_is_the_queue_over_the_trade_rate():
    assert FillProbability.expected_time_to_fill_s(29, 60) == pytest.approx(15.0)   # 30 to go at 2 a second
    assert FillProbability.expected_time_to_fill_s(5, 0) == math.inf


def test_a_broken_model_file_is_named_in_the_error(tmp_path):
    bad = tmp_path / "fp.json"
    bad.write_text('{"queue_model": "x"}')
    with pytest.raises(ValueError, match="fp.json: not a fill-probability model"):
        FillProbability.load(bad)


def test_a_venue_gets_only_what_it_lists():
    schedule = FeeSchedule([VenueFees(v, 0.5, -0.2) for v in ("XCBO", "DRBT", "OKXO")])
    router = SmartOrderRouter(schedule, {v: LATENCY for v in ("XCBO", "DRBT", "OKXO")}, fill_model=None,
                              listings={"XCBO": {CALL}, "DRBT": {"BTC-25DEC26-100000-C"}, "OKXO": set()})
    btc = InstrumentBook("BTC-25DEC26-100000-C")
    assert router.candidates(CALL) == ["XCBO"]
    assert router.candidates("BTC-25DEC26-100000-C") == ["DRBT"]
    assert router.plan_post(BUY, 1, 0.05, btc) == "DRBT"
    assert router.plan_post(BUY, 1, 0.05, btc, ("XCBO", "OKXO")) is None


def test_on_the_engine_crypto_and_us_orders_post_only_where_listed():
    from tests.harness import Harness
    h = Harness()
    sor = h.system.engine.sor
    securities = h.system.securities
    btc_option = next(i for i in securities.options() if i.symbol.startswith("BTC-"))
    us_option = next(i for i in securities.options() if not i.symbol.startswith("BTC-"))
    assert set(sor.candidates(btc_option.symbol)) == {"DRBT", "OKXO"}
    assert set(sor.candidates("BTCUSDT")) == {"BNPF"}
    assert "DRBT" not in sor.candidates(us_option.symbol) and "XCBO" in sor.candidates(us_option.symbol)
    assert set(sor.candidates("AAPL")) == {"XNAS"}
