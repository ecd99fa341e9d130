"""Limits: the price a parent may trade at right now, and where its resting child should sit.

- ``sweep_limit``: the sweep's limit (Market, MarketArrival, Prc), one order at a time;
- ``primary_limits``: the primary limit of every LimitType (5098) for arrays of orders on one
  underlier, one numpy pass per underlier update whatever the number of orders;
- ``effective_limits``: the tightest of the primary and a secondary limit (surface, probability);
- ``post_prices`` / ``is_marketable``: where a post-only child rests under each PostType (5096).

README.md ("Volatility") gives every formula and the tags each type reads.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from router.domain.enums import BalanceHandling, LimitType, OrdType
from router.domain.instruments import PENNY_PILOT, Instrument, TickRule
from router.domain.orders import ParentOrder, static_price as domain_static_price
from router.market.books import Nbbo
from router.market.pricing import Greeks, black76, bsm

_EPS = 1e-9


# ---------------------------------------------------------------------------------------------
# One order at a time (the sweep)

def static_price(parent: ParentOrder) -> float | None:
    """The client's price before its offset (``router.domain.orders.static_price``)."""
    return domain_static_price(parent.price, parent.ord_type, parent.algo)


def limit_type_of(parent: ParentOrder) -> LimitType:
    """The order's LimitType 5098; absent: Market for a market order, Prc for a limit order."""
    if parent.algo.limit_type is not None:
        return parent.algo.limit_type
    return LimitType.MARKET if parent.ord_type is OrdType.MARKET else LimitType.PRC


def _tightest(parent: ParentOrder, a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b) if parent.side.is_buy else max(a, b)


def far_side(parent: ParentOrder, nbbo: Nbbo) -> float | None:
    return nbbo.ask if parent.side.is_buy else nbbo.bid


def market_limits(is_buy: np.ndarray, far: np.ndarray, tick_rule: TickRule, through_ticks: int) -> np.ndarray:
    """Limits ``through_ticks`` rungs of the tick ladder through the far side; a sell's never
    below one tick. The one Market rule: the sweep and ``primary_limits`` both use it."""
    is_buy = np.asarray(is_buy, dtype=bool)
    moved = tick_rule.step_array(far, np.where(is_buy, through_ticks, -through_ticks))
    return np.where(is_buy, moved, np.maximum(moved, tick_rule.step(0.0, 1)))


def market_limit(parent: ParentOrder, instrument: Instrument, far: float, through_ticks: int) -> float:
    """``market_limits`` for one order."""
    return float(market_limits(np.array([parent.side.is_buy]), np.array([far], dtype=float),
                               instrument.tick_rule, through_ticks)[0])


def sweep_limit(parent: ParentOrder, instrument: Instrument, nbbo: Nbbo, through_ticks: int) -> float | None:
    """Effective limit of a sweep right now; None when there is nothing to price against."""
    limit_type = parent.algo.limit_type
    static = parent.static_limit
    if limit_type is LimitType.MARKET_ARRIVAL:
        arrival = parent.arrival_ask if parent.side.is_buy else parent.arrival_bid
        return _tightest(parent, static, arrival)
    if limit_type is LimitType.MARKET or (limit_type is None and parent.ord_type is OrdType.MARKET):
        far = far_side(parent, nbbo)
        if far is None:
            return static
        return _tightest(parent, static, market_limit(parent, instrument, far, through_ticks))
    return static


# ---------------------------------------------------------------------------------------------
# Every LimitType, vectorised across the orders on one underlier

L = LimitType
PRICE_DELTA_TYPES = (L.PRC_DE, L.PRC_DE_X, L.PRC_DE_T, L.PRC_DE_P, L.PRC_DE_XT, L.PRC_DE_XP)
VOL_LIMIT_TYPES = (L.VOL, L.VOL_X, L.PRC_V, L.PRC_VX, L.VOL_PRC)          # the types that read 5116
PRICE_TYPES = (L.PRC,) + PRICE_DELTA_TYPES
RELATIVE_TYPES = (L.REL_JOIN, L.SMRT_NORM, L.REL_MID, L.SMRT_FAST, L.REL_CROSS, L.REL_TURN)
MARKET_TYPES = (L.MARKET, L.MARKET_ARRIVAL)


