"""The volatility algo against a fake AlgoContext: it records what the algo asks for and serves
a book, an underlier quote and greeks. Time only moves when a test moves it."""
from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import pytest

import json

from algos.volatility import VolatilityAlgo, best_of_others
from router.clock import datetime_to_ns
from router.config import VolatilitySettings
from router.domain.commands import AlgoParams
from router.domain.enums import BalanceHandling, ChildRole, LimitType, OrderHandling, OrdType, Side, TimeInForce
from router.domain.events import BookLevel, BookUpdate
from router.domain.instruments import Instrument, InstrumentKind, PutCall
from router.domain.orders import ChildOrder, ChildStatus, ParentOrder
from router.market.books import MarketBooks, Nbbo
from router.market.pricing import Greeks, bsm

START = datetime_to_ns(datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc))
MS = 1_000_000
OPTION = Instrument("XYZ   261218C00100000", InstrumentKind.OPTION, "XYZ", date(2026, 12, 18), PutCall.CALL, 100.0,
                    underlying_kind=InstrumentKind.EQUITY)


class FakeContext:
    def __init__(self, parent: ParentOrder, underlier: Nbbo, delta: float = 0.5, gamma: float = 0.04) -> None:
        self._parent = parent
        self.now = START
        self.books = MarketBooks()
        self.underlier = underlier
        self.model = Greeks(*(np.asarray(v) for v in (5.0, delta, gamma, 20.0, -15.0)))
        self.children: list[ChildOrder] = []
        self.calls: list[tuple] = []
        self.timers: dict[str, int] = {}
        self.subscribed: set[str] = set()
        self.take_fills = False

    # ---- the parent and the market
    @property
    def parent(self) -> ParentOrder:
        return self._parent

    def now_ns(self) -> int:
        return self.now

    def instrument(self, symbol=None):
        return OPTION

    def book(self, symbol=None):
        return self.books.book(symbol or self._parent.symbol)

    def underlier_quote(self) -> Nbbo:
        return self.underlier

    def greeks(self, symbol=None, *, underlier=None):
        self.calls.append(("greeks", underlier))
        return self.model

    def market_rate(self):
        return 0.0

    def implied_vol(self, price, symbol=None):
        return None

    def subscribe(self, symbol):
        self.subscribed.add(symbol)

    def unsubscribe(self, symbol):
        self.subscribed.discard(symbol)

    # ---- orders: the venue answers at once
    def _child(self, qty, price, tif):
        child = ChildOrder(f"{self._parent.order_id}.{len(self.children) + 1}", self._parent.order_id, "SIM",
                           self._parent.symbol, self._parent.side, qty, price, tif, self.now, ChildStatus.NEW,
                           post_only=tif is not TimeInForce.IOC)
        self.children.append(child)
        return child

    def take(self, qty, limit, *, symbol=None, side=None, venues=(), max_children=None, role=ChildRole.WORK):
        self.calls.append(("take", qty, round(limit, 6)))
        return [self._child(qty, limit, TimeInForce.IOC)]

    def post(self, symbol, side, qty, price, *, venue=None, post_only=True, display_qty=None,
             tif=TimeInForce.DAY, role=ChildRole.WORK):
        self.calls.append(("post", qty, price, venue, post_only))
        return self._child(qty, OPTION.tick_rule.round_passive(price, self._parent.side.is_buy), tif)

    def replace(self, child, qty=None, price=None):
        self.calls.append(("replace", child.child_id, qty, price, self.now))
        child.qty = child.qty if qty is None else qty
        child.price = child.price if price is None else OPTION.tick_rule.round_passive(price, child.side.is_buy)

    def cancel(self, child):
        self.calls.append(("cancel", child.child_id))
        child.status = ChildStatus.PENDING_CANCEL

    def open_children(self, role=ChildRole.WORK):
        return [c for c in self.children if c.is_open and (role is None or c.role is role)]

    def children_sent(self):
        return len(self.children)

    def set_timer(self, name, at_ns):
        self.calls.append(("timer", name, at_ns))
        self.timers[name] = at_ns

    def cancel_timer(self, name):
        self.timers.pop(name, None)

    def wait_for_liquidity(self, limit):
        pass

    def finish(self, text):
        self.calls.append(("finish", text))
        for child in self.open_children():
            child.status = ChildStatus.CANCELED
        self._parent.status = self._parent.status.CANCELED

    def hold(self, text):
        self.calls.append(("hold", text))
        for child in self.open_children():
            child.status = ChildStatus.CANCELED

    # ---- test helpers
    def quote(self, bid, ask, venue="A", qty=10):
        self.books.apply(BookUpdate(venue, self._parent.symbol, (BookLevel(bid, qty),) if bid else (),
                                    (BookLevel(ask, qty),) if ask else ()))

    def of(self, kind):
        return [c for c in self.calls if c[0] == kind]


