"""Pricing: parity, greeks against finite differences, implied vol accuracy and flags, overrides."""
from __future__ import annotations

import math

import numpy as np
import pytest

from router.market import pricing
from router.market.dividends import apply_overrides, escrowed_spot, parse_discrete_dividends
from router.market.pricing import (
    IVFlag, black76, bsm, bsm_price_delta, implied_vol, norm_cdf,
)

SPOT, RATE, DIV = 100.0, 0.03, 0.01


def option_grid() -> tuple[np.ndarray, ...]:
    """Strikes 0.3x..3x spot, a week to two years, 5%..150% vol, calls and puts."""
    strikes = SPOT * np.geomspace(0.3, 3.0, 41)
    years = np.array([1 / 52, 1 / 12, 0.25, 0.5, 1.0, 2.0])
    vols = np.array([0.05, 0.1, 0.2, 0.35, 0.6, 1.0, 1.5])
    k, t, v, c = np.meshgrid(strikes, years, vols, [True, False], indexing="ij")
    return k.ravel(), t.ravel(), v.ravel(), c.ravel()


def well_conditioned(price: np.ndarray, vega: np.ndarray) -> np.ndarray:
    """Where rounding the price to a double (a few ulps) moves the implied vol by under 1e-10.

    Elsewhere (deep in the money with no time value left, or subnormal prices) no method can
    recover the vol to 1e-8 from a double-precision price.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return (price > 0.0) & (vega > 0.0) & (4.0 * np.spacing(price) / vega < 1e-10)


# --- prices and greeks ---------------------------------------------------------------------


def test_put_call_parity_bsm() -> None:
    k, t, v, _ = option_grid()
    call = bsm(SPOT, k, t, v, True, RATE, DIV)
    put = bsm(SPOT, k, t, v, False, RATE, DIV)
    parity = SPOT * np.exp(-DIV * t) - k * np.exp(-RATE * t)
    np.testing.assert_allclose(call.price - put.price, parity, rtol=1e-12, atol=1e-11)
    np.testing.assert_allclose(call.delta - put.delta, np.exp(-DIV * t), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(call.gamma, put.gamma, rtol=1e-12)
    np.testing.assert_allclose(call.vega, put.vega, rtol=1e-12)


def test_put_call_parity_black76() -> None:
    k, t, v, _ = option_grid()
    forward = 101.5
    call = black76(forward, k, t, v, True, RATE)
    put = black76(forward, k, t, v, False, RATE)
    np.testing.assert_allclose(call.price - put.price, np.exp(-RATE * t) * (forward - k),
                               rtol=1e-12, atol=1e-11)
    np.testing.assert_allclose(call.delta - put.delta, np.exp(-RATE * t), rtol=1e-12)


def test_black76_is_bsm_with_the_rate_as_yield() -> None:
    k, t, v, c = option_grid()
    b76 = black76(SPOT, k, t, v, c, RATE)
    same = bsm(SPOT, k, t, v, c, RATE, RATE)
    for name in ("price", "delta", "gamma", "vega", "theta"):
        np.testing.assert_allclose(getattr(b76, name), getattr(same, name), rtol=1e-12, atol=1e-14)


def test_known_value() -> None:
    # Hull, Options, Futures and Other Derivatives: S=42, K=40, r=10%, σ=20%, T=0.5.
    g = bsm(42.0, 40.0, 0.5, 0.2, np.array([True, False]), 0.10)
    np.testing.assert_allclose(g.price, [4.759422392871532, 0.8085993729000922], rtol=1e-12)


def _greeks_grid() -> tuple[np.ndarray, ...]:
    strikes = SPOT * np.array([0.6, 0.85, 1.0, 1.15, 1.6])
    years = np.array([1 / 52, 0.25, 1.0, 2.0])
    vols = np.array([0.1, 0.3, 0.8])
    k, t, v, c = np.meshgrid(strikes, years, vols, [True, False], indexing="ij")
    return k.ravel(), t.ravel(), v.ravel(), c.ravel()


@pytest.mark.parametrize("model", ["bsm", "black76"])
def test_greeks_match_central_differences(model: str) -> None:
    k, t, v, c = _greeks_grid()

    def price(under: np.ndarray | float, years: np.ndarray, vol: np.ndarray) -> np.ndarray:
        if model == "bsm":
            return bsm(under, k, years, vol, c, RATE, DIV).price
        return black76(under, k, years, vol, c, RATE).price

    g = bsm(SPOT, k, t, v, c, RATE, DIV) if model == "bsm" else black76(SPOT, k, t, v, c, RATE)
    ds, dg, dv, dt = 1e-5 * SPOT, 2e-4 * SPOT, 1e-5, 1e-6
    delta = (price(SPOT + ds, t, v) - price(SPOT - ds, t, v)) / (2 * ds)
    gamma = (price(SPOT + dg, t, v) - 2 * price(SPOT, t, v) + price(SPOT - dg, t, v)) / dg**2
    vega = (price(SPOT, t, v + dv) - price(SPOT, t, v - dv)) / (2 * dv)
    theta = -(price(SPOT, t + dt, v) - price(SPOT, t - dt, v)) / (2 * dt)
    np.testing.assert_allclose(g.delta, delta, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(g.gamma, gamma, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(g.vega, vega, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(g.theta, theta, rtol=1e-6, atol=1e-5)


def test_deep_out_of_the_money_prices_keep_relative_precision() -> None:
    # Both far wings are priced directly, with no 1 - Φ cancellation for puts or calls, so
    # even prices of 1e-30 carry the vol to full precision.
    strikes, is_call = np.array([30.0, 300.0]), np.array([False, True])
    g = bsm(SPOT, strikes, 0.25, 0.2, is_call)
    assert np.all(g.price > 0.0) and np.all(g.price < 1e-20)
    result = implied_vol(g.price, SPOT, strikes, 0.25, is_call)
    np.testing.assert_allclose(result.vol, 0.2, rtol=1e-12)


def test_scalars_broadcast_and_price_delta_shim() -> None:
    g = bsm(100.0, 100.0, 1.0, 0.2, True)
    assert g.price.shape == () and abs(float(g.price) - 7.965567455405804) < 1e-12
    strikes = np.array([90.0, 100.0, 110.0])
    price, delta = bsm_price_delta(100.0, strikes, np.full(3, 0.5), 0.25, np.array([True, False, True]), 0.02)
    full = bsm(100.0, strikes, 0.5, 0.25, np.array([True, False, True]), 0.02)
    np.testing.assert_array_equal(price, full.price)
    np.testing.assert_array_equal(delta, full.delta)


def test_norm_cdf_matches_erfc_deep_into_the_tail() -> None:
    z = np.linspace(-37.0, 8.0, 20001)
    exact = np.array([0.5 * math.erfc(-v / math.sqrt(2.0)) for v in z])
    np.testing.assert_allclose(norm_cdf(z), exact, rtol=1e-12, atol=0.0)


# --- implied volatility --------------------------------------------------------------------


def test_implied_vol_round_trip_bsm() -> None:
    k, t, v, c = option_grid()
    g = bsm(SPOT, k, t, v, c, RATE, DIV)
    result = implied_vol(g.price, SPOT, k, t, c, RATE, DIV)
    good = well_conditioned(g.price, g.vega)
    assert good.sum() > 0.75 * good.size
    assert np.all(result.flag[good] == IVFlag.OK)
    assert np.max(np.abs(result.vol[good] - v[good])) < 1e-8
    ok = result.flag == IVFlag.OK
    assert not np.isnan(result.vol[ok]).any()


def test_implied_vol_round_trip_black76() -> None:
    k, t, v, c = option_grid()
    forward = 98.0
    g = black76(forward, k, t, v, c, RATE)
    result = implied_vol(g.price, forward, k, t, c, RATE, model="black76")
    good = well_conditioned(g.price, g.vega)
    assert np.all(result.flag[good] == IVFlag.OK)
    assert np.max(np.abs(result.vol[good] - v[good])) < 1e-8


def test_implied_vol_extremes_round_trip() -> None:
    vols = np.array([0.001, 0.01, 3.0, 5.0])
    for strike in (SPOT, 0.7 * SPOT, 1.4 * SPOT):  # exactly at the money too (x = 0 after carry)
        g = black76(SPOT, strike, 0.5, vols, True)
        result = implied_vol(g.price, SPOT, strike, 0.5, True, model="black76")
        good = well_conditioned(g.price, g.vega)
        assert np.max(np.abs(result.vol - vols)[good]) < 1e-8


def test_implied_vol_agrees_with_lets_be_rational() -> None:
    lbr = pytest.importorskip("py_lets_be_rational", reason="py_lets_be_rational not installed")
    k, t, v, c = option_grid()
    g = bsm(SPOT, k, t, v, c, RATE, DIV)
    ours = implied_vol(g.price, SPOT, k, t, c, RATE, DIV).vol
    forward = SPOT * np.exp((RATE - DIV) * t)
    undiscounted = g.price * np.exp(RATE * t)
    good = well_conditioned(g.price, g.vega)
    theirs = np.full(k.size, np.nan)
    for i in np.flatnonzero(good):
        theirs[i] = lbr.implied_volatility_from_a_transformed_rational_guess(
            undiscounted[i], forward[i], k[i], t[i], 1.0 if c[i] else -1.0)
    assert np.max(np.abs(ours[good] - theirs[good])) < 1e-9  # 1.3e-10 measured


def test_no_nan_anywhere_inside_the_bounds() -> None:
    rng = np.random.default_rng(7)
    n = 20_000
    k = SPOT * np.exp(rng.uniform(np.log(0.3), np.log(3.0), n))
    t = np.exp(rng.uniform(np.log(1 / 52), np.log(2.0), n))
    c = rng.random(n) < 0.5
    discount_s, discount_k = SPOT * np.exp(-DIV * t), k * np.exp(-RATE * t)
    lower = np.maximum(np.where(c, discount_s - discount_k, discount_k - discount_s), 0.0)
    upper = np.where(c, discount_s, discount_k)
    u = np.concatenate([rng.random(n - 4000), np.full(2000, 1e-9), np.full(2000, 1 - 1e-9)])
    price = lower + u * (upper - lower)
    inside = (price > lower) & (price < upper)
    result = implied_vol(price, SPOT, k, t, c, RATE, DIV)
    assert np.all(result.flag[inside] == IVFlag.OK)
    vol = result.vol[inside]
    assert np.all(np.isfinite(vol)) and np.all(vol >= 0.0)
    # Where the answer is representable, it reprices.
    back = bsm(SPOT, k[inside], t[inside], vol, c[inside], RATE, DIV).price
    np.testing.assert_allclose(back, price[inside], rtol=1e-9, atol=1e-9)


def test_flags_outside_the_bounds() -> None:
    t = 0.5
    intrinsic_call = SPOT * math.exp(-DIV * t) - 80.0 * math.exp(-RATE * t)
    cases = [  # price, strike, years, is_call, flag
        (intrinsic_call - 0.01, 80.0, t, True, IVFlag.BELOW_INTRINSIC),
        (SPOT * math.exp(-DIV * t), 120.0, t, True, IVFlag.ABOVE_MAXIMUM),
        (SPOT, 120.0, t, True, IVFlag.ABOVE_MAXIMUM),
        (120.0 * math.exp(-RATE * t), 80.0, t, False, IVFlag.ABOVE_MAXIMUM),
        (1.0, 100.0, 0.0, True, IVFlag.BAD_INPUT),
        (1.0, 100.0, -0.1, True, IVFlag.BAD_INPUT),
        (0.0, 100.0, t, True, IVFlag.BAD_INPUT),
        (-1.0, 100.0, t, False, IVFlag.BAD_INPUT),
        (math.nan, 100.0, t, False, IVFlag.BAD_INPUT),
        (1.0, 0.0, t, False, IVFlag.BAD_INPUT),
    ]
    price, strike, years, is_call, expected = (np.array(col) for col in zip(*cases))
    result = implied_vol(price, SPOT, strike, years, is_call, RATE, DIV)
    np.testing.assert_array_equal(result.flag, expected)
    assert result.flag.dtype == np.int8
    assert np.all(np.isnan(result.vol[expected != IVFlag.OK]))
    # Exactly the intrinsic value (exact in floating point with no carry) is zero vol, not a flag.
    at_intrinsic = implied_vol(np.array([20.0, 15.0]), SPOT, np.array([80.0, 115.0]), t, np.array([True, False]))
    np.testing.assert_array_equal(at_intrinsic.flag, [IVFlag.OK, IVFlag.OK])
    np.testing.assert_array_equal(at_intrinsic.vol, [0.0, 0.0])


def test_implied_vol_scalar_and_argument_checks() -> None:
    price = float(bsm(SPOT, 105.0, 0.3, 0.27, False, RATE, DIV).price)
    result = implied_vol(price, SPOT, 105.0, 0.3, False, RATE, DIV)
    assert result.vol.shape == () and abs(float(result.vol) - 0.27) < 1e-12
    with pytest.raises(ValueError, match="model"):
        implied_vol(price, SPOT, 105.0, 0.3, False, model="sabr")  # type: ignore[arg-type]
    forward_price = float(black76(SPOT, 105.0, 0.3, 0.27, False, RATE).price)
    ignored_yield = implied_vol(forward_price, SPOT, 105.0, 0.3, False, RATE, 0.05, model="black76")
    assert abs(float(ignored_yield.vol) - 0.27) < 1e-12  # the forward already carries any yield


def test_large_batches_match_small_ones() -> None:
    # The kernels run in chunks (greeks) and blocks (implied vol), and the solver sorts options
    # by branch within a block; neither a boundary nor the company must change any answer.
    rng = np.random.default_rng(3)
    n = 20_001
    k = SPOT * rng.uniform(0.5, 2.0, n)
    t = rng.uniform(0.02, 2.0, n)
    v = rng.uniform(0.1, 0.9, n)
    c = rng.random(n) < 0.5
    whole = bsm(SPOT, k, t, v, c, RATE, DIV)
    iv_whole = implied_vol(whole.price, SPOT, k, t, c, RATE, DIV)
    for i in (0, 4095, 4096, 8191, 8192, 16384, n - 1):
        one = bsm(SPOT, k[i], t[i], v[i], c[i], RATE, DIV)
        assert one.price == whole.price[i] and one.theta == whole.theta[i]
        assert implied_vol(one.price, SPOT, k[i], t[i], c[i], RATE, DIV).vol == iv_whole.vol[i]
    reversed_ = implied_vol(whole.price[::-1], SPOT, k[::-1], t[::-1], c[::-1], RATE, DIV)
    np.testing.assert_array_equal(reversed_.vol[::-1], iv_whole.vol)


def test_implied_vol_input_kinds_agree_and_compile_once() -> None:
    # Scalars, lists, ints, read-only, strided and 2-d inputs all reach the compiled solver as
    # one signature (a second one would cost seconds of compiling), with the same answers.
    k = np.array([80.0, 95.0, 100.0, 105.0, 120.0, 150.0])
    c = np.array([False, False, True, True, True, False])
    t = np.full(6, 0.75)
    price = bsm(SPOT, k, t, 0.3, c, RATE, DIV).price
    expected = implied_vol(price, np.full(6, SPOT), k, t, c, np.full(6, RATE), np.full(6, DIV)).vol
    np.testing.assert_allclose(expected, 0.3, rtol=1e-12)
    strided = np.empty(12)
    strided[::2] = k
    read_only = price.copy()
    read_only.flags.writeable = False
    variants = [
        implied_vol(price, SPOT, k, t, c, RATE, DIV).vol,
        implied_vol(list(price), int(SPOT), list(k), 0.75, list(c), RATE, DIV).vol,
        implied_vol(read_only, SPOT, strided[::2], t, c.astype(int), RATE, DIV).vol,
        implied_vol(price.reshape(2, 3), SPOT, k.reshape(2, 3), t.reshape(2, 3), c.reshape(2, 3),
                    RATE, DIV).vol.ravel(),
    ]
    for vol in variants:
        np.testing.assert_array_equal(vol, expected)
    assert len(pricing._iv_loop.signatures) == 1


def test_prices_at_the_callers_intrinsic_are_zero_vol() -> None:
    # The bounds use numpy's exp, as callers do: a discounted intrinsic value computed with
    # numpy is exactly the lower bound (vol 0), however much S·e^{-qT} - K·e^{-rT} cancels.
    rng = np.random.default_rng(5)
    n = 5000
    spot = rng.uniform(10.0, 500.0, n)
    k = spot * rng.uniform(0.5, 1.5, n)
    t = rng.uniform(0.01, 3.0, n)
    r, q = rng.uniform(-0.01, 0.08, n), rng.uniform(0.0, 0.05, n)
    c = rng.random(n) < 0.5
    s_pv, k_pv = spot * np.exp(-q * t), k * np.exp(-r * t)
    intrinsic = np.where(c, s_pv - k_pv, k_pv - s_pv)
    itm = intrinsic > 0.0
    result = implied_vol(intrinsic[itm], spot[itm], k[itm], t[itm], c[itm], r[itm], q[itm])
    assert np.all(result.flag == IVFlag.OK)
    np.testing.assert_array_equal(result.vol, 0.0)
    below = implied_vol(intrinsic[itm] * (1.0 - 1e-9), spot[itm], k[itm], t[itm], c[itm], r[itm], q[itm])
    assert np.all(below.flag == IVFlag.BELOW_INTRINSIC)


def test_implied_vol_near_underflow_stays_finite() -> None:
    # Normalised time values down to the subnormals go through the bracketed fallback.
    strikes = np.array([20.0, 25.0, 400.0, 500.0])
    is_call = np.array([False, False, True, True])
    for price in (1e-200, 1e-300, 1e-310):
        result = implied_vol(price, SPOT, strikes, 0.5, is_call, RATE, DIV)
        assert np.all(result.flag == IVFlag.OK)
        assert np.all(np.isfinite(result.vol)) and np.all(result.vol > 0.0)
        back = bsm(SPOT, strikes, 0.5, result.vol, is_call, RATE, DIV).price
        np.testing.assert_allclose(back, price, rtol=1e-6)


# --- overrides -----------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("[0.25:0.50,0.75:0.55]", [(0.25, 0.5), (0.75, 0.55)]),
    ("0.75:0.55, 0.25:0.50", [(0.25, 0.5), (0.75, 0.55)]),
    (" [ 0.1:1 ] ", [(0.1, 1.0)]),
    ("0.1:1 0.6:1.25", [(0.1, 1.0), (0.6, 1.25)]),
    ("", []),
    ("[]", []),
])
def test_parse_discrete_dividends(text: str, expected: list[tuple[float, float]]) -> None:
    assert parse_discrete_dividends(text) == expected


@pytest.mark.parametrize("text, reason", [
    ("0.25", "not years:amount"),
    ("0.25:0.5:1", "not years:amount"),
    ("a:0.5", "not two numbers"),
    ("0.25:x", "not two numbers"),
    ("-0.25:0.5", "years"),
    ("0.25:-0.5", "amount"),
    ("0.25:nan", "amount"),
    ("[0.25:0.5", "unbalanced"),
])
def test_parse_discrete_dividends_rejects(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as err:
        parse_discrete_dividends(text)
    assert "DDivOverride" in str(err.value)


def test_escrowed_spot_counts_dividends_before_each_expiry() -> None:
    divs = [(0.25, 1.0), (0.75, 2.0)]
    years = np.array([0.1, 0.5, 1.0])
    spot = escrowed_spot(100.0, divs, years, 0.04)
    expected = [100.0, 100.0 - math.exp(-0.01), 100.0 - math.exp(-0.01) - 2.0 * math.exp(-0.03)]
    np.testing.assert_allclose(spot, expected, rtol=1e-15)


def test_apply_overrides_rate() -> None:
    base = dict(years=1.0, sdiv_override=None, ddiv_override=None, override_code=None)
    assert apply_overrides(100.0, 0.03, 0.01, **base).rate == 0.03
    assert apply_overrides(100.0, 0.03, 0.01, rate_override=0.0, **base).rate == 0.03  # 0 = ignore
    assert apply_overrides(100.0, 0.03, 0.01, rate_override=0.05, **base).rate == 0.05
    with pytest.raises(ValueError, match="RateOverride"):
        apply_overrides(100.0, 0.03, 0.01, rate_override=-0.01, **base)


def test_apply_overrides_dividend_codes() -> None:
    market_divs = [(0.5, 1.0)]
    years = np.array([0.25, 1.0])

    def run(code: str | None, sdiv: float | None = 0.02, ddiv: str | None = "[0.1:2.0]"):
        return apply_overrides(100.0, 0.03, 0.01, market_divs, years=years, rate_override=0.04,
                               sdiv_override=sdiv, ddiv_override=ddiv, override_code=code)

    pv = 2.0 * math.exp(-0.04 * 0.1)
    only_yield = run("S")
    assert only_yield.div_yield == 0.02 and only_yield.rate == 0.04
    np.testing.assert_array_equal(only_yield.spot, [100.0, 100.0])  # discrete dividends dropped
    only_discrete = run("D")
    assert only_discrete.div_yield == 0.0
    np.testing.assert_allclose(only_discrete.spot, [100.0 - pv, 100.0 - pv])
    both = run("B")
    assert both.div_yield == 0.02
    np.testing.assert_allclose(both.spot, [100.0 - pv, 100.0 - pv])
    assert run(None).div_yield == 0.02  # absent code: both, like B
    market = run("B", sdiv=None, ddiv=None)  # no overrides: the market's yield and dividends
    assert market.div_yield == 0.01
    np.testing.assert_allclose(market.spot, [100.0, 100.0 - math.exp(-0.04 * 0.5)])
    spot, rate, div_yield = run("d")  # unpacks like a tuple; the code is case-insensitive
    assert div_yield == 0.0 and rate == 0.04
    with pytest.raises(ValueError, match="srOverrideCode"):
        run("X")
    with pytest.raises(ValueError, match="DDivOverride"):
        run("D", ddiv="0.1;2")
    with pytest.raises(ValueError, match="exceed the spot"):
        run("D", ddiv="[0.1:60,0.2:60]")


def test_overrides_feed_pricing() -> None:
    years = np.array([0.25, 0.75])
    inputs = apply_overrides(100.0, 0.03, 0.0, years=years, ddiv_override="[0.5:3.0]", override_code="D")
    g = bsm(inputs.spot, 100.0, years, 0.25, True, inputs.rate, inputs.div_yield)
    assert g.price[0] == bsm(100.0, 100.0, 0.25, 0.25, True, 0.03).price
    assert g.price[1] < bsm(100.0, 100.0, 0.75, 0.25, True, 0.03).price  # the dividend lowers the call
