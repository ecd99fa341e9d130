"""Black-Scholes-Merton and Black-76 prices, greeks and implied volatility, vectorised with numpy.

Every function takes arrays of options (scalars broadcast) and returns arrays. Conventions:
- `years` is the year fraction to expiry; `vol` is annualised (0.20 = 20%);
- `rate` and `div_yield` are continuously compounded;
- vega is per 1.00 of vol (divide by 100 for one vol point);
- theta is the change in value per year of calendar time (divide by 365 for one day);
- BSM delta and gamma are with respect to spot, Black-76 ones with respect to the forward.

Implied volatility follows Peter Jäckel, "Let's be rational" (Wilmott, 2015): map every option
to an out-of-the-money normalised Black call b(x, s) with x = ln(F/K) <= 0 and s = vol·√T,
start from his rational-cubic guess on one of four branches, then take Householder(3) steps on
an objective that is close to linear in s on that branch. Two steps reach machine precision
almost everywhere; the few stragglers go on inside a bracket with bisection as the fallback.
The normal tails use W. J. Cody's rational approximations, so deep out-of-the-money prices keep
full relative precision. numpy has no erf, and this costs one exp per pair of normal CDFs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

import numpy as np

from router.market.dividends import PricingInputs, apply_overrides, parse_discrete_dividends

__all__ = [
    "Greeks", "IVFlag", "IVResult", "PricingInputs", "apply_overrides", "black76", "bsm",
    "bsm_price_delta", "implied_vol", "norm_cdf", "parse_discrete_dividends",
]

ArrayLike = np.ndarray | float  # scalars broadcast against arrays

_SQRT2 = math.sqrt(2.0)
_SQRT3 = math.sqrt(3.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)
_EPS = np.finfo(float).eps
_TINY = np.finfo(float).tiny


@dataclass(frozen=True, slots=True)
class Greeks:
    price: np.ndarray
    delta: np.ndarray
    gamma: np.ndarray
    vega: np.ndarray   # per 1.00 of vol
    theta: np.ndarray  # per year


class IVFlag(IntEnum):
    OK = 0
    BELOW_INTRINSIC = 1  # below the no-arbitrage lower bound (discounted intrinsic)
    ABOVE_MAXIMUM = 2    # at or above the upper bound (discounted forward for calls, strike for puts)
    BAD_INPUT = 3        # non-positive time, price, underlier or strike (or NaN)


@dataclass(frozen=True, slots=True)
class IVResult:
    vol: np.ndarray   # NaN where flag != OK
    flag: np.ndarray  # IVFlag codes, int8


# ---------------------------------------------------------------------------------------------
# Normal distribution

# W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 1969,
# highest power first: erf on [0, 0.46875], erfcx on [0.46875, 4] and on [4, inf) in 1/y².
_ERF_NUM = (1.85777706184603153e-1, 3.16112374387056560, 1.13864154151050156e2,
            3.77485237685302021e2, 3.20937758913846947e3)
_ERF_DEN = (1.0, 2.36012909523441209e1, 2.44024637934444173e2, 1.28261652607737228e3,
            2.84423683343917062e3)
_ERFCX_MID_NUM = (2.15311535474403846e-8, 5.64188496988670089e-1, 8.88314979438837594,
                  6.61191906371416295e1, 2.98635138197400131e2, 8.81952221241769090e2,
                  1.71204761263407058e3, 2.05107837782607147e3, 1.23033935479799725e3)
_ERFCX_MID_DEN = (1.0, 1.57449261107098347e1, 1.17693950891312499e2, 5.37181101862009858e2,
                  1.62138957456669019e3, 3.29079923573345963e3, 4.36261909014324716e3,
                  3.43936767414372164e3, 1.23033935480374942e3)
_ERFCX_BIG_NUM = (1.63153871373020978e-2, 3.05326634961232344e-1, 3.60344899949804439e-1,
                  1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4)
_ERFCX_BIG_DEN = (1.0, 2.56852019228982242, 1.87295284992346725, 5.27905102951428412e-1,
                  6.05183413124413191e-2, 2.33520497626869185e-3)


def _horner(coeffs: tuple[float, ...], y: np.ndarray) -> np.ndarray:
    acc = coeffs[0] * y
    for c in coeffs[1:-1]:
        acc += c
        acc *= y
    acc += coeffs[-1]
    return acc


def _erfc(y: np.ndarray, gauss: np.ndarray) -> np.ndarray:
    """erfc(y) for y >= 0, given gauss = exp(-y²) so callers can share one exponential."""
    shape = np.shape(y)
    y, gauss = np.ravel(y), np.broadcast_to(gauss, shape).ravel()
    out = np.empty_like(y)
    small_mask, big_mask = y < 0.46875, y > 4.0
    small = np.flatnonzero(small_mask)
    big = np.flatnonzero(big_mask)
    mid = np.flatnonzero(~(small_mask | big_mask))  # NaN lands here and stays NaN
    if small.size:
        ys = y[small]
        y2 = ys * ys
        out[small] = 1.0 - ys * _horner(_ERF_NUM, y2) / _horner(_ERF_DEN, y2)
    if mid.size:
        ym = y[mid]
        out[mid] = gauss[mid] * _horner(_ERFCX_MID_NUM, ym) / _horner(_ERFCX_MID_DEN, ym)
    if big.size:
        yb = y[big]
        z = 1.0 / (yb * yb)
        tail = z * _horner(_ERFCX_BIG_NUM, z) / _horner(_ERFCX_BIG_DEN, z)
        out[big] = gauss[big] * (_INV_SQRT_PI - tail) / yb
    return out.reshape(shape)


def _lower_tail(z: np.ndarray, gauss: np.ndarray) -> np.ndarray:
    """Φ(-|z|), given gauss = exp(-z²/2); full relative precision far into the tail."""
    return 0.5 * _erfc(np.abs(z) * (1.0 / _SQRT2), gauss)


def norm_cdf(z: ArrayLike) -> np.ndarray:
    """Standard normal CDF with full relative precision in the lower tail."""
    z = np.asarray(z, dtype=float)
    tail = _lower_tail(z, np.exp(-0.5 * z * z))
    return np.where(z < 0.0, tail, 1.0 - tail)


# AS241 (Wichura 1988), as in CPython's statistics.NormalDist.inv_cdf; highest power first.
_PPF_CENTRAL_NUM = (2.5090809287301226727e3, 3.3430575583588128105e4, 6.7265770927008700853e4,
                    4.5921953931549871457e4, 1.3731693765509461125e4, 1.9715909503065514427e3,
                    1.3314166789178437745e2, 3.3871328727963666080)
_PPF_CENTRAL_DEN = (5.2264952788528545610e3, 2.8729085735721942674e4, 3.9307895800092710610e4,
                    2.1213794301586595867e4, 5.3941960214247511077e3, 6.8718700749205790830e2,
                    4.2313330701600911252e1, 1.0)
_PPF_NEAR_NUM = (7.74545014278341407640e-4, 2.27238449892691845833e-2, 2.41780725177450611770e-1,
                 1.27045825245236838258, 3.64784832476320460504, 5.76949722146069140550,
                 4.63033784615654529590, 1.42343711074968357734)
_PPF_NEAR_DEN = (1.05075007164441684324e-9, 5.47593808499534494600e-4, 1.51986665636164571966e-2,
                 1.48103976427480074590e-1, 6.89767334985100004550e-1, 1.67638483018380384940,
                 2.05319162663775882187, 1.0)
_PPF_FAR_NUM = (2.01033439929228813265e-7, 2.71155556874348757815e-5, 1.24266094738807843860e-3,
                2.65321895265761230930e-2, 2.96560571828504891230e-1, 1.78482653991729133580,
                5.46378491116411436990, 6.65790464350110377720)
_PPF_FAR_DEN = (2.04426310338993978564e-15, 1.42151175831644588870e-7, 1.84631831751005468180e-5,
                7.86869131145613259100e-4, 1.48753612908506148525e-2, 1.36929880922735805310e-1,
                5.99832206555887937690e-1, 1.0)


def _norm_ppf(p: np.ndarray) -> np.ndarray:
    """Inverse normal CDF; p in [0, 1] (0 and 1 give ∓inf)."""
    q = p - 0.5
    out = np.empty_like(q)
    central_mask = np.abs(q) <= 0.425
    central, tails = np.flatnonzero(central_mask), np.flatnonzero(~central_mask)
    if central.size:
        qc = q[central]
        r = 0.180625 - qc * qc
        out[central] = qc * _horner(_PPF_CENTRAL_NUM, r) / _horner(_PPF_CENTRAL_DEN, r)
    if tails.size:
        pt, qt = p[tails], q[tails]
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.sqrt(-np.log(np.minimum(pt, 1.0 - pt)))
            near = _horner(_PPF_NEAR_NUM, r - 1.6) / _horner(_PPF_NEAR_DEN, r - 1.6)
            far = _horner(_PPF_FAR_NUM, r - 5.0) / _horner(_PPF_FAR_DEN, r - 5.0)
        out[tails] = np.copysign(np.where(r <= 5.0, near, np.where(np.isinf(r), np.inf, far)), qt)
    return out


# ---------------------------------------------------------------------------------------------
# Prices and greeks


def _black_greeks(forward: np.ndarray, strike: np.ndarray, years: np.ndarray, vol: np.ndarray,
                  is_call: np.ndarray, rate: np.ndarray, carry: np.ndarray | float) -> Greeks:
    """Discounted Black price and greeks on the forward; `carry` is d ln F / dT (r - q, or 0)."""
    t = np.maximum(years, 0.0)
    sqrt_t = np.sqrt(t)
    std = np.maximum(vol * sqrt_t, 1e-300)  # expired or zero-vol options price at intrinsic
    moneyness = forward / strike
    with np.errstate(over="ignore"):  # |d1| beyond 1e154 only means Φ is exactly 0 or 1
        d1 = np.log(moneyness) / std + 0.5 * std
        gauss1 = np.exp(-0.5 * d1 * d1)
    d2 = d1 - std
    gauss2 = gauss1 * moneyness  # exp(-d2²/2) without a second exp
    tail1, tail2 = _lower_tail(d1, gauss1), _lower_tail(d2, gauss2)
    # With θ = ±1 for call/put: price = θ(F·Φ(θd1) - K·Φ(θd2)); puts never go through parity,
    # so deep out-of-the-money ones keep their relative precision.
    sign = np.where(is_call, 1.0, -1.0)
    n1 = np.where(sign * d1 < 0.0, tail1, 1.0 - tail1)
    n2 = np.where(sign * d2 < 0.0, tail2, 1.0 - tail2)
    discount = np.exp(-rate * t)
    price = discount * sign * (forward * n1 - strike * n2)
    delta = discount * sign * n1
    density = discount * _INV_SQRT_2PI * gauss1
    gamma = density / (forward * std)
    vega = density * forward * sqrt_t
    theta = rate * price - carry * forward * delta - density * forward * vol * vol / (2.0 * std)
    return Greeks(price, delta, gamma, vega, theta)


def bsm(spot: ArrayLike, strike: ArrayLike, years: ArrayLike, vol: ArrayLike, is_call: ArrayLike,
        rate: ArrayLike = 0.0, div_yield: ArrayLike = 0.0) -> Greeks:
    """Black-Scholes-Merton with a continuous dividend yield; delta and gamma are per spot."""
    return Greeks(*_chunked(_bsm_kernel, spot, strike, years, vol, np.asarray(is_call, dtype=bool),
                            rate, div_yield))


def black76(forward: ArrayLike, strike: ArrayLike, years: ArrayLike, vol: ArrayLike,
            is_call: ArrayLike, rate: ArrayLike = 0.0) -> Greeks:
    """Black-76 for options on futures; delta and gamma are per forward, theta holds F fixed."""
    return Greeks(*_chunked(_black76_kernel, forward, strike, years, vol,
                            np.asarray(is_call, dtype=bool), rate))


def bsm_price_delta(spot: np.ndarray | float, strike: np.ndarray, years: np.ndarray, vol: np.ndarray | float,
                    is_call: np.ndarray, rate: float = 0.0, div_yield: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Price and delta only, with the simulated market's floors on time and vol."""
    g = bsm(spot, strike, np.maximum(np.asarray(years, dtype=float), 1e-9),
            np.maximum(np.asarray(vol, dtype=float), 1e-6), is_call, rate, div_yield)
    return g.price, g.delta


