"""Alpha-making: rest post-only children at levels computed from the effective limit, never take.

The effective limit is the tightest of the primary limit (any LimitType 5098, ``primary_limits``)
and the secondary limit of the Make LimitClass 5102 (``secondary_limits``: Surface with the
5144/5146 and 5518/5536 offsets, Probability with 5130/5134/5138). Each update of the option or
its underlier reprices every alpha-making parent on the underlier in one numpy pass; the price
each child rests at comes from the PostType 5096 (``post_types.post_targets``), placed against
what *others* show (``making_book.OthersBook``: our own children taken out of every venue).

- **Venues (5048) and exposure (5046).** The balance rests on up to NumMakeExchanges venues,
  chosen and split by the SOR's posting rank (``ctx.plan_posts``); MaxExposureSize is, for a
  single option, the reference's "maximum simultaneous public exposure across all exchanges":
  the contracts *displayed* by all the children together, the rest held in reserve (seed 001's
  percentage reading applies to packages). A child keeps its venue while it lives; only the
  balance no child holds is planned again.
- **Display (5050), our definitions.** Absent: the whole child shows. None: 1 contract shows,
  the rest is reserve. Randomize: a size drawn uniformly in [1, 2 x the typical size others
  show at that level], seeded by the parent's order ID, drawn again for each new child.
  MktSize: the typical size (the mean a venue shows at that level; at the best level when
  nobody shows there). FullSize: all. MktSizeA/B/C and FullSizeR are rejected at entry.
- **Churn.** A child is amended no sooner than ``min_rest_ms`` after its last change and at
  most ``max_replaces_per_s`` times a second (the volatility algo's rule); a move held back
  re-checks on the ``reprice`` timer. These, ``flash_ms`` and ``queue_margin`` are
  ``[algos.alpha_making]`` in config/router.toml (``router.config.AlphaMakingSettings``).
- **Queue priority, our rule.** A move of exactly one tick is made only when the
  fill-probability model says it pays: per contract, relative to the new price, staying costs
  ``p_stay * (price given up or saved) + (1 - p_stay) * half spread`` and moving costs
  ``(1 - p_move) * half spread``, where ``p`` is P(fill within the model's horizon) from the
  queue ahead (at our level: what was ahead when we joined less what traded there since, plus
  anything better on that venue; at the new level: all others show there or better), the
  volume traded there in the last 30 s and the spread. A move is forced when staying would be
  through the limit or at the far side, or when a flash ends.
- **Flash types.** A new child of PostFlash/PostFlashW/PostFlashI flashes for ``flash_ms``.

``AlphaTakingMakingAlgo`` ("alpha_taking+making": ActiveTaker 5094=1, a post type and a
dynamic Take class) posts the same way and takes once its take limit (primary tightest with the
Take class's secondary limit) is marketable: it pulls its resting children first and, once they
are out, sends the balance as IOC at the take limit, so resting and taking never overfill.
TakeReach 5104 limits that take as it does alpha taking's (``take_reach``): Delayed, Passive and
WeakOnly take at the far touch only the size their rule allows, and keep the children resting
while it allows none; the windows are ``[algos.alpha_taking]``.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import ClassVar, Sequence

import numpy as np

from router.config import AlphaMakingSettings, AlphaTakingSettings
from router.domain.enums import ChildRole, LimitClass, PublicSize, TakeReach
from router.domain.orders import ChildOrder, ChildStatus
from router.models.fill_probability import TRADE_WINDOW_S, FillProbability

from .limits import effective_limits, is_marketable, primary_limits, tick_moves
from .making_book import OthersBook, displayed
from .post_types import FLASH_TYPES, UNSUPPORTED, post_targets
from .secondary_limits import secondary_limits
from .take_reach import FarTouchHistory, reach_problem, reachable_qty
from .volatility import VolatilityAlgo
from .volatility_inputs import nan_if_none, outside_reason

_MS = 1_000_000
_EPS = 1e-9
_WINDOW_NS = int(TRADE_WINDOW_S * 1e9)
_WORK = ChildRole.WORK
_SIMPLE = (None, LimitClass.SIMPLE)
_PUBLIC_SIZES = (PublicSize.NONE, PublicSize.RANDOMIZE, PublicSize.MKT_SIZE, PublicSize.FULL_SIZE)


class AlphaMakingAlgo(VolatilityAlgo):
    name = "alpha_making"
    settings_section = "alpha_making"   # [algos.alpha_making], shared by the combined algo
    takes = False
    reads_tags = VolatilityAlgo.reads_tags | {5046, 5048, 5050, 5102, 5130, 5134, 5138, 5144, 5146, 5518, 5536}
    _column_cache: ClassVar[dict] = {}
    fill_model: ClassVar[FillProbability | None] = None     # loaded on first use (the shipped model)

    def __init__(self, ctx, settings=None) -> None:
        super().__init__(ctx, settings or AlphaMakingSettings())
        self._flash_until: dict[str, int] = {}           # child id -> end of its flash
        self._joined: dict[str, tuple[float, int, int]] = {}   # child id -> (price, ahead, when) at its last move
        self._draws = 0                                  # Randomize draws made

    @classmethod
    def order_problem(cls, params, instrument) -> str | None:
        post = params.balance_handling
        if post in UNSUPPORTED:
            return f"SRBalanceHandling (5096) {int(post)} {post.name}: {UNSUPPORTED[post]}"
        size = params.public_size
        if size is not None and size not in _PUBLIC_SIZES:
            return (f"SRPublicSize (5050) {int(size)} {size.name} is not supported: "
                    f"use 0 None, 1 Randomize, 2 MktSize or 3 FullSize")
        return None

    # ------------------------------------------------------------------ events

    def start(self) -> None:
        ctx = self.ctx
        ctx.subscribe(ctx.parent.symbol)
        instrument = ctx.instrument()
        if instrument is not None and instrument.underlying != instrument.symbol:
            ctx.subscribe(instrument.underlying)
        self._reprice([self], allow_take=True)

    @classmethod
    def on_underlier_batch(cls, algos: Sequence["AlphaMakingAlgo"], underlier: str) -> None:
        cls._reprice(algos, allow_take=True, batch_key=underlier)

    def on_timer(self, name: str) -> None:
        if name in ("reprice", "flash_end", "reach"):
            self._reprice([self], allow_take=True)

    def on_child_done(self, child: ChildOrder) -> None:
        self._flash_until.pop(child.child_id, None)
        self._joined.pop(child.child_id, None)
        super().on_child_done(child)

    def save_state(self) -> dict:
        return {**super().save_state(), "flash_until": dict(self._flash_until),
                "joined": {k: list(v) for k, v in self._joined.items()}, "draws": self._draws}

    def load_state(self, state: dict) -> None:
        super().load_state(state)
        self._flash_until = {k: int(v) for k, v in state.get("flash_until", {}).items()}
        self._joined = {k: (float(v[0]), int(v[1]), int(v[2])) for k, v in state.get("joined", {}).items()}
        self._draws = int(state.get("draws", 0))

    # ------------------------------------------------------------------ one pass over a batch

    @classmethod
    def _reprice_group(cls, algos, columns, rule, mid, ubid, uask, allow_take: bool) -> None:
        """The volatility's batch pass (``VolatilityAlgo._reprice``) calls this per tick-rule group."""
        now = algos[0].ctx.now_ns()
        c = columns.arrays
        is_buy = c["is_buy"]
        views = [algo._view() for algo in algos]
        same = np.array([nan_if_none(v.same) for v in views])
        same_qty = np.array([v.same_qty for v in views], dtype=float)
        bid = np.where(is_buy, same, [nan_if_none(v.nbbo.bid) for v in views])
        ask = np.where(is_buy, [nan_if_none(v.nbbo.ask) for v in views], same)
        far = np.where(is_buy, ask, bid)
        resting = np.array([v.resting for v in views])
        primary = primary_limits(columns.inputs(now, bid, ask), mid, underlier_bid=ubid, underlier_ask=uask,
                                 tick_rule=rule)
        limit = cls._effective(algos, is_buy, primary, "make")
        flashing = np.array([a._flashing(now) for a in algos])
        fade = np.array([a._display_size(max(a._parent.leaves_qty, 1), v, v.same, draw=False)
                         for a, v in zip(algos, views)])
        targets = post_targets(c["post_type"], is_buy, limit, same, far, resting, rule, same_best_qty=same_qty,
                               fade_qty=fade, flashing=flashing)
        take_limit = cls._effective(algos, is_buy, primary, "take") if cls.takes else limit
        marketable = is_marketable(is_buy, take_limit, bid, ask) & cls.takes & allow_take
        outside = columns.outside(ubid, uask)
        for i, algo in enumerate(algos):
            reason = outside_reason(algo, ubid, uask) if outside[i] else None
            algo._work(views[i], float(limit[i]), float(targets[i]), float(take_limit[i]), bool(marketable[i]),
                       reason, rule)

    @staticmethod
    def _effective(algos, is_buy: np.ndarray, primary: np.ndarray, kind: str) -> np.ndarray:
        """The primary limit tightest with the ``kind`` class's secondary one; NaN where a
        dynamic class cannot be computed now (the order then neither posts nor takes on it)."""
        field = "make_limit_class" if kind == "make" else "take_limit_class"
        dynamic = np.array([getattr(a._parent.algo, field) not in _SIMPLE for a in algos])
        if not dynamic.any():
            return primary
        secondary = np.asarray(secondary_limits([a.ctx for a in algos], kind), dtype=float)
        return np.where(dynamic & np.isnan(secondary), np.nan, effective_limits(is_buy, primary, secondary))

    # ------------------------------------------------------------------ one order

    def _view(self) -> "_View":
        ctx, parent = self.ctx, self._parent
        children = [ch for ch in ctx.open_children(_WORK) if ch.child_id not in self._taking]
        live = [ch for ch in children if ch.status is not ChildStatus.PENDING_CANCEL and not ch.cancel_queued]
        book = ctx.book()
        venues = set(book.venues(parent.side)) | {ch.venue for ch in live}
        others = OthersBook(book, parent.side, live, sorted(venues))
        same, same_qty = others.best()
        resting = np.nan
        if live:
            first = live[0]
            flash_end = self._flash_until.get(first.child_id)
            # a child whose flash is over is placed afresh, as a new child would be
            if flash_end is None or flash_end > ctx.now_ns():
                resting = first.target_price
        return _View(children, live, book, others, book.nbbo(), same, same_qty, resting)

    def _flashing(self, now: int) -> bool:
        if self._post_type not in FLASH_TYPES:
            return False
        live = [ch for ch in self.ctx.open_children(_WORK) if ch.child_id not in self._taking]
        return not live or any(self._flash_until.get(ch.child_id, 0) > now for ch in live)

    def _work(self, view: "_View", limit: float, target: float, take_limit: float, marketable: bool,
              outside: str | None, rule) -> None:
        ctx, parent = self.ctx, self._parent
        if self._out_of_range(outside) or self._taking:     # IOC children still out: their reports come first
            return
        balance = parent.leaves_qty
        if balance <= 0 or np.isnan(limit) or np.isnan(target):
            self._pull(view.live)
            return
        take = self._reach(view, balance, take_limit) if marketable else None
        if take is not None:
            self._take_once_pulled = bool(view.children)
            if view.children:
                self._pull(view.live)
            else:
                qty, price = take
                self._taking.update(ch.child_id for ch in ctx.take(qty, price, venues=parent.algo.exchanges))
            return
        if self._take_once_pulled and view.children:
            return
        self._take_once_pulled = False
        live = self._fit_to_balance(view.live, balance)
        for child in live:
            self._reprice_child(child, view, limit, target, rule)
        self._post_rest(view, live, balance - sum(ch.leaves_qty for ch in live), target)

    def _reach(self, view: "_View", balance: int, take_limit: float) -> tuple[int, float] | None:
        """(qty, price) to take now that the take limit is marketable; None: keep posting."""
        return balance, take_limit

    def _fit_to_balance(self, live: list[ChildOrder], balance: int) -> list[ChildOrder]:
        """Children holding more than the balance (a client replace) give back the excess,
        smallest children first pulled; the ones kept."""
        excess = sum(ch.leaves_qty for ch in live) - balance
        kept = sorted(live, key=lambda ch: -ch.leaves_qty)
        while excess > 0 and kept:
            child = kept[-1]
            if child.leaves_qty <= excess:
                excess -= child.leaves_qty
                self.ctx.cancel(kept.pop())
            else:
                self.ctx.replace(child, child.target_qty - excess, None)
                excess = 0
        return kept

    def _reprice_child(self, child: ChildOrder, view: "_View", limit: float, target: float, rule) -> None:
        now = self.ctx.now_ns()
        if tick_moves(rule, np.array([child.target_price]), np.array([target]))[0] < 1 - 1e-6:
            return
        sign = 1.0 if child.side.is_buy else -1.0
        far = view.nbbo.ask if child.side.is_buy else view.nbbo.bid
        through = (sign * (child.target_price - limit) > _EPS                      # through the limit
                   or (far is not None and sign * (child.target_price - far) > -_EPS))   # at the far side
        flash_over = child.child_id in self._flash_until and self._flash_until[child.child_id] <= now
        one_tick = abs(rule.ticks_between(child.target_price, target)) < 1 + 1e-6
        if one_tick and not (through or flash_over) and not self._move_pays(child, view, target, rule):
            return
        allowed_ns = self._next_change_ns(child.child_id, now)
        if allowed_ns > now:
            self.ctx.set_timer("reprice", allowed_ns)
            return
        self.ctx.replace(child, None, target)
        self._flash_until.pop(child.child_id, None)
        self._changed_ns[child.child_id] = now
        self._replaced_ns.setdefault(child.child_id, []).append(now)
        self._joined[child.child_id] = (target, view.others.ahead(child.venue, target), now)

    def _move_pays(self, child: ChildOrder, view: "_View", target: float, rule) -> bool:
        """The queue-priority rule (module docstring): True when moving one tick costs less."""
        model = type(self).fill_model
        if model is None:
            model = AlphaMakingAlgo.fill_model = FillProbability.load()
        now, book, venue, side = self.ctx.now_ns(), view.book, child.venue, child.side
        price = child.target_price
        joined_price, ahead_then, since = self._joined.get(child.child_id, (price, 0, now))
        at_level = view.others.ahead(venue, price) - view.others.better_than(venue, price)
        if abs(joined_price - price) <= _EPS:
            at_level = min(at_level, max(ahead_then - book.traded_at(venue, side, price, since), 0))
        stay_ahead = at_level + view.others.better_than(venue, price)
        move_ahead = view.others.ahead(venue, target)
        traded = [book.traded_at(venue, side, p, now - _WINDOW_NS) for p in (price, target)]
        nbbo = view.nbbo
        spread = float("nan") if nbbo.bid is None or nbbo.ask is None else nbbo.ask - nbbo.bid
        tick = rule.tick_at(min(price, target))
        p_stay, p_move = model.probability([stay_ahead, move_ahead], 0.0, traded,
                                           spread / tick if spread == spread else float("nan"))
        miss = 0.5 * spread if spread == spread else tick
        sign = 1.0 if side.is_buy else -1.0
        cost_stay = p_stay * sign * (price - target) + (1.0 - p_stay) * miss
        cost_move = (1.0 - p_move) * miss
        return bool(cost_move + self.settings.queue_margin < cost_stay)

    def _post_rest(self, view: "_View", live: list[ChildOrder], unassigned: int, target: float) -> None:
        """Rest the balance no child holds on the next best venues, within 5048 and 5046."""
        if unassigned <= 0:
            return
        params, ctx = self._parent.algo, self.ctx
        venues_left = (params.num_make_exchanges or 1) - len(live)
        shown_left = None if params.max_exposure_size is None else \
            params.max_exposure_size - sum(displayed(ch) for ch in view.children)
        if shown_left is not None:
            venues_left = min(venues_left, shown_left)
        if venues_left <= 0:
            if live:                  # no venue left: the largest child takes the balance on
                biggest = max(live, key=lambda ch: ch.leaves_qty)
                ctx.replace(biggest, biggest.target_qty + unassigned, None)
            return
        plan = ctx.plan_posts(unassigned, target, num_venues=venues_left, exclude=tuple(ch.venue for ch in live))
        now = ctx.now_ns()
        if shown_left is not None:
            each, odd = divmod(shown_left, len(plan) or 1)       # the exposure left, shared evenly
        for i, (venue, qty) in enumerate(plan):
            show = min(self._display_size(qty, view, target), qty)
            if shown_left is not None:
                show = min(show, each + (i < odd))
            child = ctx.post(None, None, qty, target, venue=venue, display_qty=None if show >= qty else show)
            if child is None:
                continue
            self._changed_ns[child.child_id] = now
            self._joined[child.child_id] = (target, view.others.ahead(venue, target), now)
            if self._post_type in FLASH_TYPES:
                until = now + int(self.settings.flash_ms * _MS)
                self._flash_until[child.child_id] = until
                ctx.set_timer("flash_end", until)

    def _display_size(self, qty: int, view: "_View", price: float | None, draw: bool = True) -> int:
        """How much of a ``qty`` child shows under PublicSize 5050 (module docstring); without
        ``draw``, Randomize answers its typical size and uses no draw."""
        rule = self._parent.algo.public_size
        if rule is None or rule is PublicSize.FULL_SIZE:
            return qty
        if rule is PublicSize.NONE:
            return 1
        typical = view.others.typical_size(price) if price is not None and price == price else None
        typical = max(int(round(typical)), 1) if typical else 1
        if rule is PublicSize.MKT_SIZE or not draw:
            return min(typical, qty)
        rng = np.random.default_rng([zlib.crc32(self._parent.order_id.encode()), self._draws])
        self._draws += 1
        return min(int(rng.integers(1, 2 * typical + 1)), qty)