def make(side=Side.BUY, qty=10, price=5.00, settings=None, underlier=Nbbo(99.99, 5, 100.01, 5), bid=4.00, ask=6.00,
         **params):
    params.setdefault("limit_type", LimitType.PRC_DE)
    parent = ParentOrder("P1", "S", "ACC", "C1", OPTION.symbol, side, qty, OrdType.LIMIT, price, TimeInForce.DAY,
                         "volatility", AlgoParams(**params), START)
    ctx = FakeContext(parent, underlier)
    ctx.quote(bid, ask)
    return VolatilityAlgo(ctx, settings or VolatilitySettings()), ctx


def move_underlier(algos, mid, after_ms=100):
    for algo in algos:
        algo.ctx.now += after_ms * MS
        algo.ctx.underlier = Nbbo(mid - 0.01, 5, mid + 0.01, 5)
    VolatilityAlgo.on_underlier_batch(algos, "XYZ")


# ---------------------------------------------------------------------------------------------- start

def test_start_records_the_reference_and_rests_one_post_only_child_for_the_balance():
    algo, ctx = make()
    algo.start()
    assert ctx.of("post") == [("post", 10, 5.00, None, True)]
    assert ctx.subscribed == {OPTION.symbol, OPTION.underlying}     # the option for relative limits, the underlier for ties
    assert ctx.of("greeks") == [("greeks", pytest.approx(100.0))]
    assert algo.save_state()["reference"]["underlier"] == pytest.approx(100.0)


def test_given_reference_tags_replace_the_arrival_defaults():
    algo, ctx = make(order_ref_uprc=98.0, order_ref_delta=0.25, order_ref_gamma=0.0, order_ref_theta=0.0)
    algo.start()
    assert ctx.of("greeks") == []
    assert ctx.of("post")[0][2] == pytest.approx(5.00 + 0.25 * 2)


def test_vol_limit_posts_at_the_model_price_of_the_vol_limit():
    algo, ctx = make(limit_type=LimitType.VOL, vol_limit=0.30, bid=1.00, ask=9.00)
    algo.start()
    years = (datetime_to_ns(datetime(2026, 12, 18, 20, tzinfo=timezone.utc)) - START) / (365.25 * 86_400e9)
    fair = float(bsm(100.0, 100.0, years, 0.30, True).price)
    assert ctx.of("post")[0][2] == pytest.approx(OPTION.tick_rule.round_passive(fair, True))
    assert algo.save_state()["reference"]["rate"] == 0.0


# ---------------------------------------------------------------------------------------------- reprice

def test_a_one_percent_underlier_move_replaces_the_child_in_that_batch():
    algo, ctx = make()
    algo.start()
    move_underlier([algo], 101.0)
    assert [c[3] for c in ctx.of("replace")] == [pytest.approx(5.50)]


def test_a_move_under_one_tick_leaves_the_child_alone():
    algo, ctx = make()
    algo.start()
    move_underlier([algo], 100.015)          # the limit moves by less than a cent
    assert ctx.of("replace") == []


def test_one_batch_reprices_every_order_on_the_underlier():
    buyer, buyer_ctx = make(Side.BUY)
    seller, seller_ctx = make(Side.SELL)
    buyer.start()
    seller.start()
    move_underlier([buyer, seller], 99.0)
    assert [c[3] for c in buyer_ctx.of("replace")] == [pytest.approx(4.50)]
    assert [c[3] for c in seller_ctx.of("replace")] == [pytest.approx(4.50)]


def test_a_move_inside_the_minimum_rest_waits_for_the_reprice_timer_and_is_not_lost():
    algo, ctx = make(settings=VolatilitySettings(min_rest_ms=50, max_replaces_per_s=10))
    algo.start()
    move_underlier([algo], 101.0, after_ms=10)
    assert ctx.of("replace") == [] and ctx.timers["reprice"] == START + 50 * MS
    ctx.now = ctx.timers["reprice"]
    algo.on_timer("reprice")
    assert [c[3] for c in ctx.of("replace")] == [pytest.approx(5.50)]


