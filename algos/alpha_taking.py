"""Alpha taking (5094=1 ActiveTaker, 5096=0 NoPost, 5100 Surface / Probability / SurfProb): the
order stays dark and takes only when its effective limit reaches the far touch.

The effective limit is the tightest of the primary limit (LimitType 5098, ``primary_limits``,
Prc for a limit order and Market for a market order when 5098 is absent) and the Take class's
secondary limit (``algos.secondary_limits``). When it is at or through the public ask (a buy)
or bid (a sell), the order sends a marketable IOC limit at that far-touch price for at most its
balance, within ActiveOrderSize 5044 and MaxChildOrders 5080, and as much of the displayed size
as its TakeReach 5104 allows (``algos.take_reach``). A secondary limit that cannot be computed
now (no surface fit, no alpha state) never takes.

Recomputed on every book change of the option (``on_market``) and of the underlier
(``on_underlier_batch``: every parent of this algo on it in one pass, one surface pricing call
and one alpha-model call per variant). While its IOC children are out it waits for their reports.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from router.config import AlphaTakingSettings, SweepSettings
from router.domain.enums import ChildRole, LimitType, OrdStatus, TakeReach
from router.domain.orders import ChildOrder
from router.market.securities import years_between

from .base import Algo, ParentChange
from .limits import (limit_type_of, PRICE_DELTA_TYPES, VOL_LIMIT_TYPES, LimitInputs, effective_limits, is_marketable,
                     primary_limits, static_price)
from .secondary_limits import secondary_limits
from .take_reach import FarTouchHistory, reach_problem, reachable_qty
from .volatility_inputs import NANOS_PER_YEAR, Reference, nan_if_none, record_reference

_THROUGH_TICKS = SweepSettings().market_through_ticks
_PARENT_DONE = tuple(status for status in OrdStatus if status.is_done)
_UNDERLIER_TYPES = PRICE_DELTA_TYPES + VOL_LIMIT_TYPES


class AlphaTakingAlgo(Algo):
    name = "alpha_taking"
    tied_to_underlier = True
    reads_tags = frozenset({5044, 5078, 5080, 5094, 5096, 5098, 5100, 5104, 5106, 5108, 5110, 5112, 5114, 5116,
                            5118, 5120, 5122, 5124, 5126, 5128, 5132, 5136, 5140, 5142, 5518, 5536})

    def __init__(self, ctx, settings: AlphaTakingSettings | None = None) -> None:
        super().__init__(ctx, settings or AlphaTakingSettings())
        s = self.settings
        keep_ns = int(max(s.delayed_ms * 1e6, s.weak_window_s * 1e9)) + 1_000_000_000
        self._history = FarTouchHistory(ctx.parent.side.is_buy, keep_ns)
        self._reference: Reference | None = None
        self._taking: set[str] = set()

    @classmethod
    def order_problem(cls, params, instrument) -> str | None:
        return reach_problem(params.take_reach, "alpha taking")

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        ctx = self.ctx
        ctx.subscribe(ctx.parent.symbol)
        instrument = ctx.instrument()
        if instrument is not None and instrument.underlying != instrument.symbol:
            ctx.subscribe(instrument.underlying)
        self._evaluate([self])

    def on_market(self, symbol: str) -> None:
        self._evaluate([self])

    @classmethod
    def on_underlier_batch(cls, algos: Sequence["AlphaTakingAlgo"], underlier: str) -> None:
        cls._evaluate(algos)

    @classmethod
    def on_option_batch(cls, algos: Sequence["AlphaTakingAlgo"], underlier: str) -> None:
        """Their own options' books changed in one batch: one pass over all of them (runtime.py)."""
        cls._evaluate(algos)

    def on_timer(self, name: str) -> None:
        if name == "reach":
            self._evaluate([self])

    def on_parent_change(self, change: ParentChange) -> None:
        self._evaluate([self])

    def on_child_done(self, child: ChildOrder) -> None:
        self._taking.discard(child.child_id)   # the next book change (the take's own) decides again

    def save_state(self) -> dict:
        return {"taking": sorted(self._taking)}

    def load_state(self, state: dict) -> None:
        self._taking = set(state.get("taking", ()))

    # ------------------------------------------------------------------ the decision

    @classmethod
    def _evaluate(cls, algos: Sequence["AlphaTakingAlgo"]) -> None:
        now = algos[0].ctx.now_ns()
        for algo in algos:
            nbbo = algo.ctx.book().nbbo()
            far, shown = (nbbo.ask, nbbo.ask_qty) if algo.ctx.parent.side.is_buy else (nbbo.bid, nbbo.bid_qty)
            algo._history.record(now, far, shown)
        ready = []
        for algo in algos:
            parent = algo.ctx.parent
            if parent.status in _PARENT_DONE or parent.pending is not None or algo._taking or parent.leaves_qty <= 0:
                continue
            if algo._reference is None:
                algo._reference = record_reference(algo.ctx, algo._limit_type in _UNDERLIER_TYPES,
                                                   algo._limit_type in PRICE_DELTA_TYPES)
            if algo._reference is not None:
                ready.append(algo)
        if not ready:
            return
        by_rule: dict[object, list[AlphaTakingAlgo]] = {}
        for algo in ready:
            by_rule.setdefault(algo.ctx.instrument().tick_rule, []).append(algo)
        for rule, group in by_rule.items():
            cls._evaluate_group(group, rule, now)

    @classmethod
    def _evaluate_group(cls, algos: list["AlphaTakingAlgo"], rule, now: int) -> None:
        ctxs = [a.ctx for a in algos]
        nbbos = [ctx.book().nbbo() for ctx in ctxs]
        bid = np.array([nan_if_none(q.bid) for q in nbbos])
        ask = np.array([nan_if_none(q.ask) for q in nbbos])
        is_buy = np.array([ctx.parent.side.is_buy for ctx in ctxs], dtype=bool)
        quote = ctxs[0].underlier_quote()
        underlier = np.nan if quote.mid is None else quote.mid
        primary = primary_limits(cls._inputs(algos, now, bid, ask), underlier, underlier_bid=quote.bid,
                                 underlier_ask=quote.ask, tick_rule=rule, through_ticks=_THROUGH_TICKS)
        secondary = secondary_limits(ctxs, "take")
        effective = np.where(np.isnan(secondary), np.nan, effective_limits(is_buy, primary, secondary))
        for i in np.flatnonzero(is_marketable(is_buy, effective, bid, ask)):
            algos[i]._take(float(ask[i] if is_buy[i] else bid[i]), nbbos[i], now)

    def _take(self, price: float, nbbo, now: int) -> None:
        ctx, parent = self.ctx, self.ctx.parent
        params = parent.algo
        shown = nbbo.ask_qty if parent.side.is_buy else nbbo.bid_qty
        reach = params.take_reach or TakeReach.IMMEDIATE
        qty = min(parent.leaves_qty, reachable_qty(reach, self._history, ctx.book(), parent.side, price, shown, now,
                                                   self.settings))
        if params.active_size is not None:
            working = sum(c.leaves_qty for c in ctx.open_children(ChildRole.WORK))
            qty = min(qty, params.active_size - working)
        max_children = None
        if params.max_child_orders is not None:
            max_children = params.max_child_orders - ctx.children_sent()
            if max_children <= 0:
                return
        if qty <= 0:
            if reach is TakeReach.DELAYED:
                ctx.set_timer("reach", now + int(self.settings.delayed_ms * 1e6))   # the size may have stayed by then
            return
        made = ctx.take(qty, price, venues=params.exchanges, max_children=max_children)
        self._taking.update(child.child_id for child in made)

    # ------------------------------------------------------------------ the primary limit's inputs

    @property
    def _limit_type(self) -> LimitType:
        return limit_type_of(self.ctx.parent)

    @classmethod
    def _inputs(cls, algos: list["AlphaTakingAlgo"], now: int, bid: np.ndarray, ask: np.ndarray) -> LimitInputs:
        rows = []
        for algo in algos:
            parent, ref, instrument = algo.ctx.parent, algo._reference, algo.ctx.instrument()
            params = parent.algo
            option = instrument is not None and instrument.is_option
            rows.append((
                int(algo._limit_type), parent.side.is_buy, nan_if_none(static_price(parent)),
                params.order_prc_offset or 0.0, nan_if_none(ref.underlier), ref.delta, ref.gamma, ref.theta,
                nan_if_none(params.vol_limit or None), nan_if_none(instrument.strike if option else None),
                years_between(now, instrument.expiry, instrument.expiry_hour_utc) if option else 0.0,
                bool(option and instrument.is_call), bool(option and instrument.on_future), ref.rate,
                ref.div_yield, ref.dividend_pv, nan_if_none(ref.arrival_bid), nan_if_none(ref.arrival_ask),
                nan_if_none(params.min_option_px), max(now - ref.arrival_ns, 0) / NANOS_PER_YEAR,
                bool(option and instrument.coin_quoted)))
        names = ("limit_type", "is_buy", "price", "offset", "ref_underlier", "delta", "gamma", "theta", "vol_limit",
                 "strike", "years", "is_call", "on_future", "rate", "div_yield", "dividend_pv", "arrival_bid",
                 "arrival_ask", "min_price", "elapsed_years", "coin_quoted")
        columns = dict(zip(names, (np.array(column) for column in zip(*rows))))
        return LimitInputs.of(columns.pop("limit_type"), columns.pop("is_buy"), bid=bid, ask=ask, **columns)