def _family_table(*families: tuple[LimitType, ...]) -> np.ndarray:
    """LimitType value -> the number of its family, so one gather sorts the orders."""
    table = np.full(max(LimitType) + 1, -1)
    for number, types in enumerate(families):
        table[list(types)] = number
    return table


_FAMILY = _family_table(PRICE_TYPES, VOL_LIMIT_TYPES, RELATIVE_TYPES, MARKET_TYPES)
_MARKET_FAMILY = 3

# Our definition of SmrtNorm and SmrtFast: the same ladder as RelJoin, RelMid and RelCross, a
# fraction of the way from the order's own side of the spread to the far side.
_ACROSS_SPREAD = {L.REL_JOIN: 0.0, L.SMRT_NORM: 0.25, L.REL_MID: 0.5, L.SMRT_FAST: 0.75, L.REL_CROSS: 1.0}


@dataclass(frozen=True, slots=True)
class LimitInputs:
    """One entry per order, each a numpy array of the same length; NaN marks an absent value."""
    limit_type: np.ndarray      # LimitType (5098)
    is_buy: np.ndarray
    price: np.ndarray           # Price 44 of a limit order, else SROrderPrcLimit 5106
    offset: np.ndarray          # SROrderPrcOffset 5126: a buy's limit goes up by it, a sell's down
    ref_underlier: np.ndarray   # SROrderRefUPrc 5108, else the underlier mid at arrival
    delta: np.ndarray           # SROrderRefDelta 5110, else the model's at arrival
    gamma: np.ndarray           # SROrderRefGamma 5112, else the model's at arrival
    theta: np.ndarray           # SROrderRefTheta 5114 per year, else the model's at arrival
    elapsed_years: np.ndarray   # since arrival (the T types)
    vol_limit: np.ndarray       # SROrderVolLimit 5116
    strike: np.ndarray
    years: np.ndarray           # to expiry
    is_call: np.ndarray
    on_future: np.ndarray       # priced with Black-76 on the underlier as the forward
    rate: np.ndarray            # the order's rate (RateOverride 5118 applied)
    div_yield: np.ndarray       # the order's continuous yield (5120/5124 applied)
    dividend_pv: np.ndarray     # PV of the discrete dividends before expiry (5122/5124 applied)
    bid: np.ndarray             # the option's best bid and ask now (for a resting order's own
    ask: np.ndarray             #   side, best of the others)
    arrival_bid: np.ndarray     # the option's NBBO at arrival (MarketArrival)
    arrival_ask: np.ndarray
    min_price: np.ndarray       # srMinOptionPx 5078: floor of a sell's limit
    coin_quoted: np.ndarray     # the premium is in the underlier's coin (a BTC option): the greeks are USD ones

    @classmethod
    def of(cls, limit_type, is_buy, **columns) -> "LimitInputs":
        """Inputs from the columns given; the others take their neutral value (NaN, 0, a call)."""
        n = len(limit_type)
        defaults = {"offset": 0.0, "delta": 0.0, "gamma": 0.0, "theta": 0.0, "elapsed_years": 0.0,
                    "years": 0.0, "is_call": True, "on_future": False, "rate": 0.0, "div_yield": 0.0,
                    "dividend_pv": 0.0, "coin_quoted": False}
        unknown = set(columns) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"unknown limit inputs {sorted(unknown)}")
        values = {}
        for f in fields(cls)[2:]:
            fill = defaults.get(f.name, np.nan)
            dtype = bool if isinstance(fill, bool) else float
            given = columns.get(f.name)
            values[f.name] = np.full(n, fill, dtype=dtype) if given is None else \
                np.broadcast_to(np.asarray(given, dtype=dtype), (n,))
        return cls(np.asarray(limit_type, dtype=int), np.asarray(is_buy, dtype=bool), **values)


