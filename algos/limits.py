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
