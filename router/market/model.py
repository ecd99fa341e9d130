"""Model greeks and implied vol for any option, from the live books: what the algos and the
hedger ask through their context.

The vol is the option's own implied vol at its NBBO mid (Let's-be-rational), so greeks agree
with the market the order trades in; with no two-sided quote it falls back to the underlier's
configured vol. Rate and dividends come from the market config, overridden per order by its
tags 5118-5124 (router.market.dividends).

A coin-quoted option (a BTC option on DRBT or OKXO) expires at its own hour (08:00 UTC), its
premium is in BTC: its NBBO is turned into USD with the underlier's price before the implied vol,
it is priced undiscounted on the perpetual (Black-76 at rate 0: the premium is paid in the coin
and the perpetual is the forward, as the venues' marks are), and its price, vega and theta come
back in BTC. Delta stays the Black-76 one, BTC of perpetual per contract (the premium's own BTC
exposure, Deribit's "delta minus premium", is left out).
"""
from __future__ import annotations

import math

import numpy as np

from router.domain.commands import AlgoParams
from router.domain.instruments import Instrument

from .books import MarketBooks
from .dividends import apply_overrides
from .pricing import Greeks, black76, bsm, implied_vol
from .securities import years_between

_MIN_YEARS = 1e-6


class OptionModel:
    def __init__(self, books: MarketBooks, rate: float, fallback_vol: dict[str, float]) -> None:
        self._books = books
        self._rate = rate
        self._fallback_vol = fallback_vol

    @property
    def rate(self) -> float:
        return self._rate

    def underlier_mid(self, instrument: Instrument) -> float | None:
        nbbo = self._books.nbbo(instrument.underlying)
        if nbbo.mid is not None:
            return nbbo.mid
        return nbbo.bid if nbbo.bid is not None else nbbo.ask

    def _inputs(self, instrument: Instrument, underlier: float, now_ns: int, params: AlgoParams | None):
        years = max(years_between(now_ns, instrument.expiry, instrument.expiry_hour_utc), _MIN_YEARS)
        p = params or AlgoParams()
        rate = 0.0 if instrument.coin_quoted else self._rate
        inputs = apply_overrides(underlier, rate, 0.0, years=years, rate_override=p.rate_override,
                                 sdiv_override=p.sdiv_override, ddiv_override=p.ddiv_override,
                                 override_code=p.override_code)
        return years, inputs

    def implied_vol(self, instrument: Instrument, price: float, now_ns: int, params: AlgoParams | None = None,
                    underlier: float | None = None) -> float | None:
        spot = underlier if underlier is not None else self.underlier_mid(instrument)
        if spot is None or not instrument.is_option:
            return None
        years, inputs = self._inputs(instrument, spot, now_ns, params)
        model = "black76" if instrument.on_future else "bsm"
        price = instrument.premium_usd(price, spot)
        result = implied_vol(price, float(np.asarray(inputs.spot).ravel()[0]), instrument.strike, years,
                             instrument.is_call, inputs.rate, inputs.div_yield, model=model)
        vol = float(np.asarray(result.vol).ravel()[0])
        return vol if math.isfinite(vol) and vol > 0 else None

    def vol(self, instrument: Instrument, now_ns: int, params: AlgoParams | None = None,
            underlier: float | None = None) -> float:
        mid = self._books.nbbo(instrument.symbol).mid
        vol = self.implied_vol(instrument, mid, now_ns, params, underlier) if mid is not None else None
        return vol if vol is not None else self._fallback_vol.get(instrument.underlying, 0.3)

    def greeks(self, instrument: Instrument, now_ns: int, params: AlgoParams | None = None,
               underlier: float | None = None, vol: float | None = None) -> Greeks | None:
        """Scalar greeks (0-d arrays) of one option; None without an underlier price."""
        spot = underlier if underlier is not None else self.underlier_mid(instrument)
        if spot is None or not instrument.is_option:
            return None
        sigma = vol if vol is not None else self.vol(instrument, now_ns, params, spot)
        years, inputs = self._inputs(instrument, spot, now_ns, params)
        if instrument.on_future:
            greeks = black76(spot, instrument.strike, years, sigma, instrument.is_call, inputs.rate)
            if instrument.coin_quoted:
                return Greeks(greeks.price / spot, greeks.delta, greeks.gamma, greeks.vega / spot, greeks.theta / spot)
            return greeks
        return bsm(float(np.asarray(inputs.spot).ravel()[0]), instrument.strike, years, sigma, instrument.is_call,
                   inputs.rate, inputs.div_yield)
