"""The auto-hedger against a fake context: sizing, netting, each mode's orders and schedule,
the Static delta, short-sale marks, refusals and a restart with a hedge child working."""
from __future__ import annotations

import json

import pytest

from router.config import HedgeSettings
from router.domain.commands import AlgoParams
from router.domain.enums import ChildRole, HedgeMode, Liquidity, OrdType, ShortSaleFlag, Side, TimeInForce
from router.domain.events import BookLevel, BookUpdate
from router.domain.instruments import Instrument, InstrumentKind, TickRule, option_from_osi
from router.domain.orders import ChildOrder, ChildStatus, Fill, ParentOrder
from router.hedge import IMMEDIATE_RETRIES, MAX_CONSECUTIVE_REJECTS, TIMER, UNSUPPORTED_MODES, AutoHedger
from router.market.books import MarketBooks

CALL = "AAPL  261218C00200000"
PUT = "AAPL  261218P00200000"
UND = "AAPL"
MS = 1_000_000
SETTINGS = HedgeSettings()


class FakeContext:
    """Records what the hedger asks for; the test plays the venue."""

    def __init__(self, mode: HedgeMode, *, symbol: str = CALL, flag: ShortSaleFlag | None = None,
                 underlier_kind: InstrumentKind = InstrumentKind.EQUITY, account: str = "ACC") -> None:
        self.parent = ParentOrder("P1", "S", account, "C1", symbol, Side.BUY, 100, OrdType.LIMIT, 5.0, TimeInForce.DAY,
                                  "sweep", AlgoParams(auto_hedge=mode, alt_auto_hedge_id="H1", short_sale_flag=flag), 0)
        self.instruments = {symbol: option_from_osi(symbol),
                            UND: Instrument(UND, underlier_kind, UND, multiplier=1, tick_rule=TickRule(0.01, 0.01, 0.0))}
        self.now = 0
        self.books = MarketBooks()
        self.children: list[ChildOrder] = []
        self.takes: list[tuple[ChildOrder, bool]] = []      # (child, short_sale)
        self.posts: list[tuple[ChildOrder, bool]] = []
        self.replaces: list[tuple[str, int | None, float | None]] = []
        self.cancels: list[str] = []
        self.timers: dict[str, int] = {}
        self.subscribed: set[str] = set()
        self.block_posts = False
        self.quote(200.00, 200.10)

    def quote(self, bid: float, ask: float, size: int = 100_000) -> None:
        self.books.apply(BookUpdate("XNAS", UND, (BookLevel(bid, size),), (BookLevel(ask, size),)))

    # ---- AlgoContext
    def now_ns(self) -> int:
        return self.now

    def instrument(self, symbol: str | None = None) -> Instrument | None:
        return self.instruments.get(symbol or self.parent.symbol)

    def book(self, symbol: str | None = None):
        return self.books.book(symbol or self.parent.symbol)

    def subscribe(self, symbol: str) -> None:
        self.subscribed.add(symbol)

    def take(self, qty, limit, *, symbol=None, side=None, venues=(), max_children=None, role=ChildRole.WORK,
             short_sale=False):
        child = self._child(symbol, side, qty, limit, TimeInForce.IOC, role)
        self.takes.append((child, short_sale))
        return [child]

    def post(self, symbol, side, qty, price, *, venue=None, post_only=True, display_qty=None, tif=TimeInForce.DAY,
             role=ChildRole.WORK, short_sale=False):
        if self.block_posts:
            return None
        child = self._child(symbol, side, qty, price, tif, role)
        child.post_only = post_only
        self.posts.append((child, short_sale))
        return child

    def replace(self, child, qty=None, price=None):
        self.replaces.append((child.child_id, qty, price))
        child.qty, child.price = qty if qty is not None else child.qty, price if price is not None else child.price

    def cancel(self, child):
        self.cancels.append(child.child_id)
        child.status = ChildStatus.PENDING_CANCEL

    def open_children(self, role=ChildRole.WORK):
        return [c for c in self.children if c.is_open and (role is None or c.role is role)]

    def set_timer(self, name, at_ns):
        self.timers[name] = at_ns

    def cancel_timer(self, name):
        self.timers.pop(name, None)

    def _child(self, symbol, side, qty, price, tif, role) -> ChildOrder:
        child = ChildOrder(f"P1.{len(self.children) + 1}", "P1", "XNAS", symbol, side, qty, price, tif, self.now,
                           status=ChildStatus.NEW, role=role)
        self.children.append(child)
        return child


