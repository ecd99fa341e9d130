"""Naive: the founders' practice (seed 000), kept as the backtest's baseline.

A limit at the near touch (a buy joins the best bid, a sell the best offer), repriced to the touch
each time it moves, and, ``cross_after_s`` after the start, the resting balance pulled and taken
at the far touch (IOC). What the far touch does not fill is taken again on the next book update,
until the parent is done or expires.

No FIX tag selects it: ``algos.registry.choose_algo`` maps tags to the product's algos only.
The backtest (router/backtest) creates its parents with ``NaiveParams``, the one AlgoParams that
names its algo (``registry.select_algo``); a decoded FIX order is always a plain AlgoParams.
"""
from __future__ import annotations

from router.config import NaiveSettings
from router.domain.commands import AlgoParams
from router.domain.orders import ChildOrder

from .base import Algo
from .making_book import others_best

_EPS = 1e-9
CROSS_TIMER = "cross"


class NaiveParams(AlgoParams):
    """AlgoParams whose algo is the naive baseline, whatever its tags (the backtest's parents)."""
    __slots__ = ()
    house_algo = "naive"


class NaiveAlgo(Algo):
    name = "naive"
    reads_tags = frozenset()

    def __init__(self, ctx, settings: NaiveSettings | None = None) -> None:
        super().__init__(ctx, settings or NaiveSettings())
        self._crossing = False

    def save_state(self) -> dict:
        return {"crossing": True} if self._crossing else {}

    def load_state(self, state: dict) -> None:
        self._crossing = bool(state.get("crossing", False))

    def start(self) -> None:
        self.ctx.subscribe(self.ctx.parent.symbol)
        if not self._crossing:
            self.ctx.set_timer(CROSS_TIMER, self.ctx.now_ns() + int(self.settings.cross_after_s * 1e9))
        self._act()

    # ---- events

    def on_market(self, symbol: str) -> None:
        self._act()

    def on_book(self) -> None:
        self._act()

    def on_timer(self, name: str) -> None:
        if name == CROSS_TIMER:
            self._crossing = True
            self._act()

    def on_child_done(self, child: ChildOrder) -> None:
        self._act()

    def on_child_accepted(self, child: ChildOrder) -> None:
        self._act()

    def on_child_replaced(self, child: ChildOrder) -> None:
        self._act()

    # ---- the one decision

    def _balance(self) -> int:
        parent = self.ctx.parent
        return parent.qty - parent.cum_qty

    def _act(self) -> None:
        parent = self.ctx.parent
        if not parent.is_working or parent.pending is not None or self._balance() <= 0:
            return
        if self._crossing:
            self._cross()
        else:
            self._join()

    def _join(self) -> None:
        ctx = self.ctx
        side = ctx.parent.side
        resting = ctx.open_children()
        if len(resting) > 1:
            return                                  # a cancel is on its way back
        child = resting[0] if resting else None
        touch = self._near_touch(child)
        if touch is None:
            return
        if child is None:
            ctx.post(None, side, self._balance(), touch)
            return
        if child.in_flight or child.cancel_queued:
            return                                  # one change in flight; its answer re-runs this
        if abs(child.price - touch) > _EPS:
            ctx.replace(child, price=touch)

    def _near_touch(self, child: ChildOrder | None) -> float | None:
        """The best price on our side from everyone but our own resting child."""
        book = self.ctx.book()
        if child is not None and child.accepted_ns is not None:
            price, _ = others_best(book, child)
            return price
        nbbo = book.nbbo()
        return nbbo.bid if self.ctx.parent.side.is_buy else nbbo.ask

    def _cross(self) -> None:
        ctx = self.ctx
        resting = ctx.open_children()
        if resting:
            for child in resting:
                if not child.cancel_queued:
                    ctx.cancel(child)
            return                                  # take once they are out (on_child_done)
        nbbo = ctx.book().nbbo()
        far = nbbo.ask if ctx.parent.side.is_buy else nbbo.bid
        if far is None or not ctx.take(self._balance(), far):
            ctx.wait_for_liquidity(None)
