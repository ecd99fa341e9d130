"""Sweep: immediately marketable limit IOC children across every venue that shows size.

The algo works in waves. A wave asks the smart order router for up to the parent's balance
(capped by ActiveOrderSize 5044) at the effective limit; the router picks venues by fee below
visible size and takes everything visible at or above it. When a wave's children are all
back, the next wave goes if liquidity remains. An IOC parent makes one attempt: one wave, or
as many as ActiveOrderSize needs to offer its whole quantity once, then its balance is
canceled. Any other parent waits for new liquidity on book updates until it expires.

MarketArrival's arrival price is the far side when the order arrives; an order that arrives
with no far side takes the first far side it sees (our rule: otherwise it could never trade).
The sweep's own state (quantity offered in the IOC attempt) is saved with its parent.
"""
from __future__ import annotations

from router.config import SweepSettings
from router.domain.enums import LimitType, OrdType
from router.domain.orders import ChildOrder

from .base import Algo
from .limits import sweep_limit


class SweepAlgo(Algo):
    name = "sweep"
    reads_tags = frozenset({5044, 5080})       # ActiveOrderSize per wave, MaxChildOrders over its life

    def __init__(self, ctx, settings: SweepSettings | None = None) -> None:
        super().__init__(ctx, settings or SweepSettings())
        self._offered = 0      # quantity sent so far in this attempt (IOC)

    @property
    def _is_ioc(self) -> bool:
        return self.ctx.parent.is_ioc

    def save_state(self) -> dict:
        return {"offered": self._offered} if self._offered else {}

    def load_state(self, state: dict) -> None:
        self._offered = int(state.get("offered", 0))

    def start(self) -> None:
        self._wave()

    def _fix_arrival(self) -> None:
        parent = self.ctx.parent
        far = parent.arrival_ask if parent.side.is_buy else parent.arrival_bid
        if parent.algo.limit_type is LimitType.MARKET_ARRIVAL and far is None:
            nbbo = self.ctx.book().nbbo()
            parent.arrival_bid, parent.arrival_ask = nbbo.bid, nbbo.ask

    @property
    def _limit_moves_with_market(self) -> bool:
        limit_type = self.ctx.parent.algo.limit_type
        return limit_type is LimitType.MARKET or (limit_type is None and self.ctx.parent.ord_type is OrdType.MARKET)

    def on_book(self) -> None:
        if not self._is_ioc and not self.ctx.open_children():
            self._wave()

    def on_child_done(self, child: ChildOrder) -> None:
        parent = self.ctx.parent
        if self.ctx.open_children() or not parent.is_working:
            return
        if self._is_ioc and self._offered >= parent.qty:
            self.ctx.finish("IOC: balance canceled after one attempt")
            return
        self._wave()

    def _wave(self) -> None:
        ctx = self.ctx
        parent = ctx.parent
        if not parent.is_working or parent.pending is not None or ctx.open_children():
            return
        balance = parent.qty - parent.cum_qty
        if balance <= 0:
            return
        budget = None
        if parent.algo.max_child_orders is not None:
            budget = parent.algo.max_child_orders - ctx.children_sent()
            if budget <= 0:
                ctx.finish(f"MaxChildOrders (5080) of {parent.algo.max_child_orders} used; balance canceled")
                return
        self._fix_arrival()
        limit = sweep_limit(parent, ctx.instrument(), ctx.book().nbbo(), self.settings.market_through_ticks)
        if limit is None:
            if self._is_ioc:
                ctx.finish("IOC: no market to price the order against; balance canceled")
            else:
                ctx.wait_for_liquidity(None)
            return
        qty = min(balance, parent.algo.active_size) if parent.algo.active_size else balance
        if self._is_ioc:
            qty = min(qty, parent.qty - self._offered)
        children = ctx.take(qty, limit, venues=parent.algo.exchanges, max_children=budget)
        if self._is_ioc:
            self._offered += qty if children else parent.qty
            if not children:
                ctx.finish("IOC: no liquidity at the limit; balance canceled")
        elif not children:
            ctx.wait_for_liquidity(None if self._limit_moves_with_market else limit)
