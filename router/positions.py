"""The positions ledger: one row per (account, parent, symbol), rebuilt from fills after a restart.

Accounting is average cost: adding to a position moves its average price, reducing it realises
``(price - average) x closed qty x multiplier`` and leaves the average alone, and a fill through
flat closes the old position and opens the new one at the fill price. Fees are kept apart from
realised PnL.

Rows live in numpy arrays; prices and greeks live per symbol, so a mark or a greeks update is
one write and every PnL or risk figure is a few array passes over all rows. A symbol's mark is
its last fill price until ``mark`` gives it a market price (seed 002: a hedge opened with a zero
mark showed half the equity gone); after that, fills no longer move it.

Greeks come from a provider asked when a symbol is first held and again on ``refresh_risk``
(or are pushed with ``set_risk``). The provider returns None for a delta-one instrument (stock,
future): delta 1, no vega, its own mark as the underlier price. Greeks nobody gave are NaN and
stay NaN in every sum: unknown risk is not zero.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Literal, Mapping, NamedTuple

import numpy as np

from router.domain.enums import Side
from router.domain.orders import Fill

__all__ = ["Exposure", "GreeksProvider", "Holding", "Position", "PositionLedger", "SymbolRisk"]


@dataclass(frozen=True, slots=True)
class SymbolRisk:
    """Per-unit greeks of one symbol: delta and vega of one contract before the multiplier."""
    delta: float
    vega: float               # per 1.00 of vol, as router.market.pricing
    underlier_price: float


GreeksProvider = Callable[[str], SymbolRisk | None]


@dataclass(frozen=True, slots=True)
class Position:
    account: str
    parent_id: str
    symbol: str
    qty: int                  # signed: short is negative
    avg_price: float          # 0 when flat
    multiplier: float         # an int for contracts and shares; a lot-sized underlier's lot
    mark: float
    realised_pnl: float
    unrealised_pnl: float
    fees: float
    share_delta: float        # delta x qty x multiplier
    dollar_delta: float       # share delta x underlier price
    vega: float               # vega x qty x multiplier


class Holding(NamedTuple):
    """A position as the store keeps it: what its fills add up to."""
    account: str
    parent_id: str
    symbol: str
    qty: int
    avg_price: float
    multiplier: float
    realised_pnl: float
    fees: float


@dataclass(frozen=True, slots=True)
class Exposure:
    """Sums over a group of positions (an account, a parent and its hedge, a symbol)."""
    realised_pnl: float
    unrealised_pnl: float
    fees: float
    share_delta: float
    dollar_delta: float
    vega: float


GroupBy = Literal["account", "parent", "symbol"]
_INITIAL_ROWS = 64
# numpy columns: per row with their dtype, and per symbol (indexed by its group id) with the
# value a symbol starts with
_ROW_COLUMNS = {"_qty": np.int64, "_avg": float, "_realised": float, "_fees": float, "_mult": float,
                "_account_of": np.intp, "_parent_of": np.intp, "_symbol_of": np.intp}
_SYMBOL_COLUMNS = {
    "_sym_mark": 0.0,
    "_sym_marked": False,        # a market mark arrived
    "_sym_delta": np.nan,
    "_sym_vega": np.nan,
    "_sym_uprice": np.nan,
    "_sym_delta_one": False,     # its own underlier: priced at its mark
    "_sym_risk_set": False,
}


def side_sign(side: Side) -> int:
    return 1 if side.is_buy else -1


class PositionLedger:
    def __init__(self, greeks: GreeksProvider | None = None) -> None:
        self._greeks = greeks
        self._clear()

    def _clear(self) -> None:
        self._rows: dict[tuple[str, str, str], int] = {}
        self._keys: list[tuple[str, str, str]] = []
        self._group_ids: dict[GroupBy, dict[str, int]] = {"account": {}, "parent": {}, "symbol": {}}
        self._group_names: dict[GroupBy, list[str]] = {"account": [], "parent": [], "symbol": []}
        for name, dtype in _ROW_COLUMNS.items():
            setattr(self, name, np.zeros(_INITIAL_ROWS, dtype=dtype))
        for name, start in _SYMBOL_COLUMNS.items():
            setattr(self, name, np.full(_INITIAL_ROWS, start))

    # ---- fills

    def apply_fill(self, account: str, parent_id: str, symbol: str, side: Side, qty: int, price: float,
                   multiplier: float, *, fee: float = 0.0) -> Position:
        """Book a fill; the position after it, with its market figures."""
        return self._position(self._book(account, parent_id, symbol, side, qty, price, multiplier, fee))

    def add_fill(self, account: str, parent_id: str, symbol: str, side: Side, qty: int, price: float,
                 multiplier: float, *, fee: float = 0.0) -> Holding:
        """Book a fill; what is stored of the position after it (no market figures: cheaper)."""
        row = self._book(account, parent_id, symbol, side, qty, price, multiplier, fee)
        return Holding(account, parent_id, symbol, int(self._qty[row]), float(self._avg[row]), _multiplier(self._mult[row]),
                       float(self._realised[row]), float(self._fees[row]))

    def _book(self, account: str, parent_id: str, symbol: str, side: Side, qty: int, price: float,
              multiplier: float, fee: float) -> int:
        if qty <= 0:
            raise ValueError(f"fill qty {qty} must be positive")
        row = self._row(account, parent_id, symbol, multiplier)
        sym = self._symbol_of[row]
        if not self._sym_marked[sym]:
            self._sym_mark[sym] = price
        signed = side_sign(side) * qty
        old = int(self._qty[row])
        new = old + signed
        if old == 0 or (old > 0) == (signed > 0):
            self._avg[row] = (self._avg[row] * abs(old) + price * qty) / abs(new)
        else:
            closed = min(abs(old), qty)
            self._realised[row] += (price - self._avg[row]) * closed * np.sign(old) * multiplier
            if new == 0:
                self._avg[row] = 0.0
            elif (new > 0) != (old > 0):
                self._avg[row] = price
        self._qty[row] = new
        self._fees[row] += fee
        return row

    def rebuild(self, fills: Iterable[Fill], *, accounts: Mapping[str, str], multipliers: Mapping[str, float]) -> None:
        """Forget everything (marks too) and replay ``fills`` in time order; ``accounts`` maps a
        parent id to its account, ``multipliers`` a symbol to its contract multiplier. A fill seen
        twice (same child and exec id) counts once."""
        self._clear()
        seen: set[tuple[str, str]] = set()
        for fill in sorted(fills, key=lambda f: f.ts_ns):
            if (fill.child_id, fill.exec_id) in seen:
                continue
            if not fill.symbol or fill.side is None:
                raise ValueError(f"fill {fill.exec_id} of {fill.child_id} has no symbol or side")
            seen.add((fill.child_id, fill.exec_id))
            self.apply_fill(accounts[fill.parent_id], fill.parent_id, fill.symbol, fill.side, fill.qty, fill.price,
                            multipliers[fill.symbol], fee=fill.fee)

    def restore(self, rows: Iterable[tuple]) -> None:
        """Forget everything and load positions as stored: (account, parent_id, symbol, qty,
        avg_price, multiplier, realised_pnl, fees). Marks start at the average price, as a
        fill's would, until the market marks them."""
        self._clear()
        for account, parent_id, symbol, qty, avg_price, multiplier, realised, fees in rows:
            row = self._row(account, parent_id, symbol, _multiplier(multiplier))
            self._qty[row], self._avg[row] = int(qty), float(avg_price)
            self._realised[row], self._fees[row] = float(realised), float(fees)
            sym = self._symbol_of[row]
            if not self._sym_marked[sym] and qty:
                self._sym_mark[sym] = float(avg_price)

    # ---- market

    def mark(self, symbol: str, price: float) -> None:
        self.mark_many([symbol], [price])

    def mark_many(self, symbols: Iterable[str], prices: Iterable[float]) -> None:
        """Market marks for many symbols at once; symbols with no position yet are remembered."""
        ids = np.fromiter((self._group_id("symbol", s) for s in symbols), dtype=np.intp)
        self._sym_mark[ids] = np.fromiter(prices, dtype=float, count=len(ids))
        self._sym_marked[ids] = True

    def set_risk(self, symbol: str, risk: SymbolRisk | None) -> None:
        sym = self._group_id("symbol", symbol)
        self._sym_risk_set[sym] = True
        self._sym_delta_one[sym] = risk is None
        if risk is None:
            self._sym_delta[sym], self._sym_vega[sym], self._sym_uprice[sym] = 1.0, 0.0, np.nan
        else:
            self._sym_delta[sym], self._sym_vega[sym], self._sym_uprice[sym] = risk.delta, risk.vega, risk.underlier_price

    def refresh_risk(self, symbols: Iterable[str] | None = None) -> None:
        """Ask the greeks provider again, for ``symbols`` or every symbol held."""
        if self._greeks is None:
            return
        for symbol in (self._group_names["symbol"] if symbols is None else symbols):
            self.set_risk(symbol, self._greeks(symbol))

    # ---- reading

    def holds(self, symbol: str) -> bool:
        """A position (open or closed) in this symbol exists, so market marks for it matter."""
        return symbol in self._group_ids["symbol"]

    def position(self, account: str, parent_id: str, symbol: str) -> Position | None:
        row = self._rows.get((account, parent_id, symbol))
        return None if row is None else self._position(row)

    def positions(self) -> list[Position]:
        rows = np.arange(len(self._keys))
        columns = self._columns(rows)
        return [self._snapshot(row, {name: float(values[row]) for name, values in columns.items()}) for row in rows]

    def totals(self, by: GroupBy) -> dict[str, Exposure]:
        """Exposure per account, per parent (an option leg and its hedge) or per symbol."""
        n = len(self._keys)
        group_of = {"account": self._account_of, "parent": self._parent_of, "symbol": self._symbol_of}[by][:n]
        names = self._group_names[by]
        columns = self._columns(np.arange(n))
        sums = {name: np.bincount(group_of, weights=values, minlength=len(names)) for name, values in columns.items()}
        held = np.unique(group_of)
        return {names[g]: Exposure(**{name: float(sums[name][g]) for name in columns}) for g in held}

    def net_qty(self, symbol: str) -> int:
        """Signed quantity held in ``symbol`` across every account and parent."""
        sym = self._group_ids["symbol"].get(symbol)
        if sym is None:
            return 0
        n = len(self._keys)
        return int(self._qty[:n][self._symbol_of[:n] == sym].sum())

    # ---- internals

    def _columns(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """PnL and risk of ``rows``, one array entry per row."""
        sym = self._symbol_of[rows]
        qty = self._qty[rows].astype(float)
        units = qty * self._mult[rows]
        mark = self._sym_mark[sym]
        uprice = np.where(self._sym_delta_one[sym], mark, self._sym_uprice[sym])
        share_delta = self._sym_delta[sym] * units
        return {
            "realised_pnl": self._realised[rows],
            "unrealised_pnl": np.where(qty == 0, 0.0, (mark - self._avg[rows]) * units),
            "fees": self._fees[rows],
            "share_delta": share_delta,
            "dollar_delta": share_delta * uprice,
            "vega": self._sym_vega[sym] * units,
        }

    def _position(self, row: int) -> Position:
        columns = self._columns(np.array([row]))
        return self._snapshot(row, {name: float(values[0]) for name, values in columns.items()})

    def _snapshot(self, row: int, figures: dict[str, float]) -> Position:
        account, parent_id, symbol = self._keys[row]
        return Position(account, parent_id, symbol, int(self._qty[row]), float(self._avg[row]),
                        _multiplier(self._mult[row]), float(self._sym_mark[self._symbol_of[row]]), **figures)

    def _row(self, account: str, parent_id: str, symbol: str, multiplier: float) -> int:
        key = (account, parent_id, symbol)
        row = self._rows.get(key)
        if row is not None:
            return row
        row = len(self._keys)
        if row == len(self._qty):
            self._grow_rows()
        self._rows[key] = row
        self._keys.append(key)
        self._mult[row] = multiplier
        self._account_of[row] = self._group_id("account", account)
        self._parent_of[row] = self._group_id("parent", parent_id)
        sym = self._symbol_of[row] = self._group_id("symbol", symbol)
        if self._greeks is not None and not self._sym_risk_set[sym]:
            self.set_risk(symbol, self._greeks(symbol))
        return row

    def _group_id(self, by: GroupBy, name: str) -> int:
        ids = self._group_ids[by]
        gid = ids.get(name)
        if gid is None:
            gid = ids[name] = len(ids)
            self._group_names[by].append(name)
            if by == "symbol" and gid == len(self._sym_mark):
                self._grow_symbols()
        return gid

    def _grow_rows(self) -> None:
        for name in _ROW_COLUMNS:
            old = getattr(self, name)
            setattr(self, name, np.concatenate([old, np.zeros_like(old)]))

    def _grow_symbols(self) -> None:
        for name, start in _SYMBOL_COLUMNS.items():
            old = getattr(self, name)
            setattr(self, name, np.concatenate([old, np.full(len(old), start)]))


def _multiplier(value) -> float | int:
    """A multiplier as stored: an int for contracts and shares, the lot (0.001) of a lot-sized
    underlier such as the BTCUSDT perpetual."""
    value = float(value)
    return int(value) if value.is_integer() else value
