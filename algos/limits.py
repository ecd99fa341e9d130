"""Effective limits: the price a parent may trade at right now, from its LimitType (5098),
its client limit (44 / SROrderPrcLimit 5106 + SROrderPrcOffset 5126) and the market."""
from __future__ import annotations

from router.domain.enums import LimitType, OrdType
from router.domain.orders import ParentOrder
from router.market.books import Nbbo
from router.domain.instruments import Instrument


def client_limit(parent: ParentOrder) -> float | None:
    """The static price limit the client gave, if any, with SROrderPrcOffset applied."""
    base = parent.price if parent.ord_type is OrdType.LIMIT else None
    if base is None and parent.algo.order_prc_limit:
        base = parent.algo.order_prc_limit
    if base is None:
        return None
    offset = parent.algo.order_prc_offset or 0.0
    return base + offset if parent.side.is_buy else base - offset


def _tightest(parent: ParentOrder, a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b) if parent.side.is_buy else max(a, b)


def far_side(parent: ParentOrder, nbbo: Nbbo) -> float | None:
    return nbbo.ask if parent.side.is_buy else nbbo.bid


def market_limit(parent: ParentOrder, instrument: Instrument, far: float, through_ticks: int) -> float:
    """A limit ``through_ticks`` ticks through the far side (never below one tick for a sell)."""
    tick = instrument.tick_rule.tick_at(far)
    if parent.side.is_buy:
        return round(far + through_ticks * tick, 6)
    return round(max(far - through_ticks * tick, tick), 6)


def sweep_limit(parent: ParentOrder, instrument: Instrument, nbbo: Nbbo, through_ticks: int) -> float | None:
    """Effective limit of a sweep right now; None when there is nothing to price against."""
    limit_type = parent.algo.limit_type
    static = client_limit(parent)
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
# Limits tied to the underlier, recomputed for every working order on every underlier tick.
# Arrays hold one entry per order, so one tick costs a few numpy passes whatever the count.
#
# Our reading of SROrderLimitType for tied orders (the reference names them, it does not
# define them):
#   PrcDe   price + delta x (S - S_ref)
#   PrcDeX  PrcDe + gamma/2 x (S - S_ref)^2
#   PrcDeT  PrcDe + theta x (years elapsed since the order's reference time)
#   Vol     the BSM price at the order's volatility limit (5116)
#   VolPrc  the tighter of the Vol price and the static price (5106)
# with OrderPrcLimit 5106 as the price, OrderRefUPrc 5108 as S_ref, OrderRefDelta 5110,
# OrderRefGamma 5112, OrderRefTheta 5114, and OrderPrcOffset 5126 applied last.

import numpy as np  # noqa: E402  (kept next to the vectorised part it serves)

from router.market.pricing import black76, bsm  # noqa: E402

TIED_PRICE_TYPES = (LimitType.PRC_DE, LimitType.PRC_DE_X, LimitType.PRC_DE_T)
TIED_VOL_TYPES = (LimitType.VOL, LimitType.VOL_X, LimitType.VOL_PRC)


def tied_limits(limit_type: np.ndarray, is_buy: np.ndarray, price: np.ndarray, ref_underlier: np.ndarray,
                delta: np.ndarray, gamma: np.ndarray, theta: np.ndarray, elapsed_years: np.ndarray,
                vol_limit: np.ndarray, strike: np.ndarray, years: np.ndarray, is_call: np.ndarray,
                offset: np.ndarray, underlier: np.ndarray | float, rate: float = 0.0,
                div_yield: float = 0.0) -> np.ndarray:
    """Effective limits of tied orders at underlier price ``underlier`` (scalar or per order)."""
    move = np.asarray(underlier, dtype=float) - ref_underlier
    by_delta = price + delta * move
    limits = np.where(limit_type == LimitType.PRC_DE, by_delta, price)
    limits = np.where(limit_type == LimitType.PRC_DE_X, by_delta + 0.5 * gamma * move * move, limits)
    limits = np.where(limit_type == LimitType.PRC_DE_T, by_delta + theta * elapsed_years, limits)
    vol_rows = np.isin(limit_type, TIED_VOL_TYPES)
    if vol_rows.any():
        spot = np.broadcast_to(np.asarray(underlier, dtype=float), limit_type.shape)[vol_rows]
        vol_price = bsm(spot, strike[vol_rows], years[vol_rows], vol_limit[vol_rows], is_call[vol_rows],
                        rate, div_yield).price
        tighter = np.where(is_buy[vol_rows], np.minimum(vol_price, price[vol_rows]),
                           np.maximum(vol_price, price[vol_rows]))
        limits[vol_rows] = np.where(limit_type[vol_rows] == LimitType.VOL_PRC, tighter, vol_price)
    limits = np.where(is_buy, limits + offset, limits - offset)
    return np.maximum(limits, 0.0)


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
