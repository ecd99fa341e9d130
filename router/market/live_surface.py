"""The live volatility surface: per underlier, an SVI surface (router/market/surface.py) fitted
from the option books of its chain as they are now, for the Surface limit class (5100 / 5102).

A fit is made lazily, when a price is asked for, and only again once the chain's quotes (or
the underlier's) have changed since the last fit and at least ``refit_interval_ms`` of clock
time has passed since it. Between fits the surface reprices at the underlier's price now
(sticky moneyness), so a Surface limit still moves with the underlier. An expiry with fewer
than ``surface.MIN_POINTS`` usable out-of-the-money quotes has no fit: its options get no
surface price (None, and ``why_none`` says why).

Coin-quoted options (BTC options on DRBT / OKXO) are priced as router/market/model.py prices
them: the BTC premium times the perpetual's price is the USD premium, Black-76 on the
perpetual as the forward at rate 0; the surface price comes back in BTC.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Sequence

import numpy as np

from router.domain.instruments import Instrument

from . import pricing
from .books import MarketBooks
from .securities import SecurityMaster, years_between
from .surface import MIN_POINTS, ChainQuotes, SurfaceFitter, Underlier, VolSurface

_NS_PER_MS = 1_000_000
_MIN_YEARS = 1e-6


@dataclass(frozen=True, slots=True)
class _Fit:
    surface: VolSurface | None
    expiries: frozenset[date]        # the expiries with a smile
    quotes: np.ndarray               # (spot, then bid and ask of each option): what it was fitted from
    fitted_ns: int
    reason: str                      # why an expiry has no smile ("" when all have)


class LiveSurfaces:
    def __init__(self, books: MarketBooks, securities: SecurityMaster, rate: float,
                 refit_interval_ms: float = 1000.0) -> None:
        self._books = books
        self._securities = securities
        self._rate = rate
        self._interval_ns = int(refit_interval_ms * _NS_PER_MS)
        self._chains: dict[str, list[Instrument]] = {}
        self._fits: dict[str, _Fit] = {}
        self.fit_count = 0           # fits made, for tests and diagnostics

    # ------------------------------------------------------------------ prices

    def surface_price(self, instrument: Instrument, now_ns: int, vol_shift: float = 0.0) -> tuple[float, float] | None:
        """(price at the surface vol + ``vol_shift``, the surface vol) of one option, in its own
        premium units; None without a fit for its expiry."""
        prices, vols = self.surface_prices([instrument], now_ns, np.array([vol_shift]))
        return None if np.isnan(prices[0]) else (float(prices[0]), float(vols[0]))

    def surface_prices(self, instruments: Sequence[Instrument], now_ns: int,
                       vol_shift: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Prices and vols of many options (any underliers), one pricing call per underlier; NaN
        where there is no fit."""
        n = len(instruments)
        prices, vols = np.full(n, np.nan), np.full(n, np.nan)
        shift = np.broadcast_to(np.asarray(vol_shift, float), (n,))
        by_underlier: dict[str, list[int]] = {}
        for i, instrument in enumerate(instruments):
            if instrument is not None and instrument.is_option:
                by_underlier.setdefault(instrument.underlying, []).append(i)
        for underlier, rows in by_underlier.items():
            fit = self._fit(underlier, now_ns)
            spot = self._spot(underlier)
            if fit.surface is None or spot is None:
                continue
            rows = [i for i in rows if instruments[i].expiry in fit.expiries]
            if not rows:
                continue
            chosen = [instruments[i] for i in rows]
            strike = np.array([inst.strike for inst in chosen], float)
            years = np.array([self._years(inst, now_ns) for inst in chosen])
            is_call = np.array([inst.is_call for inst in chosen])
            vol = fit.surface.vol_at_strike(strike, years, spot)
            shifted = np.maximum(vol + shift[rows], 1e-4)
            model = fit.surface.underlier
            if model.model == "black76":
                price = pricing.black76(spot, strike, years, shifted, is_call, model.rate).price
            else:
                price = pricing.bsm(spot, strike, years, shifted, is_call, model.rate, model.div_yield).price
            price = np.asarray(price, float)
            coin = np.array([inst.coin_quoted for inst in chosen])
            prices[rows] = np.where(coin, price / spot, price)
            vols[rows] = vol
        return prices, vols

    def why_none(self, instrument: Instrument, now_ns: int) -> str:
        """Why ``surface_price`` gives nothing for this instrument ("" when it gives a price)."""
        if instrument is None or not instrument.is_option:
            return "not an option"
        fit = self._fit(instrument.underlying, now_ns)
        if self._spot(instrument.underlying) is None:
            return f"no price for the underlier {instrument.underlying}"
        if fit.surface is None or instrument.expiry not in fit.expiries:
            return fit.reason or f"no smile for expiry {instrument.expiry}"
        return ""

    # ------------------------------------------------------------------ fitting

    def _fit(self, underlier: str, now_ns: int) -> _Fit:
        fit = self._fits.get(underlier)
        if fit is not None and now_ns - fit.fitted_ns < self._interval_ns:
            return fit
        chain = self._chain(underlier)
        quotes = self._quotes(underlier, chain)
        if fit is not None and np.array_equal(quotes, fit.quotes, equal_nan=True):
            return fit
        fit = self._fits[underlier] = self._fit_now(underlier, chain, quotes, now_ns)
        return fit

    def _fit_now(self, underlier: str, chain: list[Instrument], quotes: np.ndarray, now_ns: int) -> _Fit:
        self.fit_count += 1
        spot = quotes[0]
        if not chain or np.isnan(spot):
            return _Fit(None, frozenset(), quotes, now_ns, f"no price for the underlier {underlier}"
                        if chain else f"no listed options on {underlier}")
        coin = chain[0].coin_quoted
        model = "black76" if chain[0].on_future else "bsm"
        rate = 0.0 if coin else self._rate
        bid, ask = quotes[1::2].copy(), quotes[2::2].copy()
        if coin:
            bid, ask = bid * spot, ask * spot        # premiums in USD, as the fit's pricing wants
        years = np.array([self._years(inst, now_ns) for inst in chain])
        usable = np.isfinite(bid) & np.isfinite(ask)
        fitter = SurfaceFitter(Underlier(float(spot), rate, 0.0, model))
        chosen = np.flatnonzero(usable)
        try:
            surface = fitter.fit(ChainQuotes(np.array([chain[i].strike for i in chosen], float), years[chosen],
                                             np.array([chain[i].is_call for i in chosen]), bid[chosen], ask[chosen]))
        except ValueError as error:       # no expiry with enough quotes: VolSurface refuses no slices
            return _Fit(None, frozenset(), quotes, now_ns,
                        f"fewer than {MIN_POINTS} usable out-of-the-money quotes on any expiry of {underlier} "
                        f"({error})")
        fitted_years = np.array(list(fitter.fits), float)
        expiries = frozenset(inst.expiry for inst, t in zip(chain, years)
                             if len(fitted_years) and np.isclose(fitted_years, t).any())
        reason = (f"fewer than {MIN_POINTS} usable out-of-the-money quotes for that expiry of {underlier}"
                  if fitter.skipped else "")
        return _Fit(surface, expiries, quotes, now_ns, reason)

    def _chain(self, underlier: str) -> list[Instrument]:
        chain = self._chains.get(underlier)
        if chain is None:
            chain = self._chains[underlier] = sorted(
                (inst for inst in self._securities.options() if inst.underlying == underlier),
                key=lambda inst: inst.symbol)
        return chain

    def _quotes(self, underlier: str, chain: list[Instrument]) -> np.ndarray:
        spot = self._spot(underlier)
        values = [np.nan if spot is None else spot]
        for inst in chain:
            nbbo = self._books.nbbo(inst.symbol)
            values.append(np.nan if nbbo.bid is None else nbbo.bid)
            values.append(np.nan if nbbo.ask is None else nbbo.ask)
        return np.array(values, float)

    def _spot(self, underlier: str) -> float | None:
        nbbo = self._books.nbbo(underlier)
        if nbbo.mid is not None:
            return nbbo.mid
        return nbbo.bid if nbbo.bid is not None else nbbo.ask

    @staticmethod
    def _years(instrument: Instrument, now_ns: int) -> float:
        return max(years_between(now_ns, instrument.expiry, instrument.expiry_hour_utc), _MIN_YEARS)
