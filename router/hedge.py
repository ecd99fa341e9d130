"""The auto-hedger (SRAutoHedge 5152): one per option parent, hedging its fills in the underlier.

Each WORK fill adds ``-delta x qty x multiplier x side`` shares (buy +1) to an exact, fractional
net target. Orders go for the unhedged part of that target rounded to whole shares, half away
from zero; the target itself is never rounded, so rounding never drifts across fills.

"Shares" are the underlier's quantity units: lots of its ``lot_size`` (1 for a stock; 0.001 BTC
for the replayed BTCUSDT perpetual, so a crypto option's delta is hedged to the nearest 0.001 BTC;
the simulated perpetual keeps config/router.toml's ``lot_size``, 1 BTC by default). The
target is in lots (``-delta x qty x multiplier / lot_size``), and the account's threshold, given
in the underlier's own unit (shares, BTC), is converted to lots; ``round_lot`` counts lots.

Nothing is sent until the unhedged net reaches the account's threshold. That starts an
*episode*: a schedule that must have hedged ``k/slices`` of the episode's quantity (in round
lots) by its k-th deadline and all of it by the last. Between deadlines the next slice rests
passively; at a deadline whatever is behind schedule is crossed with IOC children at the far
side. Fills that arrive during an episode join it. The crossing modes (FastCrx, AutoCrx,
Static) are episodes with no window: everything is due at once. README.md ("Auto-hedging") has the table.

Working quantity is never stored: it is read from the open HEDGE children, which the engine
restores after a restart, so a restored hedger does not send again what is already working.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import Enum

from algos.base import AlgoContext
from router.config import HedgeSettings
from router.domain.enums import ChildRole, HedgeMode, ShortSaleFlag, Side, TimeInForce
from router.domain.instruments import ALL_PENNY, InstrumentKind
from router.domain.orders import ChildOrder, ChildStatus, Fill
from router.market.books import Nbbo

__all__ = ["AutoHedger", "TIMER", "UNSUPPORTED_MODES"]

UNSUPPORTED_MODES = frozenset({
    HedgeMode.FAST_DRK, HedgeMode.SLOW_DRK, HedgeMode.SPDR_AUTO, HedgeMode.SPDR_DAY,
    HedgeMode.ALPHA_VWAP_1PCT, HedgeMode.ALPHA_VWAP_2PCT, HedgeMode.ALPHA_VWAP_5PCT, HedgeMode.ALPHA_VWAP_25PCT,
})
TIMER = "hedge:deadline"
# A cross that misses is sent again at once this many times in a row, then waits for the next
# underlier update, so a stale book cannot make a loop of IOCs.
IMMEDIATE_RETRIES = 3
# Hedge orders refused this many times in a row (venue or risk checks) stop the hedger.
MAX_CONSECUTIVE_REJECTS = 5
_EPS = 1e-9


class Passive(Enum):
    INSIDE = "one tick inside the spread"
    MID = "at the mid"
    JOIN = "at the near side"


@dataclass(frozen=True, slots=True)
class Schedule:
    window_ms: float          # 0: everything is due at once
    slices: int
    passive: Passive | None   # how the not-yet-due part rests; None: it does not
    through_ticks: int = 0    # how far through the far side a cross may reach


_SPDR_WINDOWS_S = {HedgeMode.SPDR_10S: 10, HedgeMode.SPDR_30S: 30, HedgeMode.SPDR_90S: 90,
                   HedgeMode.SPDR_5M: 300, HedgeMode.SPDR_30M: 1800}


def schedule_for(mode: HedgeMode, settings: HedgeSettings) -> Schedule:
    if mode is HedgeMode.FAST_CRX:
        return Schedule(0.0, 1, None, through_ticks=1)
    if mode in (HedgeMode.AUTO_CRX, HedgeMode.STATIC):
        return Schedule(0.0, 1, None)
    if mode is HedgeMode.AUTO_TRN:
        return Schedule(settings.turn_wait_ms, 1, Passive.INSIDE)
    if mode is HedgeMode.AUTO_MID:
        return Schedule(settings.mid_timeout_ms, 1, Passive.MID)
    if mode in _SPDR_WINDOWS_S:
        return Schedule(_SPDR_WINDOWS_S[mode] * 1000.0, settings.slices, Passive.JOIN)
    raise ValueError(f"SRAutoHedge (5152) {mode.name} has no hedger")


@dataclass(slots=True)
class Episode:
    start_ns: int
    base_filled: int          # hedge shares filled when it began
    sign: int                 # +1 buys, -1 sells


def round_shares(shares: float) -> int:
    """Whole shares, half away from zero."""
    return int(math.copysign(math.floor(abs(shares) + 0.5), shares))


def side_sign(side: Side) -> int:
    return 1 if side.is_buy else -1


def _legging(parent) -> bool:
    """A package with a leg filled beyond its complete packages: its hedge waits for the basket to
    complete, so it trades the package's net delta once instead of each leg's delta in turn (the
    legging imbalance is bounded by the package's exposure limit meanwhile)."""
    return parent.is_package and parent.legging


class AutoHedger:
    def __init__(self, ctx: AlgoContext, settings: HedgeSettings) -> None:
        mode = ctx.parent.algo.auto_hedge
        if mode is None or mode is HedgeMode.NO_HEDGE or mode in UNSUPPORTED_MODES:
            raise ValueError(f"no auto-hedger for SRAutoHedge (5152) {mode}")
        option = ctx.instrument()
        if option is None:
            raise ValueError(f"{ctx.parent.symbol}: unknown instrument, nothing to hedge")
        self.ctx = ctx
        self.settings = settings
        self.mode = mode
        self.symbol = option.underlying
        underlier = ctx.instrument(self.symbol)
        lot = underlier.lot_size if underlier is not None else 1.0
        self._lot = lot
        self._lots_per_contract = option.multiplier / lot      # underlier lots one option contract is on
        self._tick_rule = underlier.tick_rule if underlier is not None else ALL_PENNY
        self._short_sales_apply = underlier is None or underlier.kind is InstrumentKind.EQUITY
        self._schedule = schedule_for(mode, settings)
        self._threshold = settings.threshold_for(ctx.parent.account) / lot
        # durable
        self._target = 0.0                 # signed shares the option fills call for
        self._filled = 0                   # signed hedge shares filled
        self._static_delta: float | None = None
        self._episode: Episode | None = None
        self._flushed = False
        self._rejects = 0
        self.stopped_reason: str | None = None
        # transient: rebuilt by resume()
        self._misses = 0
        self._await_market = False
        self._timer_at: int | None = None
        self._subscribed = False

    # ---- what the engine asks

    @property
    def target_shares(self) -> int:
        return round_shares(self._target)

    @property
    def filled_shares(self) -> int:
        return self._filled

    @property
    def is_done(self) -> bool:
        """Nothing above the threshold left to hedge (after ``flush``: nothing left) and no HEDGE
        child open. A stopped hedger is done once its children are."""
        if self.ctx.open_children(ChildRole.HEDGE):
            return False
        if self.stopped_reason is not None:
            return True
        return self._episode is None and not self._should_start()

    # ---- events

    def on_work_fill(self, fill: Fill) -> bool:
        """An option fill of the parent: hedged at SROrderRefDelta (5110) when the order gives it,
        else at the model's delta now. A package hedges its net delta: each leg's fill at that
        leg's delta, a stock leg at delta one. False when there is no delta to hedge it at."""
        parent = self.ctx.parent
        if parent.is_package and fill.symbol != parent.symbol:
            leg = self.ctx.instrument(fill.symbol)
            if leg is None:
                return False
            if not leg.is_option:
                self._add(fill, 1.0, leg.multiplier / self._lot)
                return True
            greeks = self.ctx.greeks(fill.symbol)
            if greeks is None:
                return False
            self._add(fill, float(greeks.delta), leg.multiplier / self._lot)
            return True
        delta = None if parent.is_package else parent.algo.order_ref_delta
        if delta is None:
            greeks = self.ctx.greeks()
            if greeks is None:
                return False
            delta = float(greeks.delta)
        self.on_option_fill(fill, delta)
        return True

    def on_option_fill(self, fill: Fill, delta: float) -> None:
        if self.mode is HedgeMode.STATIC:
            if self._static_delta is None:
                self._static_delta = delta
            delta = self._static_delta
        self._add(fill, delta, self._lots_per_contract)

    def _add(self, fill: Fill, delta: float, lots_per_unit: float) -> None:
        side = fill.side or self.ctx.parent.side
        self._target += -delta * fill.qty * lots_per_unit * side_sign(side)
        self._rebalance()

    def on_fill(self, child: ChildOrder, fill: Fill) -> None:
        self._filled += side_sign(child.side) * fill.qty
        self._misses = 0
        self._rejects = 0

    def on_child_done(self, child: ChildOrder) -> None:
        if child.time_in_force is TimeInForce.IOC and child.status is ChildStatus.CANCELED:
            self._misses += 1
            if self._misses > IMMEDIATE_RETRIES:
                self._await_market = True
        self._rebalance()

    def on_child_accepted(self, child: ChildOrder) -> None:
        pass

    def on_child_replaced(self, child: ChildOrder) -> None:
        self._rebalance()

    def on_child_rejected(self, child: ChildOrder, reason: str) -> None:
        if child.status is ChildStatus.REJECTED:      # a refused replace or cancel leaves it working
            self._refused(reason)

    def on_timer(self, name: str) -> None:
        if name == TIMER:
            self._timer_at = None
            self._rebalance()

    def on_market(self, symbol: str) -> None:
        if symbol == self.symbol:
            self._await_market = False
            self._misses = 0
            self._rebalance()

    def flush(self) -> None:
        """The parent's work ended: hedge any residual of a whole share or more, threshold or not."""
        self._flushed = True
        self._rebalance()

    def resume(self) -> None:
        """After ``load_state`` on a restart: subscribe again, re-arm the deadline, go on."""
        if self._episode is not None:
            self._subscribe()
        self._rebalance()

    # ---- durable state

    def save_state(self) -> dict:
        return {"target": self._target, "filled": self._filled, "static_delta": self._static_delta,
                "episode": asdict(self._episode) if self._episode else None, "flushed": self._flushed,
                "rejects": self._rejects, "stopped": self.stopped_reason}

    def load_state(self, state: dict) -> None:
        if not state:
            return
        self._target = float(state["target"])
        self._filled = int(state["filled"])
        self._static_delta = state.get("static_delta")
        episode = state.get("episode")
        self._episode = Episode(**episode) if episode else None
        self._flushed = bool(state.get("flushed", False))
        self._rejects = int(state.get("rejects", 0))
        self.stopped_reason = state.get("stopped")

    # ---- the schedule

    def _should_start(self) -> bool:
        unhedged = self.target_shares - self._filled
        if unhedged == 0:
            return False
        return self._flushed or abs(self._target - self._filled) >= self._threshold - _EPS

    def _deadline(self, episode: Episode, k: int) -> int:
        window_ns = round(self._schedule.window_ms * 1e6)
        return episode.start_ns + -(-window_ns * k // self._schedule.slices)

    def _deadlines_passed(self, episode: Episode) -> int:
        window_ns = round(self._schedule.window_ms * 1e6)
        if window_ns <= 0:
            return self._schedule.slices
        elapsed = self.ctx.now_ns() - episode.start_ns
        return min(self._schedule.slices, max(0, elapsed) * self._schedule.slices // window_ns)

    def _required(self, quantity: int, k: int) -> int:
        """Shares of an episode of ``quantity`` that must be done by deadline ``k``: round lots
        before the last deadline, everything at it."""
        n = self._schedule.slices
        if k >= n:
            return quantity
        lot = self.settings.round_lot
        return min(quantity, lot * math.floor(quantity * k / n / lot + 0.5))

    # ---- acting

    def _rebalance(self) -> None:
        if self.stopped_reason is not None or (_legging(self.ctx.parent) and not self._flushed):
            return
        open_children = self.ctx.open_children(ChildRole.HEDGE)
        episode = self._episode
        if episode is not None and not open_children and episode.sign * (self.target_shares - self._filled) <= 0:
            self._end_episode()
            episode = None
        if episode is None:
            if not self._should_start():
                return
            episode = self._start_episode()
        sign = episode.sign
        quantity = sign * (self.target_shares - episode.base_filled)
        done = sign * (self._filled - episode.base_filled)
        k = self._deadlines_passed(episode)
        due_now = self._required(quantity, k)
        passive = self._schedule.passive is not None and k < self._schedule.slices
        may_commit = self._required(quantity, k + 1) if passive else due_now
        crossing = [c for c in open_children if c.time_in_force is TimeInForce.IOC]
        resting = [c for c in open_children if c.time_in_force is not TimeInForce.IOC]
        in_cross = sum(c.leaves_qty for c in crossing)
        # a resting child being cut down may still fill up to its larger size: cross only what
        # cannot over-hedge even then; the rest goes once the venue confirms the cut
        in_rest = sum(max(c.qty, c.target_qty) - c.cum_qty for c in resting)
        to_cross = min(due_now - done - in_cross, may_commit - done - in_cross - in_rest)
        nbbo = self.ctx.book(self.symbol).nbbo()
        if to_cross > 0 and not self._await_market:
            self._cross(sign, to_cross, nbbo)
        to_rest = max(0, may_commit - max(due_now, done + in_cross)) if passive else 0
        self._keep_resting(sign, resting, to_rest, nbbo)
        self._arm_timer(episode, k)

    def _start_episode(self) -> Episode:
        unhedged = self.target_shares - self._filled
        self._episode = Episode(self.ctx.now_ns(), self._filled, 1 if unhedged > 0 else -1)
        self._subscribe()
        return self._episode

    def _end_episode(self) -> None:
        self._episode = None
        if self._timer_at is not None:
            self.ctx.cancel_timer(TIMER)
            self._timer_at = None

    def _arm_timer(self, episode: Episode, k: int) -> None:
        if k >= self._schedule.slices:
            return
        at = self._deadline(episode, k + 1)
        if at != self._timer_at:
            self.ctx.set_timer(TIMER, at)
            self._timer_at = at

    def _subscribe(self) -> None:
        if not self._subscribed:
            self.ctx.subscribe(self.symbol)
            self._subscribed = True

    def _cross(self, sign: int, qty: int, nbbo: Nbbo) -> None:
        far = nbbo.ask if sign > 0 else nbbo.bid
        if far is None:
            self._await_market = True
            return
        reach = self._schedule.through_ticks * self._tick_rule.tick_at(far)
        limit = round(far + reach if sign > 0 else max(far - reach, self._tick_rule.tick_at(far)), 6)
        children = self.ctx.take(qty, limit, symbol=self.symbol, side=Side.BUY if sign > 0 else Side.SELL,
                                 role=ChildRole.HEDGE, short_sale=self._short_sale(sign, qty))
        if not children:
            self._await_market = True

    def _keep_resting(self, sign: int, resting: list[ChildOrder], qty: int, nbbo: Nbbo) -> None:
        leaving = [c for c in resting if c.status is ChildStatus.PENDING_CANCEL or c.cancel_queued]
        live = [c for c in resting if c not in leaving]
        qty -= sum(c.leaves_qty for c in leaving)
        for extra in live[1:]:
            self.ctx.cancel(extra)
        child = live[0] if live else None
        if qty <= 0:
            if child is not None:
                self.ctx.cancel(child)
            return
        price = self._passive_price(sign, nbbo)
        if price is None:
            return
        if child is None:
            if self._await_market:
                return
            posted = self.ctx.post(self.symbol, Side.BUY if sign > 0 else Side.SELL, qty, price,
                                   role=ChildRole.HEDGE, short_sale=self._short_sale(sign, qty))
            if posted is None:
                self._refused("the risk checks blocked the hedge order, or every venue is backing off after refusals")
            return
        total = child.cum_qty + qty
        if child.target_qty != total or abs(child.target_price - price) > _EPS:
            self.ctx.replace(child, qty=total, price=price)

    def _passive_price(self, sign: int, nbbo: Nbbo) -> float | None:
        near, far = (nbbo.bid, nbbo.ask) if sign > 0 else (nbbo.ask, nbbo.bid)
        if near is None:
            return None
        passive = self._schedule.passive
        if passive is Passive.MID:
            if far is None:
                return near
            return self._tick_rule.round_passive((near + far) / 2.0, sign > 0)
        if passive is Passive.INSIDE:
            inside = round(near + sign * self._tick_rule.tick_at(near), 6)
            if far is None or sign * (far - inside) > _EPS:
                return inside
        return near

    def _short_sale(self, sign: int, qty: int) -> bool:
        """SRShortSaleFlag (5172) for a hedge sell. Auto (and no flag, NA, Cover): short when the
        sale takes this parent's hedge position, counting working orders, below zero."""
        if sign > 0 or not self._short_sales_apply:
            return False
        flag = self.ctx.parent.algo.short_sale_flag
        if flag in (ShortSaleFlag.SHORT, ShortSaleFlag.EXEMPT, ShortSaleFlag.OPEN):
            return True
        if flag in (ShortSaleFlag.LONG, ShortSaleFlag.CLOSE):
            return False
        working = sum(side_sign(c.side) * c.leaves_qty for c in self.ctx.open_children(ChildRole.HEDGE))
        return self._filled + working - qty < 0

    def _refused(self, reason: str) -> None:
        self._rejects += 1
        self._await_market = True
        if self._rejects >= MAX_CONSECUTIVE_REJECTS:
            self.stopped_reason = (f"auto-hedge (5152) stopped after {self._rejects} hedge orders in a row were "
                                   f"refused; last: {reason}")
            for child in self.ctx.open_children(ChildRole.HEDGE):
                self.ctx.cancel(child)
