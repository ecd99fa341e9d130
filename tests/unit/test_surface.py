"""Volatility surface: SVI fit, arbitrage checks and repair, warm refits, surface prices."""
from __future__ import annotations

import numpy as np
import pytest

from router.market import pricing
from router.market.surface import (ChainQuotes, Slice, SurfaceFitter, SviParams, Underlier, VolSurface,
                                   butterfly_density, butterfly_violation, calendar_violation, check_grid, fit_svi)

# Axel Vogt's raw SVI slice (Gatheral & Jacquier 2014): valid parameters, negative density.
VOGT = SviParams(a=-0.0410, b=0.1331, rho=0.3060, m=0.3586, sigma=0.4153)
EXPIRIES = (0.05, 0.25, 1.0)


def ssvi_slice(years: float, atm_vol: float = 0.2, rho: float = -0.6, eta: float = 1.0) -> SviParams:
    """A slice of an SSVI surface with power-law phi (gamma = 1/2): free of static arbitrage
    because eta * (1 + |rho|) <= 2, and written in raw SVI form."""
    theta = atm_vol ** 2 * years
    phi = eta / np.sqrt(theta)
    return SviParams(theta / 2 * (1 - rho * rho), theta * phi / 2, rho, -rho / phi, np.sqrt(1 - rho * rho) / phi)


def log_strikes(years: float, n: int = 25) -> np.ndarray:
    sd = 0.2 * np.sqrt(years)
    return np.linspace(-3 * sd, 2.5 * sd, n)


def vol_error(fitted: SviParams, true: SviParams, k: np.ndarray, years: float) -> np.ndarray:
    return np.sqrt(fitted.total_variance(k) / years) - np.sqrt(true.total_variance(k) / years)


@pytest.mark.parametrize("years", EXPIRIES)
def test_fit_recovers_a_known_smile(years: float) -> None:
    true = ssvi_slice(years)
    k = log_strikes(years)
    fit = fit_svi(k, true.total_variance(k), years=years)
    assert np.max(np.abs(vol_error(fit.params, true, k, years))) < 1e-6
    assert not fit.violations and not fit.repaired


@pytest.mark.parametrize("years", EXPIRIES)
def test_fit_with_noisy_vols_stays_within_the_noise(years: float) -> None:
    true = ssvi_slice(years)
    k = log_strikes(years, 41)
    noise = 0.003 * np.random.default_rng(7).standard_normal(len(k))
    vol = np.sqrt(true.total_variance(k) / years) + noise
    fit = fit_svi(k, vol * vol * years, years=years)
    error = vol_error(fit.params, true, k, years)
    assert np.sqrt(np.mean(error ** 2)) < 0.75 * np.std(noise)
    assert np.max(np.abs(error)) < 0.003
    assert fit.params.is_valid() and fit.params.b * (1 + abs(fit.params.rho)) <= 2 + 1e-9


def test_weights_make_the_fit_follow_trusted_quotes() -> None:
    true = ssvi_slice(0.25)
    k = log_strikes(0.25)
    w = true.total_variance(k)
    w[-3:] *= 1.3                                          # three bad far-wing quotes
    weights = np.ones_like(k)
    weights[-3:] = 1e-6
    error = vol_error(fit_svi(k, w, weights).params, true, k, 0.25)
    assert np.max(np.abs(error[:-3])) < 1e-4


def test_butterfly_check_flags_vogt_and_passes_ssvi() -> None:
    violation = butterfly_violation(VOGT, check_grid(VOGT, (-1.5, 1.5)), years=1.0)
    assert violation is not None and violation.amount < -0.01 and 0.5 < violation.k < 1.2
    for years in EXPIRIES:
        clean = ssvi_slice(years)
        assert butterfly_violation(clean, check_grid(clean, (-1.0, 1.0))) is None
        assert np.all(butterfly_density(clean, check_grid(clean, (-1.0, 1.0))) > 0)