def primary_limits(orders: LimitInputs, underlier: float, *, underlier_bid: float | None = None,
                   underlier_ask: float | None = None, tick_rule: TickRule = PENNY_PILOT,
                   through_ticks: int = 3) -> np.ndarray:
    """The primary limit of each order with the underlier at ``underlier`` (its mid); NaN where
    the order's inputs cannot price it (no NBBO for a relative type, no price for PrcDe...).

    ``underlier_bid``/``underlier_ask`` price VolX (the underlier's mid when absent);
    ``tick_rule`` and ``through_ticks`` price Market and RelTurn. Each family of types is
    computed on its own rows only.
    """
    kind, buy = orders.limit_type, orders.is_buy
    sign = np.where(buy, 1.0, -1.0)
    limits = np.full(kind.shape, np.nan)
    family = _FAMILY[kind]
    formulas_of = (lambda o: _price_formulas(o, underlier),
                   lambda o: _vol_limit_formulas(o, underlier, underlier_bid, underlier_ask),
                   lambda o: _relative_formulas(o, tick_rule))
    for number, formulas in enumerate(formulas_of):
        rows = np.flatnonzero(family == number)
        if rows.size:
            part = _Rows(orders, rows)
            by_type = formulas(part)
            limits[rows] = np.select([part.limit_type == k for k in by_type], list(by_type.values()), np.nan)
    limits += sign * orders.offset

    rows = np.flatnonzero(family == _MARKET_FAMILY)
    if rows.size:
        limits[rows] = _market_formula(_Rows(orders, rows), sign[rows], tick_rule, through_ticks)

    floored = ~buy & ~np.isnan(orders.min_price)
    limits = np.where(floored, np.maximum(limits, orders.min_price), limits)
    return np.maximum(limits, 0.0)


class _Rows:
    """The inputs of the orders at ``rows``, each column indexed on first use."""

    def __init__(self, orders: LimitInputs, rows: np.ndarray) -> None:
        self._orders, self._rows = orders, rows

    def __getattr__(self, name: str) -> np.ndarray:
        column = getattr(self._orders, name)[self._rows]
        setattr(self, name, column)
        return column


def _in_usd(o: LimitInputs, underlier: float) -> tuple[np.ndarray, np.ndarray]:
    """(the factor turning a coin-quoted premium at the reference into USD, the one turning USD back
    into the coin at the underlier now); 1 for a USD premium. A BTC option's delta and gamma are
    USD ones (router/market/model.py), so its tied limit moves in USD and is quoted back in BTC."""
    coin = o.coin_quoted
    return np.where(coin, o.ref_underlier, 1.0), np.where(coin, 1.0 / underlier, 1.0)


def _price_formulas(o: LimitInputs, underlier: float) -> dict:
    """Prc and the price + delta family."""
    move = underlier - o.ref_underlier
    to_usd, to_quote = _in_usd(o, underlier)
    by_delta = (o.price * to_usd + o.delta * move) * to_quote
    convexity = 0.5 * o.gamma * move * move * to_quote
    decay = o.theta * to_usd * o.elapsed_years * to_quote
    return {
        L.PRC: o.price,
        L.PRC_DE: by_delta,
        L.PRC_DE_X: by_delta + convexity,
        L.PRC_DE_T: by_delta + decay,
        # Our definition of the P suffix: the tied limit never more aggressive than the price.
        L.PRC_DE_P: _capped(o.is_buy, by_delta, o.price),
        L.PRC_DE_XT: by_delta + convexity + decay,
        L.PRC_DE_XP: _capped(o.is_buy, by_delta + convexity, o.price),
    }


def _vol_limit_formulas(o: LimitInputs, underlier: float, underlier_bid: float | None,
                        underlier_ask: float | None) -> dict:
    """Vol, VolX, PrcV, PrcVX, VolPrc: the model at the order's vol limit (5116)."""
    # Our definition of VolX: the vol limit priced where the order's delta hedge would trade, the
    # underlier's bid when the option bought is long delta (a call bought, a put sold), else its ask.
    long_delta = o.is_buy == o.is_call
    crossed = np.where(long_delta, underlier if underlier_bid is None else underlier_bid,
                       underlier if underlier_ask is None else underlier_ask)
    # PrcV, PrcVX: the greeks at the vol limit are taken at the reference underlier price.
    by_greeks = np.isin(o.limit_type, (L.PRC_V, L.PRC_VX))
    spot = np.where(o.limit_type == L.VOL_X, crossed, np.where(by_greeks, o.ref_underlier, underlier))
    model = _priced_at_vol(o, spot)
    move = underlier - o.ref_underlier
    to_usd, to_quote = _in_usd(o, underlier)
    price = np.where(o.coin_quoted, model.price / spot, model.price)      # the model prices in USD
    by_vol_delta = (o.price * to_usd + model.delta * move) * to_quote
    return {
        L.VOL: price,
        L.VOL_X: price,
        L.PRC_V: by_vol_delta,
        L.PRC_VX: by_vol_delta + 0.5 * model.gamma * move * move * to_quote,
        L.VOL_PRC: _capped(o.is_buy, price, o.price),
    }