# ---- the test as the venue and the engine

def option_fill(qty: int = 100, side: Side = Side.BUY, symbol: str = CALL) -> Fill:
    return Fill("E1", "P1", "P1.0", "XCBO", qty, 5.0, 0.0, Liquidity.REMOVED, 0, ChildRole.WORK, symbol, side)


def fill(hedger: AutoHedger, child: ChildOrder, qty: int | None = None) -> None:
    qty = child.leaves_qty if qty is None else qty
    child.cum_qty += qty
    child.status = ChildStatus.FILLED if child.cum_qty == child.qty else ChildStatus.PARTIALLY_FILLED
    hedger.on_fill(child, Fill("X", "P1", child.child_id, "XNAS", qty, child.price, 0.0, Liquidity.REMOVED,
                               0, ChildRole.HEDGE, child.symbol, child.side))
    if child.status is ChildStatus.FILLED:
        hedger.on_child_done(child)


def end(hedger: AutoHedger, child: ChildOrder) -> None:
    """The venue cancels the child's rest: an IOC's miss, or a cancel confirmed."""
    child.status = ChildStatus.CANCELED
    hedger.on_child_done(child)


def settle(ctx: FakeContext, hedger: AutoHedger) -> None:
    """A liquid underlier: every IOC fills in full and every cancel is confirmed."""
    while True:
        iocs = [c for c in ctx.open_children(ChildRole.HEDGE) if c.time_in_force is TimeInForce.IOC]
        canceling = [c for c in ctx.open_children(ChildRole.HEDGE) if c.status is ChildStatus.PENDING_CANCEL]
        if not iocs and not canceling:
            return
        for child in iocs:
            fill(hedger, child)
        for child in canceling:
            if child.is_open:
                end(hedger, child)


def advance(ctx: FakeContext, hedger: AutoHedger, to_ns: int, liquid: bool = True) -> None:
    while ctx.timers and min(ctx.timers.values()) <= to_ns:
        name, at = min(ctx.timers.items(), key=lambda item: item[1])
        del ctx.timers[name]
        ctx.now = at
        hedger.on_timer(name)
        if liquid:
            settle(ctx, hedger)
    ctx.now = to_ns


def make(mode: HedgeMode, settings: HedgeSettings = SETTINGS, **kwargs) -> tuple[FakeContext, AutoHedger]:
    ctx = FakeContext(mode, **kwargs)
    return ctx, AutoHedger(ctx, settings)


def sent(ctx: FakeContext) -> list[tuple[Side, int, float]]:
    """Every child made, in order, on its current terms."""
    return [(c.side, c.qty, c.price) for c in ctx.children]


# ---- sizing and FastCrx

def test_a_100_lot_call_fill_at_delta_055_sells_5500_shares_one_tick_through_the_bid():
    ctx, hedger = make(HedgeMode.FAST_CRX)
    hedger.on_option_fill(option_fill(100), 0.55)
    [(child, short_sale)] = ctx.takes
    assert (child.symbol, child.side, child.qty, child.price) == (UND, Side.SELL, 5500, 199.99)
    assert child.role is ChildRole.HEDGE and child.time_in_force is TimeInForce.IOC
    assert short_sale                               # no flag: selling from flat is a short sale
    assert UND in ctx.subscribed


