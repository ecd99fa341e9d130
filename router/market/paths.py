"""Simulated underlier paths: Merton jump-diffusion with a U-shaped intraday volatility.

Each step draws a diffusion shock and a Poisson number of lognormal jumps; the drift is
compensated so the expected price does not move. The volatility of a step is the annual
volatility times an intraday multiplier that is high at the open and the close and low at
midday (the well-known U shape of equity intraday volatility), normalised so that a whole
session's variance equals the annual volatility's. Everything is drawn from one seeded
numpy Generator, so a path is a function of its seed and the step times.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SECONDS_PER_YEAR = 365.25 * 24 * 3600
SESSION_OPEN_UTC_S = 14.5 * 3600      # 09:30 New York (winter)
SESSION_CLOSE_UTC_S = 21.0 * 3600     # 16:00 New York (winter)
U_SHAPE_DEPTH = 1.5                   # open/close variance is (1 + depth) x the midday variance


def intraday_multiplier(seconds_of_day: float) -> float:
    """Volatility multiplier at a UTC time of day; 1 outside the session, mean-square 1 inside."""
    if not SESSION_OPEN_UTC_S <= seconds_of_day <= SESSION_CLOSE_UTC_S:
        return 1.0
    half = (SESSION_CLOSE_UTC_S - SESSION_OPEN_UTC_S) / 2
    x = (seconds_of_day - SESSION_OPEN_UTC_S - half) / half          # -1 at the open, +1 at the close
    variance = 1.0 + U_SHAPE_DEPTH * x * x
    mean_variance = 1.0 + U_SHAPE_DEPTH / 3.0                          # mean of 1 + d x^2 over [-1, 1]
    return math.sqrt(variance / mean_variance)


@dataclass(frozen=True, slots=True)
class JumpDiffusion:
    vol: float                # annual diffusion volatility
    jumps_per_day: float
    jump_mean: float          # mean log jump size
    jump_std: float

    @property
    def _jump_compensator(self) -> float:
        """Annual drift that offsets the jumps' expected return."""
        intensity = self.jumps_per_day * 365.25
        return intensity * (math.exp(self.jump_mean + 0.5 * self.jump_std ** 2) - 1.0)


class UnderlierPaths:
    """Several underliers stepped together: ``step(dt_s, seconds_of_day)`` moves every spot."""

    def __init__(self, symbols: list[str], spots: list[float], models: list[JumpDiffusion], seed: int) -> None:
        self.symbols = symbols
        self.spots = np.asarray(spots, dtype=float)
        self._models = models
        self._vol = np.array([m.vol for m in models])
        self._intensity = np.array([m.jumps_per_day / 86_400.0 for m in models])     # per second
        self._jump_mean = np.array([m.jump_mean for m in models])
        self._jump_std = np.array([m.jump_std for m in models])
        self._compensator = np.array([m._jump_compensator for m in models])
        self._rng = np.random.default_rng(seed)

    def step(self, dt_s: float, seconds_of_day: float) -> np.ndarray:
        dt_years = dt_s / SECONDS_PER_YEAR
        sigma = self._vol * intraday_multiplier(seconds_of_day)
        shocks = self._rng.standard_normal(len(self.spots))
        jumps = self._rng.poisson(self._intensity * dt_s)
        jump_sizes = np.where(jumps > 0, self._rng.normal(self._jump_mean * jumps,
                                                          self._jump_std * np.sqrt(np.maximum(jumps, 1))), 0.0)
        drift = (-0.5 * sigma * sigma - self._compensator) * dt_years
        self.spots = self.spots * np.exp(drift + sigma * math.sqrt(dt_years) * shocks + jump_sizes)
        return self.spots

    def spot(self, symbol: str) -> float:
        return float(self.spots[self.symbols.index(symbol)])