def implied_vol(price: ArrayLike, spot_or_forward: ArrayLike, strike: ArrayLike, years: ArrayLike,
                is_call: ArrayLike, rate: ArrayLike = 0.0, div_yield: ArrayLike = 0.0, *,
                model: Literal["bsm", "black76"] = "bsm") -> IVResult:
    """Vol that reprices `price` (the discounted premium); NaN and a flag outside the bounds.

    For model="black76" `spot_or_forward` is the forward, which already carries any yield, so
    `div_yield` is ignored (as `black76` takes none).
    """
    if model not in ("bsm", "black76"):
        raise ValueError(f"model must be 'bsm' or 'black76', not {model!r}")
    kernel = _iv_kernel if model == "bsm" else _iv_black76_kernel
    vol, flag = _chunked(kernel, price, spot_or_forward, strike, years,
                         np.asarray(is_call, dtype=bool), rate, div_yield)
    return IVResult(vol, flag)


# Kernels run on chunks of 8192 options: their many 64 KB temporaries stay in cache and are
# reused by malloc, where 100k-long ones are page-faulted in afresh each time (measured about
# 1.5x slower on 100k options).
_CHUNK = 8192


def _chunked(kernel, *args) -> tuple[np.ndarray, ...]:
    """Run kernel(*args) over flat chunks of the broadcast args; size-1 args pass as scalars."""
    arrays = [a if a.dtype == bool else a.astype(float, copy=False) for a in map(np.asarray, args)]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    n = math.prod(shape)
    flat = [a.reshape(()) if a.size == 1 else np.broadcast_to(a, shape).ravel() for a in arrays]
    outs: list[np.ndarray] = []
    for start in range(0, max(n, 1), _CHUNK):
        part = [np.asarray(p) for p in kernel(*(a if a.ndim == 0 else a[start:start + _CHUNK] for a in flat))]
        if not outs:
            outs = [np.empty(n, dtype=p.dtype) for p in part]
        for out, p in zip(outs, part):
            out[start:start + _CHUNK] = p
    return tuple(o.reshape(shape) for o in outs)


