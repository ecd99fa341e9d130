"""Volatility: work an order at the best price relative to a limit tied to the underlier.

The limit is any LimitType (5098): a volatility limit (5116) turned into a price, a price moved
with the underlier by delta and gamma, or a price relative to the option's NBBO
(``algos.limits.primary_limits``). The order rests ONE post-only child for its balance at the
price its PostType (5096) gives (``post_prices``, PostLimit by default) on the venue the SOR
picks, and moves it as the underlier and the option's NBBO move:

- every underlier update reprices all the parents on that underlier in one numpy call;
- PostTypes 5, 7, 8 and 11 (PostLmtW, PostWthF, PostImprvR, PostPeg) place as they do in
  alpha making (``post_types.post_targets``; PostWthF's fade size is the balance, which the
  child shows). MaxIntern (6) and the flash types (9, 10, 12: a flash needs alpha making's
  per-child flash window) are refused at entry with the tag and value (``order_problem``);
- a child is replaced only when its target moved by at least one tick, never sooner than
  ``min_rest_ms`` after its last change and never more than ``max_replaces_per_s`` times a
  second; a move held back re-checks on the ``reprice`` timer, so it is not lost;
- with ActiveTaker (5094=1) a marketable limit takes (IOC through the SOR) instead of posting;
- outside srMinUBid 5074 / srMaxUAsk 5076 the order holds, or is canceled with
  srCxlUPrcRange 5072=Y.

What is fixed at arrival (5108, the greeks for 5110-5114, the NBBO, the pricing inputs) is a
``Reference`` in the saved state, so a restart keeps it (``volatility_inputs.py``).
"""
from __future__ import annotations

from dataclasses import asdict
from typing import ClassVar, Sequence

import numpy as np

from router.config import SweepSettings, VolatilitySettings
from router.domain.enums import BalanceHandling, ChildRole, LimitType, OrderHandling, OrdStatus
from router.domain.orders import ChildOrder, ChildStatus
from router.market.books import InstrumentBook

from .base import Algo, ParentChange
from .limits import (limit_type_of, PRICE_DELTA_TYPES, VOL_LIMIT_TYPES, is_marketable, post_prices, primary_limits,
                     static_price, tick_moves)
from .making_book import others_best
from .post_types import ONE_CHILD_UNSUPPORTED, post_targets
from .volatility_inputs import (RULE, Columns, MarketView, Reference, best_of_others, nan_if_none, outside_reason,
                                record_reference)

_NANOS_PER_S = 1_000_000_000
_EPS = 1e-9
_MARKET_THROUGH_TICKS = SweepSettings().market_through_ticks    # LimitType Market: as the sweep reaches
UNDERLIER_TYPES = PRICE_DELTA_TYPES + VOL_LIMIT_TYPES      # their limit needs an underlier price
_WORK = ChildRole.WORK
_PENDING_CANCEL = ChildStatus.PENDING_CANCEL
_PARENT_DONE = tuple(status for status in OrdStatus if status.is_done)   # the property costs a lookup per call
_CACHED_BATCHES = 16        # underliers whose columns the class keeps between batches


