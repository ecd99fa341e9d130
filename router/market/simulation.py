"""The simulated market's "true" values: a smile per underlier and fair values and deltas for
a whole chain, computed in one vectorised pass per underlier move.

The smile is vol(k) = atm + skew * k + curvature * k^2 in log-moneyness k = ln(K / F), floored
at 5%: a skewed, convex smile like listed equity options show. Options on futures and
perpetuals are priced with Black-76 on the underlier price; the others with Black-Scholes-
Merton and the configured rate. The router never reads these numbers: it sees only the quotes
market makers derive from them, and fits its own surface to those.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router.domain.instruments import Instrument
from router.market.pricing import black76, bsm
from router.market.securities import years_between

MIN_VOL = 0.05


@dataclass(frozen=True, slots=True)
class Smile:
    atm: float
    skew: float
    curvature: float

    def vol(self, log_moneyness: np.ndarray) -> np.ndarray:
        k = np.asarray(log_moneyness, dtype=float)
        return np.maximum(self.atm + self.skew * k + self.curvature * k * k, MIN_VOL)


class ChainModel:
    def __init__(self, options: list[Instrument], smiles: dict[str, Smile], rate: float) -> None:
        self.options = options
        self.symbols = [o.symbol for o in options]
        self.underlyings = sorted({o.underlying for o in options})
        self._und_index = np.array([self.underlyings.index(o.underlying) for o in options], dtype=int)
        self._strike = np.array([o.strike for o in options], dtype=float)
        self._is_call = np.array([o.is_call for o in options], dtype=bool)
        self._on_future = np.array([o.on_future for o in options], dtype=bool)
        self._expiries = [o.expiry for o in options]
        self._atm = np.array([smiles[u].atm for u in self.underlyings])[self._und_index]
        self._skew = np.array([smiles[u].skew for u in self.underlyings])[self._und_index]
        self._curv = np.array([smiles[u].curvature for u in self.underlyings])[self._und_index]
        self._rate = rate
        self._years_cache: tuple[int, np.ndarray] | None = None

    def years(self, now_ns: int) -> np.ndarray:
        # time to expiry moves slowly: recompute it once per simulated second
        second = now_ns // 1_000_000_000
        if self._years_cache is None or self._years_cache[0] != second:
            self._years_cache = (second, np.array([years_between(now_ns, e) for e in self._expiries]))
        return self._years_cache[1]

    def value(self, spots: dict[str, float], now_ns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fair value, delta, true vol) for every option, in ``self.options`` order."""
        spot = np.array([spots[u] for u in self.underlyings])[self._und_index]
        years = np.maximum(self.years(now_ns), 1e-6)
        forward = np.where(self._on_future, spot, spot * np.exp(self._rate * years))
        k = np.log(self._strike / forward)
        vol = np.maximum(self._atm + self._skew * k + self._curv * k * k, MIN_VOL)
        price = np.empty(len(self.options))
        delta = np.empty(len(self.options))
        equity = ~self._on_future
        if equity.any():
            g = bsm(spot[equity], self._strike[equity], years[equity], vol[equity], self._is_call[equity], self._rate)
            price[equity], delta[equity] = g.price, g.delta
        if self._on_future.any():
            f = self._on_future
            g = black76(spot[f], self._strike[f], years[f], vol[f], self._is_call[f], self._rate)
            price[f], delta[f] = g.price, g.delta
        return price, delta, vol