def _priced_at_vol(o: LimitInputs, spot: np.ndarray) -> Greeks:
    """The model at each order's vol limit: BSM on the spot less its dividends, Black-76 on futures."""
    on_stock = bsm(spot - o.dividend_pv, o.strike, o.years, o.vol_limit, o.is_call, o.rate, o.div_yield)
    if not o.on_future.any():
        return on_stock
    on_future = black76(spot, o.strike, o.years, o.vol_limit, o.is_call, o.rate)
    return Greeks(*(np.where(o.on_future, f, s) for f, s in
                    zip((on_future.price, on_future.delta, on_future.gamma, on_future.vega, on_future.theta),
                        (on_stock.price, on_stock.delta, on_stock.gamma, on_stock.vega, on_stock.theta))))


def _relative_formulas(o: LimitInputs, tick_rule: TickRule) -> dict:
    """RelJoin, SmrtNorm, RelMid, SmrtFast, RelCross, RelTurn: from the option's NBBO, capped by
    the static price when one is given."""
    buy = o.is_buy
    join = np.where(buy, o.bid, o.ask)
    cross = np.where(buy, o.ask, o.bid)
    out = {}
    for kind, fraction in _ACROSS_SPREAD.items():
        level = join if fraction == 0.0 else cross if fraction == 1.0 else join + fraction * (cross - join)
        out[kind] = _capped(buy, level, o.price)
    # Our definition of RelTurn: one tick better than the best price on the order's own side,
    # without reaching the far side (in a one-tick market it joins).
    sign = np.where(buy, 1, -1)
    better = tick_rule.step_array(join, sign)
    inside = tick_rule.step_array(cross, -sign)
    turn = np.where(np.isnan(inside), better, np.where(buy, np.minimum(better, inside), np.maximum(better, inside)))
    out[L.REL_TURN] = _capped(buy, turn, o.price)
    return out


def _market_formula(o: LimitInputs, sign: np.ndarray, tick_rule: TickRule, through_ticks: int) -> np.ndarray:
    """Market: through the far side now; MarketArrival: the far side at arrival. Each capped by
    the static price with its offset (the offset does not move the market part), falling back
    to it without a far side, as ``sweep_limit`` does."""
    buy = o.is_buy
    static = o.price + sign * o.offset
    market = market_limits(buy, np.where(buy, o.ask, o.bid), tick_rule, through_ticks)
    arrival = np.where(buy, o.arrival_ask, o.arrival_bid)
    return _tightest_of(buy, np.where(o.limit_type == L.MARKET, market, arrival), static)


