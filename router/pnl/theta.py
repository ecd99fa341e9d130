"""Each option fill's theta at its fill time, the way router/market/model.py's OptionModel.greeks
prices it, vectorised: the option's implied vol at its mid at the fill (the configured vol of its
underlier when that mid gives none), the market rate, and the parent's rate and dividend tags
(5118-5124). BSM on a stock, Black-76 on a future or perpetual (rate 0 and a coin premium for a
coin-quoted option, whose theta is then in the coin). Fills are priced in groups that share
their pricing inputs: one numpy call per group, not per fill.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Mapping, Sequence

import numpy as np

from router.domain.commands import AlgoParams
from router.domain.instruments import Instrument
from router.market.dividends import apply_overrides
from router.market.pricing import black76, bsm, implied_vol

from .attribution import YEAR_NS

_MIN_YEARS = 1e-6           # as OptionModel: an option at its expiry still has a (tiny) time left
_DEFAULT_VOL = 0.3          # as OptionModel, for an underlier with no configured vol
_EPOCH = date(1970, 1, 1)


def _expiry_ns(instrument: Instrument) -> int:
    return ((instrument.expiry - _EPOCH).days * 86_400 + instrument.expiry_hour_utc * 3600) * 1_000_000_000


def option_thetas(instruments: Sequence[Instrument | None], spot: np.ndarray, mid: np.ndarray, ts_ns: np.ndarray,
                  params: Sequence[AlgoParams], rate: float, fallback_vols: Mapping[str, float]) -> np.ndarray:
    """Theta per unit and per year of calendar time for each fill; 0 where the fill is not an
    option or has no underlier price (``spot`` NaN)."""
    theta = np.zeros(len(instruments))
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, (instrument, p) in enumerate(zip(instruments, params)):
        if instrument is not None and instrument.is_option and np.isfinite(spot[i]):
            groups[(p.rate_override, p.sdiv_override, p.ddiv_override, p.override_code, instrument.on_future,
                    instrument.coin_quoted)].append(i)
    for (rate_override, sdiv, ddiv, code, on_future, coin), members in groups.items():
        at = np.array(members)
        chosen = [instruments[i] for i in members]
        strike = np.array([c.strike for c in chosen], dtype=float)
        is_call = np.array([c.is_call for c in chosen], dtype=bool)
        years = np.maximum((np.array([_expiry_ns(c) for c in chosen], dtype=float) - ts_ns[at]) / YEAR_NS, _MIN_YEARS)
        underlier = spot[at]
        inputs = apply_overrides(underlier, 0.0 if coin else rate, 0.0, years=years, rate_override=rate_override,
                                 sdiv_override=sdiv, ddiv_override=ddiv, override_code=code)
        premium = mid[at] * underlier if coin else mid[at]
        with np.errstate(invalid="ignore"):
            vol = implied_vol(premium, inputs.spot, strike, years, is_call, inputs.rate, inputs.div_yield,
                              model="black76" if on_future else "bsm").vol
        fallback = np.array([fallback_vols.get(c.underlying, _DEFAULT_VOL) for c in chosen])
        vol = np.where(np.isfinite(vol) & (vol > 0), vol, fallback)
        if on_future:
            greeks = black76(underlier, strike, years, vol, is_call, inputs.rate)
            theta[at] = greeks.theta / underlier if coin else greeks.theta
        else:
            theta[at] = bsm(inputs.spot, strike, years, vol, is_call, inputs.rate, inputs.div_yield).theta
    return theta
