"""How market makers quote an option around its fair value, vectorised over a chain.

Spread widths follow the delta buckets of seed 002 (paper-trading notes from options market
making): wide deep out of the money, tighter near the money, a little wider again at the money
where competition is fierce but risk is largest. Widths are fractions of fair value, never
less than one tick a side; prices land on the instrument's tick grid, bids rounded down and
asks up, and a bid is never below one tick.
"""
from __future__ import annotations

import numpy as np

# (upper bound of |delta|, full spread as a fraction of fair value): the middle of seed 002's ranges
DELTA_BUCKETS = ((0.10, 0.0275), (0.25, 0.0175), (0.40, 0.0125), (0.60, 0.0175), (1.01, 0.0125))


def spread_fraction(abs_delta: np.ndarray) -> np.ndarray:
    bounds = np.array([upper for upper, _ in DELTA_BUCKETS])
    widths = np.array([width for _, width in DELTA_BUCKETS])
    return widths[np.minimum(np.searchsorted(bounds, abs_delta, side="right"), len(widths) - 1)]


def tick_size(price: np.ndarray, small_tick: float | np.ndarray = 0.01, large_tick: float | np.ndarray = 0.05,
              threshold: float | np.ndarray = 3.0) -> np.ndarray:
    return np.where(price < threshold - 1e-9, small_tick, large_tick)


def quote_prices(fair: np.ndarray, abs_delta: np.ndarray, *, width_multiplier: float | np.ndarray = 1.0,
                 skew: float | np.ndarray = 0.0, small_tick=0.01, large_tick=0.05,
                 threshold=3.0) -> tuple[np.ndarray, np.ndarray]:
    """Bid and ask on the tick grid. ``skew`` shifts the centre by a fraction of the half spread
    (positive leans towards selling: both prices move down)."""
    fair = np.asarray(fair, dtype=float)
    half = 0.5 * spread_fraction(np.abs(abs_delta)) * fair * width_multiplier
    centre = fair - np.asarray(skew) * half
    tick = tick_size(fair, small_tick, large_tick, threshold)
    half = np.maximum(half, tick)
    bid = np.floor((centre - half) / tick + 1e-9) * tick
    ask = np.ceil((centre + half) / tick - 1e-9) * tick
    # a price that crossed the threshold takes the tick of where it landed
    bid_tick = tick_size(bid, small_tick, large_tick, threshold)
    bid = np.maximum(np.floor(bid / bid_tick + 1e-9) * bid_tick, small_tick)
    ask_tick = tick_size(ask, small_tick, large_tick, threshold)
    ask = np.ceil(np.maximum(ask, bid + tick) / ask_tick - 1e-9) * ask_tick
    return np.round(bid, 6), np.round(ask, 6)