def _capped(is_buy: np.ndarray, value: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """``value`` no more aggressive than ``cap`` (no cap where it is NaN; NaN values stay NaN)."""
    capped = np.where(is_buy, np.minimum(value, cap), np.maximum(value, cap))
    return np.where(np.isnan(cap), value, capped)


def _tightest_of(is_buy: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The less aggressive of ``a`` and ``b``, ignoring whichever is NaN."""
    return np.where(is_buy, np.fmin(a, b), np.fmax(a, b))


def effective_limits(is_buy: np.ndarray, primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """The tightest of the primary limit and a secondary one (surface or probability); either
    may be NaN (absent)."""
    return _tightest_of(np.asarray(is_buy, dtype=bool), np.asarray(primary, dtype=float),
                        np.asarray(secondary, dtype=float))


# ---------------------------------------------------------------------------------------------
# Surface limit class (5100/5102 = Surface): a secondary limit

def surface_limits(surface_vol: np.ndarray, underlier: np.ndarray | float, strike: np.ndarray, years: np.ndarray,
                   is_call: np.ndarray, is_buy: np.ndarray, prc_offset: np.ndarray, vol_offset: np.ndarray,
                   rate: float = 0.0, div_yield: float = 0.0, *, on_future: bool = False) -> np.ndarray:
    """The "Surface" limit class: the price of the option at the surface vol shifted by the vol
    offset (5142/5146), then by the price offset (5140/5144). A positive offset makes the order
    more aggressive — a buyer pays up to surface + offset, a seller accepts down to surface -
    offset; a negative one demands an edge over the surface."""
    sign = np.where(is_buy, 1.0, -1.0)
    vol = np.maximum(np.asarray(surface_vol, dtype=float) + sign * vol_offset, 1e-4)
    if on_future:
        price = black76(underlier, strike, years, vol, is_call, rate).price
    else:
        price = bsm(underlier, strike, years, vol, is_call, rate, div_yield).price
    return np.maximum(np.asarray(price) + sign * prc_offset, 0.0)


# ---------------------------------------------------------------------------------------------
# Where a post-only child rests (PostType 5096)

P = BalanceHandling


def post_prices(post_type: np.ndarray | int, is_buy: np.ndarray, limit: np.ndarray, same_best: np.ndarray,
                far: np.ndarray, resting: np.ndarray, tick_rule: TickRule) -> np.ndarray:
    """The price each order's child should rest at, NaN where none should (NoPost, no limit).

    ``same_best`` is the best price on the order's own side from everyone else (its own child
    excluded), ``far`` the best on the other side, ``resting`` the price its child rests at now
    (NaN: none). PostWith joins ``same_best``, PostImprove stands one tick better, PostTurn one
    tick better unless already alone at the best (our definition: it then stays, where
    PostImprove steps back to one tick better than the others), PostLimit rests at the limit.
    With no same-side price from others a resting child stays where it is and a new one rests at
    the limit. Never through the limit, never at or through ``far`` (post-only), always on the
    tick ladder.
    """
    is_buy = np.asarray(is_buy, dtype=bool)
    limit, same_best, far, resting = (np.asarray(a, dtype=float) for a in (limit, same_best, far, resting))
    post_type = np.broadcast_to(np.asarray(post_type, dtype=int), limit.shape)
    sign = np.where(is_buy, 1, -1)
    improved = tick_rule.step_array(same_best, sign)
    alone = ~np.isnan(resting) & (np.isnan(same_best) | (sign * (resting - same_best) > _EPS))
    target = np.select([post_type == P.POST_WITH, post_type == P.POST_IMPROVE, post_type == P.POST_TURN],
                       [same_best, improved, np.where(alone, resting, improved)], default=limit)
    target = np.where(np.isnan(target), np.where(np.isnan(resting), limit, resting), target)
    target = np.where(is_buy, np.minimum(target, limit), np.maximum(target, limit))
    target = tick_rule.round_passive_array(target, is_buy)
    inside = tick_rule.step_array(far, -sign)
    target = np.where(np.isnan(far), target, np.where(is_buy, np.minimum(target, inside), np.maximum(target, inside)))
    rests = (post_type != P.NO_POST) & (target > _EPS)
    return np.where(rests, target, np.nan)


def tick_moves(tick_rule: TickRule, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """``abs(tick_rule.ticks_between(low, high))`` for arrays (NaN where either is NaN): the
    rungs of the tick ladder, as ``TickRule`` counts them one price at a time."""
    return np.abs(tick_rule._rungs(high) - tick_rule._rungs(low))


def is_marketable(is_buy: np.ndarray, limit: np.ndarray, bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
    """True where the limit is at or through the far side (False without a far side or a limit)."""
    is_buy = np.asarray(is_buy, dtype=bool)
    limit, bid, ask = (np.asarray(a, dtype=float) for a in (limit, bid, ask))
    with np.errstate(invalid="ignore"):
        return np.where(is_buy, limit >= ask - _EPS, limit <= bid + _EPS)