def test_a_put_buy_is_hedged_by_buying_and_a_call_sale_too():
    ctx, hedger = make(HedgeMode.FAST_CRX, symbol=PUT)
    hedger.on_option_fill(option_fill(10, symbol=PUT), -0.40)
    hedger.on_option_fill(option_fill(1, Side.SELL, symbol=PUT), -0.40)     # nets against the first
    assert [(c.side, c.qty, c.price, short) for c, short in ctx.takes] == [(Side.BUY, 400, 200.11, False)]


def test_shares_are_rounded_half_away_from_zero_without_drift():
    ctx, hedger = make(HedgeMode.FAST_CRX)
    hedger.on_option_fill(option_fill(1), 0.555)       # 55.5 shares
    settle(ctx, hedger)
    hedger.on_option_fill(option_fill(1), 0.555)       # 111.0 in all: the second order is 55, not 56
    assert [c.qty for c, _ in ctx.takes] == [56, 55]


def test_fast_crx_retries_a_miss_at_once_for_what_is_left():
    ctx, hedger = make(HedgeMode.FAST_CRX)
    hedger.on_option_fill(option_fill(100), 0.55)
    first = ctx.takes[0][0]
    ctx.quote(199.95, 200.05)
    fill(hedger, first, 2000)
    end(hedger, first)
    retry = ctx.takes[1][0]
    assert (retry.side, retry.qty, retry.price) == (Side.SELL, 3500, 199.94)


def test_repeated_misses_wait_for_the_next_underlier_update():
    ctx, hedger = make(HedgeMode.FAST_CRX)
    hedger.on_option_fill(option_fill(100), 0.55)
    for _ in range(IMMEDIATE_RETRIES + 1):
        end(hedger, ctx.takes[-1][0])
    assert len(ctx.takes) == IMMEDIATE_RETRIES + 1
    hedger.on_market("MSFT")
    assert len(ctx.takes) == IMMEDIATE_RETRIES + 1
    hedger.on_market(UND)
    assert len(ctx.takes) == IMMEDIATE_RETRIES + 2


def test_auto_crx_crosses_at_the_far_side():
    ctx, hedger = make(HedgeMode.AUTO_CRX)
    hedger.on_option_fill(option_fill(100), 0.55)
    assert sent(ctx) == [(Side.SELL, 5500, 200.00)]


# ---- netting and the threshold

def test_fills_are_netted_below_the_threshold_and_the_net_is_sent_once_it_is_crossed():
    settings = HedgeSettings(threshold_shares=1.0, account_threshold_shares={"ACC": 1000})
    ctx, hedger = make(HedgeMode.FAST_CRX, settings)
    hedger.on_option_fill(option_fill(10), 0.55)       # 550
    assert ctx.takes == [] and hedger.is_done
    hedger.on_option_fill(option_fill(10), 0.55)       # 1100
    assert sent(ctx) == [(Side.SELL, 1100, 199.99)]


def test_the_default_threshold_applies_to_other_accounts():
    settings = HedgeSettings(threshold_shares=1.0, account_threshold_shares={"BIG": 1000})
    ctx, hedger = make(HedgeMode.FAST_CRX, settings)
    hedger.on_option_fill(option_fill(10), 0.55)
    assert sent(ctx) == [(Side.SELL, 550, 199.99)]


def test_is_done_waits_for_the_hedge_child_and_flush_hedges_a_residual_below_the_threshold():
    settings = HedgeSettings(threshold_shares=100)
    ctx, hedger = make(HedgeMode.FAST_CRX, settings)
    hedger.on_option_fill(option_fill(10), 0.55)       # 550: above
    assert not hedger.is_done
    settle(ctx, hedger)
    hedger.on_option_fill(option_fill(1), 0.55)        # 55: below, left while the parent works
    assert hedger.is_done and len(ctx.takes) == 1
    hedger.flush()
    assert sent(ctx)[-1] == (Side.SELL, 55, 199.99) and not hedger.is_done
    settle(ctx, hedger)
    assert hedger.is_done and hedger.filled_shares == -605