class VolatilityAlgo(Algo):
    name = "volatility"
    tied_to_underlier = True
    reads_tags = frozenset({5072, 5074, 5076, 5078, 5094, 5096, 5098, 5106, 5108, 5110, 5112, 5114, 5116,
                            5118, 5120, 5122, 5124, 5126})
    # batch key (the underlier) -> (the rows of the last batch, its groups by tick rule with their columns)
    _column_cache: ClassVar[dict[object, tuple[list[tuple], list]]] = {}

    def __init__(self, ctx, settings: VolatilitySettings | None = None) -> None:
        super().__init__(ctx, settings or VolatilitySettings())
        self._parent = ctx.parent
        self._row_key: tuple | None = None           # what the static row was computed from
        self._row: tuple | None = None
        self._saved_reference: tuple[Reference, dict] | None = None
        self._limits_of: tuple | None = None         # (settings, budget, window_ns, min_rest_ns)
        self._reference: Reference | None = None
        self._held = False
        self._changed_ns: dict[str, int] = {}        # child id -> when we last posted or amended it
        self._replaced_ns: dict[str, list[int]] = {}  # child id -> when we amended it, within the window
        self._taking: set[str] = set()               # ids of our IOC take children still out
        self._take_once_pulled = False               # resting children pulled so the balance can take

    @classmethod
    def order_problem(cls, params, instrument) -> str | None:
        post = params.balance_handling
        if post in ONE_CHILD_UNSUPPORTED:
            return (f"SRBalanceHandling (5096) {int(post)} {post.name} is not supported by the volatility algo: "
                    f"{ONE_CHILD_UNSUPPORTED[post]}")
        return None

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
        cls._reprice(algos, allow_take=True, batch_key=underlier)

    @classmethod
    def on_option_batch(cls, algos: Sequence["VolatilityAlgo"], underlier: str) -> None:
        """Their own options' books changed in one batch: every parent of this class on the
        underlier in one pass, as an underlier update (the runtime calls it, ``runtime.py``)."""
        cls._reprice(algos, allow_take=True, batch_key=(underlier, "options"))

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
        reference = self._reference
        if reference is not None:
            # A Reference is frozen: it is converted once, and every save shares that dict (a
            # saved state is only read: serialised by the store, handed back to load_state).
            saved = self._saved_reference
            if saved is None or saved[0] is not reference:
                saved = self._saved_reference = (reference, asdict(reference))
            reference = saved[1]
        replaced = self._replaced_ns
        return {"reference": reference,
                "held": self._held, "changed_ns": dict(self._changed_ns),
                "replaced_ns": dict(zip(replaced, map(list, replaced.values()))),
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
    #
    # One call prices a whole batch. What an order's limit is computed from is split in two:
    # its static inputs (the parent's terms, the reference fixed at arrival, the instrument),
    # one row per order kept on the algo and, as numpy columns, between batches on the class
    # (``_Columns``, keyed by the underlier; rebuilt only when the batch's rows change), and
    # what moves (its resting child, its option's book, the time), gathered fresh every batch.
    # Only the orders with something to do reach Python: those whose target moved by a tick
    # (the common case, amended directly) and those in any other state (``_act``, unchanged).

    @classmethod
    def _reprice(cls, algos: Sequence["VolatilityAlgo"], allow_take: bool, batch_key: object = None) -> None:
        live = [a for a in algos if (p := a._parent).status not in _PARENT_DONE and p.pending is None]
        for algo in live:
            if algo._reference is None:
                algo._reference = algo._record_reference()
        ready = [a for a in live if a._reference is not None]
        if not ready:
            return
        quote = ready[0].ctx.underlier_quote()
        mid = np.nan if quote.mid is None else quote.mid
        rows = [a._static_row() for a in ready]
        for members, columns, rule in cls._groups(ready, rows, batch_key):
            cls._reprice_group(members, columns, rule, mid, quote.bid, quote.ask, allow_take)

    @classmethod
    def _groups(cls, algos: list["VolatilityAlgo"], rows: list[tuple], batch_key: object
                ) -> list[tuple[list["VolatilityAlgo"], "Columns", object]]:
        """The orders grouped by tick rule (in order of first appearance), each group with the
        columns of its static inputs; from the class's cache when the rows are those of last time."""
        cache = cls._column_cache
        cached = cache.get(batch_key) if batch_key is not None else None
        if cached is not None and cached[0] == rows:
            groups = cached[1]
        else:
            by_rule: dict[object, list[int]] = {}
            for i, row in enumerate(rows):
                by_rule.setdefault(row[RULE], []).append(i)
            groups = [(rule, None if len(index) == len(rows) else index, Columns([rows[i] for i in index]))
                      for rule, index in by_rule.items()]
            if batch_key is not None:
                if len(cache) >= _CACHED_BATCHES:
                    cache.clear()
                cache[batch_key] = (rows, groups)
        return [(algos if index is None else [algos[i] for i in index], columns, rule)
                for rule, index, columns in groups]

    @classmethod
    def _reprice_group(cls, algos: list["VolatilityAlgo"], columns: "Columns", rule, mid: float,
                       ubid: float | None, uask: float | None, allow_take: bool) -> None:
        now = algos[0].ctx.now_ns()
        c = columns.arrays
        is_buy = c["is_buy"]
        # ---- what moves, per order: its resting child (the view), its balance, its option's book
        views, resting, child_price, child_open, balance, simple, book_of = [], [], [], [], [], [], []
        add_view, add_resting, add_price, add_open = views.append, resting.append, child_price.append, child_open.append
        add_balance, add_simple, add_book = balance.append, simple.append, book_of.append
        books: dict[InstrumentBook, int] = {}
        nan = np.nan
        for algo in algos:
            ctx = algo.ctx
            working = ctx.open_children(_WORK)
            taking = algo._taking
            child = None
            for candidate in working:
                if (candidate.status is not _PENDING_CANCEL and not candidate.cancel_queued
                        and candidate.child_id not in taking):
                    child = candidate
                    break
            add_view(child)
            if child is None:
                add_resting(nan)
                add_price(nan)
                add_open(0)
            else:
                add_resting(child.target_price)
                add_price(child.price)
                add_open(child.target_qty - child.cum_qty)
            parent = algo._parent            # live, so its leaves_qty is:
            add_balance(max(parent.qty - parent.cum_qty, 0))
            # one child resting and nothing else going on: the plain amend below applies
            add_simple(child is not None and len(working) == 1 and not taking and not algo._held
                       and not algo._take_once_pulled)
            book = ctx.book()
            index = books.get(book)
            if index is None:
                index = books[book] = len(books)
            add_book(index)
        book_list = list(books)
        resting = np.array(resting, dtype=float)
        child_price = np.array(child_price, dtype=float)
        balance = np.array(balance, dtype=np.int64)
        book_of = np.array(book_of, dtype=np.intp)
        # ---- the option's NBBO, our own child left out of our side (``best_of_others``)
        nbbos = [book.nbbo() for book in book_list]
        nbbo_bid = np.array([nan_if_none(q.bid) for q in nbbos])[book_of]
        nbbo_ask = np.array([nan_if_none(q.ask) for q in nbbos])[book_of]
        same = np.where(is_buy, nbbo_bid, nbbo_ask)
        with np.errstate(invalid="ignore"):
            at_best = np.abs(child_price - same) <= _EPS         # only there may our own child be the best
        post_type = c["post_type"]
        own_types = post_type > BalanceHandling.POST_LIMIT          # post_targets' own types (module docstring)
        extended = own_types.any()
        if extended:                                                # what others show at our side's best
            same_qty = np.where(is_buy, np.array([q.bid_qty for q in nbbos], dtype=float)[book_of],
                                np.array([q.ask_qty for q in nbbos], dtype=float)[book_of])
        for i in np.flatnonzero(at_best):
            if extended and own_types[i]:
                price, same_qty[i] = others_best(book_list[book_of[i]], views[i])
                same[i] = nan_if_none(price)
            else:
                same[i] = nan_if_none(best_of_others(book_list[book_of[i]], algos[i]._parent.side, views[i]))
        bid = np.where(is_buy, same, nbbo_bid)
        ask = np.where(is_buy, nbbo_ask, same)
        # ---- limits and targets
        inputs = columns.inputs(now, bid, ask)
        limits = primary_limits(inputs, mid, underlier_bid=ubid, underlier_ask=uask, tick_rule=rule,
                                through_ticks=_MARKET_THROUGH_TICKS)
        far = np.where(is_buy, ask, bid)
        if extended:
            posts = post_targets(post_type, is_buy, limits, same, far, resting, rule, same_best_qty=same_qty,
                                 fade_qty=balance)
        else:
            posts = post_prices(post_type, is_buy, limits, same, far, resting, rule)     # same: our side's best
        marketable = is_marketable(is_buy, limits, bid, ask)
        outside = columns.outside(ubid, uask)
        # ---- who has something to do
        with np.errstate(invalid="ignore"):
            plain = (np.array(simple, dtype=bool) & ~outside & (balance > 0) & ~np.isnan(limits) & ~np.isnan(posts)
                     & ~(marketable & allow_take & c["active_taker"]))
            moves_price = tick_moves(rule, resting, posts) >= 1 - 1e-6
        moves_qty = balance != np.array(child_open, dtype=np.int64)
        for i in np.flatnonzero(~plain | moves_price | moves_qty):
            algo, child = algos[i], views[i]
            if plain[i]:
                algo._amend_moving(child, child.cum_qty + int(balance[i]), float(posts[i]), bool(moves_price[i]),
                                   bool(moves_qty[i]))
            else:
                reason = outside_reason(algo, ubid, uask) if outside[i] else None
                algo._act(float(limits[i]), float(posts[i]), bool(marketable[i]), reason,
                          MarketView(child, float(bid[i]), float(ask[i])), rule, allow_take)

    def _out_of_range(self, outside: str | None) -> bool:
        """Outside the underlier range (5074/5076): canceled with srCxlUPrcRange (5072), else held
        until back inside. False when inside (a hold is then over)."""
        if outside is None:
            self._held = False
            return False
        ctx = self.ctx
        if ctx.parent.algo.cxl_uprc_range:
            ctx.unsubscribe(ctx.parent.symbol)
            ctx.unsubscribe(ctx.instrument().underlying)
            ctx.finish(f"{outside}; canceled (srCxlUPrcRange)")
        elif not self._held:
            self._held = True
            ctx.hold(f"{outside}; holding")
        return True

    def _act(self, limit: float, post: float, marketable: bool, outside: str | None, view: "MarketView",
             rule, allow_take: bool) -> None:
        ctx, parent = self.ctx, self.ctx.parent
        if self._out_of_range(outside) or self._taking:     # IOC children still out: their reports come first
            return
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
                self._taking.update(c.child_id for c in ctx.take(balance, limit, venues=ctx.parent.algo.exchanges))
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
        self._amend_moving(child, qty, price, moves_price, moves_qty)

    def _amend_moving(self, child: ChildOrder, qty: int, price: float, moves_price: bool, moves_qty: bool) -> None:
        """``_amend`` once the target is known to have moved (by a tick, or in size)."""
        ctx = self.ctx
        now = ctx.now_ns()
        child_id = child.child_id
        allowed_ns = self._next_change_ns(child_id, now)
        if allowed_ns > now:
            ctx.set_timer("reprice", allowed_ns)
            return
        ctx.replace(child, qty if moves_qty else None, price if moves_price else None)
        self._changed_ns[child_id] = now
        self._replaced_ns.setdefault(child_id, []).append(now)

    def _next_change_ns(self, child_id: str, now: int) -> int:
        """The earliest time the child may be amended: ``min_rest_ms`` after its last change, and
        within ``max_replaces_per_s`` counted over a sliding window."""
        limits = self._limits_of
        if limits is None or limits[0] is not self.settings:
            per_s = self.settings.max_replaces_per_s
            budget = max(1, int(per_s))
            limits = self._limits_of = (self.settings, budget, int(max(1.0, budget / per_s) * _NANOS_PER_S),
                                        int(self.settings.min_rest_ms * 1_000_000))
        _, budget, window_ns, min_rest_ns = limits
        recent = self._replaced_ns.get(child_id)
        if not recent:
            recent = []
        elif min(recent) <= now - window_ns:                  # keep the ones inside the window
            recent = list(filter((now - window_ns).__lt__, recent))
        self._replaced_ns[child_id] = recent
        earliest = now
        last = self._changed_ns.get(child_id)
        if last is not None:
            earliest = max(earliest, last + min_rest_ns)
        if len(recent) >= budget:
            earliest = max(earliest, recent[-budget] + window_ns)
        return earliest

    def _pull(self, children: list[ChildOrder]) -> None:
        for child in children:
            self.ctx.cancel(child)

    # ------------------------------------------------------------------ inputs

    @property
    def _limit_type(self) -> LimitType:
        return limit_type_of(self.ctx.parent)

    @property
    def _post_type(self) -> int:
        post_type = self.ctx.parent.algo.balance_handling
        return int(BalanceHandling.POST_LIMIT if post_type is None else post_type)

    def _record_reference(self) -> Reference | None:
        return record_reference(self.ctx, self._limit_type in UNDERLIER_TYPES, self._limit_type in PRICE_DELTA_TYPES)

    def _static_row(self) -> tuple:
        """What the order's limit is computed from that only changes with its terms or its
        reference (``STATIC_FIELDS``, then the tick rule and the expiry); kept until they change."""
        parent, key = self._parent, self._row_key
        if (key is not None and key[0] is parent.price and key[1] is parent.ord_type and key[2] is parent.algo
                and key[3] is self._reference):
            return self._row
        ref = self._reference
        instrument = self.ctx.instrument()
        params = parent.algo
        self._row = (
            int(self._limit_type), parent.side.is_buy, nan_if_none(static_price(parent)),
            params.order_prc_offset or 0.0,
            nan_if_none(ref.underlier), ref.delta, ref.gamma, ref.theta,
            nan_if_none(params.vol_limit or None),
            nan_if_none(instrument.strike if instrument is not None else None),
            bool(instrument is not None and instrument.is_call), bool(instrument is not None and instrument.on_future),
            ref.rate, ref.div_yield, ref.dividend_pv,
            nan_if_none(ref.arrival_bid), nan_if_none(ref.arrival_ask), nan_if_none(params.min_option_px),
            bool(instrument is not None and instrument.coin_quoted), ref.arrival_ns, self._post_type, params.order_handling is OrderHandling.ACTIVE_TAKER,
            nan_if_none(params.min_ubid), nan_if_none(params.max_uask),
            instrument.tick_rule, instrument.expiry if instrument is not None else None)
        self._row_key = (parent.price, parent.ord_type, params, ref)
        return self._row
