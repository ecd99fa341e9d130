"""The multi-leg algo (NewOrderMultileg, SROrderHandling 5094 = 8 Legger): a package worked as
LEG children in the single-leg books.

The Legger, as we define it:
- **Lead legs** are worked first: the legs on SRLeadSide (5202: B/1 buy, S/2 sell) when the package is
  bought; without 5202 (or 0), the leg whose book is widest in ticks (the hardest to fill, so the
  liquid legs complete it).
- **The lead's price** is the best the package limit allows with every other leg bought or sold at
  its far touch now: ``(limit - sum(other legs' sign x ratio x far)) / (sign x ratio)``, rounded to
  the leg's tick in the client's favour. With SRBalanceHandling (5096) a post type, the lead rests
  there (post-only, never better than the near touch); with NoPost or when the package is
  marketable at the far touches, the lead is taken (IOC) at that price.
- **Completion.** Each fill of a leg makes the other legs owe their ratio's share; they are taken at
  once (IOC) at a price that keeps the package's net within the limit plus SRMaxCompletionSlippage
  (5204, $ per package, default 0), counting the filled legs at their average prices. What cannot be
  completed at that price waits for the market.
- **Exposure** (5046, for a package: a percent of its quantity, default ``exposure_pct`` 10%, at least
  1 package).
  No leg's fills plus open children ever exceed the complete packages plus the exposure, so the
  legging imbalance stays within it at every step.
- The limit is static (Price 44) or tied to the underlier (LimitType PrcDe: the limit moves by the
  package's delta 5110 times the underlier's move from 5108); a market package has no limit.

The Seeker (9) works the package whole on the venues' complex order books (COBs):
- it rests the balance at the package limit on up to ``seek_venues`` (3) COBs (the venues listing every option leg,
  in the SOR's order), split evenly;
- a *response* is contra package interest resting on a COB (another participant's package order
  against ours, from the COB updates the venues publish); when responses arrive and the parent is
  still unfilled, the balance moves to the venue with the best response (the others are pulled
  first, so the package never works more than its balance); at or inside the limit it trades there;
- with no response the orders stay on their COBs. It needs a package Price (44).
The SeekerLegger (10) seeks first and, when no response has come within ``seek_ms`` (2 s), pulls
its packages and legs the balance as the Legger does. Settings: ``[algos.multileg]`` in router.toml.
"""
from __future__ import annotations

import math
from typing import ClassVar

from router.config import MultilegSettings
from router.domain.enums import BalanceHandling, ChildRole, LimitType, OrderHandling, Side, TimeInForce
from router.domain.orders import ChildOrder, Fill, PackageLeg, cob_symbol, package_scale

from .base import Algo


LEAD_SIDE_TAG, COMPLETION_SLIPPAGE_TAG = 5202, 5204
SEEK_TIMER = "seek"
_EPS = 1e-9


# SRLeadSide (5202): the reference's B/S, seed 001's 1/2, and 0 (any: the Legger chooses)
_LEAD_SIDES = {"B": Side.BUY, "1": Side.BUY, "S": Side.SELL, "2": Side.SELL, "0": None}


def lead_side(params) -> Side | None:
    return _LEAD_SIDES.get(params.extra.get(LEAD_SIDE_TAG, "0"))


def completion_slippage(params) -> float:
    return float(params.extra.get(COMPLETION_SLIPPAGE_TAG, 0.0))


