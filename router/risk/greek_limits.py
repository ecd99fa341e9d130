"""Day $delta and time-weighted vega limits: SRMax...Day... tags 5251-5260, checked on every child.

Each limit is a positive number (-1: no limit). The reference's rule, "risk limit = max limits -
current net counter" (long) and "+ current net counter" (short): the long limit bounds how far
positive the day's net may go, the short limit how far negative.

Our definitions, where the SpiderRock reference is silent:
- $delta of a quantity: model delta x underlier price x qty x multiplier, signed by side (buy +);
  of a delta-one instrument (stock, perpetual): price x qty x multiplier (1 for a stock; the lot,
  0.001 BTC, for the perpetual, whose qty counts lots). Vega: model vega per vol point (0.01)
  x multiplier x qty, in dollars. Time-weighted vega: vega x sqrt(30 days / days to expiry), the
  common 30-day reference (short-dated vega counts more), with days to expiry floored at one.
  Greeks are the router's model greeks now (router.market.model), so a market move changes them.
- The day: children sent since the trading day began (the last session close). Their fills count,
  at today's greeks.
- What a limit sees: the day's filled net, plus every open child of the account that pushes the
  net towards that limit (the worst case: they all fill and none of the others do), plus the
  child about to be sent. A child that does not push towards a limit is never held by it, and an
  amendment is judged by the quantity it adds.
- Scopes: the account; account + expiration (one underlier's expiry date: vega of different
  underliers does not net); account + symbol (the underlier: its options and itself).
- A HEDGE child that brings its own parent's day $delta closer to zero is never held by a $delta
  limit: the auto-hedge offsets the fills the limits let through.
- Unknown greeks (no underlier price) hold the child: unknown risk is not zero.

The quantities a check prices come from a running aggregate (``day_book.DayBook``) that every
touched child updates (``watch``: the engine's ``UnitOfWork.watch_children``), so a check reads
the account's rows, one per symbol of its day, instead of every parent of every account; without
``watch`` (and for the property test) ``_scanned_book`` computes the same from the book of record.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Callable, Mapping, Protocol

import numpy as np

from router.domain.enums import ChildRole
from router.domain.orders import ChildOrder, ParentOrder
from router.market.books import MarketBooks
from router.market.model import OptionModel
from router.market.securities import SecurityMaster, years_between

from .checks import RiskReject
from .day_book import FILLED, OPEN_BUYS, OPEN_SELLS, OWN_FILLED, OWN_HEDGES, DayBook, open_leaves

__all__ = ["DayGreekLimits", "GREEK_LIMITS", "GreekLimit", "Measure", "RISK_TAGS", "Scope", "UnitRisk",
           "active_limits", "time_weight", "unit_risk"]

T_REF_YEARS = 30 / 365.25
MIN_YEARS = 1 / 365.25
VOL_POINT = 0.01
_EPS = 1e-9
_MEMO = 4096


class Measure(Enum):
    DDELTA = "$delta"
    WT_VEGA = "time-weighted vega"


class Scope(Enum):
    ACCOUNT = "account"
    EXPIRATION = "account+expiration"
    SYMBOL = "account+symbol"


@dataclass(frozen=True, slots=True)
class GreekLimit:
    tag: int
    name: str
    field: str          # the AlgoParams field
    measure: Measure
    scope: Scope
    direction: int      # +1: the long limit, -1: the short limit


GREEK_LIMITS = (
    GreekLimit(5251, "SRMaxAccDayWtVegaLn", "max_acc_day_wt_vega_ln", Measure.WT_VEGA, Scope.ACCOUNT, +1),
    GreekLimit(5252, "SRMaxAccDayWtVegaSh", "max_acc_day_wt_vega_sh", Measure.WT_VEGA, Scope.ACCOUNT, -1),
    GreekLimit(5253, "SRMaxAccDayDDeltaLn", "max_acc_day_ddelta_ln", Measure.DDELTA, Scope.ACCOUNT, +1),
    GreekLimit(5254, "SRMaxAccDayDDeltaSh", "max_acc_day_ddelta_sh", Measure.DDELTA, Scope.ACCOUNT, -1),
    GreekLimit(5255, "SRMaxExpDayWtVegaLn", "max_exp_day_wt_vega_ln", Measure.WT_VEGA, Scope.EXPIRATION, +1),
    GreekLimit(5256, "SRMaxExpDayWtVegaSh", "max_exp_day_wt_vega_sh", Measure.WT_VEGA, Scope.EXPIRATION, -1),
    GreekLimit(5257, "SRMaxSymDayWtVegaLn", "max_sym_day_wt_vega_ln", Measure.WT_VEGA, Scope.SYMBOL, +1),
    GreekLimit(5258, "SRMaxSymDayWtVegaSh", "max_sym_day_wt_vega_sh", Measure.WT_VEGA, Scope.SYMBOL, -1),
    GreekLimit(5259, "SRMaxSymDayDDeltaLn", "max_sym_day_ddelta_ln", Measure.DDELTA, Scope.SYMBOL, +1),
    GreekLimit(5260, "SRMaxSymDayDDeltaSh", "max_sym_day_ddelta_sh", Measure.DDELTA, Scope.SYMBOL, -1),
)
RISK_TAGS = frozenset(limit.tag for limit in GREEK_LIMITS)
_FIELDS = frozenset(limit.field for limit in GREEK_LIMITS)


def active_limits(params) -> list[tuple[GreekLimit, float]]:
    """The limits an order sets: (limit, value) for each tag given with a value other than -1."""
    if not (params.model_fields_set & _FIELDS):          # the usual order: one set intersection per child
        return []
    values = [getattr(params, limit.field, None) for limit in GREEK_LIMITS]
    return [(limit, value) for limit, value in zip(GREEK_LIMITS, values) if value is not None and value != -1]


@dataclass(frozen=True, slots=True)
class UnitRisk:
    """The risk of buying one unit (a contract, a share) of a symbol."""
    ddelta: float
    wt_vega: float
    underlier: str
    expiry: date | None

    def of(self, measure: Measure) -> float:
        return self.ddelta if measure is Measure.DDELTA else self.wt_vega


def time_weight(years: float) -> float:
    return math.sqrt(T_REF_YEARS / max(years, MIN_YEARS))


def unit_risk(symbol: str, now_ns: int, securities: SecurityMaster, books: MarketBooks, model: OptionModel,
              last_price: float | None = None) -> UnitRisk:
    """``last_price``: a delta-one instrument's price when its book has none."""
    instrument = securities.get(symbol)
    if instrument is None:
        return UnitRisk(math.nan, math.nan, symbol, None)
    if not instrument.is_option:
        nbbo = books.nbbo(symbol)
        price = nbbo.mid if nbbo.mid is not None else last_price
        # per qty unit: a lot-sized underlier (the perp, 0.001 BTC a lot) carries its lot as multiplier
        return UnitRisk(math.nan if price is None else float(price) * instrument.multiplier, 0.0,
                        instrument.underlying or symbol, None)
    spot = model.underlier_mid(instrument)
    greeks = model.greeks(instrument, now_ns) if spot is not None else None
    if greeks is None:
        return UnitRisk(math.nan, math.nan, instrument.underlying, instrument.expiry)
    vega = float(greeks.vega) * (spot if instrument.coin_quoted else 1.0)      # coin options: vega in BTC
    years = years_between(now_ns, instrument.expiry, instrument.expiry_hour_utc)
    return UnitRisk(float(greeks.delta) * spot * instrument.multiplier,
                    vega * VOL_POINT * instrument.multiplier * time_weight(years),
                    instrument.underlying, instrument.expiry)


