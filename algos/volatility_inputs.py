"""The volatility algo's per-order inputs as numpy columns, and the values fixed at arrival.

Each order's inputs that change only with its own terms (limit type, side, price, reference
greeks, strike, pricing inputs, range) are one static row; a group of orders on one underlier
becomes read-only columns, so a batch reprices every order in a few array passes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router.domain.enums import Side
from router.domain.orders import ChildOrder, ChildStatus
from router.market.books import InstrumentBook
from router.market.dividends import apply_overrides
from router.market.securities import years_between

from .limits import LimitInputs

NANOS_PER_YEAR = 365.25 * 86_400 * 1e9
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Reference:
    """What the order's limit is measured from, fixed at arrival (None: there was none)."""
    arrival_ns: int
    underlier: float | None    # 5108, else the underlier mid at arrival
    delta: float               # 5110, else the model's at the reference
    gamma: float               # 5112, else the model's
    theta: float               # 5114 (per year), else the model's
    arrival_bid: float | None  # the option's NBBO at arrival
    arrival_ask: float | None
    rate: float                # the order's pricing inputs (5118-5124 over the market's)
    div_yield: float
    dividend_pv: float


# The static row's columns, in order, with their dtypes (the tick rule and the expiry follow).
STATIC_FIELDS = (("limit_type", np.int64), ("is_buy", bool), ("price", float), ("offset", float),
                  ("ref_underlier", float), ("delta", float), ("gamma", float), ("theta", float),
                  ("vol_limit", float), ("strike", float), ("is_call", bool), ("on_future", bool), ("rate", float),
                  ("div_yield", float), ("dividend_pv", float), ("arrival_bid", float), ("arrival_ask", float),
                  ("min_price", float), ("coin_quoted", bool), ("arrival_ns", np.int64), ("post_type", np.int64), ("active_taker", bool),
                  ("min_ubid", float), ("max_uask", float))
RULE, EXPIRY = len(STATIC_FIELDS), len(STATIC_FIELDS) + 1
LIMIT_INPUTS = tuple(name for name, _ in STATIC_FIELDS[:19])


class Columns:
    """The static rows of a group of orders as read-only numpy columns."""

    __slots__ = ("arrays", "_expiries", "_expiry_of")

    def __init__(self, rows: list[tuple]) -> None:
        columns = list(zip(*rows))
        self.arrays: dict[str, np.ndarray] = {}
        for (name, dtype), column in zip(STATIC_FIELDS, columns):
            array = np.array(column, dtype=dtype)
            array.flags.writeable = False
            self.arrays[name] = array
        expiries: dict[object, int] = {}
        self._expiry_of = np.array([expiries.setdefault(e, len(expiries)) for e in columns[EXPIRY]], dtype=np.intp)
        self._expiries = list(expiries)

    def inputs(self, now: int, bid: np.ndarray, ask: np.ndarray) -> LimitInputs:
        """The limit inputs at ``now`` with the option's book at ``bid``/``ask``."""
        a = self.arrays
        years = np.array([years_between(now, e) if e is not None else 0.0 for e in self._expiries])[self._expiry_of]
        elapsed = np.maximum(now - a["arrival_ns"], 0) / NANOS_PER_YEAR
        return LimitInputs(**{name: a[name] for name in LIMIT_INPUTS}, elapsed_years=elapsed, years=years,
                           bid=bid, ask=ask)

    def outside(self, ubid: float | None, uask: float | None) -> np.ndarray:
        """Where the underlier is outside the order's range (srMinUBid 5074 / srMaxUAsk 5076)."""
        a = self.arrays
        out = np.zeros(a["min_ubid"].shape, dtype=bool)
        with np.errstate(invalid="ignore"):
            if ubid is not None:
                out |= ubid < a["min_ubid"] - _EPS
            if uask is not None:
                out |= uask > a["max_uask"] + _EPS
        return out


@dataclass(frozen=True, slots=True)
class MarketView:
    child: ChildOrder | None    # the resting WORK child, if any
    bid: float                  # the option's NBBO, our own child left out of our side
    ask: float


def best_of_others(book: InstrumentBook, side: Side, own: ChildOrder | None) -> float | None:
    """The best price on ``side`` from everyone but ``own`` (a resting child); None when there
    is none, or when ``own`` alone makes the best price (the book shows no venue list, so the
    level behind it is unknown)."""
    nbbo = book.nbbo()
    best, qty = (nbbo.bid, nbbo.bid_qty) if side.is_buy else (nbbo.ask, nbbo.ask_qty)
    if best is None or own is None or own.status is ChildStatus.PENDING_NEW or abs(own.price - best) > _EPS:
        return best
    return best if qty > own.leaves_qty else None


def outside_reason(algo, ubid: float | None, uask: float | None) -> str | None:
    """Why the order is outside its underlier range (5074/5076), None when inside."""
    params = algo._parent.algo
    if params.min_ubid is not None and ubid is not None and ubid < params.min_ubid - _EPS:
        return f"underlier bid {ubid:g} below srMinUBid {params.min_ubid:g}"
    if params.max_uask is not None and uask is not None and uask > params.max_uask + _EPS:
        return f"underlier ask {uask:g} above srMaxUAsk {params.max_uask:g}"
    return None


def nan_if_none(value: float | None) -> float:
    return np.nan if value is None else float(value)



def record_reference(ctx, needs_underlier: bool, needs_greeks: bool) -> Reference | None:
    """The arrival values; None while there is no underlier price (or no model) to take them from."""
    params = ctx.parent.algo
    underlier = params.order_ref_uprc or ctx.underlier_quote().mid
    if underlier is None and needs_underlier:
        return None
    greeks = (0.0, 0.0, 0.0)
    wanted = (params.order_ref_delta, params.order_ref_gamma, params.order_ref_theta)
    if needs_greeks and None in wanted:
        model = ctx.greeks(underlier=underlier)
        if model is None:
            return None
        greeks = (float(model.delta), float(model.gamma), float(model.theta))
    delta, gamma, theta = (given if given is not None else default for given, default in zip(wanted, greeks))
    nbbo = ctx.book().nbbo()
    rate, div_yield, dividend_pv = pricing_inputs(ctx, underlier)
    return Reference(ctx.now_ns(), underlier, delta, gamma, theta, nbbo.bid, nbbo.ask, rate, div_yield, dividend_pv)


def pricing_inputs(ctx, underlier: float | None) -> tuple[float, float, float]:
    """Rate, yield and discrete-dividend PV: the market's, overridden by the order's tags."""
    instrument, params = ctx.instrument(), ctx.parent.algo
    market_rate = ctx.market_rate()
    if underlier is None or instrument is None or instrument.expiry is None:
        return float(params.rate_override or market_rate), float(params.sdiv_override or 0.0), 0.0
    years = years_between(ctx.now_ns(), instrument.expiry)
    inputs = apply_overrides(underlier, market_rate, 0.0, years=years, rate_override=params.rate_override,
                             sdiv_override=params.sdiv_override, ddiv_override=params.ddiv_override,
                             override_code=params.override_code)
    return float(inputs.rate), float(inputs.div_yield), float(underlier - float(inputs.spot))
