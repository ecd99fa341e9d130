"""How well the router's fitted surface recovers the simulated market's true smile.

The simulated market quotes from a known smile (router.market.simulation); the router only
sees the consolidated quotes. Fitting SVI to those NBBO mids and comparing with the truth at
the quoted strikes measures the whole chain: quote widths, tick rounding, stale quotes, fit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router.market.books import MarketBooks
from router.market.securities import SecurityMaster, years_between
from router.market.simulation import Smile
from router.market.surface import ChainQuotes, SurfaceFitter, Underlier, VolSurface


@dataclass(frozen=True, slots=True)
class FitReport:
    options: int
    expiries: int
    rmse_vol_points: float      # vol points (1.00 = one percentage point of volatility)
    max_error_vol_points: float
    surface: VolSurface


def chain_quotes(securities: SecurityMaster, books: MarketBooks, underlying: str, now_ns: int) -> ChainQuotes:
    options = [o for o in securities.options() if o.underlying == underlying]
    nbbo = [books.nbbo(o.symbol) for o in options]
    return ChainQuotes(strike=np.array([o.strike for o in options]),
                       years=np.array([round(years_between(now_ns, o.expiry), 10) for o in options]),
                       is_call=np.array([o.is_call for o in options]),
                       bid=np.array([q.bid or 0.0 for q in nbbo]), ask=np.array([q.ask or 0.0 for q in nbbo]))


def fit_against_truth(quotes: ChainQuotes, spot: float, rate: float, smile: Smile) -> FitReport:
    fitter = SurfaceFitter(Underlier(spot, rate))
    surface = fitter.fit(quotes)
    errors = []
    for years, points in fitter.points.items():
        k = points.k
        true_vol = smile.vol(k)
        fitted = surface.vol(np.full_like(k, years), k)
        errors.append(100.0 * (np.asarray(fitted) - true_vol))
    errors_all = np.concatenate(errors) if errors else np.array([np.nan])
    return FitReport(len(errors_all), len(fitter.points), float(np.sqrt(np.mean(errors_all ** 2))),
                     float(np.max(np.abs(errors_all))), surface)
