"""Rebuild every projection from the journal alone, and check the stored one against it.

The fold is the same one start-up uses: each batch's state record, in seq order, the last state
of each row winning. On top of the fold the rebuild checks what the journal's fills imply: each
child's and each parent's CumQty is the sum of its fills, and each position is what its fills
add up to under average-cost accounting (router/positions.py).
"""
from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from router.domain.enums import Side
from router.domain.orders import package_scale
from router.positions import PositionLedger

from .journal import find_damage
from .projection import KEYS, WATERMARK, Pending
from .rows import legs_from_json, record_to_row
from .store import Store

FIRM_ACCOUNT = "FIRM"          # router/engine/accounting.py FillAccounting.firm_account

_TABLES = tuple(KEYS)


@dataclass
class TableCheck:
    rows: int = 0
    missing: list[Any] = field(default_factory=list)       # in the journal, not stored
    extra: list[Any] = field(default_factory=list)         # stored, not in the journal
    differing: list[tuple[Any, str]] = field(default_factory=list)   # (key, first differing column)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.differing)


@dataclass
class RebuildReport:
    journal_entries: int
    state_records: int
    watermark: int
    last_seq: int
    tables: dict[str, TableCheck]
    invariants: list[str]
    damage: str | None
    written: bool

    @property
    def ok(self) -> bool:
        return self.damage is None and not self.invariants and all(t.ok for t in self.tables.values())


def rebuild(store: Store, *, write: bool = True) -> RebuildReport:
    """Fold the whole journal; compare it with what a restart would see, the stored tables with
    the journal after their watermark replayed over them (in memory: a projection cut short
    between its chunks holds rows newer than its watermark, which that replay makes right);
    check the fills' invariants; then, with ``write``, replace the projection with the fold."""
    store.sync()
    damage = store.check_journal()
    watermark = int(store.get_meta(WATERMARK, "0"))
    full = store.fold()
    tail = store.fold(from_seq=watermark + 1)
    tables = {name: _compare(name, full.tables[name], _replayed(name, store.table_rows(name), tail), KEYS[name])
              for name in _TABLES}
    invariants = _check_fills(full)
    report = RebuildReport(journal_entries=sum(1 for _ in store.iter_journal()),
                           state_records=sum(1 for _ in store.iter_states()), watermark=watermark,
                           last_seq=store.last_journal_seq(), tables=tables, invariants=invariants,
                           damage=None if damage is None else damage.describe(), written=False)
    if write and damage is None:
        store.replace_projection(full)
        report.written = True
    return report


def _replayed(table: str, stored: list[dict], tail: Pending) -> list[dict]:
    rows = {KEYS[table](row): row for row in stored}
    for key, record in tail.tables[table].items():
        rows[key] = record_to_row(table, record)
    return list(rows.values())


def _compare(table: str, expected: dict[Any, dict], stored_rows: list[dict], key) -> TableCheck:
    stored = {key(row): row for row in stored_rows}
    expected = {k: record_to_row(table, row) for k, row in expected.items()}
    check = TableCheck(rows=len(expected))
    check.missing = sorted((k for k in expected if k not in stored), key=str)
    check.extra = sorted((k for k in stored if k not in expected), key=str)
    for k in sorted(expected.keys() & stored.keys(), key=str):
        column = _first_difference(expected[k], stored[k])
        if column is not None:
            check.differing.append((k, column))
    return check


def _first_difference(expected: dict, stored: dict) -> str | None:
    for column, value in expected.items():
        other = stored.get(column)
        if isinstance(value, float) or isinstance(other, float):
            if value is None or other is None or not math.isclose(value, other, rel_tol=1e-12, abs_tol=1e-9):
                if not (value is None and other is None):
                    return column
        elif value != other:
            return column
    return None


def _check_fills(folded: Pending) -> list[str]:
    """A WORK fill moves its parent's CumQty; a package (legs) counts complete packages (its legs'
    LEG fills over their ratios); a PACKAGE child's CumQty counts package units, its fills are its
    legs' (ratios summed per unit)."""
    problems: list[str] = []
    fills = list(folded.tables["fills"].values())
    by_child: dict[str, int] = defaultdict(int)
    by_parent: dict[str, int] = defaultdict(int)
    by_leg: dict[tuple[str, str], int] = defaultdict(int)
    for fill in fills:
        by_child[fill["child_id"]] += fill["qty"]
        if fill["role"] == "W":
            by_parent[fill["parent_id"]] += fill["qty"]
        elif fill["role"] in ("L", "K"):
            by_leg[(fill["parent_id"], fill["symbol"])] += fill["qty"]
    legs_of = {p["order_id"]: _legs(p.get("legs")) for p in folded.tables["parents"].values()}
    for child in folded.tables["children"].values():
        filled = by_child.get(child["child_id"], 0)
        if child["role"] == "K":
            legs = legs_of.get(child["parent_id"], ())
            per_unit = sum(leg.ratio for leg in legs) // package_scale(legs) if legs else 1   # a unit of the reduced package
            filled, rest = divmod(filled, per_unit)
            filled = filled if rest == 0 else f"{by_child[child['child_id']]} leg contracts"
        if child["cum_qty"] != filled:
            problems.append(f"child {child['child_id']}: CumQty {child['cum_qty']} but its fills sum to {filled}")
    for parent in folded.tables["parents"].values():
        legs = legs_of[parent["order_id"]]
        filled = (min(by_leg.get((parent["order_id"], leg.symbol), 0) // leg.ratio for leg in legs) if legs
                  else by_parent.get(parent["order_id"], 0))
        if parent["cum_qty"] != filled:
            problems.append(f"parent {parent['order_id']}: CumQty {parent['cum_qty']} but its fills sum to {filled}")
    problems.extend(_check_positions(folded, fills))
    return problems


def _legs(value) -> tuple:
    """A package parent's legs, from the JSON column or the journal's decoded lists."""
    if not value:
        return ()
    return legs_from_json(value if isinstance(value, str) else json.dumps(value))


def _check_positions(folded: Pending, fills: list[dict]) -> list[str]:
    stored = folded.tables["positions"]
    accounts = {p["order_id"]: p["account"] for p in folded.tables["parents"].values()}
    multipliers = {key[2]: row["multiplier"] for key, row in stored.items()}
    ledger = PositionLedger()
    problems = []
    for fill in sorted(fills, key=lambda f: (f["ts_ns"], f["venue"], f["exec_id"])):
        if fill["side"] is None or fill["symbol"] not in multipliers:
            problems.append(f"fill {fill['venue']}/{fill['exec_id']} has no position")
            continue
        # a FIRM fill (a facilitation's initiator) books to the firm's account (router/engine/accounting.py)
        account = FIRM_ACCOUNT if fill["role"] == "F" else accounts.get(fill["parent_id"], "?")
        ledger.add_fill(account, fill["parent_id"], fill["symbol"], Side(fill["side"]),
                          fill["qty"], fill["price"], multipliers[fill["symbol"]], fee=fill["fee"])
    for key, row in stored.items():
        derived = ledger.position(*key)
        if derived is None:
            problems.append(f"position {key} has no fills")
            continue
        for column in ("qty", "avg_price", "realised_pnl", "fees"):
            if not math.isclose(getattr(derived, column), row[column], rel_tol=1e-9, abs_tol=1e-6):
                problems.append(f"position {key}: {column} {row[column]} but its fills give "
                                f"{getattr(derived, column)}")
                break
    return problems


__all__ = ["RebuildReport", "TableCheck", "find_damage", "rebuild"]