def _bsm_kernel(spot, strike, years, vol, is_call, rate, div_yield) -> tuple[np.ndarray, ...]:
    carry = rate - div_yield
    growth = np.exp(carry * np.maximum(years, 0.0))  # F / S
    g = _black_greeks(spot * growth, strike, years, vol, is_call, rate, carry)
    return g.price, g.delta * growth, g.gamma * growth * growth, g.vega, g.theta


def _black76_kernel(forward, strike, years, vol, is_call, rate) -> tuple[np.ndarray, ...]:
    g = _black_greeks(forward, strike, years, vol, is_call, rate, 0.0)
    return g.price, g.delta, g.gamma, g.vega, g.theta


def _iv_black76_kernel(price, forward, strike, years, is_call, rate, div_yield
                       ) -> tuple[np.ndarray, np.ndarray]:
    return _iv_kernel(price, forward, strike, years, is_call, rate, 0.0, model="black76")


def _iv_kernel(price, underlier, strike, years, is_call, rate, div_yield, model: str = "bsm"
               ) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore", over="ignore"):
        discount = np.exp(-rate * years)
        # Bounds on the discounted premium, computed as a caller would: S·e^{-qT} and K·e^{-rT}.
        underlier_pv = underlier * np.exp(-div_yield * years) if model == "bsm" else underlier * discount
        strike_pv = strike * discount
        lower = np.maximum(np.where(is_call, underlier_pv - strike_pv, strike_pv - underlier_pv), 0.0)
        upper = np.where(is_call, underlier_pv, strike_pv)
        good = (years > 0.0) & (price > 0.0) & (underlier_pv > 0.0) & (strike > 0.0)
        # A price a few ulps under the lower bound is the bound itself, in other arithmetic.
        below = price < lower - 4.0 * np.spacing(lower)
        flag = np.where(~good, IVFlag.BAD_INPUT, np.where(below, IVFlag.BELOW_INTRINSIC,
                        np.where(price >= upper, IVFlag.ABOVE_MAXIMUM, IVFlag.OK)))
    flag = np.asarray(flag, dtype=np.int8)  # already of the broadcast shape: it reads every input
    vol = np.full(flag.shape, np.nan)
    ok = flag == IVFlag.OK
    if ok.any():
        time_value, d, f_pv, k, t = (np.broadcast_to(a, flag.shape)[ok] for a in (
            np.maximum(price - lower, 0.0), discount, underlier_pv, strike, years))
        forward = f_pv / d
        # Out-of-the-money by put-call parity, then a call by reflecting x: b(x,s,put) = b(-x,s,call).
        beta = time_value / (d * np.sqrt(forward) * np.sqrt(k))
        x = -np.abs(np.log(forward / k))
        vol[ok] = _normalised_implied_vol(beta, x) / np.sqrt(t)
    return vol, flag


