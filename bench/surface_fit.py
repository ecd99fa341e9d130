"""Fit error and speed of the SVI volatility surface on a simulated chain.

The true surface is SSVI (Gatheral & Jacquier's arbitrage-free family, whose slices are raw
SVI) with a downward ATM term structure. Every listed option is quoted around its true price
with seed 002's bid-ask widths by delta bucket, rounded out to penny-pilot ticks, and the mid is
shifted by up to half the half-width at random, so the fit sees quote noise the way it would
in a market. It then reports the surface's error against the true surface, the cold fit time
and the warm refit time per expiry after a 0.5% underlier move.

Run: python bench/surface_fit.py   (no peer: no other SVI fitter is installed to compare with)
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable without installing

from router.market import pricing  # noqa: E402
from router.market.surface import ChainQuotes, SurfaceFitter, SviParams, Underlier, fit_svi  # noqa: E402

EXPIRY_DAYS = (7, 14, 30, 60, 91, 182, 365)
STRIKES_PER_EXPIRY = 41
RATE, DIV_YIELD = 0.04, 0.01
ROUNDS = 5


def ssvi_slice(years: float, rho: float = -0.65, eta: float = 1.2) -> SviParams:
    atm_vol = 0.18 + 0.08 * np.exp(-years / 0.15)
    theta = atm_vol ** 2 * years
    phi = eta / (theta ** 0.4 * (1 + theta) ** 0.6)
    return SviParams(theta / 2 * (1 - rho * rho), theta * phi / 2, rho, -rho / phi, np.sqrt(1 - rho * rho) / phi)


TRUE_SLICES = {d / 365: ssvi_slice(d / 365) for d in EXPIRY_DAYS}


def listed_chain(spot: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Strikes on a fixed listing grid from -3.5 to +3 ATM deviations of every expiry, calls and puts."""
    strikes, years, calls = [], [], []
    for t in TRUE_SLICES:
        deviation = 0.2 * np.sqrt(t)
        step = 1.0 if t < 0.1 else 2.5 if t < 0.4 else 5.0
        k = np.unique(np.round(spot * np.exp(np.linspace(-3.5, 3.0, STRIKES_PER_EXPIRY) * deviation) / step) * step)
        for is_call in (True, False):
            strikes.append(k)
            years.append(np.full(len(k), t))
            calls.append(np.full(len(k), is_call))
    return np.concatenate(strikes), np.concatenate(years), np.concatenate(calls)


def true_vol(underlier: Underlier, strike: np.ndarray, years: np.ndarray) -> np.ndarray:
    k = np.log(strike / underlier.forward(years))
    w = np.array([TRUE_SLICES[t].total_variance(x) for t, x in zip(years, k)])
    return np.sqrt(w / years)


def quotes(underlier: Underlier, strike: np.ndarray, years: np.ndarray, is_call: np.ndarray,
           rng: np.random.Generator, noise: float = 0.5) -> tuple[ChainQuotes, np.ndarray]:
    greeks = pricing.bsm(underlier.spot, strike, years, true_vol(underlier, strike, years), is_call, RATE, DIV_YIELD)
    price, delta = greeks.price, np.abs(greeks.delta)
    width_pct = np.select([delta < 0.1, delta < 0.25, delta < 0.4, delta <= 0.6],
                          [0.0275, 0.0175, 0.0125, 0.0175], 0.0125)                 # seed 002's table
    tick = np.where(price < 3.0, 0.01, 0.05)
    half = np.maximum(width_pct * price / 2, tick)
    centre = price + noise * half * rng.uniform(-1, 1, len(price))
    bid = np.floor((centre - half) / tick + 1e-9) * tick
    ask = np.ceil((centre + half) / tick - 1e-9) * tick
    return ChainQuotes(strike, years, is_call, np.maximum(bid, 0.0), ask), price


def errors(fitter: SurfaceFitter, chain: ChainQuotes, price: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    surface = fitter.surface()
    vol_error = surface.vol_at_strike(chain.strike, chain.years) - true_vol(fitter.underlier, chain.strike, chain.years)
    price_error = surface.price(chain.strike, chain.years, chain.is_call).model - price
    return vol_error, price_error


def timed(call) -> tuple[float, object]:
    start = time.perf_counter()
    result = call()
    return (time.perf_counter() - start) * 1e3, result


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x * x)))


