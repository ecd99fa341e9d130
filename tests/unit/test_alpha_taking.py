"""The alpha-taking algo on the whole engine and simulated venues, on the simulated clock: it
stays dark until its Surface or Probability limit reaches the far touch, each TakeReach rule,
one model call per underlier batch, and the entry rejects (over FIX decode)."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from router.clock import NANOS_PER_SECOND
from router.domain.enums import (AlphaType, BalanceHandling, ChildRole, ExecType, LimitClass, OrderHandling, Side,
                                 TakeReach)
from router.fix.codec import decode
from router.market.pricing import bsm
from router.market.securities import years_between
from router.models.alpha import AlphaModel, price_points
from tests.harness import CALL, SESSION, Harness

UNDERLIER = "AAPL"
TAKER = dict(order_handling=OrderHandling.ACTIVE_TAKER, balance_handling=BalanceHandling.NO_POST)


def quote_chain(h: Harness, vol: float = 0.28, half_spread: float = 0.10, skip: tuple[str, ...] = (CALL,)) -> dict:
    """The underlier at 200 and every AAPL option quoted around its price at ``vol``; the fair
    values by symbol. The options in ``skip`` are left for the test to quote."""
    h.requote("XNAS", UNDERLIER, bids=[(199.99, 50_000)], asks=[(200.01, 50_000)], owner="smm", settle=False)
    now = h.clock.now_ns()
    fair = {}
    for inst in h.system.securities.options():
        if inst.underlying != UNDERLIER:
            continue
        t = years_between(now, inst.expiry, inst.expiry_hour_utc)
        fair[inst.symbol] = price = float(bsm(200.0, inst.strike, t, vol, inst.is_call, 0.04, 0.0).price)
        if inst.symbol not in skip:
            rule = inst.tick_rule
            h.quote("XCBO", inst.symbol, bids=[(rule.round_passive(price - half_spread, True), 20)],
                    asks=[(rule.round_passive(price + half_spread, False), 20)], settle=False)
    h.settle()
    return fair


def call_at(h: Harness, bid: float, ask: float, bid_qty: int = 20, ask_qty: int = 20) -> None:
    h.requote("XCBO", CALL, bids=[(round(bid, 2), bid_qty)], asks=[(round(ask, 2), ask_qty)], owner="mmc")


def takes(h: Harness, order_id: str = "P1"):
    return [c for c in h.children(order_id) if c.role is ChildRole.WORK]


def surface_of(h: Harness) -> float:
    price = h.engine.live_surfaces.surface_price(h.system.securities.get(CALL), h.clock.now_ns())
    assert price is not None
    return price[0]


def surface_buy(h: Harness, offset: float | None = None, qty: int = 10, **tags) -> None:
    """A buy whose Surface limit is $6.57 (``offset`` None): $6.55 is in reach, $6.60 is not."""
    if offset is None:
        offset = 6.57 - surface_of(h)
    h.new("A1", Side.BUY, qty, 20.0, take_limit_class=LimitClass.SURFACE, take_surface_prc_offset=offset,
          **TAKER, **tags)


# ------------------------------------------------------------------------------------ Surface class

def test_surface_class_takes_when_the_ask_drops_to_surface_plus_offset_and_not_before():
    h = Harness()
    quote_chain(h)
    call_at(h, 6.40, 6.80)
    offset = 0.04
    surface_buy(h, offset=offset)
    limit = surface_of(h) + offset
    assert h.reports("A1")[-1].exec_type is ExecType.NEW
    assert 6.50 <= limit < 6.55              # the nickel ladder: 6.55 is a tick above it, 6.50 inside
    call_at(h, 6.40, 6.55)
    assert takes(h) == []
    call_at(h, 6.40, 6.50)
    children = takes(h)
    assert len(children) == 1 and children[0].price == 6.50
    assert h.reports("A1")[-1].cum_qty == 10


def test_a_primary_limit_below_the_surface_keeps_the_order_dark():
    h = Harness()
    quote_chain(h)
    call_at(h, 6.40, 6.80)
    h.new("A1", Side.BUY, 10, 6.00, take_limit_class=LimitClass.SURFACE, take_surface_prc_offset=0.50, **TAKER)
    call_at(h, 6.40, 6.45)                  # inside surface + 0.50, above the $6.00 primary limit
    assert takes(h) == []


def test_a_sell_takes_the_bid_once_it_reaches_surface_minus_offset():
    h = Harness()
    quote_chain(h)
    call_at(h, 6.20, 6.80)
    offset = surface_of(h) - 6.48            # half in 5140, half in 5536: a floor of $6.48
    h.new("A1", Side.SELL, 5, 0.01, take_limit_class=LimitClass.SURFACE, take_surface_prc_offset=offset / 2,
          surface_prc_offset_bid=offset / 2, **TAKER)
    call_at(h, 6.45, 6.80)
    assert takes(h) == []
    call_at(h, 6.50, 6.80)
    assert [c.side for c in takes(h)] == [Side.SELL] and h.reports("A1")[-1].cum_qty == 5


def test_once_the_surface_has_no_fit_the_order_does_not_take():
    h = Harness()
    fair = quote_chain(h)
    call_at(h, 6.40, 6.80)
    surface_buy(h)
    for symbol in fair:                      # the chain's market makers leave
        if symbol != CALL:
            h.requote("XCBO", symbol, owner="mm", settle=False)
    h.settle(1.5)                            # past the refit interval
    call_at(h, 6.40, 6.55)
    assert h.engine.live_surfaces.surface_price(h.system.securities.get(CALL), h.clock.now_ns()) is None
    assert takes(h) == []


# ------------------------------------------------------------------------------------ TakeReach

def test_delayed_takes_only_size_that_stayed_two_seconds():
    h = Harness()
    quote_chain(h)
    call_at(h, 6.40, 6.80)
    surface_buy(h, take_reach=TakeReach.DELAYED)
    call_at(h, 6.40, 6.55)                   # a flicker: good for half a second, then gone
    h.settle(0.5)
    call_at(h, 6.40, 6.80)
    h.settle(2.5)
    assert takes(h) == []
    call_at(h, 6.40, 6.55)
    h.settle(1.5)
    assert takes(h) == []                    # not yet two seconds
    h.settle(0.6)
    children = takes(h)
    assert len(children) == 1 and children[0].price == 6.55


def test_passive_takes_only_right_after_the_other_side_aggresses():
    h = Harness()
    quote_chain(h)
    call_at(h, 6.40, 6.80)
    surface_buy(h, take_reach=TakeReach.PASSIVE)
    call_at(h, 6.40, 6.55)
    h.settle(1.0)
    assert takes(h) == []                    # a good offer, but nobody sold
    h.venues["XCBO"].place("seller", "s1", CALL, Side.SELL, 2, 6.40, ioc=True)    # hits the bid
    h.settle()
    children = takes(h)
    assert len(children) == 1 and children[0].price == 6.55


def test_passive_does_not_take_on_a_buyer_aggressing():
    h = Harness()
    quote_chain(h)
    call_at(h, 6.40, 6.80)
    surface_buy(h, take_reach=TakeReach.PASSIVE)
    call_at(h, 6.40, 6.55, ask_qty=30)
    h.venues["XCBO"].place("buyer", "b1", CALL, Side.BUY, 2, 6.55, ioc=True)      # lifts the offer
    h.settle()
    assert takes(h) == []


def test_weak_only_takes_when_the_offer_thins_below_its_average_size():
    h = Harness()
    quote_chain(h)
    call_at(h, 6.40, 6.55, ask_qty=20)
    surface_buy(h, take_reach=TakeReach.WEAK_ONLY)
    h.settle(5.0)
    call_at(h, 6.40, 6.55, ask_qty=40)       # a bigger offer: above its average
    h.settle(1.0)
    assert takes(h) == []
    call_at(h, 6.40, 6.55, ask_qty=4)        # thinner than it has been
    children = takes(h)
    assert len(children) == 1 and children[0].qty == 4


def test_immediate_takes_what_is_there_at_once():
    h = Harness()
    quote_chain(h)
    call_at(h, 6.40, 6.80)
    surface_buy(h, qty=30, take_reach=TakeReach.IMMEDIATE)
    call_at(h, 6.40, 6.55, ask_qty=12)
    assert sum(c.qty for c in takes(h)) == 12


def test_active_order_size_caps_the_take():
    h = Harness()
    quote_chain(h)
    call_at(h, 6.40, 6.80)
    surface_buy(h, qty=30, active_size=5)
    call_at(h, 6.40, 6.55, ask_qty=20)
    assert [c.qty for c in takes(h)] == [5]


# ------------------------------------------------------------------------------------ Probability class

def _take_probability_at_ask(h: Harness, limit_variant: str = "standard") -> float:
    state, has = h.engine.live_alpha.state([CALL], h.clock.now_ns())
    assert has[0]
    prices = price_points(state)
    p = h.engine.live_alpha.model(limit_variant).take_probability(state, np.array([1.0]), prices, 0.0)
    return float(p[0][np.isfinite(prices[0])][-1])


def test_probability_class_stays_dark_below_its_limit_and_fires_within_one_book_event_of_crossing():
    h = Harness()
    quote_chain(h)
    call_at(h, 6.30, 6.70)
    updates = []
    original = h.engine._on_book

    def counting(update):
        if update.symbol == CALL:
            updates.append(h.clock.now_ns())
        original(update)
    h.engine._on_book = counting
    h.new("A1", Side.BUY, 10, 20.0, take_limit_class=LimitClass.PROBABILITY, take_probability=0.20, **TAKER)
    for bid, ask in ((6.30, 6.70), (6.35, 6.65), (6.40, 6.60), (6.45, 6.55)):   # narrowing around $6.50
        call_at(h, bid, ask)
        h.settle(1.0)
        assert _take_probability_at_ask(h) < 0.20, (bid, ask)
        assert takes(h) == []
    before = len(updates)
    call_at(h, 6.45, 6.50)                   # one tick wide: buying the offer now pays often enough
    assert _take_probability_at_ask(h) >= 0.20
    children = takes(h)
    assert len(children) == 1 and children[0].price == 6.50
    crossing = [t for t in updates[before:] if t <= children[0].sent_ns]
    assert len(crossing) == 1                # sent on the one book event that crossed


def test_the_engine_feeds_the_followed_options_books_and_trades_to_its_alpha_state():
    h = Harness()
    quote_chain(h)
    call_at(h, 6.40, 6.60)
    h.new("A1", Side.BUY, 10, 20.0, take_limit_class=LimitClass.PROBABILITY, take_probability=0.99, **TAKER)
    assert h.engine.live_alpha.follows(CALL)
    h.venues["XCBO"].place("seller", "s1", CALL, Side.SELL, 4, 6.40, ioc=True)       # sold into the bid
    h.settle()
    state, _ = h.engine.live_alpha.state([CALL], h.clock.now_ns())
    assert state.flow[0] == -1.0 and state.bid_hit_30s[0] == 4 and state.bid_size[0] == 16


def test_relative_alpha_type_raises_its_limit_after_a_high_recent_average():
    """A minute of one-tick offers whose take probability alternates 0.27 / 0.23, with a $6.45
    primary limit keeping the order dark; then the client lifts it to $6.50 while the offer's
    probability is 0.23. Static at 0.20 takes; Relative at 0.20 with factor 2 now asks for
    mean + 2 std of that minute (about 0.30) and stays dark."""
    results = {}
    for alpha_type, extra in ((AlphaType.STATIC, {}), (AlphaType.RELATIVE, {"take_alpha_factor": 2.0})):
        h = Harness()
        quote_chain(h)
        call_at(h, 6.45, 6.50, bid_qty=5, ask_qty=50)
        h.new("A1", Side.BUY, 10, 6.45, take_limit_class=LimitClass.PROBABILITY, take_probability=0.20,
              take_alpha_type=alpha_type, **extra, **TAKER)
        recent = []
        for step in range(30):
            call_at(h, 6.45, 6.50, bid_qty=5 if step % 2 else 50, ask_qty=50 if step % 2 else 5)
            h.settle(2.0)
            recent.append(_take_probability_at_ask(h))
        assert takes(h) == []
        call_at(h, 6.45, 6.50, bid_qty=50, ask_qty=5)
        now = _take_probability_at_ask(h)
        assert 0.20 < now < np.mean(recent) + 2 * np.std(recent)
        h.replace("A2", "A1", price=6.50)
        h.settle()
        results[alpha_type] = len(takes(h))
    assert results[AlphaType.STATIC] == 1
    assert results[AlphaType.RELATIVE] == 0


def test_parents_on_one_underlier_cost_one_model_call_per_underlier_batch(monkeypatch):
    h = Harness()
    quote_chain(h, skip=())
    symbols = [inst.symbol for inst in h.system.securities.options() if inst.underlying == UNDERLIER][:6]
    for i, symbol in enumerate(symbols):
        h.new(f"A{i}", Side.BUY, 1, 50.0, symbol=symbol, take_limit_class=LimitClass.PROBABILITY,
              take_probability=0.99, **TAKER)
    assert all(r.exec_type is ExecType.NEW for r in h.reports())
    calls = []
    original = AlphaModel.take_probability

    def counted(self, state, *args, **kwargs):
        calls.append(len(state))
        return original(self, state, *args, **kwargs)
    monkeypatch.setattr(AlphaModel, "take_probability", counted)
    h.requote("XNAS", UNDERLIER, bids=[(200.49, 50_000)], asks=[(200.51, 50_000)], owner="smm")
    assert calls == [len(symbols)]          # one call, every parent's row in it


# ------------------------------------------------------------------------------------ bad input over FIX

def fix_new(h: Harness, *tags: tuple[int, str], cl: str = "F1") -> str | None:
    """A NewOrderSingle decoded from FIX and handed to the engine; the reject text, or None."""
    now = datetime.fromtimestamp(h.clock.now_ns() / NANOS_PER_SECOND, tz=timezone.utc)
    pairs = [(35, "D"), (11, cl), (55, CALL), (54, "1"), (60, now.strftime("%Y%m%d-%H:%M:%S.%f")[:-3]),
             (38, "10"), (40, "2"), (44, "7.00"), (5094, "1"), (5096, "0"), *tags]
    request = decode("D", pairs, SESSION, "CLIENT1", 2)
    h.engine.dispatch(request)
    report = h.reports(cl)[-1]
    return report.text if report.exec_type is ExecType.REJECTED else None


@pytest.mark.parametrize("tags,needles", [
    ([(5100, "2")], ("5100", "5136")),                                         # Probability without its limit
    ([(5100, "2"), (5136, "0.6"), (5128, "5")], ("5128", "5132")),            # Relative without its factor
    ([(5100, "2"), (5136, "0.6"), (5128, "5"), (5132, "2.5")], ("5132", "[-2, 2]")),
    ([(5100, "2"), (5136, "1.5")], ("5136", "[0, 1]")),
    ([(5100, "1"), (5104, "4")], ("5104", "RespondOnly")),
    ([(5100, "1"), (5104, "5")], ("5104", "FullSize")),
    ([(5100, "1"), (5104, "6")], ("5104", "IsoSweep")),
])
def test_bad_alpha_terms_are_rejected_naming_the_tag(tags, needles):
    h = Harness()
    quote_chain(h, skip=())
    text = fix_new(h, *tags)
    assert text is not None and all(needle in text for needle in needles), text


def test_a_surface_class_without_a_fit_is_rejected_naming_5100():
    h = Harness()
    h.requote("XNAS", UNDERLIER, bids=[(199.99, 50_000)], asks=[(200.01, 50_000)], owner="smm")
    h.quote("XCBO", CALL, bids=[(6.40, 10)], asks=[(6.60, 10)])     # one quote: no smile to fit
    text = fix_new(h, (5100, "1"), (5140, "0.05"))
    assert text is not None and "5100" in text and "no fit" in text, text


def test_a_good_alpha_taking_order_over_fix_is_accepted():
    h = Harness()
    quote_chain(h, skip=())
    assert fix_new(h, (5100, "3"), (5136, "0.6"), (5128, "5"), (5132, "1.0"), (5140, "0.02"), (5104, "1")) is None
    assert h.engine.orders.parents["P1"].algo_name == "alpha_taking"
