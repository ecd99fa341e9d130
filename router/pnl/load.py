"""The PnL attribution's input from a store: a window's fills with the mid at each, the end mark
of each symbol, and each option fill's theta (theta.py) at the underlier's price then.

Marks come from the TCA's ``fill_marks`` (router/engine/marks.py): every fill's mid when it was
applied and 1 s, 10 s, 60 s and 600 s later are samples of its symbol's mid at those times. A
symbol's end mark is its latest sample before the window's end; the underlier's price at an option
fill is the underlier's latest sample at or before the fill (its hedge's fill, usually), else its
first sample after it, else the configured spot. ``marks`` (symbol -> price, taken at ``marks_ns``)
overrides the store's end marks: a backtest or a test can pass its own.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping

import numpy as np
from sqlalchemy import select

from router.config import MarketConfig
from router.domain.commands import AlgoParams
from router.domain.instruments import Instrument, OsiError, option_from_osi
from router.engine.tif import SessionCalendar
from router.market.securities import SecurityMaster
from router.store import schema
from router.store.store import Store

from .attribution import PnlFills
from .theta import option_thetas

HEDGE, FIRM = "H", "F"
BUY = "1"
_SAMPLES = (("mid", 0), ("mid_1s", 1), ("mid_10s", 10), ("mid_60s", 60), ("mid_600s", 600))
_S = 1_000_000_000


@dataclass(frozen=True)
class PnlDay:
    fills: PnlFills
    symbols: np.ndarray                 # str, per fill
    row_info: list[dict]                # per row: parent, book (client/firm), ClOrdID, algo, symbol
    start_ns: int | None
    end_ns: int | None
    notes: list[str]


def trading_day(calendar: SessionCalendar, at_ns: int) -> tuple[int, int]:
    """The session ``at_ns`` is in: from the last weekday close at or before it to the next one."""
    return calendar.previous_close_ns(at_ns), calendar.next_close_ns(at_ns)


def last_fill_ns(store: Store) -> int | None:
    store.sync()
    with store.engine.connect() as connection:
        return connection.execute(select(schema.fills.c.ts_ns).order_by(schema.fills.c.ts_ns.desc()).limit(1)
                                  ).scalar()


class _Samples:
    """Each symbol's mid samples (time, mid), sorted by time."""

    def __init__(self, rows, end_ns: int | None) -> None:
        times: dict[str, list[int]] = {}
        mids: dict[str, list[float]] = {}
        for row in rows:
            for column, seconds in _SAMPLES:
                value, at = row[column], row["ts_ns"] + seconds * _S
                if value is not None and (end_ns is None or at < end_ns):
                    times.setdefault(row["symbol"], []).append(at)
                    mids.setdefault(row["symbol"], []).append(float(value))
        self._paths = {}
        for symbol, at in times.items():
            order = np.argsort(at, kind="stable")
            self._paths[symbol] = (np.asarray(at, dtype=np.int64)[order], np.asarray(mids[symbol])[order])

    def last(self, symbol: str) -> tuple[float, int] | None:
        path = self._paths.get(symbol)
        return None if path is None else (float(path[1][-1]), int(path[0][-1]))

    def at(self, symbol: str, ts_ns: np.ndarray) -> np.ndarray:
        """The latest sample at or before each time, else the first after; NaN without samples."""
        path = self._paths.get(symbol)
        if path is None:
            return np.full(len(ts_ns), np.nan)
        index = np.searchsorted(path[0], ts_ns, side="right") - 1
        return path[1][np.maximum(index, 0)]


def _instrument(securities: SecurityMaster, symbol: str) -> Instrument | None:
    known = securities.get(symbol)
    if known is not None:
        return known
    try:
        return option_from_osi(symbol)
    except (OsiError, ValueError):
        return None