def main() -> None:
    rng = np.random.default_rng(2024)
    underlier = Underlier(100.0, RATE, DIV_YIELD)
    strike, years, is_call = listed_chain(underlier.spot)
    out_of_the_money = is_call == (strike >= underlier.forward(years))

    exact = SurfaceFitter(underlier)
    _, exact_price = quotes(underlier, strike, years, is_call, rng, noise=0.0)
    exact_chain = ChainQuotes(strike, years, is_call, exact_price - 1e-9, exact_price + 1e-9)
    exact.fit(exact_chain)
    exact_vol_error, _ = errors(exact, exact_chain, exact_price)

    chain, price = quotes(underlier, strike, years, is_call, rng)
    fitter = SurfaceFitter(underlier)
    fit_ms = statistics.median(timed(lambda: fitter.fit(chain))[0] for _ in range(ROUNDS))
    vol_error, price_error = errors(fitter, chain, price)
    quoted = out_of_the_money & (chain.bid > 0)           # one option per strike, as the fit sees them
    vega = pricing.bsm(underlier.spot, strike, years, true_vol(underlier, strike, years), is_call, RATE, DIV_YIELD).vega
    half_spread_vol = (chain.ask - chain.bid) / 2 / vega
    model = fitter.surface().price(strike, years, is_call).model
    inside = np.mean((model >= chain.bid) & (model <= chain.ask))

    refit_ms, warm_ms, cold_ms, warm_evals, cold_evals = [], [], [], [], []
    spot = underlier.spot
    for round_ in range(ROUNDS):
        spot *= 1.005 if round_ % 2 == 0 else 1 / 1.005
        moved = Underlier(spot, RATE, DIV_YIELD)
        moved_chain, _ = quotes(moved, strike, years, is_call, rng)
        for t in TRUE_SLICES:
            previous = fitter.fits[t].params
            refit_ms.append(timed(lambda: fitter.update(t, moved_chain, spot=spot))[0])
            points = fitter.points[t]
            ms, warm = timed(lambda: fit_svi(points.k, points.w, points.weight, start=previous))
            warm_ms.append(ms)
            warm_evals.append(warm.evaluations)
            ms, cold = timed(lambda: fit_svi(points.k, points.w, points.weight))
            cold_ms.append(ms)
            cold_evals.append(cold.evaluations)
    fits = fitter.fits.values()

    bp = 1e4
    print(f"chain: {len(TRUE_SLICES)} expiries, {len(strike)} options; the fit uses the {quoted.sum()} "
          f"out-of-the-money ones with a bid ({(chain.bid <= 0).sum()} options have none)")
    print(f"exact quotes:  vol RMSE {bp * rms(exact_vol_error[quoted]):.4f} bp, max {bp * np.abs(exact_vol_error).max():.4f} bp")
    print(f"noisy quotes (median half-spread {bp * np.median(half_spread_vol[quoted]):.0f} bp of vol): "
          f"vol RMSE {bp * rms(vol_error[quoted]):.1f} bp, max {bp * np.abs(vol_error[quoted]).max():.1f} bp, "
          f"RMS error / half-spread {rms(vol_error[quoted] / half_spread_vol[quoted]):.2f}")
    print(f"  all listed strikes, including wings without a bid: vol RMSE {bp * rms(vol_error):.1f} bp, "
          f"max {bp * np.abs(vol_error).max():.1f} bp (extrapolation where a quote is 0 / 0.01)")
    print(f"  price error RMSE ${rms(price_error):.4f}, max ${np.abs(price_error).max():.4f}; "
          f"surface price inside the quote for {100 * inside:.1f}% of options")
    print(f"after {ROUNDS} refits of every expiry: {sum(f.repaired for f in fits)} slices repaired, "
          f"{len(fitter.surface().arbitrage())} arbitrage violations left")
    print(f"cold fit of the chain (implied vols + {len(TRUE_SLICES)} SVI fits): {fit_ms:.1f} ms")
    print(f"refit of one expiry after a 0.5% move: {statistics.median(refit_ms):.2f} ms with its implied vols; "
          f"SVI alone warm {statistics.median(warm_ms):.2f} ms ({statistics.mean(warm_evals):.0f} objective evaluations) "
          f"vs cold {statistics.median(cold_ms):.2f} ms ({statistics.mean(cold_evals):.0f})")
    print(f"expiries={len(TRUE_SLICES)} options={len(strike)} fitted={quoted.sum()} "
          f"rmse_vol_bp={bp * rms(vol_error[quoted]):.2f} max_err_vol_bp={bp * np.abs(vol_error[quoted]).max():.2f} "
          f"rmse_vol_bp_all={bp * rms(vol_error):.2f} max_err_vol_bp_all={bp * np.abs(vol_error).max():.2f} "
          f"rmse_price={rms(price_error):.5f} max_err_price={np.abs(price_error).max():.5f} "
          f"exact_rmse_vol_bp={bp * rms(exact_vol_error[quoted]):.5f} fit_ms={fit_ms:.2f} "
          f"refit_ms={statistics.median(refit_ms):.3f} svi_refit_ms={statistics.median(warm_ms):.3f} "
          f"svi_cold_ms={statistics.median(cold_ms):.3f}")


if __name__ == "__main__":
    main()