# ---- resting modes

def test_auto_trn_posts_one_tick_inside_then_takes_after_the_wait():
    ctx, hedger = make(HedgeMode.AUTO_TRN)
    hedger.on_option_fill(option_fill(100), 0.55)
    [(resting, _)] = ctx.posts
    assert (resting.side, resting.qty, resting.price, resting.post_only) == (Side.SELL, 5500, 200.09, True)
    assert ctx.takes == [] and ctx.timers[TIMER] == 500 * MS
    fill(hedger, resting, 1500)
    advance(ctx, hedger, 500 * MS, liquid=False)
    assert ctx.cancels == [resting.child_id] and ctx.takes == []   # nothing taken while it may still fill
    end(hedger, resting)
    assert sent(ctx)[-1] == (Side.SELL, 4000, 200.00)
    settle(ctx, hedger)
    assert hedger.filled_shares == -5500 and hedger.is_done


def test_auto_trn_joins_a_one_tick_spread():
    ctx, hedger = make(HedgeMode.AUTO_TRN)
    ctx.quote(200.00, 200.01)
    hedger.on_option_fill(option_fill(100), 0.55)
    assert sent(ctx) == [(Side.SELL, 5500, 200.01)]


def test_auto_mid_posts_at_the_mid_follows_it_and_crosses_after_the_timeout():
    ctx, hedger = make(HedgeMode.AUTO_MID)
    ctx.quote(200.00, 200.05)
    hedger.on_option_fill(option_fill(100), 0.55)
    [(resting, _)] = ctx.posts
    assert (resting.qty, resting.price) == (5500, 200.03)          # a sell's mid rounds up
    assert ctx.timers[TIMER] == 2000 * MS
    ctx.quote(200.10, 200.20)
    hedger.on_market(UND)
    assert ctx.replaces == [(resting.child_id, 5500, 200.15)]
    hedger.on_option_fill(option_fill(10), 0.55)                    # joins the resting child
    assert ctx.replaces[-1] == (resting.child_id, 6050, 200.15) and len(ctx.posts) == 1
    advance(ctx, hedger, 2000 * MS)
    assert sent(ctx)[-1] == (Side.SELL, 6050, 200.10)
    assert hedger.filled_shares == -6050 and hedger.is_done


@pytest.mark.parametrize("mode, window_s", [(HedgeMode.SPDR_10S, 10), (HedgeMode.SPDR_30S, 30),
                                            (HedgeMode.SPDR_90S, 90), (HedgeMode.SPDR_5M, 300),
                                            (HedgeMode.SPDR_30M, 1800)])