def test_never_more_replaces_a_second_than_configured():
    algo, ctx = make(settings=VolatilitySettings(min_rest_ms=0, max_replaces_per_s=3))
    algo.start()
    for step in range(200):                      # 2 s of moves every 10 ms
        ctx.now += 10 * MS
        ctx.underlier = Nbbo(100.0 + (step % 2) * 0.5 - 0.01, 5, 100.0 + (step % 2) * 0.5 + 0.01, 5)
        if ctx.timers.get("reprice", np.inf) <= ctx.now:
            ctx.timers.pop("reprice")
            algo.on_timer("reprice")
        VolatilityAlgo.on_underlier_batch([algo], "XYZ")
    times = [c[4] for c in ctx.of("replace")]
    assert len(times) >= 5
    assert max(sum(1 for t in times if start <= t < start + 1_000 * MS) for start in times) <= 3


def test_an_option_quote_change_retargets_a_relative_limit():
    algo, ctx = make(limit_type=LimitType.REL_JOIN, balance_handling=BalanceHandling.POST_LIMIT, price=None,
                     bid=4.00, ask=6.00)
    algo.start()
    assert ctx.of("post")[0][2] == pytest.approx(4.00)
    ctx.now += 100 * MS
    ctx.quote(4.10, 6.00)
    algo.on_market(OPTION.symbol)
    assert [c[3] for c in ctx.of("replace")] == [pytest.approx(4.10)]


def test_a_refused_replace_is_retried_at_the_next_reprice():
    algo, ctx = make()
    algo.start()
    move_underlier([algo], 101.0)
    child = ctx.children[0]
    child.price = 5.00                           # the venue refused: old terms
    algo.on_child_rejected(child, "too late")
    assert len(ctx.of("replace")) == 1
    move_underlier([algo], 101.0)
    assert [c[3] for c in ctx.of("replace")] == [pytest.approx(5.50), pytest.approx(5.50)]


# ---------------------------------------------------------------------------------------------- taking

def test_without_active_taker_a_marketable_limit_still_only_posts_inside_the_spread():
    algo, ctx = make(bid=4.00, ask=5.20)
    algo.start()
    move_underlier([algo], 101.0)                # limit 5.50 is through the 5.20 ask
    assert ctx.of("take") == []
    assert [c[3] for c in ctx.of("replace")] == [pytest.approx(5.15)]   # one rung under the ask


def test_active_taker_posts_until_the_limit_is_marketable_then_takes():
    algo, ctx = make(order_handling=OrderHandling.ACTIVE_TAKER, bid=4.00, ask=5.20)
    algo.start()
    assert ctx.of("take") == [] and len(ctx.of("post")) == 1
    move_underlier([algo], 101.0)
    assert ctx.of("cancel") == [("cancel", "P1.1")] and ctx.of("take") == []
    resting = ctx.children[0]
    resting.status = ChildStatus.CANCELED
    algo.on_child_done(resting)
    assert ctx.of("take") == [("take", 10, pytest.approx(5.50))]


def test_after_a_take_the_balance_posts_until_the_market_moves_again():
    algo, ctx = make(order_handling=OrderHandling.ACTIVE_TAKER, bid=4.00, ask=5.20, order_ref_uprc=99.0)
    algo.start()                                 # limit 5.50: marketable at once
    assert ctx.of("take") == [("take", 10, pytest.approx(5.50))] and ctx.of("post") == []
    ioc = ctx.children[0]
    ioc.status = ChildStatus.CANCELED            # nothing filled
    algo.on_child_done(ioc)
    assert len(ctx.of("take")) == 1 and ctx.of("post")[0][2] == pytest.approx(5.15)


# ---------------------------------------------------------------------------------------------- holds

def test_outside_the_underlier_range_the_order_holds_then_resumes():
    algo, ctx = make(min_ubid=99.0, max_uask=102.0)
    algo.start()
    move_underlier([algo], 98.5)
    move_underlier([algo], 98.4)
    assert len(ctx.of("hold")) == 1 and "srMinUBid" in ctx.of("hold")[0][1]
    assert ctx.open_children() == []
    move_underlier([algo], 100.0)
    assert len(ctx.of("post")) == 2 and ctx.of("post")[1][2] == pytest.approx(5.00)
    move_underlier([algo], 102.5)
    assert len(ctx.of("hold")) == 2 and "srMaxUAsk" in ctx.of("hold")[1][1]