@dataclass(slots=True)
class _View:
    children: list[ChildOrder]     # open WORK children (not our IOC takes)
    live: list[ChildOrder]         # of those, the ones not being canceled
    book: object
    others: OthersBook
    nbbo: object                   # the option's NBBO, ours included
    same: float | None             # the best price others show on our side, and their size there
    same_qty: int
    resting: float                 # where our first live child rests (NaN: none)


class AlphaTakingMakingAlgo(AlphaMakingAlgo):
    """Alpha-making that also takes once the take limit is marketable (module docstring)."""
    name = "alpha_taking+making"
    takes = True
    reads_tags = AlphaMakingAlgo.reads_tags | {5100, 5104, 5128, 5132, 5136, 5140, 5142}
    take_settings_section = "alpha_taking"     # [algos.alpha_taking]: the TakeReach windows

    def __init__(self, ctx, settings=None, take_settings: AlphaTakingSettings | None = None) -> None:
        super().__init__(ctx, settings)
        self.take_settings = take_settings or AlphaTakingSettings()
        s = self.take_settings
        self._history = FarTouchHistory(ctx.parent.side.is_buy,
                                        int(max(s.delayed_ms * 1e6, s.weak_window_s * 1e9)) + 1_000_000_000)

    @classmethod
    def order_problem(cls, params, instrument) -> str | None:
        return super().order_problem(params, instrument) or reach_problem(params.take_reach, "alpha taking+making")

    def _work(self, view: "_View", *args) -> None:
        nbbo, now = view.nbbo, self.ctx.now_ns()
        if self._parent.side.is_buy:
            self._history.record(now, nbbo.ask, nbbo.ask_qty)
        else:
            self._history.record(now, nbbo.bid, nbbo.bid_qty)
        super()._work(view, *args)

    def _reach(self, view: "_View", balance: int, take_limit: float) -> tuple[int, float] | None:
        """TakeReach 5104 on the taking side (``take_reach``): Immediate (or absent) takes the
        balance at the take limit; the others take at the far touch as much of its size as the
        rule lets, as alpha taking does, and keep posting while that is nothing."""
        reach = self._parent.algo.take_reach
        if reach is None or reach is TakeReach.IMMEDIATE:
            return balance, take_limit
        side, nbbo, now = self._parent.side, view.nbbo, self.ctx.now_ns()
        price, shown = (nbbo.ask, nbbo.ask_qty) if side.is_buy else (nbbo.bid, nbbo.bid_qty)
        qty = 0 if price is None else min(balance, reachable_qty(reach, self._history, view.book, side, price,
                                                                 shown, now, self.take_settings))
        if qty > 0:
            return qty, price
        if reach is TakeReach.DELAYED:          # the size may have stayed long enough by then
            self.ctx.set_timer("reach", now + int(self.take_settings.delayed_ms * _MS))
        return None