class DayOrders(Protocol):
    """What the check reads of the engine's book of record (router.engine.state.Orders)."""
    parents: Mapping[str, ParentOrder]
    children: Mapping[str, ChildOrder]
    children_of: Mapping[str, list[str]]


class _Book:
    """The account's day, per symbol: filled net qty, open buy and sell leaves, and the checked
    child's own parent's filled qty and open hedge qty (the hedge rule)."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.rows: list[list[float]] = []      # filled, open buys, open sells, own filled, own open hedges
        self.last_price: dict[str, float] = {}

    def row(self, symbol: str) -> list[float]:
        at = self.index.get(symbol)
        if at is None:
            at = self.index[symbol] = len(self.rows)
            self.rows.append([0.0, 0.0, 0.0, 0.0, 0.0])
        return self.rows[at]


def _money(value: float) -> str:
    sign = "-" if value < 0 else ""
    size = abs(value)
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if size >= scale:
            return f"{sign}${size / scale:.2f}{suffix}"
    return f"{sign}${size:,.2f}"


class DayGreekLimits:
    """The child risk check (router.risk.checks.ChildRisk) for the ten day limits of the child's
    parent. A breach is a RiskReject that holds the parent (``holds``), with ``fits_qty`` the
    smaller quantity that would fit (0: none)."""

    def __init__(self, orders: DayOrders, securities: SecurityMaster, books: MarketBooks, model: OptionModel,
                 now_ns: Callable[[], int], day_start_ns: Callable[[int], int],
                 watch: Callable[[Callable[[list[ChildOrder]], None]], list[ChildOrder]] | None = None) -> None:
        self._orders, self._securities, self._books, self._model = orders, securities, books, model
        self._now_ns, self._day_start_ns = now_ns, day_start_ns
        self._units: dict[tuple, UnitRisk] = {}      # an option's risk per (symbol, now, its mid, underlier mid)
        self._watch = watch
        self._running: DayBook | None = None         # built at the first check, then kept up to date
        self._changed: list[ChildOrder] | None = None

    def __call__(self, parent: ParentOrder, child, open_qty: int, underlier: str, multiplier: int) -> RiskReject | None:
        limits = active_limits(parent.algo)
        if not limits or child.qty <= 0:
            return None
        now = self._now_ns()
        day_start = self._day_start_ns(now)
        book = self._scanned_book(parent, child, day_start) if self._watch is None else \
            self._running_book(parent, child, day_start)
        symbols = list(book.index)
        units = [self._unit(s, now, book.last_price.get(s)) for s in symbols]
        rows = np.array(book.rows, dtype=float)
        mine = book.index[child.symbol]
        side = 1.0 if child.side.is_buy else -1.0
        existing = self._orders.children.get(child.child_id)
        old_leaves = _open_leaves(existing) if existing is not None and existing is not child else 0
        tightest: tuple[int, GreekLimit, float, float] | None = None     # fits, limit, value, projected
        for limit, value in limits:
            unit = np.array([u.of(limit.measure) for u in units])
            in_scope = _scope_mask(limit.scope, units, units[mine])
            d = limit.direction
            per_unit = d * side * unit[mine]                # how far one more unit pushes towards this limit
            if math.isfinite(per_unit) and per_unit * (child.qty - old_leaves) <= _EPS:
                continue                                    # it adds nothing this limit bounds
            if limit.measure is Measure.DDELTA and child.role is ChildRole.HEDGE \
                    and _hedge_reduces(rows, unit, mine, side * child.qty):
                continue
            filled = _dot(rows[:, 0], unit, in_scope)
            pushing = _pushing(rows[:, 1], d * unit, in_scope) + _pushing(rows[:, 2], -d * unit, in_scope)
            room = value - d * filled - pushing
            projected = d * filled + pushing + per_unit * child.qty
            if not math.isfinite(projected):
                held = in_scope & ((rows[:, :3] != 0).any(axis=1) | (np.arange(len(units)) == mine))
                return self._unknown(child, limit, units[mine], symbols, units, held)
            if projected <= value + _EPS:
                continue
            fits = max(int(math.floor(room / per_unit + _EPS)), 0) if per_unit > 0 else 0
            if tightest is None or fits < tightest[0]:
                tightest = (fits, limit, value, projected)
        if tightest is None:
            return None
        fits, limit, value, projected = tightest
        return RiskReject(self._text(child, limit, value, projected, units[mine]), holds=True,
                          fits_qty=min(fits, child.qty - 1))

    def _unit(self, symbol: str, now: int, last_price: float | None) -> UnitRisk:
        """``unit_risk``, remembered for an option while its inputs (the time, its own mid, which
        sets its implied vol, and its underlier's mid) stay the same: a take wave or several parents
        of one account check the same few options at once."""
        instrument = self._securities.get(symbol)
        if instrument is None or not instrument.is_option:
            return unit_risk(symbol, now, self._securities, self._books, self._model, last_price)
        key = (symbol, now, self._books.nbbo(symbol).mid, self._model.underlier_mid(instrument))
        unit = self._units.get(key)
        if unit is None:
            if len(self._units) >= _MEMO:
                self._units.clear()
            unit = self._units[key] = unit_risk(symbol, now, self._securities, self._books, self._model)
        return unit

    def _day(self, day_start: int) -> DayBook:
        """The running aggregate, caught up with every child touched since the last check."""
        running = self._running
        if running is None or running.day_start != day_start:
            orders = self._orders
            if self._changed is None:
                self._changed = self._watch(self._catch_up)
            self._changed.clear()                        # the build reads them as they are
            running = self._running = DayBook.build(orders.parents, orders.children, orders.children_of, day_start)
        elif self._changed:
            self._catch_up(self._changed)
            self._changed.clear()
        return running

    def _catch_up(self, changed: list[ChildOrder]) -> None:
        if self._running is not None:
            self._running.update_all(changed, self._orders.parents)

    def _running_book(self, parent: ParentOrder, checked, day_start: int) -> _Book:
        """``_scanned_book`` from the running aggregate: the account's rows, the checked child's
        own open leaves taken out (it is judged by what it adds)."""
        day, book = self._day(day_start), _Book()
        book.row(checked.symbol)
        account = parent.account
        own = day.parents.get(parent.order_id, {})
        for symbol, counts in day.accounts.get(account, {}).items():
            row = book.row(symbol)
            row[0], row[1], row[2] = counts[FILLED], counts[OPEN_BUYS], counts[OPEN_SELLS]
            mine = own.get(symbol)
            if mine is not None:
                row[3], row[4] = mine[OWN_FILLED], mine[OWN_HEDGES]
            price = day.last_price.get((account, symbol))
            if price is not None:
                book.last_price[symbol] = price
        share = day.share(checked.child_id)
        if share is not None and share.leaves:
            row = book.row(share.symbol)
            row[1 if share.is_buy else 2] -= share.leaves
            if share.hedge and share.parent_id == parent.order_id:
                row[4] -= share.leaves if share.is_buy else -share.leaves
        if checked.symbol not in book.last_price:
            book.last_price[checked.symbol] = checked.price
        return book

    def _scanned_book(self, parent: ParentOrder, checked, day_start: int) -> _Book:
        orders, book = self._orders, _Book()
        book.row(checked.symbol)
        children = orders.children
        for other in orders.parents.values():
            if other.account != parent.account:
                continue
            own = other.order_id == parent.order_id
            for child_id in orders.children_of.get(other.order_id, ()):
                child = children[child_id]
                row = book.row(child.symbol)
                sign = 1.0 if child.side.is_buy else -1.0
                if child.cum_qty and child.sent_ns >= day_start:
                    row[0] += sign * child.cum_qty
                    if own:
                        row[3] += sign * child.cum_qty
                    book.last_price[child.symbol] = child.notional / child.cum_qty
                if child.child_id == checked.child_id or child.status.is_done:
                    continue
                leaves = _open_leaves(child)
                row[1 if sign > 0 else 2] += leaves
                if own and child.role is ChildRole.HEDGE:
                    row[4] += sign * leaves
        if checked.symbol not in book.last_price:
            book.last_price[checked.symbol] = checked.price
        return book

    def _text(self, child, limit: GreekLimit, value: float, projected: float, unit: UnitRisk) -> str:
        where = _scope_label(limit.scope, unit)
        to = limit.direction * projected
        bound = _money(limit.direction * value)
        return (f"held: child {child.child_id} of {child.qty} would take {where} day {limit.measure.value} to "
                f"{_money(to)}, {'above' if limit.direction > 0 else 'below'} "
                f"{limit.name} ({limit.tag}) {bound}")

    def _unknown(self, child, limit: GreekLimit, unit: UnitRisk, symbols: list[str], units: list[UnitRisk],
                 counted: np.ndarray) -> RiskReject:
        unknown = [s for s, u, inside in zip(symbols, units, counted)
                   if inside and not math.isfinite(u.of(limit.measure))]
        return RiskReject(f"held: child {child.child_id} of {child.qty}: {_scope_label(limit.scope, unit)} day "
                          f"{limit.measure.value} is unknown (no model greeks for "
                          f"{', '.join(unknown) or child.symbol}), so {limit.name} ({limit.tag}) cannot be checked",
                          holds=True)


_open_leaves = open_leaves


def _scope_mask(scope: Scope, units: list[UnitRisk], mine: UnitRisk) -> np.ndarray:
    if scope is Scope.ACCOUNT:
        return np.ones(len(units), dtype=bool)
    if scope is Scope.SYMBOL:
        return np.array([u.underlier == mine.underlier for u in units])
    return np.array([u.underlier == mine.underlier and u.expiry == mine.expiry for u in units])


def _scope_label(scope: Scope, unit: UnitRisk) -> str:
    if scope is Scope.SYMBOL:
        return f"{scope.value} {unit.underlier}"
    if scope is Scope.EXPIRATION:
        return f"{scope.value} {unit.underlier} {unit.expiry}"
    return scope.value


def _dot(qty: np.ndarray, unit, mask: np.ndarray) -> float:
    """sum(qty x unit) over ``mask``, where a zero quantity counts zero even at an unknown unit."""
    values = qty * unit
    return float(np.where(mask & (qty != 0), values, 0.0).sum())


def _pushing(leaves: np.ndarray, towards: np.ndarray, mask: np.ndarray) -> float:
    """What open ``leaves`` add towards a limit, counting only those that push towards it."""
    return float(np.where(mask & (leaves != 0), np.maximum(leaves * towards, 0.0), 0.0).sum())


def _hedge_reduces(rows: np.ndarray, unit: np.ndarray, mine: int, signed_qty: float) -> bool:
    """The hedge (with its parent's other open hedges) brings its parent's day $delta closer to zero."""
    everywhere = np.ones(len(unit), dtype=bool)
    before = _dot(rows[:, 3], unit, everywhere)
    after = before + (rows[mine, 4] + signed_qty) * unit[mine]
    return math.isfinite(before) and math.isfinite(after) and abs(after) <= abs(before) + _EPS
