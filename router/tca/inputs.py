"""What the TCA reads, as numpy columns: the parents and their fills with the market around them.

Built from plain rows (dicts named like the store's columns: parents, fills, fill_marks,
parent_marks), so the same metrics run on a store (load.py) or on a backtest's results in memory.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np

HORIZONS_S = (1, 10, 60, 600)
_LATER_COLUMNS = tuple(f"mid_{h}s" for h in HORIZONS_S)
BUY_SIDES = frozenset({"1"})             # FIX Side: Buy (the router has no BuyMinus)
WORK, HEDGE, LEG = "W", "H", "L"

Row = Mapping[str, Any]


def _float(value: Any) -> float:
    return np.nan if value is None else float(value)


@dataclass(frozen=True)
class ParentColumns:
    order_id: np.ndarray        # str
    algo: np.ndarray            # str: parents.algo_name
    side: np.ndarray            # +1 buy, -1 sell
    qty: np.ndarray
    created_ns: np.ndarray      # int64
    expire_ns: np.ndarray       # int64, -1: none
    arrival_bid: np.ndarray     # NaN: none
    arrival_ask: np.ndarray
    qwap: np.ndarray            # NaN: not marked
    multiplier: np.ndarray      # of the parent's own symbol

    def __len__(self) -> int:
        return len(self.order_id)

    @property
    def arrival_mid(self) -> np.ndarray:
        return (self.arrival_bid + self.arrival_ask) / 2.0

    @property
    def arrival_half_spread(self) -> np.ndarray:
        half = (self.arrival_ask - self.arrival_bid) / 2.0
        return np.where(half > 0, half, np.nan)      # a locked or crossed quote has no half-spread to beat


@dataclass(frozen=True)
class FillColumns:
    parent: np.ndarray          # index into ParentColumns
    role: np.ndarray            # str: W, H, L
    side: np.ndarray            # +1 buy, -1 sell
    qty: np.ndarray
    price: np.ndarray
    fee: np.ndarray             # $ for the whole fill; negative: a rebate
    multiplier: np.ndarray
    passive: np.ndarray         # bool: the fill added liquidity
    ts_ns: np.ndarray           # int64
    mid: np.ndarray             # the mid when the fill was applied, NaN: unknown
    later: np.ndarray           # (n, len(HORIZONS_S)): the mid at each horizon after it, NaN: not (yet) taken

    def __len__(self) -> int:
        return len(self.parent)


@dataclass(frozen=True)
class TcaInput:
    parents: ParentColumns
    fills: FillColumns

    @classmethod
    def from_rows(cls, parents: Iterable[Row], fills: Iterable[Row], fill_marks: Iterable[Row] = (),
                  parent_marks: Iterable[Row] = (), multipliers: Mapping[str, float] | None = None) -> "TcaInput":
        """``multipliers``: contract size by symbol (1 where absent). Fills of parents not given are
        left out; a fill without marks has NaN mids."""
        parents = list(parents)
        multipliers = multipliers or {}
        index = {row["order_id"]: i for i, row in enumerate(parents)}
        qwap = {row["order_id"]: row.get("qwap") for row in parent_marks}
        marks = {(row["venue"], row["exec_id"]): row for row in fill_marks}
        parent_columns = ParentColumns(
            order_id=np.array([p["order_id"] for p in parents], dtype=object),
            algo=np.array([p["algo_name"] for p in parents], dtype=object),
            side=np.array([1.0 if p["side"] in BUY_SIDES else -1.0 for p in parents]),
            qty=np.array([float(p["qty"]) for p in parents]),
            created_ns=np.array([int(p["created_ns"]) for p in parents], dtype=np.int64),
            expire_ns=np.array([-1 if p["expire_ns"] is None else int(p["expire_ns"]) for p in parents],
                               dtype=np.int64),
            arrival_bid=np.array([_float(p["arrival_bid"]) for p in parents]),
            arrival_ask=np.array([_float(p["arrival_ask"]) for p in parents]),
            qwap=np.array([_float(qwap.get(p["order_id"])) for p in parents]),
            multiplier=np.array([float(multipliers.get(p["symbol"], 1.0)) for p in parents]),
        )
        kept = [f for f in fills if f["parent_id"] in index]
        empty: dict[str, Any] = {}
        fill_marks_of = [marks.get((f["venue"], f["exec_id"]), empty) for f in kept]
        fill_columns = FillColumns(
            parent=np.array([index[f["parent_id"]] for f in kept], dtype=np.int64),
            role=np.array([f["role"] for f in kept], dtype=object),
            side=np.array([1.0 if (f["side"] or parents[index[f["parent_id"]]]["side"]) in BUY_SIDES else -1.0
                           for f in kept]),
            qty=np.array([float(f["qty"]) for f in kept]),
            price=np.array([float(f["price"]) for f in kept]),
            fee=np.array([float(f["fee"]) for f in kept]),
            multiplier=np.array([float(multipliers.get(f["symbol"], 1.0)) for f in kept]),
            passive=np.array([f["liquidity"] == "A" for f in kept], dtype=bool),
            ts_ns=np.array([int(f["ts_ns"]) for f in kept], dtype=np.int64),
            mid=np.array([_float(m.get("mid")) for m in fill_marks_of]),
            later=np.array([[_float(m.get(c)) for c in _LATER_COLUMNS] for m in fill_marks_of],
                           dtype=float).reshape(len(kept), len(HORIZONS_S)),
        )
        return cls(parent_columns, fill_columns)
