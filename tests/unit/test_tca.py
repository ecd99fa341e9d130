"""TCA metrics on hand-computed scenarios (router/tca): every figure below is worked out by hand
from the rows the test writes."""
from __future__ import annotations

import math

import numpy as np
import pytest

from router.tca import TcaInput, algo_summary, fill_metrics, hedge_summary, parent_metrics, time_weighted_mid
from router.tca.load import parse_since

S = 1_000_000_000
CALL = "AAPL  261218C00200000"
MULTIPLIERS = {CALL: 100.0, "AAPL": 1.0}


def parent(order_id="P1", *, side="1", qty=10, algo="sweep", bid=4.90, ask=5.10, created=0, expire=None):
    return {"order_id": order_id, "algo_name": algo, "side": side, "qty": qty, "created_ns": created,
            "expire_ns": expire, "arrival_bid": bid, "arrival_ask": ask, "symbol": CALL}


def fill(exec_id, qty, price, *, parent_id="P1", fee=0.0, liquidity="R", ts=S, role="W", side="1", symbol=CALL):
    return {"venue": "XCBO", "exec_id": exec_id, "parent_id": parent_id, "qty": qty, "price": price, "fee": fee,
            "liquidity": liquidity, "ts_ns": ts, "role": role, "side": side, "symbol": symbol}


def mark(exec_id, mid, later=(None, None, None, None)):
    return {"venue": "XCBO", "exec_id": exec_id, "mid": mid,
            **{f"mid_{h}s": m for h, m in zip((1, 10, 60, 600), later)}}


def data(parents, fills, marks=(), parent_marks=()):
    return TcaInput.from_rows(parents, fills, marks, parent_marks, MULTIPLIERS)


def test_a_fill_at_the_arrival_mid_has_zero_shortfall():
    d = data([parent()], [fill("E1", 10, 5.00)], [mark("E1", 5.00)])
    fills, parents = fill_metrics(d), parent_metrics(d)
    assert fills.shortfall[0] == pytest.approx(0.0) and fills.shortfall_half_spread[0] == pytest.approx(0.0)
    assert parents.cost[0] == pytest.approx(0.0) and fills.effective_spread[0] == pytest.approx(0.0)


def test_paying_the_ask_costs_the_half_spread_and_a_sell_below_the_mid_costs_too():
    d = data([parent(), parent("P2", side="2")],
             [fill("E1", 10, 5.10), fill("E2", 4, 4.95, parent_id="P2", side="2")])
    fills, parents = fill_metrics(d), parent_metrics(d)
    assert fills.shortfall.tolist() == pytest.approx([10.0, 5.0])              # (5.10-5.00)x100, (5.00-4.95)x100
    assert fills.shortfall_half_spread.tolist() == pytest.approx([1.0, 0.5])   # half-spread 0.10
    assert parents.cost_half_spread.tolist() == pytest.approx([1.0, 0.5])


def test_a_passive_buy_filled_just_before_a_down_move_has_a_negative_1s_markout():
    d = data([parent()], [fill("E1", 10, 4.90, liquidity="A"), fill("E2", 5, 5.10, ts=2 * S)],
             [mark("E1", 5.00, (4.95, 4.90, 4.90, 5.00)), mark("E2", 4.90, (5.00, 5.00, 5.00, 5.00))])
    fills = fill_metrics(d)
    assert fills.markouts[0].tolist() == pytest.approx([-5.0, -10.0, -10.0, 0.0])   # (mid later - 5.00) x 100
    summary, = algo_summary(d)
    assert summary.markouts_passive[1] == pytest.approx(-5.0)
    assert summary.markouts_aggressive[1] == pytest.approx(10.0)
    assert summary.markouts[1] == pytest.approx((10 * -5.0 + 5 * 10.0) / 15)
    assert summary.passive_share == pytest.approx(10 / 15)


def test_realised_spread_is_the_effective_spread_less_twice_the_markout_at_its_horizon():
    d = data([parent()], [fill("E1", 3, 5.05), fill("E2", 2, 4.95, liquidity="A")],
             [mark("E1", 5.02, (5.0, 5.1, 5.07, 5.2)), mark("E2", 5.01, (5.0, 4.9, 4.96, 5.3))])
    fills = fill_metrics(d, realised_horizon_s=60)
    assert fills.effective_spread.tolist() == pytest.approx([6.0, -12.0])
    assert fills.realised_spread.tolist() == pytest.approx([-4.0, -2.0])            # 2 x (5.05-5.07) x 100 ...
    assert np.allclose(fills.realised_spread, fills.effective_spread - 2 * fills.markouts[:, 2])


