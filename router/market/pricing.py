"""Black-Scholes-Merton prices and deltas, vectorised with numpy over arrays of options.

The simulated market uses it for fair values. (The full pricing module — greeks, implied
volatility, Black-76, overrides — is the market-model issue's work.)
"""
from __future__ import annotations

import math

import numpy as np

_SQRT2 = math.sqrt(2.0)


def _norm_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + _erf(x / _SQRT2))


_erf = np.frompyfunc(math.erf, 1, 1)


def bsm_price_delta(spot: np.ndarray | float, strike: np.ndarray, years: np.ndarray, vol: np.ndarray | float,
                    is_call: np.ndarray, rate: float = 0.0, div_yield: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    spot_a = np.asarray(spot, dtype=float)
    strike_a = np.asarray(strike, dtype=float)
    t = np.maximum(np.asarray(years, dtype=float), 1e-9)
    sigma = np.maximum(np.asarray(vol, dtype=float), 1e-6)
    sqrt_t = np.sqrt(t)
    d1 = (np.log(spot_a / strike_a) + (rate - div_yield + 0.5 * sigma * sigma) * t) / (sigma * sqrt_t)
    d2 = d1 - sigma * sqrt_t
    df_r, df_q = np.exp(-rate * t), np.exp(-div_yield * t)
    nd1 = _norm_cdf(d1).astype(float)
    nd2 = _norm_cdf(d2).astype(float)
    call = spot_a * df_q * nd1 - strike_a * df_r * nd2
    put = call - spot_a * df_q + strike_a * df_r
    price = np.where(is_call, call, put)
    delta = np.where(is_call, df_q * nd1, df_q * (nd1 - 1.0))
    return price, delta