def test_spdr_modes_work_the_hedge_in_slices_and_finish_by_the_windows_end(mode, window_s):
    ctx, hedger = make(mode)
    hedger.on_option_fill(option_fill(100), 0.55)
    window_ns = window_s * 1000 * MS
    [(resting, _)] = ctx.posts
    assert (resting.side, resting.price, resting.qty) == (Side.SELL, 200.10, 600)    # one slice, in round lots
    assert ctx.takes == []
    advance(ctx, hedger, window_ns // 2 - 1)                        # resting children never fill here
    assert hedger.filled_shares == -2200                            # four deadlines passed: 4/10 in round lots
    assert [c.qty - c.cum_qty for c in ctx.open_children(ChildRole.HEDGE)] == [600]   # the next slice rests
    advance(ctx, hedger, window_ns)
    assert abs(hedger.filled_shares + 5500) < SETTINGS.round_lot
    assert ctx.open_children(ChildRole.HEDGE) == [] and hedger.is_done


def test_spdr_slices_are_crossed_at_each_deadline_and_fills_join_the_episode():
    ctx, hedger = make(HedgeMode.SPDR_10S)
    hedger.on_option_fill(option_fill(100), 0.55)
    first_deadline = 1000 * MS
    assert ctx.timers[TIMER] == first_deadline
    advance(ctx, hedger, first_deadline)
    assert hedger.filled_shares == -600
    hedger.on_option_fill(option_fill(100), 0.55)        # 11,000 in all, 1/10 due: the catch-up is crossed now
    settle(ctx, hedger)
    assert hedger.filled_shares == -1100
    advance(ctx, hedger, 10_000 * MS)
    assert hedger.filled_shares == -11_000 and hedger.is_done


# ---- Static

def test_static_uses_the_first_delta_for_every_fill():
    ctx, hedger = make(HedgeMode.STATIC)
    hedger.on_option_fill(option_fill(100), 0.55)
    settle(ctx, hedger)
    hedger.on_option_fill(option_fill(100), 0.70)
    assert [c.qty for c, _ in ctx.takes] == [5500, 5500]


def test_other_modes_use_the_delta_of_each_fill():
    ctx, hedger = make(HedgeMode.AUTO_CRX)
    hedger.on_option_fill(option_fill(100), 0.55)
    settle(ctx, hedger)
    hedger.on_option_fill(option_fill(100), 0.70)
    assert [c.qty for c, _ in ctx.takes] == [5500, 7000]


# ---- short-sale marks (5172)

@pytest.mark.parametrize("flag, short", [(ShortSaleFlag.LONG, False), (ShortSaleFlag.CLOSE, False),
                                         (ShortSaleFlag.SHORT, True), (ShortSaleFlag.EXEMPT, True),
                                         (ShortSaleFlag.AUTO, True), (None, True)])
def test_hedge_sells_carry_the_short_sale_flag(flag, short):
    ctx, hedger = make(HedgeMode.FAST_CRX, flag=flag)
    hedger.on_option_fill(option_fill(100), 0.55)
    assert ctx.takes[0][1] is short


def test_auto_sells_are_long_while_the_hedge_holds_shares():
    ctx, hedger = make(HedgeMode.FAST_CRX, flag=ShortSaleFlag.AUTO)
    hedger.on_option_fill(option_fill(10, Side.SELL), 0.55)       # buys 550
    settle(ctx, hedger)
    hedger.on_option_fill(option_fill(5), 0.55)                   # sells 275 of them
    assert [(c.side, c.qty, short) for c, short in ctx.takes] == [(Side.BUY, 550, False), (Side.SELL, 275, False)]


def test_a_future_underlier_has_no_short_sale_mark():
    ctx, hedger = make(HedgeMode.FAST_CRX, flag=ShortSaleFlag.SHORT, underlier_kind=InstrumentKind.FUTURE)
    hedger.on_option_fill(option_fill(100), 0.55)
    assert ctx.takes[0][1] is False


# ---- refusals

def test_a_refused_hedge_waits_for_the_market_and_enough_refusals_stop_the_hedger():
    ctx, hedger = make(HedgeMode.AUTO_MID)
    ctx.block_posts = True
    hedger.on_option_fill(option_fill(100), 0.55)
    hedger.on_option_fill(option_fill(1), 0.55)                   # no market update: no second try
    assert hedger.stopped_reason is None
    for _ in range(MAX_CONSECUTIVE_REJECTS - 1):
        hedger.on_market(UND)
    assert "5152" in hedger.stopped_reason and "risk checks" in hedger.stopped_reason
    hedger.on_market(UND)
    assert ctx.posts == [] and hedger.is_done


def test_a_venue_reject_counts_but_a_refused_replace_does_not():
    ctx, hedger = make(HedgeMode.AUTO_MID)
    hedger.on_option_fill(option_fill(100), 0.55)
    resting = ctx.posts[0][0]
    for _ in range(MAX_CONSECUTIVE_REJECTS):
        hedger.on_child_rejected(resting, "replace refused")      # still working on its old terms
    assert hedger.stopped_reason is None
    resting.status = ChildStatus.REJECTED
    hedger.on_child_rejected(resting, "post only would cross")
    hedger.on_child_done(resting)
    assert len(ctx.posts) == 1                                    # waits for the market
    hedger.on_market(UND)
    assert len(ctx.posts) == 2


# ---- modes and restart

def test_unsupported_modes_are_exported_and_have_no_hedger():
    assert UNSUPPORTED_MODES == {HedgeMode.FAST_DRK, HedgeMode.SLOW_DRK, HedgeMode.SPDR_AUTO, HedgeMode.SPDR_DAY,
                                 HedgeMode.ALPHA_VWAP_1PCT, HedgeMode.ALPHA_VWAP_2PCT, HedgeMode.ALPHA_VWAP_5PCT,
                                 HedgeMode.ALPHA_VWAP_25PCT}
    for mode in HedgeMode:
        if mode in UNSUPPORTED_MODES or mode is HedgeMode.NO_HEDGE:
            with pytest.raises(ValueError, match="5152"):
                make(mode)
        else:
            make(mode)


def restart(ctx: FakeContext, hedger: AutoHedger) -> AutoHedger:
    state = json.loads(json.dumps(hedger.save_state()))       # the store keeps it as JSON
    ctx.timers.clear()
    ctx.subscribed.clear()
    restored = AutoHedger(ctx, SETTINGS)
    restored.load_state(state)
    restored.resume()
    return restored


def test_a_restart_with_a_hedge_child_resting_sends_no_duplicate_and_goes_on():
    ctx, hedger = make(HedgeMode.AUTO_MID)
    hedger.on_option_fill(option_fill(100), 0.55)
    resting = ctx.posts[0][0]
    fill(hedger, resting, 500)
    ctx.now = 700 * MS
    hedger = restart(ctx, hedger)
    assert len(ctx.posts) == 1 and ctx.takes == [] and ctx.replaces == []
    assert ctx.timers[TIMER] == 2000 * MS and UND in ctx.subscribed
    advance(ctx, hedger, 2000 * MS)
    assert sent(ctx)[-1] == (Side.SELL, 5000, 200.00) and hedger.filled_shares == -5500


def test_a_restart_with_a_cross_working_sends_no_duplicate():
    ctx, hedger = make(HedgeMode.FAST_CRX)
    hedger.on_option_fill(option_fill(100), 0.55)
    hedger = restart(ctx, hedger)
    assert len(ctx.takes) == 1
    settle(ctx, hedger)
    assert hedger.filled_shares == -5500 and hedger.is_done


def test_static_delta_survives_a_restart():
    ctx, hedger = make(HedgeMode.STATIC)
    hedger.on_option_fill(option_fill(100), 0.55)
    settle(ctx, hedger)
    hedger = restart(ctx, hedger)
    hedger.on_option_fill(option_fill(100), 0.90)
    assert [c.qty for c, _ in ctx.takes] == [5500, 5500]


def test_a_work_fill_is_hedged_at_the_reference_delta_else_at_the_model_delta():
    ctx, hedger = make(HedgeMode.FAST_CRX)
    ctx.greeks = lambda symbol=None, *, underlier=None: None
    assert hedger.on_work_fill(option_fill(10)) is False and ctx.takes == []    # no model, no delta: nothing sent

    class Greeks:
        delta = 0.40
    ctx.greeks = lambda symbol=None, *, underlier=None: Greeks()
    assert hedger.on_work_fill(option_fill(10)) is True
    assert ctx.takes[-1][0].qty == 400

    ctx2, hedger2 = make(HedgeMode.FAST_CRX)
    ctx2.parent.algo = ctx2.parent.algo.model_copy(update={"order_ref_delta": 0.55})
    ctx2.greeks = lambda symbol=None, *, underlier=None: Greeks()
    hedger2.on_work_fill(option_fill(10))
    assert ctx2.takes[-1][0].qty == 550
