"""Transaction cost metrics, vectorised over fills and parents (definitions in README.md,
"Transaction cost analysis").

Signs: a *cost* is positive when we paid (shortfall, spreads, fees); a *markout* or a *PnL* is
positive when it went our way. Dollar figures are per contract: x the multiplier, / the quantity.
Option cost counts WORK fills only; HEDGE fills (the auto-hedge, in the underlier) are summed
apart (``hedge_summary``) and LEG fills (packages) have no single arrival mid to compare with.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .inputs import HEDGE, HORIZONS_S, WORK, TcaInput

NS = 1e9


def time_weighted_mid(times_ns: np.ndarray, mids: np.ndarray, start_ns: int, end_ns: int) -> float:
    """The qwap of a quote path: each mid (NaN: one-sided, not counted) holds from its time to
    the next one; the average over [start_ns, end_ns] of the time that had a mid. NaN without one."""
    times = np.asarray(times_ns, dtype=np.int64)
    mids = np.asarray(mids, dtype=float)
    if end_ns <= start_ns or len(times) == 0:
        return float("nan")
    begins = np.clip(times, start_ns, end_ns)
    ends = np.clip(np.append(times[1:], end_ns), start_ns, end_ns)
    held = (ends - begins).astype(float)
    quoted = ~np.isnan(mids) & (held > 0)
    total = held[quoted].sum()
    return float((mids[quoted] * held[quoted]).sum() / total) if total > 0 else float("nan")


@dataclass(frozen=True)
class FillMetrics:
    arrival_mid: np.ndarray             # the parent's, for WORK fills; NaN otherwise
    shortfall: np.ndarray               # $ per contract against the arrival mid
    shortfall_half_spread: np.ndarray   # the same as a fraction of the quoted half-spread at arrival
    effective_spread: np.ndarray        # $ per contract: 2 x side x (price - mid at the fill)
    realised_spread: np.ndarray         # $ per contract: 2 x side x (price - mid at the horizon)
    markouts: np.ndarray                # (n, horizons) $ per contract: side x (mid later - mid at the fill)
    fee_per_contract: np.ndarray
    realised_horizon_s: int


def fill_metrics(data: TcaInput, realised_horizon_s: int = 60) -> FillMetrics:
    parents, fills = data.parents, data.fills
    mult, side, price = fills.multiplier, fills.side, fills.price
    work = fills.role == WORK
    arrival = np.where(work, parents.arrival_mid[fills.parent], np.nan) if len(fills) else np.empty(0)
    half = parents.arrival_half_spread[fills.parent] if len(fills) else np.empty(0)
    horizon = HORIZONS_S.index(realised_horizon_s)
    with np.errstate(invalid="ignore", divide="ignore"):
        return FillMetrics(
            arrival_mid=arrival,
            shortfall=side * (price - arrival) * mult,
            shortfall_half_spread=side * (price - arrival) / half,
            effective_spread=2.0 * side * (price - fills.mid) * mult,
            realised_spread=2.0 * side * (price - fills.later[:, horizon]) * mult,
            markouts=(side * mult)[:, None] * (fills.later - fills.mid[:, None]),
            fee_per_contract=fills.fee / fills.qty,
            realised_horizon_s=realised_horizon_s,
        )


def _sum_by(index: np.ndarray, weights: np.ndarray, size: int) -> np.ndarray:
    return np.bincount(index, weights=weights, minlength=size).astype(float)


@dataclass(frozen=True)
class ParentMetrics:
    filled: np.ndarray                  # contracts, WORK fills
    avg_price: np.ndarray
    shortfall: np.ndarray               # $ per contract, fees apart
    fees_per_contract: np.ndarray
    cost: np.ndarray                    # shortfall + fees, $ per contract
    cost_half_spread: np.ndarray        # cost as a fraction of the quoted half-spread at arrival (x multiplier)
    fill_rate: np.ndarray               # filled within the order's duration / ordered
    time_to_fill_s: np.ndarray          # arrival to the last fill of a completed parent; NaN otherwise
    time_to_first_fill_s: np.ndarray
    passive_share: np.ndarray           # of the filled contracts
    pnl_vs_qwap: np.ndarray             # $ per contract: side x (qwap - avg price)


def parent_metrics(data: TcaInput, metrics: FillMetrics | None = None) -> ParentMetrics:
    parents, fills = data.parents, data.fills
    metrics = metrics or fill_metrics(data)
    size = len(parents)
    work = fills.role == WORK
    at, qty = fills.parent[work], fills.qty[work]
    filled = _sum_by(at, qty, size)
    ts = fills.ts_ns[work]
    expiry = parents.expire_ns[at]
    in_time = (expiry < 0) | (ts <= expiry)
    last = np.full(size, -1, dtype=np.int64)
    np.maximum.at(last, at, ts)
    first = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, at, ts)
    with np.errstate(invalid="ignore", divide="ignore"):
        avg_price = _sum_by(at, qty * fills.price[work], size) / filled
        shortfall = _sum_by(at, qty * metrics.shortfall[work], size) / filled
        fees = _sum_by(at, fills.fee[work], size) / filled
        cost = shortfall + fees
        done = (filled >= parents.qty) & (filled > 0)
        return ParentMetrics(
            filled=filled,
            avg_price=avg_price,
            shortfall=shortfall,
            fees_per_contract=fees,
            cost=cost,
            cost_half_spread=cost / (parents.arrival_half_spread * parents.multiplier),
            fill_rate=_sum_by(at, qty * in_time, size) / parents.qty,
            time_to_fill_s=np.where(done, (last - parents.created_ns) / NS, np.nan),
            time_to_first_fill_s=np.where(filled > 0, (first - parents.created_ns) / NS, np.nan),
            passive_share=_sum_by(at, qty * fills.passive[work], size) / filled,
            pnl_vs_qwap=parents.side * (parents.qwap - avg_price) * parents.multiplier,
        )


def _weighted(values: np.ndarray, weights: np.ndarray) -> float:
    keep = ~np.isnan(values) & (weights > 0)
    total = weights[keep].sum()
    return float((values[keep] * weights[keep]).sum() / total) if total > 0 else float("nan")


def _median(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(np.median(values)) if len(values) else float("nan")


@dataclass(frozen=True)
class AlgoSummary:
    algo: str
    parents: int
    contracts: float
    cost_mean: float                    # $ per contract, contract-weighted, fees included
    cost_median: float                  # median over parents
    cost_half_spread: float             # contract-weighted
    shortfall: float
    fees_per_contract: float
    effective_spread: float
    realised_spread: float
    pnl_vs_qwap: float
    fill_rate: float                    # contracts filled in time / ordered
    time_to_fill_median_s: float
    passive_share: float
    markouts: dict[int, float]          # horizon s -> $ per contract, every WORK fill
    markouts_passive: dict[int, float]
    markouts_aggressive: dict[int, float]


def _markouts(markouts: np.ndarray, qty: np.ndarray, keep: np.ndarray) -> dict[int, float]:
    return {h: _weighted(markouts[keep, i], qty[keep]) for i, h in enumerate(HORIZONS_S)}


def algo_summary(data: TcaInput, fill: FillMetrics | None = None,
                 parent: ParentMetrics | None = None) -> list[AlgoSummary]:
    """One row per algo (parents.algo_name), in name order."""
    fill = fill or fill_metrics(data)
    parent = parent or parent_metrics(data, fill)
    parents, fills = data.parents, data.fills
    work = fills.role == WORK
    rows = []
    for algo in sorted(set(parents.algo)):
        mine = parents.algo == algo
        of_mine = work & mine[fills.parent] if len(fills) else np.zeros(0, dtype=bool)
        qty = fills.qty
        rows.append(AlgoSummary(
            algo=str(algo),
            parents=int(mine.sum()),
            contracts=float(parent.filled[mine].sum()),
            cost_mean=_weighted(parent.cost[mine], parent.filled[mine]),
            cost_median=_median(parent.cost[mine]),
            cost_half_spread=_weighted(parent.cost_half_spread[mine], parent.filled[mine]),
            shortfall=_weighted(parent.shortfall[mine], parent.filled[mine]),
            fees_per_contract=_weighted(parent.fees_per_contract[mine], parent.filled[mine]),
            effective_spread=_weighted(fill.effective_spread[of_mine], qty[of_mine]),
            realised_spread=_weighted(fill.realised_spread[of_mine], qty[of_mine]),
            pnl_vs_qwap=_weighted(parent.pnl_vs_qwap[mine], parent.filled[mine]),
            fill_rate=float((parent.fill_rate[mine] * parents.qty[mine]).sum() / parents.qty[mine].sum()),
            time_to_fill_median_s=_median(parent.time_to_fill_s[mine]),
            passive_share=_weighted(fills.passive[of_mine].astype(float), qty[of_mine]),
            markouts=_markouts(fill.markouts, qty, of_mine),
            markouts_passive=_markouts(fill.markouts, qty, of_mine & fills.passive),
            markouts_aggressive=_markouts(fill.markouts, qty, of_mine & ~fills.passive),
        ))
    return rows


@dataclass(frozen=True)
class HedgeSummary:
    algo: str
    fills: int
    shares: float
    slippage_per_share: float           # $: side x (price - mid at the fill), fees apart
    fees_per_share: float
    markouts: dict[int, float]          # $ per share


def hedge_summary(data: TcaInput, fill: FillMetrics | None = None) -> list[HedgeSummary]:
    """The auto-hedge's fills per algo of their parents, never mixed into the option cost."""
    fill = fill or fill_metrics(data)
    parents, fills = data.parents, data.fills
    hedge = fills.role == HEDGE
    rows = []
    for algo in sorted(set(parents.algo[fills.parent[hedge]])):
        mine = hedge & (parents.algo[fills.parent] == algo)
        qty = fills.qty
        rows.append(HedgeSummary(
            algo=str(algo), fills=int(mine.sum()), shares=float(qty[mine].sum()),
            slippage_per_share=_weighted(fill.effective_spread[mine] / 2.0, qty[mine]),
            fees_per_share=float(fills.fee[mine].sum() / qty[mine].sum()),
            markouts=_markouts(fill.markouts, qty, mine),
        ))
    return rows