def load_pnl(store: Store, securities: SecurityMaster, market: MarketConfig, start_ns: int | None = None,
             end_ns: int | None = None, marks: Mapping[str, float] | None = None,
             marks_ns: int | None = None) -> PnlDay:
    """The fills with ``start_ns <= ts < end_ns`` (None: unbounded), attributed per parent and book."""
    store.sync()
    fills_table, marks_table = schema.fills, schema.fill_marks
    chosen = select(fills_table)
    if start_ns is not None:
        chosen = chosen.where(fills_table.c.ts_ns >= start_ns)
    if end_ns is not None:
        chosen = chosen.where(fills_table.c.ts_ns < end_ns)
    with store.engine.connect() as connection:
        fills = [dict(r) for r in connection.execute(chosen.order_by(fills_table.c.ts_ns, fills_table.c.venue,
                                                                     fills_table.c.exec_id)).mappings()]
        parent_ids = sorted({f["parent_id"] for f in fills})
        parents = {r["order_id"]: dict(r) for r in connection.execute(
            select(schema.parents).where(schema.parents.c.order_id.in_(parent_ids))).mappings()}
        symbols = {f["symbol"] for f in fills}
        underliers = {s: getattr(_instrument(securities, s), "underlying", s) for s in symbols}
        wanted = symbols | set(underliers.values())
        mark_rows = [dict(r) for r in connection.execute(
            select(marks_table).where(marks_table.c.symbol.in_(wanted))).mappings()]
        multipliers = {s: float(m) for s, m in connection.execute(
            select(schema.positions.c.symbol, schema.positions.c.multiplier).where(
                schema.positions.c.symbol.in_(symbols)))}
    at_fill = {(r["venue"], r["exec_id"]): r["mid"] for r in mark_rows}
    samples = _Samples(mark_rows, end_ns)
    notes: list[str] = []

    rows: dict[tuple[str, str], int] = {}
    row_info: list[dict] = []
    for f in fills:
        key = (f["parent_id"], "firm" if f["role"] == FIRM else "client")
        if key not in rows:
            rows[key] = len(row_info)
            parent = parents.get(key[0], {})
            legs = json.loads(parent["legs"]) if parent.get("legs") else None
            symbol = f"{len(legs)}-leg package" if legs else parent.get("symbol", "")
            row_info.append({"parent": key[0], "book": key[1], "cl_ord_id": parent.get("cl_ord_id", ""),
                             "algo": parent.get("algo_name", ""), "symbol": symbol})
    n = len(fills)
    ts = np.array([f["ts_ns"] for f in fills], dtype=np.int64)
    price = np.array([float(f["price"]) for f in fills])
    symbol_of = np.array([f["symbol"] for f in fills], dtype=object)

    end_mark, end_at = np.full(n, np.nan), np.zeros(n, dtype=np.int64)
    fallback_marks = []
    for symbol in sorted(symbols):
        mine = symbol_of == symbol
        if marks is not None and symbol in marks:
            mark = (float(marks[symbol]), int(marks_ns if marks_ns is not None else ts[mine].max()))
        else:
            mark = samples.last(symbol)
        if mark is None:            # never marked (no two-sided quote at any fill): its last fill price
            last = np.flatnonzero(mine)[-1]
            mark = (float(price[last]), int(ts[last]))
            fallback_marks.append(symbol.strip())
        end_mark[mine], end_at[mine] = mark
    if fallback_marks:
        notes.append(f"no recorded mid for {', '.join(fallback_marks)}: marked at its last fill price")

    instruments = [_instrument(securities, s) for s in symbol_of]
    spot = np.full(n, np.nan)
    configured = {u.symbol: u.spot for u in market.underliers}
    unpriced = set()
    for underlier in sorted({i.underlying for i in instruments if i is not None and i.is_option}):
        mine = np.array([i is not None and i.is_option and i.underlying == underlier for i in instruments])
        spot[mine] = samples.at(underlier, ts[mine])
        missing = mine & np.isnan(spot)
        if missing.any():
            spot[missing] = configured.get(underlier, np.nan)
            unpriced.add(underlier)
    if unpriced:
        notes.append(f"no recorded mid of {', '.join(sorted(unpriced))}: theta priced on the configured spot")
    mid = np.array([np.nan if at_fill.get((f["venue"], f["exec_id"])) is None
                    else float(at_fill[(f["venue"], f["exec_id"])]) for f in fills])
    params_of = {parent_id: _params(parents.get(parent_id)) for parent_id in parent_ids}
    params = [params_of[f["parent_id"]] for f in fills]
    theta = option_thetas(instruments, spot, mid, ts, params, market.rate, {u.symbol: u.vol for u in market.underliers})

    columns = PnlFills(
        rows=np.array([f"{r['parent']} firm" if r["book"] == "firm" else r["parent"] for r in row_info],
                      dtype=object),
        row=np.array([rows[(f["parent_id"], "firm" if f["role"] == FIRM else "client")] for f in fills],
                     dtype=np.int64),
        hedge=np.array([f["role"] == HEDGE for f in fills], dtype=bool),
        side=np.array([1.0 if (f["side"] or parents.get(f["parent_id"], {}).get("side")) == BUY else -1.0
                       for f in fills]),
        qty=np.array([float(f["qty"]) for f in fills]),
        price=price,
        fee=np.array([float(f["fee"]) for f in fills]),
        multiplier=np.array([multipliers.get(s, getattr(i, "multiplier", 1.0)) for s, i in zip(symbol_of, instruments)],
                            dtype=float),
        ts_ns=ts, mid=mid, end_mark=end_mark, end_ns=end_at, theta=theta)
    return PnlDay(columns, symbol_of, row_info, start_ns, end_ns, notes)


def _params(parent: dict | None) -> AlgoParams:
    """The parent's algo parameters (its rate and dividend tags price its options' theta)."""
    return AlgoParams() if parent is None else AlgoParams.model_validate_json(parent["algo"])