def test_fees_and_rebates_add_up_per_contract():
    d = data([parent()], [fill("E1", 6, 5.00, fee=2.94), fill("E2", 4, 5.00, fee=-0.80, liquidity="A")])
    parents = parent_metrics(d)
    assert parents.fees_per_contract[0] == pytest.approx((2.94 - 0.80) / 10)
    assert parents.cost[0] == pytest.approx(0.214)                  # at the mid: the fees are the whole cost
    summary, = algo_summary(d)
    assert summary.fees_per_contract == pytest.approx(0.214) and summary.cost_mean == pytest.approx(0.214)
    assert fill_metrics(d).fee_per_contract.tolist() == pytest.approx([0.49, -0.20])


def test_qwap_of_a_hand_made_path_and_the_pnl_against_it():
    times = np.array([0, 2, 3, 7]) * S
    mids = np.array([5.0, np.nan, 5.2, 5.1])                 # one-sided from 2 s to 3 s: not counted
    qwap = time_weighted_mid(times, mids, 1 * S, 9 * S)
    assert qwap == pytest.approx((5.0 * 1 + 5.2 * 4 + 5.1 * 2) / 7)
    assert math.isnan(time_weighted_mid(times, mids, 2 * S, 3 * S))
    d = data([parent(), parent("P2", side="2")],
             [fill("E1", 10, 5.10), fill("E2", 10, 5.10, parent_id="P2", side="2")],
             parent_marks=[{"order_id": "P1", "qwap": qwap}, {"order_id": "P2", "qwap": qwap}])
    pnl = parent_metrics(d).pnl_vs_qwap
    assert pnl.tolist() == pytest.approx([(qwap - 5.10) * 100, (5.10 - qwap) * 100])


def test_fill_rate_within_the_duration_and_time_to_fill():
    d = data([parent(expire=60 * S), parent("P2", qty=5)],
             [fill("E1", 4, 5.0, ts=10 * S), fill("E2", 3, 5.0, ts=30 * S), fill("E3", 3, 5.0, ts=90 * S),
              fill("E4", 2, 5.0, parent_id="P2", ts=20 * S)])
    parents = parent_metrics(d)
    assert parents.fill_rate.tolist() == pytest.approx([0.7, 0.4])    # the fill at 90 s came after the expiry
    assert parents.time_to_fill_s[0] == pytest.approx(90.0) and math.isnan(parents.time_to_fill_s[1])
    assert parents.time_to_first_fill_s.tolist() == pytest.approx([10.0, 20.0])
    summary, = algo_summary(d)
    assert summary.fill_rate == pytest.approx(9 / 15) and summary.time_to_fill_median_s == pytest.approx(90.0)


def test_hedge_fills_are_kept_apart_from_the_option_cost():
    option = [fill("E1", 10, 5.05, fee=1.0)]
    hedge = [fill("H1", 300, 200.02, fee=0.30, role="H", symbol="AAPL", ts=2 * S)]
    marks = [mark("E1", 5.0), mark("H1", 200.00, (199.99, 200.0, 200.0, 200.0))]
    alone, hedged = data([parent()], option, marks), data([parent()], option + hedge, marks)
    a, = algo_summary(alone)
    b, = algo_summary(hedged)
    assert (b.cost_mean, b.contracts, b.fees_per_contract) == pytest.approx((a.cost_mean, 10, 0.1))
    assert b.cost_mean == pytest.approx(5.0 + 0.1)
    assert hedge_summary(alone) == []
    h, = hedge_summary(hedged)
    assert (h.fills, h.shares) == (1, 300.0)
    assert h.slippage_per_share == pytest.approx(0.02) and h.fees_per_share == pytest.approx(0.001)
    assert h.markouts[1] == pytest.approx(-0.01)


def test_algos_are_summarised_apart_with_the_mean_weighted_by_contracts_and_the_median_over_parents():
    d = data([parent(), parent("P2", qty=1), parent("P3", algo="volatility")],
             [fill("E1", 10, 5.10), fill("E2", 1, 5.00, parent_id="P2"), fill("E3", 10, 4.95, parent_id="P3")])
    sweep, vol = algo_summary(d)
    assert (sweep.algo, sweep.parents, vol.algo) == ("sweep", 2, "volatility")
    assert sweep.cost_mean == pytest.approx(100 / 11) and sweep.cost_median == pytest.approx(5.0)
    assert vol.cost_mean == pytest.approx(-5.0)


def test_since_takes_an_iso_time_or_a_duration_and_names_the_option_when_it_is_neither():
    now = 1_800_000_000 * S
    assert parse_since("2h", now) == now - 7200 * S and parse_since("90s", now) == now - 90 * S
    assert parse_since("2026-11-20T15:00:00Z", now) == 1795186800 * S
    assert parse_since("2026-11-20T15:00:00", now) == 1795186800 * S          # UTC when no zone is given
    with pytest.raises(ValueError, match="--since 'yesterday'"):
        parse_since("yesterday", now)
