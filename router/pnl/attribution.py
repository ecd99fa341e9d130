"""PnL attribution of a day's fills, vectorised over fills (definitions in README.md, "PnL
attribution"): seed 002's components, which add up exactly to each fill's PnL to the end mark.

For a fill with sign s (+1 bought, -1 sold), quantity q, multiplier m, price p, fee f, the mid at
the fill M, the end mark E of its symbol (taken at time T) and the option's theta per year th
(the model's, at the fill):

    spread capture   s q m (M - p)                 option and other instrument fills
    theta            s q m th (T - t) / year       options only: the position's decay from the fill to T
    inventory MTM    s q m (E - M) - theta         the mark's move, less what theta explains
    hedge            s q m (E - p)                 HEDGE fills (their spread capture and MTM)
    fees             -f                            a rebate (negative fee) is a gain
    total            s q m (E - p) - f

A closing fill enters with the opposite sign, so a contract bought at t1 and sold at t2 adds
theta over about t2 - t1 (each fill's theta is taken at its own time): the time it was held.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

YEAR_NS = 365.25 * 86_400 * 1e9          # ACT/365.25, as router.market.securities.years_between
COMPONENTS = ("spread", "inventory", "theta", "hedge", "fees")
LABELS = {"spread": "spread capture", "inventory": "inventory MTM", "theta": "theta", "hedge": "hedge",
          "fees": "fees & rebates", "total": "total"}


@dataclass(frozen=True)
class PnlFills:
    """The day's fills as columns. ``row`` indexes ``rows`` (a parent, or a parent's firm book)."""
    rows: np.ndarray            # str labels, one per row
    row: np.ndarray             # int: which row each fill books to
    hedge: np.ndarray           # bool: an auto-hedge fill (role H)
    side: np.ndarray            # +1 bought, -1 sold
    qty: np.ndarray
    price: np.ndarray
    fee: np.ndarray             # $ for the whole fill; negative: a rebate
    multiplier: np.ndarray
    ts_ns: np.ndarray           # int64
    mid: np.ndarray             # the mid at the fill (NaN: none recorded; counted as the price)
    end_mark: np.ndarray        # the symbol's end mark
    end_ns: np.ndarray          # int64: when the end mark was taken
    theta: np.ndarray           # per unit per year (0: not an option)

    def __post_init__(self) -> None:
        n = len(self.row)
        for name in ("hedge", "side", "qty", "price", "fee", "multiplier", "ts_ns", "mid", "end_mark", "end_ns",
                     "theta"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"PnlFills.{name}: {len(getattr(self, name))} values for {n} fills")
        if n and (self.row.min() < 0 or self.row.max() >= len(self.rows)):
            raise ValueError(f"PnlFills.row: indexes outside the {len(self.rows)} rows")
        if np.isnan(self.end_mark).any():
            raise ValueError(f"PnlFills.end_mark: {int(np.isnan(self.end_mark).sum())} fills have no end mark")

    def __len__(self) -> int:
        return len(self.row)


@dataclass(frozen=True)
class PnlAttribution:
    fills: PnlFills
    per_fill: dict[str, np.ndarray]     # component (and "total") -> $ per fill
    per_row: dict[str, np.ndarray]      # component (and "total") -> $ per row
    fills_without_mid: int

    @property
    def totals(self) -> dict[str, float]:
        return {name: float(values.sum()) for name, values in self.per_row.items()}


def attribute(fills: PnlFills) -> PnlAttribution:
    notional = fills.side * fills.qty * fills.multiplier
    missing_mid = np.isnan(fills.mid)
    mid = np.where(missing_mid, fills.price, fills.mid)
    held_years = np.maximum(fills.end_ns - fills.ts_ns, 0) / YEAR_NS
    book = ~fills.hedge
    theta = np.where(book, notional * fills.theta * held_years, 0.0)
    per_fill = {
        "spread": np.where(book, notional * (mid - fills.price), 0.0),
        "inventory": np.where(book, notional * (fills.end_mark - mid), 0.0) - theta,
        "theta": theta,
        "hedge": np.where(fills.hedge, notional * (fills.end_mark - fills.price), 0.0),
        "fees": -fills.fee,
    }
    per_fill["total"] = notional * (fills.end_mark - fills.price) - fills.fee
    size = len(fills.rows)
    per_row = {name: np.bincount(fills.row, weights=values, minlength=size).astype(float)
               for name, values in per_fill.items()}
    return PnlAttribution(fills, per_fill, per_row, int(missing_mid.sum()))


def cumulative_by_time(result: PnlAttribution) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Fill times (sorted) and, per component, the running sum of each fill's PnL to the end mark."""
    order = np.argsort(result.fills.ts_ns, kind="stable")
    return result.fills.ts_ns[order], {name: np.cumsum(values[order]) for name, values in result.per_fill.items()}
