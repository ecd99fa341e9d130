"""Execution quality of one contender's parents, with 95% bootstrap confidence intervals over parents.

Every figure is a ratio of sums over the parents (contract-weighted), so a 100-lot counts a hundred
times a 1-lot; the bootstrap redraws whole parents (numpy, seeded), which keeps the fills of one
parent together:
- cost per contract: sum of (fill costs + fees + end charge) / contracts ordered ($);
- median: the median over parents of each parent's cost per contract;
- cost / half-spread: sum of costs / sum of (arrival half-spread x contracts);
- fill rate: contracts filled within the order's duration / contracts ordered;
- markout at h: sum over fills of side x (mid at fill + h - mid at fill) x multiplier / contracts
  marked ($ per contract; positive = the market moved our way, negative = adverse selection).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .run import HORIZONS_S, ParentResult

BOOTSTRAP_SAMPLES = 1000


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Quality:
    contender: str
    market: str
    parents: int
    contracts: int
    cost: Estimate                   # $ per contract
    median_cost: float
    half_spread_frac: Estimate
    fill_rate: Estimate
    passive_share: float             # of filled contracts, added liquidity
    fees_per_contract: float         # $ per filled contract
    markouts: dict[int, Estimate] = field(default_factory=dict)
    excluded: int = 0                # parents skipped (no market at arrival) or rejected


def _ratio(num: np.ndarray, den: np.ndarray, draws: np.ndarray) -> Estimate:
    total = den.sum()
    value = float(num.sum() / total) if total > 0 else float("nan")
    if not len(num) or total <= 0:
        return Estimate(value, float("nan"), float("nan"))
    with np.errstate(invalid="ignore", divide="ignore"):
        samples = num[draws].sum(axis=1) / den[draws].sum(axis=1)
    samples = samples[np.isfinite(samples)]
    low, high = np.percentile(samples, [2.5, 97.5]) if len(samples) else (np.nan, np.nan)
    return Estimate(value, float(low), float(high))


def quality(contender: str, market: str, results: list[ParentResult], seed: int = 0,
            samples: int = BOOTSTRAP_SAMPLES) -> Quality:
    counted = [r for r in results if r.counted]
    qty = np.array([r.spec.qty for r in counted], float)
    filled = np.array([r.filled for r in counted], float)
    cost = np.array([r.fill_cost + r.end_charge for r in counted], float)
    half = np.array([r.half_spread for r in counted], float) * qty
    passive = np.array([r.passive_qty for r in counted], float)
    fees = np.array([r.fees for r in counted], float)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(counted), size=(samples, len(counted))) if counted else np.zeros((0, 0), int)
    markouts = {}
    for h in HORIZONS_S:
        marked = np.array([r.markout.get(h, 0.0) for r in counted], float)
        marked_qty = np.array([r.markout_qty.get(h, 0) for r in counted], float)
        markouts[h] = _ratio(marked, marked_qty, draws)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_parent = cost / qty
    return Quality(contender, market, len(counted), int(qty.sum()), _ratio(cost, qty, draws),
                   float(np.median(per_parent)) if len(counted) else float("nan"),
                   _ratio(cost, half, draws), _ratio(filled, qty, draws),
                   float(passive.sum() / filled.sum()) if filled.sum() else float("nan"),
                   float(fees.sum() / filled.sum()) if filled.sum() else float("nan"),
                   markouts, len(results) - len(counted))


@dataclass(frozen=True)
class Verdict:
    naive: Quality
    best: Quality

    @property
    def saving(self) -> float:
        """The best contender's saving against naive, as a fraction of naive's cost."""
        return 1.0 - self.best.cost.value / self.naive.cost.value if self.naive.cost.value else float("nan")

    def line(self) -> str:
        return (f"naive_cost_per_contract={self.naive.cost.value:.4f} best_cost_per_contract={self.best.cost.value:.4f} "
                f"best_algo={self.best.contender} saving_vs_naive={self.saving:.4f} "
                f"best_fill_rate={self.best.fill_rate.value:.4f} "
                f"best_cost_half_spread_frac={self.best.half_spread_frac.value:.4f}")


MIN_FILL_RATE = 0.90


def verdict(rows: list[Quality]) -> Verdict:
    """The best contender other than naive: the cheapest among those filling at least
    MIN_FILL_RATE of their contracts within the duration, else the cheapest of all."""
    naive = next(q for q in rows if q.contender == "naive")
    others = [q for q in rows if q.contender != "naive"] or [naive]
    qualified = [q for q in others if q.fill_rate.value >= MIN_FILL_RATE] or others
    return Verdict(naive, min(qualified, key=lambda q: (q.cost.value, q.contender)))