def test_calendar_check_flags_crossing_slices_and_passes_ssvi() -> None:
    grid = np.linspace(-1, 1, 201)
    for short, long in zip(EXPIRIES, EXPIRIES[1:]):
        assert calendar_violation(ssvi_slice(short), ssvi_slice(long), grid) is None
    short = SviParams(0.02, 0.1, -0.5, 0.0, 0.1)
    steeper_but_lower = SviParams(0.005, 0.2, -0.5, 0.0, 0.1)   # below near the money, above in the wings
    violation = calendar_violation(short, steeper_but_lower, grid, (0.25, 0.5))
    assert violation is not None and violation.years == (0.25, 0.5) and abs(violation.k) < 0.1


def test_fit_to_butterfly_arbitrage_is_repaired() -> None:
    k = np.linspace(-1.5, 1.5, 41)
    fit = fit_svi(k, VOGT.total_variance(k), years=1.0)
    assert fit.repaired and not fit.violations
    assert np.min(butterfly_density(fit.params, check_grid(fit.params, (-1.5, 1.5)))) >= -1e-8
    assert np.max(np.abs(fit.params.total_variance(k) - VOGT.total_variance(k))) < 0.01


def test_fit_below_the_shorter_expiry_is_lifted_to_it() -> None:
    shorter = SviParams(0.02, 0.1, -0.5, 0.0, 0.1)
    k = np.linspace(-0.5, 0.5, 21)
    quoted = SviParams(0.015, 0.1, -0.5, 0.0, 0.1).total_variance(k)
    fit = fit_svi(k, quoted, years=0.5, lower=Slice(0.25, shorter, (-0.5, 0.5)))
    assert fit.repaired and not fit.violations
    grid = check_grid(fit.params, (-0.5, 0.5))
    assert np.all(fit.params.total_variance(grid) >= shorter.total_variance(grid) - 1e-9)


def test_warm_refit_reaches_the_same_answer_with_fewer_evaluations() -> None:
    true = ssvi_slice(0.25)
    k = log_strikes(0.25, 31)
    rng = np.random.default_rng(3)
    before = fit_svi(k, true.total_variance(k) * (1 + 0.01 * rng.standard_normal(len(k))))
    moved = true.total_variance(k - 0.01) * (1 + 0.01 * rng.standard_normal(len(k)))   # spot moved 1%
    cold = fit_svi(k, moved)
    warm = fit_svi(k, moved, start=before.params)
    assert warm.evaluations < cold.evaluations / 2
    assert np.max(np.abs(warm.params.total_variance(k) - cold.params.total_variance(k))) < 1e-7


def test_fit_needs_five_quotes() -> None:
    with pytest.raises(ValueError, match="at least 5"):
        fit_svi(np.array([-0.1, 0.0, 0.1]), np.array([0.01, 0.009, 0.01]))


def clean_surface(underlier: Underlier) -> VolSurface:
    return VolSurface(underlier, tuple(Slice(t, ssvi_slice(t), (-0.5, 0.5)) for t in EXPIRIES))


def test_surface_interpolates_total_variance_between_expiries() -> None:
    surface = clean_surface(Underlier(100.0))
    k = np.linspace(-0.3, 0.3, 7)
    for piece in surface.slices:
        assert np.allclose(surface.total_variance(piece.years, k), piece.params.total_variance(k))
    middle = surface.total_variance(0.5, k)
    assert np.all(middle > surface.total_variance(0.25, k)) and np.all(middle < surface.total_variance(1.0, k))
    assert np.allclose(surface.vol(0.01, k), surface.vol(0.05, k))            # flat in vol before the first
    assert np.allclose(surface.vol(2.0, k), surface.vol(1.0, k))              # and after the last
    assert surface.arbitrage() == []


def test_surface_reports_calendar_arbitrage() -> None:
    surface = VolSurface(Underlier(100.0), (Slice(0.5, SviParams(0.015, 0.1, -0.5, 0.0, 0.1), (-0.3, 0.3)),
                                            Slice(0.25, SviParams(0.02, 0.1, -0.5, 0.0, 0.1), (-0.3, 0.3))))
    assert [v.kind for v in surface.arbitrage()] == ["calendar"]


# ---------------------------------------------------------------------------------------------
# From quotes, through router.market.pricing.

