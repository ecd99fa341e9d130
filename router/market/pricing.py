"""Black-Scholes-Merton and Black-76 prices, greeks and implied volatility, for arrays of options.

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

Prices and greeks are numpy, vectorised across options. The implied-vol solver branches per
option, so it is compiled with numba (see "Implied volatility, compiled" below for why and how).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

import numba
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
    price, underlier, strike, years, rate = (np.asarray(a, dtype=float) for a in (
        price, spot_or_forward, strike, years, rate))
    is_call = np.asarray(is_call, dtype=bool)
    with np.errstate(invalid="ignore", over="ignore"):
        # The discount factors with numpy's exp, as a caller computes the bounds S·e^{-qT} and
        # K·e^{-rT}: a price at the bound then is the bound to the last bit.
        discount = np.exp(-rate * years)
        carry = (discount if model == "black76" else
                 np.exp(-np.asarray(div_yield, dtype=float) * years))
    arrays = (price, underlier, strike, years, is_call, discount, carry)
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    n = math.prod(shape)
    # One compiled signature: every input a read-only contiguous 1-d array of n (scalars are
    # filled out, which costs microseconds against about 110 ns per option in the solver).
    flat = [np.broadcast_to(np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(n), (n,))
            for a in arrays]
    vol, flag = np.empty(n), np.empty(n, dtype=np.int8)
    _iv_loop(*flat, vol, flag)
    return IVResult(vol.reshape(shape), flag.reshape(shape))


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


# ---------------------------------------------------------------------------------------------
# Implied volatility, compiled with numba
#
# The solver branches per option: four branches for the initial guess, three objectives for the
# Householder steps, a bracketed fallback for the few that do not converge. As masked numpy
# passes over sub-arrays it took 36 ms for 100,000 options, mostly in temporaries, fancy indexing
# and Cody's erfc over a dozen masked passes; as a plain loop over options it took 29 ms (each
# option is one long chain of dependent divisions, and the CPU waits on it). Here it is a few
# passes over blocks of options, each a loop of straight-line arithmetic and conditional
# expressions that LLVM vectorises (four options per AVX2 instruction; exp and log stay libm
# calls, made lane by lane). Between passes the options are sorted by branch, so that each pass
# runs one branch's formulas over a contiguous run; only flagging, sorting and the rare
# stragglers are scalar code with real branches. About 11 ms for 100,000 options.
#
# Functions marked _inline are inlined in numba's IR, so that the loops calling them have no
# calls left and vectorise; the small leaves marked _jit are left to LLVM's inliner, which
# compiles faster. error_model="numpy" keeps IEEE division (inf and NaN, no ZeroDivisionError);
# fastmath stays off, so vectorising changes no result and an option gets the same answer alone
# or in any batch. cache=True keeps the machine code in __pycache__ beside this file, keyed by
# the file's contents: a new process loads it on its first call (about 0.2 s); the first call
# after this file changes compiles it afresh (about 7 s).

_jit = numba.njit(cache=True, error_model="numpy", fastmath=False)
_inline = numba.njit(cache=True, error_model="numpy", fastmath=False, inline="always")

_RMAX = 2.0 / (_EPS * _EPS)
_RMIN = -(1.0 - math.sqrt(_EPS))
_SQRT_MAX = math.sqrt(np.finfo(float).max)
_INV_SQRT2 = 1.0 / _SQRT2
# Objectives for the Householder steps; each is close to linear in s on its branch.
_PLAIN = 0  # b - beta
_LOWER = 1  # 1/ln b - 1/ln beta: far below the inflection point, where b ~ exp(-x²/2s²)
_UPPER = 2  # ln((b_max - beta)/(b_max - b)): near the maximum b_max
# Branches, in the order options are laid out for the solver (_NO_BRANCH: b(s_l or s_u) is NaN).
_BELOW_SL, _SL_TO_SC, _SC_TO_SU, _ABOVE_SU, _NEAR_MAX, _NO_BRANCH = range(6)
_OK, _BELOW_INTRINSIC, _ABOVE_MAXIMUM, _BAD_INPUT = (int(f) for f in IVFlag)
_BITS_OF_ONE = 0x3FF0000000000000  # 1.0
# Householder(3) converges with order four: once a step is below 1e-4 of s the error left is
# below 1e-15. From Jäckel's guess two steps suffice; only prices near underflow (normalised time
# value below 1e-300) need the bracketed loop for long, and after the cap keep its best value.
_STEP_TOLERANCE = 1e-4
_MAX_ITERATIONS = 16


@_jit
def _horner_1(coeffs, y):
    acc = coeffs[0]
    for i in range(1, len(coeffs)):
        acc = acc * y + coeffs[i]
    return acc


@_jit
def _maximum(a, b):
    """np.maximum: NaN if either is NaN."""
    return math.nan if (a != a) | (b != b) else (a if a >= b else b)


@_jit
def _fmax(a, b):
    """np.fmax: the other one if either is NaN."""
    return b if (a != a) | (b > a) else a


@_jit
def _fmin(a, b):
    return b if (a != a) | (b < a) else a


@_inline
def _erfc_1(y, gauss):
    """_erfc for one y >= 0, given gauss = exp(-y²): all three ranges, then the one that applies."""
    y2 = y * y
    inv = 1.0 / y
    z = inv * inv
    small, big = y < 0.46875, y > 4.0  # NaN takes the middle range, and stays NaN
    ratio = ((_horner_1(_ERF_NUM, y2) if small else
              (_horner_1(_ERFCX_BIG_NUM, z) if big else _horner_1(_ERFCX_MID_NUM, y)))
             / (_horner_1(_ERF_DEN, y2) if small else
                (_horner_1(_ERFCX_BIG_DEN, z) if big else _horner_1(_ERFCX_MID_DEN, y))))
    return (1.0 - y * ratio if small else
            (gauss * (_INV_SQRT_PI - z * ratio) * inv if big else gauss * ratio))


@_inline
def _lower_tail_1(z, gauss):
    """Φ(-|z|), given gauss = exp(-z²/2)."""
    return 0.5 * _erfc_1(abs(z) * _INV_SQRT2, gauss)


@_inline
def _norm_ppf_1(p):
    """Inverse normal CDF (AS241) of p in [0, 1]; 0 and 1 give ∓inf."""
    q = p - 0.5
    rc = 0.180625 - q * q
    central = q * _horner_1(_PPF_CENTRAL_NUM, rc) / _horner_1(_PPF_CENTRAL_DEN, rc)
    r = math.sqrt(-math.log(p if p < 1.0 - p else 1.0 - p))
    near = _horner_1(_PPF_NEAR_NUM, r - 1.6) / _horner_1(_PPF_NEAR_DEN, r - 1.6)
    far = _horner_1(_PPF_FAR_NUM, r - 5.0) / _horner_1(_PPF_FAR_DEN, r - 5.0)
    tail = near if r <= 5.0 else (math.inf if math.isinf(r) else far)
    return central if abs(q) <= 0.425 else math.copysign(tail, q)


@_inline
def _cbrt_1(v):
    """Cube root of v >= 0 (libm's cbrt is a call LLVM cannot vectorise): exp/log, then Newton."""
    c = math.exp(math.log(v) / 3.0)
    c -= (c - v / (c * c)) / 3.0
    return c if (v > 0.0) & (v < math.inf) else (v if v >= 0.0 else math.nan)


@_inline
def _black_parts(x, s, b_max):
    """Normalised OTM Black call b(x,s) = e^{x/2}Φ(h+t) - e^{-x/2}Φ(h-t), h = x/s, t = s/2, x <= 0.

    Returns (b, b_max - b, db/ds), each without cancellation where it matters, and one exp.
    """
    h = x / s
    t = 0.5 * s
    common = math.exp(-0.5 * (h * h + t * t))  # e^{x/2}φ(h+t)·√2π = e^{-x/2}φ(h-t)·√2π
    plus, minus = h + t, h - t  # minus <= 0
    tail_plus = _lower_tail_1(plus, common / b_max)
    tail_minus = _lower_tail_1(minus, common * b_max)
    above = plus >= 0.0
    b = b_max * (1.0 - tail_plus if above else tail_plus) - tail_minus / b_max
    headroom = b_max * (tail_plus if above else 1.0 - tail_plus) + tail_minus / b_max
    vega = _INV_SQRT_2PI * common
    at_zero = s <= 0.0
    return (0.0 if at_zero else b, b_max if at_zero else headroom,
            ((_INV_SQRT_2PI if x == 0.0 else 0.0) if at_zero else vega))


@_inline
def _minimum_control(d_l, d_r, slope, prefer_shape):
    monotonic = (d_l * slope >= 0.0) & (d_r * slope >= 0.0)
    convex = (d_l <= slope) & (slope <= d_r)
    concave = (d_l >= slope) & (slope >= d_r)
    fallback = _RMAX if prefer_shape else -math.inf
    r1 = ((d_r + d_l) / slope if abs(slope) >= _TINY else fallback) if monotonic else -math.inf
    spread = d_r - d_l
    degenerate = (abs(slope - d_l) < _TINY) | (abs(d_r - slope) < _TINY)
    curvature = _maximum(abs(spread / (d_r - slope)), abs(spread / (slope - d_l)))
    r2 = ((fallback if degenerate else curvature) if convex | concave
          else (fallback if monotonic else -math.inf))
    r = _maximum(_RMIN, _maximum(r1, r2))
    return r if monotonic | convex | concave else _RMIN


@_inline
def _convex_control(x_l, x_r, y_l, y_r, d_l, d_r, second, fit_right, prefer_shape):
    """Control parameter matching the second derivative at one end, kept shape-preserving."""
    h = x_r - x_l
    slope = (y_r - y_l) / h
    numerator = 0.5 * h * second + (d_r - d_l)
    denominator = (d_r - slope) if fit_right else (slope - d_l)
    fitted = (0.0 if abs(numerator) < _TINY else
              ((_RMAX if numerator > 0.0 else _RMIN) if abs(denominator) < _TINY
               else numerator / denominator))
    return _maximum(fitted, _minimum_control(d_l, d_r, slope, prefer_shape))


@_inline
def _rational_cubic(x, x_l, x_r, y_l, y_r, d_l, d_r, r):
    """Delbourgo-Gregory shape-preserving rational cubic between (x_l, y_l) and (x_r, y_r)."""
    h = x_r - x_l
    t = (x - x_l) / h
    omt = 1.0 - t
    t2, omt2 = t * t, omt * omt
    cubic = ((y_r * t2 * t + (r * y_r - h * d_r) * t2 * omt + (r * y_l + h * d_l) * t * omt2
              + y_l * omt2 * omt) / (1.0 + (r - 3.0) * t * omt))
    linear = y_r * t + y_l * omt
    return 0.5 * (y_l + y_r) if h == 0.0 else (linear if r >= _RMAX else cubic)


@_inline
def _guess_lower(beta, x, s_l, b_l):
    """Rational cubic in f = c|x|Φ(-|x|/(√3 s))³, which is nearly linear in beta near 0."""
    ax = abs(x)
    z = ax / (_SQRT3 * s_l)
    y = z * z
    s2 = s_l * s_l
    gauss = math.exp(-0.5 * y)
    cdf = _lower_tail_1(z, gauss)
    pdf = _INV_SQRT_2PI * gauss
    scale = 2.0 * math.pi / math.sqrt(27.0)
    growth = math.exp(y + 0.125 * s2)
    fpp = (math.pi / 6.0 * y / (s2 * s_l) * cdf
           * (8.0 * _SQRT3 * s_l * ax + (3.0 * s2 * (s2 - 8.0) - 8.0 * x * x) * cdf / pdf)
           * (growth * growth))
    fp = 2.0 * math.pi * y * cdf * cdf * growth
    f_l = scale * ax * cdf * cdf * cdf
    r = _convex_control(0.0, b_l, 0.0, f_l, 1.0, fp, fpp, True, True)
    f = _rational_cubic(beta, 0.0, b_l, 0.0, f_l, 1.0, fp, r)
    u = beta / b_l
    f = f if f > 0.0 else (f_l * u + b_l * (1.0 - u)) * u  # quadratic if round-off bites
    return abs(x / (_SQRT3 * _norm_ppf_1(_cbrt_1(f / (scale * ax)))))


@_inline
def _guess_upper(beta, x, s_u, b_u, b_max):
    """Rational cubic in f = Φ(-s/2), which is nearly linear in beta near b_max."""
    f_u = _lower_tail_1(0.5 * s_u, math.exp(-0.125 * s_u * s_u))
    w = (x / s_u) * (x / s_u)
    fp = -0.5 * math.exp(0.5 * w)
    fpp = math.sqrt(0.5 * math.pi) * math.exp(w + 0.125 * s_u * s_u) * w / s_u
    finite = abs(fpp) < _SQRT_MAX
    r = _convex_control(b_u, b_max, f_u, 0.0, fp, -0.5, fpp if finite else 0.0, False, True)
    f = _rational_cubic(beta, b_u, b_max, f_u, 0.0, fp, -0.5, r) if finite else 0.0
    width = b_max - b_u
    u = (beta - b_u) / width
    f = f if f > 0.0 else (f_u * (1.0 - u) + 0.5 * width * u) * (1.0 - u)
    return -2.0 * _norm_ppf_1(f)


@_inline
def _householder_step(beta, ln_beta, x, b_max, s, objective):
    """One Householder(3) step in s on the given objective, and b(x, s); ln_beta for _LOWER."""
    b, headroom, vega = _black_parts(x, s, b_max)
    h = x / s
    hs = h / s
    halley = h * h / s - 0.25 * s  # b''/b'
    hh3 = halley * halley - 3.0 * (hs * hs) - 0.25  # b'''/b'
    if objective == _LOWER:
        ln_b = math.log(b)
        inv_ln_b = 1.0 / ln_b
        vob = vega / b
        factor = 1.0 + 2.0 * inv_ln_b
        newton = (ln_beta - ln_b) * ln_b / (ln_beta * vob)
        hh3 += (2.0 * vob * vob * (1.0 + 3.0 * inv_ln_b * (1.0 + inv_ln_b))
                - 3.0 * halley * vob * factor)
        halley -= vob * factor
    elif objective == _UPPER:
        gp = vega / headroom
        newton = -math.log((b_max - beta) / headroom) / gp
        hh3 += gp * (2.0 * gp + 3.0 * halley)
        halley += gp
    else:
        newton = (beta - b) / vega
    step = newton * (1.0 + 0.5 * halley * newton) / (1.0 + newton * (halley + hh3 * newton / 6.0))
    return _maximum(step, -0.5 * s), b


@_inline
def _bisect(left, right, s):
    return 0.5 * (left + right) if math.isfinite(right) else 2.0 * _fmax(left, s)


@_jit
def _bracketed(beta, x, b_max, s, left, right, objective):
    """The same steps inside a shrinking bracket, bisecting whenever a step leaves it."""
    ln_beta = math.log(beta)
    for _ in range(_MAX_ITERATIONS):
        if not ((s > left) and (s < right)):
            s = _bisect(left, right, s)
        step, b = _householder_step(beta, ln_beta, x, b_max, s, objective)
        if b < beta:
            left = _fmax(left, s)
        if b > beta:
            right = _fmin(right, s)
        nxt = s + step
        done = (abs(step) <= _STEP_TOLERANCE * s) or (right - left <= 4.0 * _EPS * s)
        if not (done or ((nxt > left) and (nxt < right))):
            nxt = _bisect(left, right, s)
        s = nxt
        if done:
            break
    return s


# The passes. Each is a loop over arrays with straight-line arithmetic only, which LLVM
# vectorises; the loops that are not (sorting, gathering, stragglers) are marked as such.

@_jit
def _normalise(price, underlier, strike, years, is_call, discount, carry, lower, upper, good,
               beta, x, b_max, s_side, b_side, v_side, branch):
    for i in range(price.size):
        # Bounds on the discounted premium, S·e^{-qT} (or F·e^{-rT}) and K·e^{-rT}.
        t, k, d = years[i], strike[i], discount[i]
        underlier_pv = underlier[i] * carry[i]
        strike_pv = k * d
        call = is_call[i]
        lo = _maximum(underlier_pv - strike_pv if call else strike_pv - underlier_pv, 0.0)
        lower[i] = lo
        upper[i] = underlier_pv if call else strike_pv
        good[i] = (t > 0.0) & (price[i] > 0.0) & (underlier_pv > 0.0) & (k > 0.0)
        # Out-of-the-money by put-call parity, then a call by reflecting x, b(x,s,put) =
        # b(-x,s,call): the normalised time value beta, x = -|ln(F/K)| and b_max = e^{x/2}.
        forward = underlier_pv / d
        moneyness = forward / k
        xi = -abs(math.log(moneyness))
        bm = math.sqrt(moneyness) if moneyness <= 1.0 else math.sqrt(k / forward)
        bi = _maximum(price[i] - lo, 0.0) / (d * math.sqrt(forward) * math.sqrt(k))
        cap = bm * (1.0 - 4.0 * _EPS)
        bi = cap if bi > cap else bi  # just under the maximum, after rounding
        # Where beta sits against b at the inflection point s_c and at s_l or s_u, where the
        # tangent at s_c meets 0 and b_max, picks the branch.
        sc = math.sqrt(-2.0 * xi)  # where h + t = 0 and h - t = -s_c
        bc = 0.5 * bm - _lower_tail_1(sc, bm * bm) / bm
        vc = _INV_SQRT_2PI * bm
        below_c = bi < bc
        side = (sc - bc / vc) if below_c else (sc + (bm - bc) / vc if vc > _TINY else sc)
        b, _headroom, v = _black_parts(xi, side, bm)
        beta[i], x[i], b_max[i], s_side[i], b_side[i], v_side[i] = bi, xi, bm, side, b, v
        branch[i] = ((_BELOW_SL if bi < b else (_SL_TO_SC if bi >= b else _NO_BRANCH))
                     if below_c else
                     (_SC_TO_SU if bi <= b else
                      ((_NEAR_MAX if bi > 0.5 * bm else _ABOVE_SU) if bi > b else _NO_BRANCH)))


@_jit
def _flags(price, lower, upper, good, after, vol, flag):
    # after: the next double above lower where lower > 0, so after - lower is np.spacing(lower).
    # A price a few ulps under the bound is the bound itself. Where lower is 0 no good price
    # (> 0) is below it; skipping the arithmetic on subnormals there makes this pass 15x faster.
    for i in range(price.size):
        p, lo = price[i], lower[i]
        positive = lo > 0.0
        lo = lo if positive else 1.0
        below = positive & (p < lo - 4.0 * (after[i] - lo))
        f = _BAD_INPUT if not good[i] else (_BELOW_INTRINSIC if below else
                                            (_ABOVE_MAXIMUM if p >= upper[i] else _OK))
        flag[i] = f
        vol[i] = 0.0 if f == _OK else math.nan  # zero time value (beta = 0) means zero vol


@_jit
def _guesses_lower(beta, x, s_l, b_l, s, ln_beta):
    for j in range(s.size):
        s[j] = _guess_lower(beta[j], x[j], s_l[j], b_l[j])
        ln_beta[j] = math.log(beta[j])


@_jit
def _guesses_between(beta, x, b_max, s_side, b_side, v_side, s, n_left):
    # The first n_left between s_l and s_c, the rest between s_c and s_u.
    for j in range(s.size):
        left = j < n_left
        bm = b_max[j]
        sc = math.sqrt(-2.0 * x[j])
        bc = 0.5 * bm - _lower_tail_1(sc, bm * bm) / bm
        inv_vc = 1.0 / (_INV_SQRT_2PI * bm)
        inv_vs = 1.0 / v_side[j]
        b_l, b_r = (b_side[j], bc) if left else (bc, b_side[j])
        s_l, s_r = (s_side[j], sc) if left else (sc, s_side[j])
        ds_l, ds_r = (inv_vs, inv_vc) if left else (inv_vc, inv_vs)
        r = _convex_control(b_l, b_r, s_l, s_r, ds_l, ds_r, 0.0, left, False)
        s[j] = _rational_cubic(beta[j], b_l, b_r, s_l, s_r, ds_l, ds_r, r)


@_jit
def _guesses_upper(beta, x, s_u, b_u, b_max, s):
    for j in range(s.size):
        s[j] = _guess_upper(beta[j], x[j], s_u[j], b_u[j], b_max[j])


@_jit
def _steps_lower(beta, ln_beta, x, b_max, s, last):
    for j in range(s.size):
        step, _b = _householder_step(beta[j], ln_beta[j], x[j], b_max[j], s[j], _LOWER)
        s[j] += step
        last[j] = step


@_jit
def _steps_plain(beta, x, b_max, s, last):
    for j in range(s.size):
        step, _b = _householder_step(beta[j], 0.0, x[j], b_max[j], s[j], _PLAIN)
        s[j] += step
        last[j] = step


@_jit
def _steps_upper(beta, x, b_max, s, last):
    for j in range(s.size):
        step, _b = _householder_step(beta[j], 0.0, x[j], b_max[j], s[j], _UPPER)
        s[j] += step
        last[j] = step


@_jit
def _gather(index, src, dst):
    for j in range(index.size):
        dst[j] = src[index[j]]


# Options go through the passes in blocks, so that the 20 work arrays (about 650 KB) stay in
# cache and are allocated once: 100k-long ones cost about 2 ms more, in page faults alone.
_BLOCK = 4096


@_jit
def _iv_loop(price, underlier, strike, years, is_call, discount, carry, vol, flag):
    """Flag and implied vol of every option; inputs are 1-d arrays of the same length."""
    n = vol.size
    w = min(n, _BLOCK)
    lower, upper, beta, x, b_max = np.empty(w), np.empty(w), np.empty(w), np.empty(w), np.empty(w)
    s_side, b_side, v_side = np.empty(w), np.empty(w), np.empty(w)
    good, branch = np.empty(w, dtype=np.bool_), np.empty(w, dtype=np.int64)
    after = np.empty(w, dtype=np.int64)
    index = np.empty(w, dtype=np.int64)
    xs, betas, b_maxs, s_sides, b_sides, v_sides = (np.empty(w), np.empty(w), np.empty(w),
                                                    np.empty(w), np.empty(w), np.empty(w))
    s, ln_beta, last = np.empty(w), np.empty(w), np.empty(w)
    start = np.empty(_NO_BRANCH + 2, dtype=np.int64)
    for first in range(0, n, _BLOCK):
        end = min(first + _BLOCK, n)
        k = end - first
        _normalise(price[first:end], underlier[first:end], strike[first:end], years[first:end],
                   is_call[first:end], discount[first:end], carry[first:end], lower, upper, good,
                   beta, x, b_max, s_side, b_side, v_side, branch)
        # np.spacing(lower), for lower > 0 (or NaN): the next double up less lower, by the bits.
        bits = lower.view(np.int64)
        for i in range(k):
            after[i] = (bits[i] if lower[i] > 0.0 else _BITS_OF_ONE) + 1
        _flags(price[first:end], lower, upper, good, after.view(np.float64), vol[first:end],
               flag[first:end])

        # Lay the options that are OK with time value left out by branch (a counting sort, not
        # vectorised), so each pass below runs over one branch's contiguous run; start[c] is
        # where branch c begins, start[_NO_BRANCH + 1] = m.
        start[:] = 0
        for i in range(k):
            if (flag[first + i] == _OK) & (beta[i] > 0.0):
                start[branch[i] + 2] += 1
        for c in range(2, _NO_BRANCH + 2):
            start[c] += start[c - 1]
        for i in range(k):
            if (flag[first + i] == _OK) & (beta[i] > 0.0):
                c = branch[i] + 1
                index[start[c]] = i
                start[c] += 1
        m = start[_NO_BRANCH + 1]
        live = index[:m]
        _gather(live, x, xs)
        _gather(live, beta, betas)
        _gather(live, b_max, b_maxs)
        _gather(live, s_side, s_sides)
        _gather(live, b_side, b_sides)
        _gather(live, v_side, v_sides)

        s[:m] = 0.0  # and zero where there is no branch
        low, mid, up = start[_SL_TO_SC], start[_NEAR_MAX], start[_NO_BRANCH]
        _guesses_lower(betas[:low], xs[:low], s_sides[:low], b_sides[:low], s[:low], ln_beta[:low])
        a, b = low, start[_ABOVE_SU]
        _guesses_between(betas[a:b], xs[a:b], b_maxs[a:b], s_sides[a:b], b_sides[a:b], v_sides[a:b],
                         s[a:b], start[_SC_TO_SU] - low)
        a, b = b, up
        _guesses_upper(betas[a:b], xs[a:b], s_sides[a:b], b_sides[a:b], b_maxs[a:b], s[a:b])

        last[:m] = 0.0
        for _ in range(2):
            _steps_lower(betas[:low], ln_beta[:low], xs[:low], b_maxs[:low], s[:low], last[:low])
            _steps_plain(betas[low:mid], xs[low:mid], b_maxs[low:mid], s[low:mid], last[low:mid])
            _steps_upper(betas[mid:up], xs[mid:up], b_maxs[mid:up], s[mid:up], last[mid:up])

        for j in range(m):  # the stragglers (and NaN), and the vols (not vectorised)
            if not abs(last[j]) <= _STEP_TOLERANCE * s[j]:
                sc = math.sqrt(-2.0 * xs[j])
                c = (_BELOW_SL if j < low else _SL_TO_SC if j < start[_SC_TO_SU]
                     else _SC_TO_SU if j < start[_ABOVE_SU] else _ABOVE_SU)
                left = 0.0 if c == _BELOW_SL else (sc if c == _SC_TO_SU else s_sides[j])
                right = (s_sides[j] if c == _BELOW_SL or c == _SC_TO_SU else
                         (sc if c == _SL_TO_SC else math.inf))
                objective = _LOWER if c == _BELOW_SL else (_UPPER if j >= mid else _PLAIN)
                s[j] = _bracketed(betas[j], xs[j], b_maxs[j], s[j], left, right, objective)
            i = first + live[j]
            vol[i] = s[j] / math.sqrt(years[i])


def warm_up() -> float:
    """Load (or, on a fresh checkout, compile) the implied-vol kernels now, not on the first fill;
    return the seconds it took. A server calls it before it accepts orders: the compile takes
    seconds, the cached load a fraction of one."""
    started = time.perf_counter()
    for model in ("bsm", "black76"):
        implied_vol([10.5, 3.2], [100.0, 100.0], [95.0, 105.0], [0.5, 0.5], [True, False], 0.03, model=model)
    return time.perf_counter() - started