class MultilegAlgo(Algo):
    name = "multileg"
    reads_tags: ClassVar[frozenset[int]] = frozenset({5046, 5202, 5204, 5108, 5110})

    @classmethod
    def order_problem(cls, params, instrument) -> str | None:
        if params.order_handling is OrderHandling.SEEKER:       # it never legs: the Legger's tags have no effect
            given = [tag for tag, name in ((LEAD_SIDE_TAG, "SRLeadSide"), (COMPLETION_SLIPPAGE_TAG,
                                                                            "SRMaxCompletionSlippage"))
                     if tag in params.extra]
            if params.max_exposure_size is not None:
                given.append(5046)
            if given:
                return (f"tags {', '.join(map(str, given))} are the Legger's: a Seeker (5094=9) works the package "
                        f"whole and never legs; use 8 Legger or 10 SeekerLegger")
        side = params.extra.get(LEAD_SIDE_TAG)
        if side is not None and side not in _LEAD_SIDES:
            return f"SRLeadSide (5202) {side!r} must be B or 1 (buy), S or 2 (sell), or 0 (any)"
        slippage = params.extra.get(COMPLETION_SLIPPAGE_TAG)
        if slippage is not None:
            try:
                ok = float(slippage) >= 0 and math.isfinite(float(slippage))
            except ValueError:
                ok = False
            if not ok:
                return f"SRMaxCompletionSlippage (5204) {slippage!r} must be a price of 0 or more"
        if params.limit_type not in (None, LimitType.MARKET, LimitType.PRC, LimitType.PRC_DE):
            return f"SROrderLimitType (5098) {params.limit_type.name} is not supported for a package; use Prc or PrcDe"
        if params.limit_type is LimitType.PRC_DE and (params.order_ref_delta is None or params.order_ref_uprc is None):
            return "a package tied to its underlier (5098 PrcDe) needs SROrderRefDelta (5110) and SROrderRefUPrc (5108)"
        return None

    def __init__(self, ctx, settings: MultilegSettings | None = None) -> None:
        super().__init__(ctx, settings or MultilegSettings())
        parent = ctx.parent
        self.legs: tuple[PackageLeg, ...] = parent.legs
        self.posts = parent.algo.balance_handling not in (None, BalanceHandling.NO_POST)
        self.slippage = completion_slippage(parent.algo)
        self.lead: tuple[int, ...] = ()
        handling = parent.algo.order_handling
        self.seeking = handling in (OrderHandling.SEEKER, OrderHandling.SEEKER_LEGGER)
        self.legs_after_seek = handling is OrderHandling.SEEKER_LEGGER
        self.responded = False

    # ---- lifecycle
    def start(self) -> None:
        self._subscribe()
        self.lead = self._choose_lead()
        if self.seeking and self.ctx.parent.price is None:
            self.ctx.finish("a Seeker needs a package Price (44): it rests the package at its limit")
            return
        if self.legs_after_seek:
            self.ctx.set_timer(SEEK_TIMER, self.ctx.now_ns() + int(self.settings.seek_ms * 1_000_000))
        self._step()

    def _subscribe(self) -> None:
        for leg in self.legs:
            self.ctx.subscribe(leg.symbol)
        if self.ctx.parent.algo.limit_type is LimitType.PRC_DE:
            self.ctx.subscribe(self.ctx.instrument().underlying)
        if self.seeking:
            self.ctx.subscribe(cob_symbol(self.legs))

    def _step(self) -> None:
        self._seek() if self.seeking else self._work()

    def on_market(self, symbol: str) -> None:
        self._step()

    def on_fill(self, child: ChildOrder, fill: Fill) -> None:
        self._step()

    def on_child_done(self, child: ChildOrder) -> None:
        self._step()

    def on_child_rejected(self, child: ChildOrder, reason: str) -> None:
        self._step()

    def on_timer(self, name: str) -> None:
        if name == SEEK_TIMER and self.seeking and not self.responded:
            self.seeking = False               # no response: pull the packages and leg the balance
            for child in self.ctx.open_children(ChildRole.PACKAGE):
                self.ctx.cancel(child)
            self._work()

    def save_state(self) -> dict:
        return {"lead": list(self.lead), "seeking": self.seeking, "responded": self.responded}

    def load_state(self, state: dict) -> None:
        self.lead = tuple(state.get("lead", ()))
        self.seeking = state.get("seeking", self.seeking)
        self.responded = state.get("responded", False)

    def resume(self) -> None:
        self._subscribe()
        if not self.lead:
            self.lead = self._choose_lead()
        self._step()

    # ---- the Seeker
    def _seek(self) -> None:
        ctx, parent = self.ctx, self.ctx.parent
        limit = self.limit()
        if not parent.is_working or parent.pending is not None or limit is None:
            return
        working = ctx.open_children(ChildRole.PACKAGE)
        factor = package_scale(self.legs)
        balance = parent.qty - self._completed() - sum(c.target_qty - c.cum_qty for c in working) // factor
        venues = ctx.package_venues()
        responses = ctx.package_responses(venues)
        if responses:
            self.responded = True
            best = responses[0].venue
            for child in working:
                if child.venue != best:
                    ctx.cancel(child)
            if balance > 0:
                ctx.post_package(best, balance, limit)
            return
        if working or balance <= 0:
            return
        chosen = venues[:self.settings.seek_venues]
        for k, venue in enumerate(chosen):
            share = balance // len(chosen) + (1 if k < balance % len(chosen) else 0)
            if share > 0:
                ctx.post_package(venue, share, limit)

    # ---- the package's terms
    @property
    def exposure(self) -> int:
        """The legging imbalance allowed, in packages (5046 as a percent of the package's quantity)."""
        parent = self.ctx.parent
        pct = parent.algo.max_exposure_size or self.settings.exposure_pct
        return max(1, math.floor(parent.qty * pct / 100 + _EPS))

    def limit(self) -> float | None:
        """The package's net limit now (a debit when positive); None for a market package."""
        parent = self.ctx.parent
        if parent.price is None:
            return None
        if parent.algo.limit_type is LimitType.PRC_DE:
            under = self.ctx.underlier_quote()
            if under.bid is None or under.ask is None:
                return None
            return parent.price + parent.algo.order_ref_delta * ((under.bid + under.ask) / 2 - parent.algo.order_ref_uprc)
        return parent.price

    def _far(self, leg: PackageLeg) -> float | None:
        nbbo = self.ctx.book(leg.symbol).nbbo()
        return nbbo.ask if leg.side.is_buy else nbbo.bid

    def _near(self, leg: PackageLeg) -> float | None:
        nbbo = self.ctx.book(leg.symbol).nbbo()
        return nbbo.bid if leg.side.is_buy else nbbo.ask

    def _choose_lead(self) -> tuple[int, ...]:
        side = lead_side(self.ctx.parent.algo)
        if side is not None:
            chosen = tuple(i for i, leg in enumerate(self.legs) if leg.side is side)
            if chosen:
                return chosen
        widest, best = 0, -1.0
        for i, leg in enumerate(self.legs):
            nbbo = self.ctx.book(leg.symbol).nbbo()
            if nbbo.bid is None or nbbo.ask is None:
                return (i,)                      # a one-sided book: the hardest leg of all
            tick = self.ctx.instrument(leg.symbol).tick_rule.tick_at(nbbo.ask)
            width = (nbbo.ask - nbbo.bid) / tick
            if width > best + _EPS:
                widest, best = i, width
        return (widest,)

    # ---- quantities, in each leg's own contracts
    def _completed(self) -> int:
        return self.ctx.parent.packages_done

    def _open(self, index: int) -> int:
        """Leg ``index``'s contracts working: its LEG children and its share of open package children."""
        legs = sum(c.leaves_qty for c in self.ctx.open_children(ChildRole.LEG) if c.leg == index)
        ratio = self.legs[index].ratio // package_scale(self.legs)
        return legs + sum(c.target_qty - c.cum_qty for c in self.ctx.open_children(ChildRole.PACKAGE)) * ratio

    def _room(self, index: int) -> int:
        """What leg ``index`` may still fill or have working: up to the complete packages plus the
        exposure, and never beyond the package's quantity."""
        leg = self.legs[index]
        cap = min(self._completed() + self.exposure, self.ctx.parent.qty) * leg.ratio
        return max(cap - leg.cum_qty - self._open(index), 0)

    def _owed(self, index: int) -> int:
        """What leg ``index`` owes the basket: the most advanced leg's packages times its ratio."""
        target = max(math.ceil(leg.cum_qty / leg.ratio) for leg in self.legs)
        leg = self.legs[index]
        return max(target * leg.ratio - leg.cum_qty - self._open(index), 0)

    # ---- the work
    def _work(self) -> None:
        parent = self.ctx.parent
        if not parent.is_working:
            return
        limit = self.limit()
        basket_open = False
        for i, leg in enumerate(self.legs):
            owed = self._owed(i)
            if owed <= 0:
                continue
            basket_open = True
            price = self._completion_price(i, limit)
            if price is not None:
                self.ctx.take(owed, price, symbol=leg.symbol, side=leg.side, role=ChildRole.LEG)
        if parent.pending is not None:
            self._pull_lead()
            return
        for i in self.lead:
            if not (basket_open and self._owed(i)):
                self._work_lead(i, limit)

    def _completion_price(self, index: int, limit: float | None) -> float | None:
        """The worst price leg ``index`` may complete at: the package net within the limit plus the
        completion slippage, the other legs at their average fill (filled) or far touch (not)."""
        leg = self.legs[index]
        instrument = self.ctx.instrument(leg.symbol)
        far = self._far(leg)
        if far is None:
            return None
        if limit is None:
            through = instrument.tick_rule.tick_at(far) * 3
            return far + through if leg.side.is_buy else max(far - through, instrument.tick_rule.tick_at(far))
        rest = 0.0
        for j, other in enumerate(self.legs):
            if j == index:
                continue
            price = other.avg_px if other.cum_qty else self._far(other)
            if price is None:
                return None
            rest += other.sign * other.ratio * price
        allowed = (limit + self.slippage - rest) / (leg.sign * leg.ratio)
        price = instrument.tick_rule.round_passive(allowed, leg.side.is_buy)
        return price if price > _EPS else None

    def _lead_price(self, index: int, limit: float | None) -> float | None:
        leg = self.legs[index]
        if limit is None:
            return self._far(leg)
        rest = 0.0
        for j, other in enumerate(self.legs):
            if j == index:
                continue
            far = self._far(other)
            if far is None:
                return None
            rest += other.sign * other.ratio * far
        allowed = (limit - rest) / (leg.sign * leg.ratio)
        price = self.ctx.instrument(leg.symbol).tick_rule.round_passive(allowed, leg.side.is_buy)
        return price if price > _EPS else None

    def _work_lead(self, index: int, limit: float | None) -> None:
        leg = self.legs[index]
        price = self._lead_price(index, limit)
        resting = [c for c in self.ctx.open_children(ChildRole.LEG) if c.leg == index
                   and c.time_in_force is not TimeInForce.IOC]
        if price is None:
            for child in resting:
                self.ctx.cancel(child)
            return
        far = self._far(leg)
        marketable = far is not None and (far <= price + _EPS if leg.side.is_buy else far >= price - _EPS)
        if marketable or not self.posts:
            for child in resting:
                self.ctx.cancel(child)
            room = self._room(index) + sum(c.leaves_qty for c in resting)
            if marketable and room > 0 and not resting:
                self.ctx.take(room, price, symbol=leg.symbol, side=leg.side, role=ChildRole.LEG)
            return
        near = self._near(leg)
        if near is not None:             # rest at the limit's price, never better than the near touch
            price = min(price, near) if leg.side.is_buy else max(price, near)
        if resting:
            child = resting[0]
            room = self._room(index) + child.leaves_qty
            if room <= 0:
                self.ctx.cancel(child)
            elif abs(child.target_price - price) > _EPS or child.target_qty - child.cum_qty != room:
                self.ctx.replace(child, qty=child.cum_qty + room, price=price)
            return
        room = self._room(index)
        if room > 0:
            self.ctx.post(leg.symbol, leg.side, room, price, role=ChildRole.LEG)

    def _pull_lead(self) -> None:
        for child in self.ctx.open_children(ChildRole.LEG):
            if child.leg in self.lead and child.time_in_force is not TimeInForce.IOC:
                self.ctx.cancel(child)