def chain(underlier: Underlier, half_width: float | None = 0.0, noise: float = 0.0,
          seed: int = 1) -> tuple[ChainQuotes, np.ndarray]:
    """Calls and puts on every strike of clean_surface's expiries, quoted price -/+ half_width
    (None: 2% of the price, at least a cent) with the mid moved by up to noise * half_width."""
    strikes, years, calls = [], [], []
    for t in EXPIRIES:
        forward = float(underlier.forward(t))
        k = np.exp(np.linspace(-3, 2.5, 29) * 0.2 * np.sqrt(t))
        for is_call in (True, False):
            strikes.append(np.round(forward * k, 2))
            years.append(np.full(len(k), t))
            calls.append(np.full(len(k), is_call))
    strike, t, is_call = np.concatenate(strikes), np.concatenate(years), np.concatenate(calls)
    true_vol = true_surface_vol(underlier, strike, t)
    price = price_at(underlier, strike, t, true_vol, is_call)
    half = np.maximum(0.01, 0.02 * price) if half_width is None else half_width + 1e-6
    shift = noise * half * np.random.default_rng(seed).uniform(-1, 1, len(price))
    return ChainQuotes(strike, t, is_call, price + shift - half, price + shift + half), true_vol


def true_surface_vol(underlier: Underlier, strike: np.ndarray, years: np.ndarray) -> np.ndarray:
    return clean_surface(underlier).vol_at_strike(strike, years)


def price_at(underlier: Underlier, strike: np.ndarray, years: np.ndarray, vol: np.ndarray,
             is_call: np.ndarray) -> np.ndarray:
    if underlier.model == "black76":
        return pricing.black76(underlier.spot, strike, years, vol, is_call, underlier.rate).price
    return pricing.bsm(underlier.spot, strike, years, vol, is_call, underlier.rate, underlier.div_yield).price


@pytest.mark.parametrize("underlier", [Underlier(100.0, rate=0.04, div_yield=0.01),
                                       Underlier(2500.0, rate=0.04, model="black76")], ids=["bsm", "black76"])
def test_fitter_recovers_the_surface_from_mid_quotes(underlier: Underlier) -> None:
    quotes, true_vol = chain(underlier)
    surface = SurfaceFitter(underlier).fit(quotes)
    assert list(surface.expiries) == list(EXPIRIES)
    assert np.max(np.abs(surface.vol_at_strike(quotes.strike, quotes.years) - true_vol)) < 1e-5
    assert surface.arbitrage() == []


def test_fitter_with_noisy_quotes_stays_inside_the_spread() -> None:
    underlier = Underlier(100.0, rate=0.04, div_yield=0.01)
    quotes, true_vol = chain(underlier, half_width=None, noise=0.5)
    fitter = SurfaceFitter(underlier)
    surface = fitter.fit(quotes)
    model = surface.price(quotes.strike, quotes.years, quotes.is_call).model
    inside = (model >= quotes.bid - 1e-9) & (model <= quotes.ask + 1e-9)
    assert inside.mean() > 0.95
    error = surface.vol_at_strike(quotes.strike, quotes.years) - true_vol
    assert np.sqrt(np.mean(error ** 2)) < 0.005


def test_fitter_uses_out_of_the_money_quotes_with_a_bid() -> None:
    underlier = Underlier(100.0, rate=0.04)
    quotes, _ = chain(underlier)
    no_bid = quotes.strike < 0.9 * underlier.spot
    quotes = ChainQuotes(quotes.strike, quotes.years, quotes.is_call, np.where(no_bid, 0.0, quotes.bid), quotes.ask)
    fitter = SurfaceFitter(underlier)
    fitter.fit(quotes)
    for years, points in fitter.points.items():
        forward = float(underlier.forward(years))
        assert np.all(points.k >= np.log(0.9 * underlier.spot / forward) - 1e-12)
        one_expiry = quotes.years == years
        assert len(points.k) == len(np.unique(quotes.strike[one_expiry & ~no_bid]))   # one option per strike


