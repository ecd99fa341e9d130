"""Volatility: work an order at the best price relative to a limit tied to the underlier.

The limit is any LimitType (5098): a volatility limit (5116) turned into a price, a price moved
with the underlier by delta and gamma, or a price relative to the option's NBBO
(``algos.limits.primary_limits``). The order rests ONE post-only child for its balance at the
price its PostType (5096) gives (``post_prices``, PostLimit by default) on the venue the SOR
picks, and moves it as the underlier and the option's NBBO move:

- every underlier update reprices all the parents on that underlier in one numpy call;
- a child is replaced only when its target moved by at least one tick, never sooner than
  ``min_rest_ms`` after its last change and never more than ``max_replaces_per_s`` times a
  second; a move held back re-checks on the ``reprice`` timer, so it is not lost;
- with ActiveTaker (5094=1) a marketable limit takes (IOC through the SOR) instead of posting;
- outside srMinUBid 5074 / srMaxUAsk 5076 the order holds, or is canceled with
  srCxlUPrcRange 5072=Y.

What is fixed at arrival (the underlier reference 5108 and the model greeks standing in for
5110/5112/5114, the NBBO, the pricing inputs) lives in ``Reference`` and in the saved state, so a
restart keeps the same reference.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from router.config import SweepSettings, VolatilitySettings
from router.domain.enums import BalanceHandling, ChildRole, LimitType, OrderHandling, OrdType, Side
from router.domain.orders import ChildOrder, ChildStatus
from router.market.books import InstrumentBook
from router.market.dividends import apply_overrides
from router.market.securities import years_between

from .base import Algo, ParentChange
from .limits import (PRICE_DELTA_TYPES, VOL_LIMIT_TYPES, LimitInputs, is_marketable, post_prices, primary_limits,
                     static_price)

NANOS_PER_YEAR = 365.25 * 86_400 * 1e9
_NANOS_PER_S = 1_000_000_000
_EPS = 1e-9
# The Market LimitType reaches as far through the far side as the sweep's default does.
_MARKET_THROUGH_TICKS = SweepSettings().market_through_ticks
UNDERLIER_TYPES = PRICE_DELTA_TYPES + VOL_LIMIT_TYPES      # their limit needs an underlier price


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


class VolatilityAlgo(Algo):
    name = "volatility"
    tied_to_underlier = True
    reads_tags = frozenset({5072, 5074, 5076, 5078, 5094, 5096, 5098, 5106, 5108, 5110, 5112, 5114, 5116,
                            5118, 5120, 5122, 5124, 5126})

    def __init__(self, ctx, settings: VolatilitySettings | None = None) -> None:
        super().__init__(ctx, settings or VolatilitySettings())
        self._reference: Reference | None = None
        self._held = False
        self._changed_ns: dict[str, int] = {}        # child id -> when we last posted or amended it
        self._replaced_ns: dict[str, list[int]] = {}  # child id -> when we amended it, within the window
        self._taking: set[str] = set()               # ids of our IOC take children still out
        self._take_once_pulled = False               # resting children pulled so the balance can take

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        self.ctx.subscribe(self.ctx.parent.symbol)
        instrument = self.ctx.instrument()
        if instrument is not None and instrument.underlying != instrument.symbol:
            self.ctx.subscribe(instrument.underlying)      # reprices arrive as on_underlier_batch
        self._reprice([self], allow_take=True)

    def resume(self) -> None:
        self.start()

    def on_market(self, symbol: str) -> None:
        self._reprice([self], allow_take=True)

    @classmethod
    def on_underlier_batch(cls, algos: Sequence["VolatilityAlgo"], underlier: str) -> None:
        cls._reprice(algos, allow_take=True)

    def on_timer(self, name: str) -> None:
        if name == "reprice":
            self._reprice([self], allow_take=True)

    def on_parent_change(self, change: ParentChange) -> None:
        self._reprice([self], allow_take=True)

    def on_child_done(self, child: ChildOrder) -> None:
        self._changed_ns.pop(child.child_id, None)
        self._replaced_ns.pop(child.child_id, None)
        was_take = child.child_id in self._taking
        self._taking.discard(child.child_id)
        if child.status is ChildStatus.REJECTED:
            return               # the next market update or timer tries again
        # After a take, wait for the market to move before taking again: the book that made the
        # limit marketable may be the one the take just emptied.
        self._reprice([self], allow_take=not was_take)

    def on_child_rejected(self, child: ChildOrder, reason: str) -> None:
        """A refused replace leaves the child on its old terms; the next reprice retries."""

    # ------------------------------------------------------------------ state

    def save_state(self) -> dict:
        return {"reference": None if self._reference is None else asdict(self._reference),
                "held": self._held, "changed_ns": dict(self._changed_ns),
                "replaced_ns": {k: list(v) for k, v in self._replaced_ns.items()},
                "taking": sorted(self._taking), "take_once_pulled": self._take_once_pulled}

    def load_state(self, state: dict) -> None:
        reference = state.get("reference")
        self._reference = None if reference is None else Reference(**reference)
        self._held = bool(state.get("held", False))
        self._changed_ns = {k: int(v) for k, v in state.get("changed_ns", {}).items()}
        self._replaced_ns = {k: [int(t) for t in v] for k, v in state.get("replaced_ns", {}).items()}
        self._taking = set(state.get("taking", ()))
        self._take_once_pulled = bool(state.get("take_once_pulled", False))

    # ------------------------------------------------------------------ repricing

    @classmethod
    def _reprice(cls, algos: Sequence["VolatilityAlgo"], allow_take: bool) -> None:
        live = [a for a in algos if a.ctx.parent.is_working and a.ctx.parent.pending is None]
        for algo in live:
            if algo._reference is None:
                algo._reference = algo._record_reference()
        ready = [a for a in live if a._reference is not None]
        if not ready:
            return
        quote = ready[0].ctx.underlier_quote()
        mid = np.nan if quote.mid is None else quote.mid
        by_rule: dict[object, list[VolatilityAlgo]] = {}
        for algo in ready:
            by_rule.setdefault(algo.ctx.instrument().tick_rule, []).append(algo)
        for rule, group in by_rule.items():
            cls._reprice_group(group, rule, mid, quote.bid, quote.ask, allow_take)

    @classmethod
    def _reprice_group(cls, algos: list["VolatilityAlgo"], rule, mid: float, ubid: float | None,
                       uask: float | None, allow_take: bool) -> None:
        now = algos[0].ctx.now_ns()
        views = [a._market_view() for a in algos]
        inputs = LimitInputs.of(**_columns([a._limit_row(now, v) for a, v in zip(algos, views)]))
        limits = primary_limits(inputs, mid, underlier_bid=ubid, underlier_ask=uask, tick_rule=rule,
                                through_ticks=_MARKET_THROUGH_TICKS)
        resting = np.array([np.nan if v.child is None else v.child.target_price for v in views])
        far = np.where(inputs.is_buy, inputs.ask, inputs.bid)
        same_best = np.where(inputs.is_buy, inputs.bid, inputs.ask)
        posts = post_prices([a._post_type for a in algos], inputs.is_buy, limits, same_best, far, resting, rule)
        marketable = is_marketable(inputs.is_buy, limits, inputs.bid, inputs.ask)
        outside = _outside_range(algos, ubid, uask)
        for i, algo in enumerate(algos):
            algo._act(float(limits[i]), float(posts[i]), bool(marketable[i]), outside[i], views[i], rule, allow_take)

    def _act(self, limit: float, post: float, marketable: bool, outside: str | None, view: "_MarketView",
             rule, allow_take: bool) -> None:
        ctx, parent = self.ctx, self.ctx.parent
        if outside is not None:
            if parent.algo.cxl_uprc_range:
                ctx.unsubscribe(parent.symbol)
                ctx.unsubscribe(ctx.instrument().underlying)
                ctx.finish(f"{outside}; canceled (srCxlUPrcRange)")
            elif not self._held:
                self._held = True
                ctx.hold(f"{outside}; holding")
            return
        self._held = False
        if self._taking:
            return               # IOC children still out: their reports come first
        balance = parent.leaves_qty
        working = ctx.open_children(ChildRole.WORK)
        if np.isnan(limit) or balance <= 0:
            self._pull(working)
            return
        if marketable and allow_take and parent.algo.order_handling is OrderHandling.ACTIVE_TAKER:
            if working:
                self._take_once_pulled = True
                self._pull(working)
            else:
                self._take_once_pulled = False
                self._taking.update(c.child_id for c in ctx.take(balance, limit))
            return
        if self._take_once_pulled and working:
            return               # waiting for the pulled children before taking
        self._take_once_pulled = False
        if np.isnan(post):
            self._pull(working)
            return
        if view.child is None:
            if not working:
                self._post(balance, post)
            return
        extras = [c for c in working if c is not view.child]
        self._pull(extras)       # one child rests (after a restart there may be more)
        self._amend(view.child, view.child.cum_qty + balance - sum(c.leaves_qty for c in extras), post, rule)

    def _post(self, qty: int, price: float) -> None:
        child = self.ctx.post(None, None, qty, price, venue=None)
        if child is not None:
            self._changed_ns[child.child_id] = self.ctx.now_ns()

    def _amend(self, child: ChildOrder, qty: int, price: float, rule) -> None:
        moves_price = abs(rule.ticks_between(child.target_price, price)) >= 1 - 1e-6
        moves_qty = qty != child.target_qty
        if not (moves_price or moves_qty):
            return
        now = self.ctx.now_ns()
        allowed_ns = self._next_change_ns(child.child_id, now)
        if allowed_ns > now:
            self.ctx.set_timer("reprice", allowed_ns)
            return
        self.ctx.replace(child, qty=qty if moves_qty else None, price=price if moves_price else None)
        self._changed_ns[child.child_id] = now
        self._replaced_ns.setdefault(child.child_id, []).append(now)

    def _next_change_ns(self, child_id: str, now: int) -> int:
        """The earliest time the child may be amended: ``min_rest_ms`` after its last change, and
        within ``max_replaces_per_s`` counted over a sliding window."""
        per_s = self.settings.max_replaces_per_s
        budget = max(1, int(per_s))
        window_ns = int(max(1.0, budget / per_s) * _NANOS_PER_S)
        recent = [t for t in self._replaced_ns.get(child_id, []) if t > now - window_ns]
        self._replaced_ns[child_id] = recent
        earliest = now
        last = self._changed_ns.get(child_id)
        if last is not None:
            earliest = max(earliest, last + int(self.settings.min_rest_ms * 1_000_000))
        if len(recent) >= budget:
            earliest = max(earliest, recent[-budget] + window_ns)
        return earliest

    def _pull(self, children: list[ChildOrder]) -> None:
        for child in children:
            self.ctx.cancel(child)

    # ------------------------------------------------------------------ inputs

    @property
    def _limit_type(self) -> LimitType:
        parent = self.ctx.parent
        if parent.algo.limit_type is not None:
            return parent.algo.limit_type
        return LimitType.MARKET if parent.ord_type is OrdType.MARKET else LimitType.PRC

    @property
    def _post_type(self) -> int:
        post_type = self.ctx.parent.algo.balance_handling
        return int(BalanceHandling.POST_LIMIT if post_type is None else post_type)

    def _record_reference(self) -> Reference | None:
        """The arrival values; None while there is no underlier price (or no model) to take them from."""
        ctx, params = self.ctx, self.ctx.parent.algo
        underlier = params.order_ref_uprc or ctx.underlier_quote().mid
        if underlier is None and self._limit_type in UNDERLIER_TYPES:
            return None
        greeks = (0.0, 0.0, 0.0)
        wanted = (params.order_ref_delta, params.order_ref_gamma, params.order_ref_theta)
        if self._limit_type in PRICE_DELTA_TYPES and None in wanted:
            model = ctx.greeks(underlier=underlier)
            if model is None:
                return None
            greeks = (float(model.delta), float(model.gamma), float(model.theta))
        delta, gamma, theta = (given if given is not None else default for given, default in zip(wanted, greeks))
        nbbo = ctx.book().nbbo()
        rate, div_yield, dividend_pv = self._pricing_inputs(underlier)
        return Reference(ctx.now_ns(), underlier, delta, gamma, theta, nbbo.bid, nbbo.ask, rate, div_yield,
                         dividend_pv)

    def _pricing_inputs(self, underlier: float | None) -> tuple[float, float, float]:
        """Rate, yield and discrete-dividend PV: the market's, overridden by the order's tags."""
        instrument, params = self.ctx.instrument(), self.ctx.parent.algo
        market_rate = self.ctx.market_rate()
        if underlier is None or instrument is None or instrument.expiry is None:
            return float(params.rate_override or market_rate), float(params.sdiv_override or 0.0), 0.0
        years = years_between(self.ctx.now_ns(), instrument.expiry)
        inputs = apply_overrides(underlier, market_rate, 0.0, years=years, rate_override=params.rate_override,
                                 sdiv_override=params.sdiv_override, ddiv_override=params.ddiv_override,
                                 override_code=params.override_code)
        return float(inputs.rate), float(inputs.div_yield), float(underlier - float(inputs.spot))

    def _market_view(self) -> "_MarketView":
        parent = self.ctx.parent
        resting = [c for c in self.ctx.open_children(ChildRole.WORK)
                   if c.child_id not in self._taking and c.status is not ChildStatus.PENDING_CANCEL
                   and not c.cancel_queued]
        child = resting[0] if resting else None
        book = self.ctx.book()
        nbbo = book.nbbo()
        same = best_of_others(book, parent.side, child)
        far = nbbo.ask if parent.side.is_buy else nbbo.bid
        bid, ask = (same, far) if parent.side.is_buy else (far, same)
        return _MarketView(child, _nan_if_none(bid), _nan_if_none(ask))

    def _limit_row(self, now: int, view: "_MarketView") -> dict:
        parent, ref = self.ctx.parent, self._reference
        instrument = self.ctx.instrument()
        params = parent.algo
        price = static_price(parent)
        expiry = instrument.expiry if instrument is not None else None
        return {
            "limit_type": int(self._limit_type),
            "is_buy": parent.side.is_buy,
            "price": _nan_if_none(price),
            "offset": params.order_prc_offset or 0.0,
            "ref_underlier": _nan_if_none(ref.underlier), "delta": ref.delta, "gamma": ref.gamma, "theta": ref.theta,
            "elapsed_years": max(now - ref.arrival_ns, 0) / NANOS_PER_YEAR,
            "vol_limit": _nan_if_none(params.vol_limit or None),
            "strike": _nan_if_none(instrument.strike if instrument is not None else None),
            "years": years_between(now, expiry) if expiry is not None else 0.0,
            "is_call": bool(instrument is not None and instrument.is_call),
            "on_future": bool(instrument is not None and instrument.on_future),
            "rate": ref.rate, "div_yield": ref.div_yield, "dividend_pv": ref.dividend_pv,
            "bid": view.bid, "ask": view.ask, "arrival_bid": _nan_if_none(ref.arrival_bid),
            "arrival_ask": _nan_if_none(ref.arrival_ask),
            "min_price": _nan_if_none(params.min_option_px),
        }


@dataclass(frozen=True, slots=True)
class _MarketView:
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


def _outside_range(algos: Sequence[VolatilityAlgo], ubid: float | None, uask: float | None) -> list[str | None]:
    """Why each order is outside its underlier range (5074/5076), None when inside."""
    reasons: list[str | None] = []
    for algo in algos:
        params = algo.ctx.parent.algo
        if params.min_ubid is not None and ubid is not None and ubid < params.min_ubid - _EPS:
            reasons.append(f"underlier bid {ubid:g} below srMinUBid {params.min_ubid:g}")
        elif params.max_uask is not None and uask is not None and uask > params.max_uask + _EPS:
            reasons.append(f"underlier ask {uask:g} above srMaxUAsk {params.max_uask:g}")
        else:
            reasons.append(None)
    return reasons


def _columns(rows: list[dict]) -> dict:
    return {key: [row[key] for row in rows] for key in rows[0]}


def _nan_if_none(value: float | None) -> float:
    return np.nan if value is None else float(value)