def test_with_cxl_uprc_range_leaving_the_range_cancels_the_order():
    algo, ctx = make(min_ubid=99.0, cxl_uprc_range=True)
    algo.start()
    move_underlier([algo], 98.5)
    assert ctx.of("hold") == [] and len(ctx.of("finish")) == 1
    assert ctx.subscribed == set()


# ---------------------------------------------------------------------------------------------- fills, changes

def test_when_a_child_ends_and_the_parent_still_works_the_balance_is_reposted():
    algo, ctx = make()
    algo.start()
    child = ctx.children[0]
    child.cum_qty = 4
    ctx.parent.cum_qty = 4
    child.status = ChildStatus.CANCELED          # the venue canceled the rest
    algo.on_child_done(child)
    assert ctx.of("post")[-1][:3] == ("post", 6, pytest.approx(5.00))


def test_a_client_replace_retargets_qty_and_price():
    algo, ctx = make(limit_type=LimitType.PRC)
    algo.start()
    ctx.now += 100 * MS
    ctx.parent.qty, ctx.parent.price = 15, 5.10
    algo.on_parent_change(None)
    assert ctx.of("replace") == [("replace", "P1.1", 15, pytest.approx(5.10), ctx.now)]


# ---------------------------------------------------------------------------------------------- restart

def test_state_round_trip_keeps_the_arrival_reference():
    algo, ctx = make()
    algo.start()
    state = json.loads(json.dumps(algo.save_state(), allow_nan=False))     # as the store keeps it
    restored, restored_ctx = make(underlier=Nbbo(101.99, 5, 102.01, 5), ask=9.00)
    restored.load_state(state)
    assert restored.save_state() == state
    restored.resume()
    assert restored_ctx.of("greeks") == []
    assert restored_ctx.of("post")[0][2] == pytest.approx(5.00 + 0.5 * 2)


def test_a_relative_limit_needs_no_underlier_price():
    algo, ctx = make(limit_type=LimitType.REL_JOIN, price=None, underlier=Nbbo(None, 0, None, 0))
    algo.start()
    assert ctx.of("post")[0][2] == pytest.approx(4.00)
    json.dumps(algo.save_state(), allow_nan=False)


def test_a_rejected_child_is_not_reposted_until_the_next_reprice():
    algo, ctx = make()
    algo.start()
    child = ctx.children[0]
    child.status = ChildStatus.REJECTED
    algo.on_child_done(child)
    assert len(ctx.of("post")) == 1
    move_underlier([algo], 100.0)
    assert len(ctx.of("post")) == 2


def test_only_one_child_rests_extra_ones_are_pulled():
    algo, ctx = make()
    algo.start()
    extra = ctx._child(4, 5.00, TimeInForce.DAY)
    ctx.children[0].qty = 6
    move_underlier([algo], 101.0)
    assert ctx.of("cancel") == [("cancel", extra.child_id)]
    assert ctx.of("replace") == [("replace", "P1.1", None, pytest.approx(5.50), ctx.now)]


def child_at(price, qty=10, venue="SIM", status=ChildStatus.NEW):
    return ChildOrder("P1.1", "P1", venue, OPTION.symbol, Side.BUY, qty, price, TimeInForce.DAY, 0, status)


def test_best_of_others_leaves_our_own_child_out_of_our_side():
    books = MarketBooks()
    books.apply(BookUpdate("SIM", "X", (BookLevel(4.10, 10), BookLevel(4.00, 5)), ()))
    books.apply(BookUpdate("A", "X", (BookLevel(4.05, 3),), ()))
    book = books.book("X")
    assert best_of_others(book, Side.BUY, child_at(4.10)) is None                  # alone at the best
    assert best_of_others(book, Side.BUY, child_at(4.10, status=ChildStatus.PENDING_NEW)) == 4.10
    assert best_of_others(book, Side.BUY, child_at(4.10, qty=6)) == 4.10           # others share it
    assert best_of_others(book, Side.BUY, child_at(4.05, venue="A")) == 4.10
    assert best_of_others(book, Side.BUY, None) == 4.10