def test_update_warm_starts_and_follows_the_move() -> None:
    underlier = Underlier(100.0, rate=0.04, div_yield=0.01)
    quotes, _ = chain(underlier)
    fitter = SurfaceFitter(underlier)
    fitter.fit(quotes)
    cold_evaluations = fitter.fits[0.25].evaluations
    moved = Underlier(101.0, rate=0.04, div_yield=0.01)
    moved_quotes, true_vol = chain(moved)
    params = fitter.update(0.25, moved_quotes, spot=101.0)
    assert fitter.fits[0.25].params == params and fitter.fits[0.25].evaluations < cold_evaluations
    one_expiry = moved_quotes.years == 0.25
    vol = fitter.surface().vol_at_strike(moved_quotes.strike[one_expiry], moved_quotes.years[one_expiry])
    assert np.max(np.abs(vol - true_vol[one_expiry])) < 1e-5


def test_mark_price_overrides_the_model_and_reports_the_difference() -> None:
    underlier = Underlier(100.0, rate=0.04, div_yield=0.01)
    surface = clean_surface(underlier)
    strike = np.array([90.0, 100.0, 110.0])
    years = np.array([0.25, 0.25, 0.5])
    is_call = np.array([False, True, True])
    plain = surface.price(strike, years, is_call)
    assert not plain.from_mark.any() and np.allclose(plain.price, plain.model)
    assert np.allclose(plain.model, price_at(underlier, strike, years, plain.vol, is_call))
    mark = np.array([np.nan, plain.model[1] + 0.05, plain.model[2] - 0.02])
    marked = surface.price(strike, years, is_call, mark=mark)
    assert list(marked.from_mark) == [False, True, True]
    assert np.allclose(marked.price, [plain.model[0], mark[1], mark[2]])
    assert np.isnan(marked.mark_diff[0]) and np.allclose(marked.mark_diff[1:], [-0.05, 0.02])
    assert np.allclose(marked.model, plain.model)


def test_price_at_a_new_spot_keeps_the_smile_in_moneyness() -> None:
    surface = clean_surface(Underlier(100.0, rate=0.04))
    moneyness, years, is_call = np.array([0.95, 1.0]), np.full(2, 0.25), np.array([False, True])
    at_101 = surface.price(101.0 * moneyness, years, is_call, spot=101.0)
    at_100 = surface.price(100.0 * moneyness, years, is_call)
    assert np.allclose(at_101.vol, at_100.vol) and np.allclose(at_101.model, 1.01 * at_100.model)


def test_fitter_lifts_an_expiry_quoted_below_the_one_before() -> None:
    underlier = Underlier(100.0, rate=0.04)
    years = np.array([0.25, 0.3])
    strike = np.round(100.0 * np.exp(np.linspace(-0.3, 0.25, 23)), 2)
    strikes, expiries, calls = (np.concatenate([strike] * 4), np.repeat(np.concatenate([years, years]), len(strike)),
                                np.repeat([True, True, False, False], len(strike)))
    k = np.log(strikes / underlier.forward(expiries))
    smiles = {0.25: ssvi_slice(0.25, atm_vol=0.20), 0.3: ssvi_slice(0.3, atm_vol=0.17)}   # total variance falls
    vol = np.array([np.sqrt(smiles[t].total_variance(x) / t) for t, x in zip(expiries, k)])
    price = price_at(underlier, strikes, expiries, vol, calls)
    fitter = SurfaceFitter(underlier)
    surface = fitter.fit(ChainQuotes(strikes, expiries, calls, price - 0.005, price + 0.005))
    assert not fitter.fits[0.25].repaired and fitter.fits[0.3].repaired
    assert surface.arbitrage() == []
    grid = fitter.fits[0.25].slice.grid()
    assert np.all(surface.total_variance(0.3, grid) >= surface.total_variance(0.25, grid))


def test_expiry_with_too_few_quotes_is_skipped_and_cannot_be_updated() -> None:
    underlier = Underlier(100.0, rate=0.04, div_yield=0.01)
    quotes, _ = chain(underlier)
    sparse = (quotes.years != 0.25) | (np.abs(quotes.strike - underlier.forward(0.25)) < 3)
    fitter = SurfaceFitter(underlier)
    surface = fitter.fit(quotes.select(sparse))
    assert fitter.skipped == [0.25] and list(surface.expiries) == [0.05, 1.0]
    with pytest.raises(ValueError, match="at least 5"):
        fitter.update(0.25, quotes.select(sparse))