def _black_parts(x: np.ndarray, s: np.ndarray, b_max: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised OTM Black call b(x,s) = e^{x/2}Φ(h+t) - e^{-x/2}Φ(h-t), h = x/s, t = s/2, x <= 0.

    Returns (b, b_max - b, db/ds), each without cancellation where it matters, and one exp.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        h = x / s
        t = 0.5 * s
        common = np.exp(-0.5 * (h * h + t * t))  # e^{x/2}φ(h+t)·√2π = e^{-x/2}φ(h-t)·√2π
        plus, minus = h + t, h - t  # minus <= 0
        tail_plus, tail_minus = _lower_tail(plus, common / b_max), _lower_tail(minus, common * b_max)
        above = plus >= 0.0
        cdf_plus = np.where(above, 1.0 - tail_plus, tail_plus)
        b = b_max * cdf_plus - tail_minus / b_max
        headroom = b_max * np.where(above, tail_plus, 1.0 - tail_plus) + tail_minus / b_max
        vega = _INV_SQRT_2PI * common
    at_zero = s <= 0.0
    if at_zero.any():
        b = np.where(at_zero, 0.0, b)
        headroom = np.where(at_zero, b_max, headroom)
        vega = np.where(at_zero, np.where(x == 0.0, _INV_SQRT_2PI, 0.0), vega)
    return b, headroom, vega


_RMAX = 2.0 / (_EPS * _EPS)
_RMIN = -(1.0 - math.sqrt(_EPS))


def _normalised_implied_vol(beta: np.ndarray, x: np.ndarray) -> np.ndarray:
    """s = σ√T with b(x, s) = beta, for x <= 0 and 0 <= beta < e^{x/2}."""
    s = np.zeros_like(beta)
    live = np.flatnonzero(beta > 0.0)  # zero time value means zero vol
    if live.size == 0:
        return s
    x = x[live]
    b_max = np.exp(0.5 * x)
    beta = np.minimum(beta[live], b_max * (1.0 - 4.0 * _EPS))  # just under the maximum, after rounding
    s_c = np.sqrt(-2.0 * x)  # inflection point of b in s, where h + t = 0 and h - t = -s_c
    b_c = 0.5 * b_max - _lower_tail(s_c, b_max * b_max) / b_max
    v_c = _INV_SQRT_2PI * b_max
    lower = beta < b_c
    with np.errstate(divide="ignore", invalid="ignore"):
        s_side = np.where(lower, s_c - b_c / v_c, np.where(v_c > _TINY, s_c + (b_max - b_c) / v_c, s_c))
    b_side, _, v_side = _black_parts(x, s_side, b_max)

    # Four branches, each with its guess and bracket, laid out so that each objective is one
    # contiguous run: [1/ln b | b - beta | ln(b_max - b)].
    runs: list[tuple[np.ndarray, np.ndarray, np.ndarray | float, np.ndarray | float]] = []
    i = np.flatnonzero(lower & (beta < b_side))  # below s_l
    runs.append((i, _guess_lower(beta[i], x[i], s_side[i], b_side[i]), 0.0, s_side[i]))
    i = np.flatnonzero(lower & (beta >= b_side))  # between s_l and s_c
    runs.append((i, _rational_cubic_between(beta[i], b_side[i], b_c[i], s_side[i], s_c[i],
                                            1.0 / v_side[i], 1.0 / v_c[i], fit_right=True),
                 s_side[i], s_c[i]))
    i = np.flatnonzero(~lower & (beta <= b_side))  # between s_c and s_u
    runs.append((i, _rational_cubic_between(beta[i], b_c[i], b_side[i], s_c[i], s_side[i],
                                            1.0 / v_c[i], 1.0 / v_side[i], fit_right=False),
                 s_c[i], s_side[i]))
    i = np.flatnonzero(~lower & (beta > b_side))  # above s_u; Jäckel keeps b - beta below b_max/2
    guess = _guess_upper(beta[i], x[i], s_side[i], b_side[i], b_max[i])
    near_max = beta[i] > 0.5 * b_max[i]
    runs.append((i[~near_max], guess[~near_max], s_side[i[~near_max]], np.inf))
    runs.append((i[near_max], guess[near_max], s_side[i[near_max]], np.inf))

    order = np.concatenate([run[0] for run in runs])
    sizes = [run[0].size for run in runs]
    guess, left, right = (np.concatenate([np.broadcast_to(run[k], (n,)) for run, n in zip(runs, sizes)])
                          for k in (1, 2, 3))
    s[live[order]] = _solve(beta[order], x[order], b_max[order], guess, left, right,
                            n_lower=sizes[0], n_upper=sizes[-1])
    return s


def _guess_lower(beta: np.ndarray, x: np.ndarray, s_l: np.ndarray, b_l: np.ndarray) -> np.ndarray:
    """Rational cubic in f = c|x|Φ(-|x|/(√3 s))³, which is nearly linear in beta near 0."""
    ax = np.abs(x)
    z = ax / (_SQRT3 * s_l)
    y = z * z
    s2 = s_l * s_l
    gauss = np.exp(-0.5 * y)
    cdf = _lower_tail(z, gauss)
    pdf = _INV_SQRT_2PI * gauss
    scale = 2.0 * math.pi / math.sqrt(27.0)
    with np.errstate(over="ignore", invalid="ignore"):
        fpp = (math.pi / 6.0 * y / (s2 * s_l) * cdf
               * (8.0 * _SQRT3 * s_l * ax + (3.0 * s2 * (s2 - 8.0) - 8.0 * x * x) * cdf / pdf)
               * np.exp(2.0 * y + 0.25 * s2))
        fp = 2.0 * math.pi * y * cdf * cdf * np.exp(y + 0.125 * s2)
    f_l = scale * ax * cdf * cdf * cdf
    r = _convex_control(0.0, b_l, 0.0, f_l, 1.0, fp, fpp, fit_right=True, prefer_shape=True)
    f = _rational_cubic(beta, 0.0, b_l, 0.0, f_l, 1.0, fp, r)
    u = beta / b_l
    f = np.where(f > 0.0, f, (f_l * u + b_l * (1.0 - u)) * u)  # quadratic if round-off bites
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(x / (_SQRT3 * _norm_ppf(np.cbrt(f / (scale * ax)))))


def _guess_upper(beta: np.ndarray, x: np.ndarray, s_u: np.ndarray, b_u: np.ndarray,
                 b_max: np.ndarray) -> np.ndarray:
    """Rational cubic in f = Φ(-s/2), which is nearly linear in beta near b_max."""
    gauss = np.exp(-0.125 * s_u * s_u)
    f_u = _lower_tail(0.5 * s_u, gauss)
    w = (x / s_u) ** 2
    with np.errstate(over="ignore", invalid="ignore"):
        fp = -0.5 * np.exp(0.5 * w)
        fpp = math.sqrt(0.5 * math.pi) * np.exp(w + 0.125 * s_u * s_u) * w / s_u
    finite = np.abs(fpp) < math.sqrt(np.finfo(float).max)
    r = _convex_control(b_u, b_max, f_u, 0.0, fp, -0.5, np.where(finite, fpp, 0.0),
                        fit_right=False, prefer_shape=True)
    f = np.where(finite, _rational_cubic(beta, b_u, b_max, f_u, 0.0, fp, -0.5, r), 0.0)
    width = b_max - b_u
    u = (beta - b_u) / width
    f = np.where(f > 0.0, f, (f_u * (1.0 - u) + 0.5 * width * u) * (1.0 - u))
    return -2.0 * _norm_ppf(f)


def _rational_cubic_between(beta, b_l, b_r, s_l, s_r, ds_l, ds_r, *, fit_right: bool) -> np.ndarray:
    r = _convex_control(b_l, b_r, s_l, s_r, ds_l, ds_r, 0.0, fit_right=fit_right, prefer_shape=False)
    return _rational_cubic(beta, b_l, b_r, s_l, s_r, ds_l, ds_r, r)


def _rational_cubic(x, x_l, x_r, y_l, y_r, d_l, d_r, r) -> np.ndarray:
    """Delbourgo-Gregory shape-preserving rational cubic between (x_l, y_l) and (x_r, y_r)."""
    h = x_r - x_l
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t = (x - x_l) / h
        omt = 1.0 - t
        t2, omt2 = t * t, omt * omt
        cubic = ((y_r * t2 * t + (r * y_r - h * d_r) * t2 * omt + (r * y_l + h * d_l) * t * omt2
                  + y_l * omt2 * omt) / (1.0 + (r - 3.0) * t * omt))
        linear = y_r * t + y_l * omt
    return np.where(h == 0.0, 0.5 * (y_l + y_r), np.where(r >= _RMAX, linear, cubic))


def _convex_control(x_l, x_r, y_l, y_r, d_l, d_r, second, *, fit_right: bool,
                    prefer_shape: bool) -> np.ndarray:
    """Control parameter matching the second derivative at one end, kept shape-preserving."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        h = x_r - x_l
        slope = (y_r - y_l) / h
        numerator = 0.5 * h * second + (d_r - d_l)
        denominator = (d_r - slope) if fit_right else (slope - d_l)
        fitted = np.where(np.abs(numerator) < _TINY, 0.0,
                          np.where(np.abs(denominator) < _TINY,
                                   np.where(numerator > 0.0, _RMAX, _RMIN), numerator / denominator))
        return np.maximum(fitted, _minimum_control(d_l, d_r, slope, prefer_shape))


def _minimum_control(d_l, d_r, slope, prefer_shape: bool) -> np.ndarray:
    monotonic = (d_l * slope >= 0.0) & (d_r * slope >= 0.0)
    convex = (d_l <= slope) & (slope <= d_r)
    concave = (d_l >= slope) & (slope >= d_r)
    fallback = _RMAX if prefer_shape else -np.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        r1 = np.where(monotonic, np.where(np.abs(slope) >= _TINY, (d_r + d_l) / slope, fallback), -np.inf)
        spread = d_r - d_l
        degenerate = (np.abs(slope - d_l) < _TINY) | (np.abs(d_r - slope) < _TINY)
        curvature = np.maximum(np.abs(spread / (d_r - slope)), np.abs(spread / (slope - d_l)))
        r2 = np.where(convex | concave, np.where(degenerate, fallback, curvature),
                      np.where(monotonic, fallback, -np.inf))
    r = np.maximum(_RMIN, np.maximum(r1, r2))
    return np.where(monotonic | convex | concave, r, _RMIN)


# Householder(3) converges with order four: once a step is below 1e-4 of s the error left is
# below 1e-15. From Jäckel's guess two steps suffice; only prices near underflow (normalised time
# value below 1e-300) need the bracketed loop for long, and after the cap keep its best value.
_STEP_TOLERANCE = 1e-4
_MAX_ITERATIONS = 16


def _solve(beta, x, b_max, s, left, right, *, n_lower: int, n_upper: int) -> np.ndarray:
    """Roots of b(x, s) = beta, elements ordered by objective (see _householder_step)."""
    for _ in range(2):
        step, _ = _householder_step(beta, x, b_max, s, n_lower, n_upper)
        s = s + step
    stray = np.flatnonzero(~(np.abs(step) <= _STEP_TOLERANCE * s))  # NaN counts as stray
    if stray.size:
        n = s.size
        s[stray] = _bracketed(beta[stray], x[stray], b_max[stray], s[stray], left[stray], right[stray],
                              n_lower=int(np.count_nonzero(stray < n_lower)),
                              n_upper=int(np.count_nonzero(stray >= n - n_upper)))
    return s


def _bracketed(beta, x, b_max, s, left, right, *, n_lower: int, n_upper: int) -> np.ndarray:
    """The same steps inside a shrinking bracket, bisecting whenever a step leaves it."""
    n = s.size
    active = np.arange(n)
    for _ in range(_MAX_ITERATIONS):
        sa, la, ra, ba = s[active], left[active], right[active], beta[active]
        with np.errstate(invalid="ignore"):
            sa = np.where((sa > la) & (sa < ra), sa, _bisect(la, ra, sa))
        step, b = _householder_step(ba, x[active], b_max[active], sa,
                                    int(np.count_nonzero(active < n_lower)),
                                    int(np.count_nonzero(active >= n - n_upper)))
        la = np.where(b < ba, np.fmax(la, sa), la)
        ra = np.where(b > ba, np.fmin(ra, sa), ra)
        with np.errstate(invalid="ignore"):
            nxt = sa + step
            done = (np.abs(step) <= _STEP_TOLERANCE * sa) | (ra - la <= 4.0 * _EPS * sa)
            nxt = np.where(done | ((nxt > la) & (nxt < ra)), nxt, _bisect(la, ra, sa))
        s[active], left[active], right[active] = nxt, la, ra
        active = active[~done]
        if active.size == 0:
            break
    return s


def _bisect(left: np.ndarray, right: np.ndarray, s: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(right), 0.5 * (left + right), 2.0 * np.fmax(left, s))


def _householder_step(beta, x, b_max, s, n_lower: int, n_upper: int) -> tuple[np.ndarray, np.ndarray]:
    """One Householder(3) step in s, and b(x, s).

    The first n_lower elements use the objective 1/ln b - 1/ln beta (far below s_c, where b
    vanishes like exp(-x²/2s²)), the last n_upper ln((b_max - beta)/(b_max - b)) (near b_max),
    and the rest b - beta. Each is close to linear in s on its own branch.
    """
    b, headroom, vega = _black_parts(x, s, b_max)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        h = x / s
        halley = h * h / s - 0.25 * s  # b''/b'
        hh3 = halley * halley - 3.0 * (h / s) ** 2 - 0.25  # b'''/b'
        newton = (beta - b) / vega
        if n_lower:
            low = slice(0, n_lower)
            ln_b, ln_beta = np.log(b[low]), np.log(beta[low])
            vob = vega[low] / b[low]
            factor = 1.0 + 2.0 / ln_b
            newton[low] = (ln_beta - ln_b) * ln_b / ln_beta / vob
            hh3[low] += 2.0 * vob * vob * (1.0 + 3.0 / ln_b * (1.0 + 1.0 / ln_b)) - 3.0 * halley[low] * vob * factor
            halley[low] -= vob * factor
        if n_upper:
            up = slice(s.size - n_upper, None)
            gp = vega[up] / headroom[up]
            newton[up] = -np.log((b_max[up] - beta[up]) / headroom[up]) / gp
            hh3[up] += gp * (2.0 * gp + 3.0 * halley[up])
            halley[up] += gp
        step = newton * (1.0 + 0.5 * halley * newton) / (1.0 + newton * (halley + hh3 * newton / 6.0))
    return np.maximum(step, -0.5 * s), b
