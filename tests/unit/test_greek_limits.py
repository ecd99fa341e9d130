"""The day $delta and vega limits (5251-5260) on the whole engine and simulated venues, on the
simulated clock: a child that would breach is not sent, the parent is held with the reason in an
ExecutionReport (once per hold), and resumes when room frees up."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest

from router.domain.commands import AlgoParams
from router.domain.enums import (BalanceHandling, ChildRole, ExecType, HedgeMode, LimitType, OrdStatus, Side,
                                 TimeInForce)
from router.domain.orders import ChildOrder
from router.market.securities import years_between
from router.risk.greek_limits import GREEK_LIMITS, DayGreekLimits, Measure, Scope, active_limits
from tests.harness import CALL, Harness

from .test_codec import new_order

UNDERLIER = "AAPL"
JAN_CALL = "AAPL  270115C00200000"
SPY = "SPY"
SPY_CALL = "SPY   261218C00600000"


def underlier_at(h: Harness, mid: float, symbol: str = UNDERLIER) -> None:
    h.requote("XNAS", symbol, bids=[(round(mid - 0.01, 2), 50_000)], asks=[(round(mid + 0.01, 2), 50_000)],
              owner="smm")


def market(h: Harness) -> None:
    underlier_at(h, 200.0)
    h.quote("XCBO", CALL, bids=[(4.80, 50)], asks=[(5.20, 50)])


def greeks(h: Harness, symbol: str):
    return h.engine.model.greeks(h.engine.securities.get(symbol), h.clock.now_ns())


def dollar_delta(h: Harness, symbol: str, spot: float) -> float:
    """$delta of one contract, from the model's delta: delta x underlier x 100."""
    return float(greeks(h, symbol).delta) * spot * 100


def wt_vega(h: Harness, symbol: str) -> float:
    """Time-weighted vega of one contract: vega per vol point x 100 x sqrt(30 days / days left)."""
    instrument = h.engine.securities.get(symbol)
    days = years_between(h.clock.now_ns(), instrument.expiry, instrument.expiry_hour_utc) * 365.25
    return float(greeks(h, symbol).vega) * 0.01 * 100 * math.sqrt(30 / days)


def held_reports(h: Harness, cl_ord_id: str):
    return [r for r in h.reports(cl_ord_id) if r.text and r.text.startswith("held:")]


def work_children(h: Harness, order_id: str):
    return [c for c in h.children(order_id) if c.role is ChildRole.WORK]


# ---------------------------------------------------------------------------------------- the acceptance test

def test_a_child_that_would_breach_max_sym_day_ddelta_ln_is_held_with_the_reason_in_the_report():
    h = Harness()
    market(h)
    unit = dollar_delta(h, CALL, 200.0)
    h.new("B1", Side.BUY, 10, 5.20, max_sym_day_ddelta_ln=3.5 * unit)
    h.settle(0.5)
    # the first child is sized down to the 3 that fit; the next wave, of the 7 left, sends nothing
    assert [(c.child_id, c.qty, c.cum_qty) for c in work_children(h, "P1")] == [("P1.1", 3, 3)]
    [held] = held_reports(h, "B1")
    assert held.exec_type is ExecType.ORDER_STATUS and held.ord_status is OrdStatus.NEW and held.leaves_qty == 10
    assert held.text == (f"held: child P1.1 of 10 would take account+symbol AAPL day $delta to "
                         f"${10 * unit / 1e3:.2f}K, above SRMaxSymDayDDeltaLn (5259) ${3.5 * unit / 1e3:.2f}K; sent 3")
    assert h.engine.parents["P1"].is_working and h.engine.parents["P1"].cum_qty == 3


def test_the_held_text_is_reported_once_and_the_parent_resumes_when_the_market_moves():
    h = Harness()
    market(h)
    h.new("B1", Side.BUY, 10, 5.20, max_sym_day_ddelta_ln=3.5 * dollar_delta(h, CALL, 200.0))
    h.settle(0.5)
    for bid in (4.81, 4.82, 4.83, 4.80):                 # book updates: the sweep tries again each time
        h.requote("XCBO", CALL, bids=[(bid, 50)], asks=[(5.20, 50)])
        h.settle(0.2)
    assert len(held_reports(h, "B1")) == 1 and h.engine.parents["P1"].cum_qty == 3
    underlier_at(h, 190.0)                               # the call's $delta falls: room for more
    h.requote("XCBO", CALL, bids=[(4.80, 50)], asks=[(5.20, 50)])
    h.settle(0.5)
    assert h.engine.parents["P1"].cum_qty > 3


# ---------------------------------------------------------------------------------------- what counts

def test_a_fill_the_other_way_frees_room_and_the_parent_resumes():
    h = Harness()
    market(h)
    unit = dollar_delta(h, CALL, 200.0)
    h.new("B1", Side.BUY, 10, 5.20, max_sym_day_ddelta_ln=3.5 * unit)
    h.settle(0.5)
    assert h.engine.parents["P1"].cum_qty == 3
    h.new("S1", Side.SELL, 300, 199.99, symbol=UNDERLIER)     # the same account sells $59,997 of stock
    h.settle(0.5)
    assert h.reports("S1")[-1].ord_status is OrdStatus.FILLED
    # room is now 3.5 units + $59,997: the parent sent what fits without being asked again
    fits = int((3.5 * unit + 300 * 199.99) // unit)
    assert [c.qty for c in work_children(h, "P1")] == [3, fits - 3]
    assert h.engine.parents["P1"].cum_qty == fits
    assert len(held_reports(h, "B1")) == 1                # held all along: a part of each ask went


def test_open_children_of_the_account_count_and_a_canceled_one_frees_room():
    h = Harness()
    market(h)
    unit = dollar_delta(h, CALL, 200.0)
    h.new("A1", Side.BUY, 5, 4.00, balance_handling=BalanceHandling.POST_LIMIT)      # rests 5, unfilled
    h.settle(0.2)
    h.new("B1", Side.BUY, 5, 4.00, balance_handling=BalanceHandling.POST_LIMIT, max_sym_day_ddelta_ln=7.5 * unit)
    h.settle(0.2)
    [resting] = work_children(h, "P2")
    assert resting.qty == 2 and resting.cum_qty == 0            # 5 open elsewhere + 2 fit under 7.5
    assert len(held_reports(h, "B1")) == 1                       # its replace up to 5 is held
    h.cancel("A1c", "A1")
    h.settle(2.0)
    assert resting.qty == 5 and resting.is_open


def test_hedge_fills_count_and_a_hedge_that_reduces_delta_is_never_held():
    h = Harness()
    market(h)
    h.quote("XCBO", CALL, asks=[(5.20, 100)])
    unit = dollar_delta(h, CALL, 200.0)
    # the hedge sells 5500 shares for a 0.55 delta, more than the model's: it ends the day short
    # some $delta, past a short limit of $1,000, yet it only ever brings its parent closer to flat
    h.new("H1", Side.BUY, 100, 5.20, auto_hedge=HedgeMode.FAST_CRX, alt_auto_hedge_id="HEDGE1",
          order_ref_delta=0.55, max_sym_day_ddelta_sh=1000.0)
    h.settle(1.0)
    assert sum(c.cum_qty for c in h.children("P1") if c.role is ChildRole.HEDGE) == 5500
    assert not held_reports(h, "H1") and not held_reports(h, "HEDGE1")
    net = 100 * unit - 5500 * 200.0
    assert net < -1000.0
    # the hedge's fills count: a new buy has room for its limit plus the hedged-away $delta
    h.new("B1", Side.BUY, 10, 5.20, max_sym_day_ddelta_ln=50_000.0)
    h.settle(0.5)
    assert h.engine.parents["P2"].cum_qty == int((50_000.0 - net) // unit) < 10
    assert len(held_reports(h, "B1")) == 1


def test_a_work_child_past_a_short_limit_is_held_though_a_hedge_would_not_be():
    h = Harness()
    market(h)
    unit = dollar_delta(h, CALL, 200.0)
    h.new("S1", Side.SELL, 10, 4.80, max_sym_day_ddelta_sh=2.5 * unit)
    h.settle(0.5)
    assert h.engine.parents["P1"].cum_qty == 2
    [held] = held_reports(h, "S1")
    assert held.text == ("held: child P1.1 of 10 would take account+symbol AAPL day $delta to "
                         f"-${10 * unit / 1e3:.2f}K, below SRMaxSymDayDDeltaSh (5260) "
                         f"-${2.5 * unit / 1e3:.2f}K; sent 2")


def test_unknown_greeks_hold_the_child_unknown_risk_is_not_zero():
    h = Harness()
    h.quote("XCBO", CALL, bids=[(4.80, 50)], asks=[(5.20, 50)])      # no underlier price: no model delta
    h.new("B1", Side.BUY, 10, 5.20, max_acc_day_ddelta_ln=1e9)
    h.settle(0.5)
    assert not work_children(h, "P1")
    [held] = held_reports(h, "B1")
    assert held.text == ("held: child P1.1 of 10: account day $delta is unknown (no model greeks for "
                         f"{CALL}), so SRMaxAccDayDDeltaLn (5253) cannot be checked")


# ---------------------------------------------------------------------------------------- no limit, bad limits

def test_minus_one_means_no_limit():
    h = Harness()
    market(h)
    tags = {limit.field: -1.0 for limit in GREEK_LIMITS}
    assert active_limits(AlgoParams(**tags)) == []
    h.new("B1", Side.BUY, 10, 5.20, **tags)
    h.settle(0.5)
    assert h.engine.parents["P1"].cum_qty == 10 and not held_reports(h, "B1")


@pytest.mark.parametrize("tag", [limit.tag for limit in GREEK_LIMITS])
@pytest.mark.parametrize("value", ["0", "-2", "-0.5"])
def test_a_zero_or_negative_limit_other_than_minus_one_is_rejected_at_decode(tag, value):
    request = new_order((tag, value))
    name = next(limit.name for limit in GREEK_LIMITS if limit.tag == tag)
    assert request.command is None
    assert request.reject_text.startswith(f"{name} ({tag}) {float(value):g} must be a positive limit, or -1")


@pytest.mark.parametrize("algo", [{}, {"balance_handling": BalanceHandling.POST_LIMIT}], ids=["sweep", "volatility"])
def test_every_risk_tag_is_read_whatever_the_algo(algo):
    h = Harness()
    market(h)
    h.new("B1", Side.BUY, 1, 5.20, **algo, **{limit.field: 1e12 for limit in GREEK_LIMITS})
    assert h.reports("B1")[0].exec_type is ExecType.NEW
    assert h.engine.parents["P1"].algo_name == ("volatility" if algo else "sweep")


# ---------------------------------------------------------------------------------------- each tag, long and short

def _day(side: Side):
    """One contract filled today in each of: the AAPL Dec call, the AAPL Jan call, the SPY Dec call
    (all bought for the long limits, all sold for the short ones)."""
    h = Harness()
    underlier_at(h, 200.0)
    underlier_at(h, 600.0, SPY)
    for symbol in (CALL, JAN_CALL, SPY_CALL):
        h.quote("XCBO", symbol, bids=[(4.80, 5)], asks=[(5.20, 5)])
    for i, symbol in enumerate((CALL, JAN_CALL, SPY_CALL)):
        h.new(f"F{i}", side, 1, 5.20 if side is Side.BUY else 4.80, symbol=symbol)
        h.settle(0.2)
        assert h.reports(f"F{i}")[-1].ord_status is OrdStatus.FILLED
    return h


@pytest.fixture(scope="module")
def long_day():
    return _day(Side.BUY)


@pytest.fixture(scope="module")
def short_day():
    return _day(Side.SELL)


_COUNTED = {Scope.ACCOUNT: (CALL, JAN_CALL, SPY_CALL), Scope.SYMBOL: (CALL, JAN_CALL), Scope.EXPIRATION: (CALL,)}


@pytest.mark.parametrize("limit", GREEK_LIMITS, ids=lambda limit: f"{limit.tag}-{limit.name}")
def test_each_limit_bounds_its_scope_and_direction(request, limit):
    side = Side.BUY if limit.direction > 0 else Side.SELL       # calls: buying adds $delta and vega
    h = request.getfixturevalue("long_day" if limit.direction > 0 else "short_day")
    spots = {CALL: 200.0, JAN_CALL: 200.0, SPY_CALL: 600.0}
    per_contract = {s: dollar_delta(h, s, spots[s]) if limit.measure is Measure.DDELTA else wt_vega(h, s)
                    for s in spots}
    projected = sum(per_contract[s] for s in _COUNTED[limit.scope]) + 2 * per_contract[CALL]
    check = DayGreekLimits(h.engine.orders, h.engine.securities, h.engine.books, h.engine.model, h.clock.now_ns,
                           h.engine.calendar.previous_close_ns)
    parent = replace(h.engine.parents["P1"], order_id="PX")
    child = ChildOrder("PX.1", "PX", "XCBO", CALL, side, 2, 5.0, TimeInForce.IOC, h.clock.now_ns())
    over = check(replace(parent, algo=AlgoParams(**{limit.field: projected * 0.999})), child, 0, UNDERLIER, 100)
    assert over is not None and over.holds and f"{limit.name} ({limit.tag})" in over.text
    assert f"{limit.scope.value} " in over.text or limit.scope is Scope.ACCOUNT
    assert over.fits_qty == 1                                   # one of the two still fits
    assert check(replace(parent, algo=AlgoParams(**{limit.field: projected * 1.001})), child, 0, UNDERLIER, 100) is None
    # the same child the other way never meets this limit
    other_way = replace(child, side=Side.SELL if side.is_buy else Side.BUY)
    assert check(replace(parent, algo=AlgoParams(**{limit.field: projected * 0.001})), other_way, 0, UNDERLIER,
                 100) is None


def test_the_day_begins_at_the_session_close_fills_before_it_do_not_count():
    h = Harness()
    market(h)
    unit = dollar_delta(h, CALL, 200.0)
    h.new("B1", Side.BUY, 3, 5.20, max_sym_day_ddelta_ln=3.5 * unit)
    h.settle(0.5)
    assert h.engine.parents["P1"].cum_qty == 3
    h.new("B2", Side.BUY, 3, 5.20, max_sym_day_ddelta_ln=3.5 * unit)
    h.settle(0.5)
    assert h.engine.parents["P2"].cum_qty == 0 and len(held_reports(h, "B2")) == 1
    h.cancel("B2c", "B2")
    h.settle(7 * 3600)                                   # past the 16:00 New York close: a new trading day
    market(h)
    h.quote("XCBO", CALL, asks=[(5.20, 10)])
    unit = dollar_delta(h, CALL, 200.0)
    h.new("B3", Side.BUY, 5, 5.20, max_sym_day_ddelta_ln=3.5 * unit)
    h.settle(0.5)
    assert h.engine.parents["P3"].cum_qty == 3               # yesterday's 3 are not today's


def test_a_held_tied_order_reprices_with_the_underlier_and_is_reported_held_once():
    h = Harness()
    market(h)
    unit = dollar_delta(h, CALL, 200.0)
    h.new("A1", Side.BUY, 5, 4.00, balance_handling=BalanceHandling.POST_LIMIT)
    h.settle(0.2)
    h.new("B1", Side.BUY, 5, 4.00, balance_handling=BalanceHandling.POST_LIMIT, limit_type=LimitType.PRC_DE,
          order_ref_delta=0.5, order_ref_gamma=0.0, order_ref_uprc=200.0, max_sym_day_ddelta_ln=7.5 * unit)
    h.settle(0.2)
    [resting] = work_children(h, "P2")
    assert resting.qty == 2
    prices = []
    for mid in (200.4, 200.8, 201.2):                      # the tied limit moves; the child follows it
        h.settle(1.0)
        underlier_at(h, mid)
        h.settle(0.2)
        prices.append(resting.price)
    assert prices == sorted(prices) and prices[-1] > 4.00 and resting.qty == 2
    assert len(held_reports(h, "B1")) == 1
    # a reprice alone (no more size) does not lift the hold: the next held ask is not a new hold
    parent = h.engine.parents["P2"]
    h.engine.children.replace(parent, h.engine.securities.get(CALL), resting, None, resting.price - 0.05)
    h.settle(1.0)
    underlier_at(h, 201.6)
    h.settle(0.2)
    assert resting.price > prices[-1] and resting.qty == 2
    assert len(held_reports(h, "B1")) == 1


def test_a_time_weighted_vega_limit_holds_on_the_engine_too():
    h = Harness()
    market(h)
    unit = wt_vega(h, CALL)
    h.new("B1", Side.BUY, 10, 5.20, max_exp_day_wt_vega_ln=4.5 * unit)
    h.settle(0.5)
    assert h.engine.parents["P1"].cum_qty == 4
    [held] = held_reports(h, "B1")
    assert held.text == (f"held: child P1.1 of 10 would take account+expiration AAPL 2026-12-18 day time-weighted vega "
                         f"to ${10 * unit:,.2f}, above SRMaxExpDayWtVegaLn (5255) ${4.5 * unit:,.2f}; sent 4")


# ---------------------------------------------------------------------------------------- a restart

def _held_then_restarted(tmp_path):
    """B1 held by MaxSymDayDDeltaLn after 3 of 10 (the acceptance test's order), then the router
    stops and a new one restores the day from the store."""
    from router.server import restore_from_store
    from router.store.store import Store
    url = f"sqlite:///{tmp_path / 'router.db'}"
    store = Store(url)
    store.migrate()
    first = Harness(persistence=store)
    market(first)
    first.new("B1", Side.BUY, 10, 5.20, max_sym_day_ddelta_ln=3.5 * dollar_delta(first, CALL, 200.0))
    first.settle(0.5)
    assert len(held_reports(first, "B1")) == 1 and first.engine.parents["P1"].cum_qty == 3
    assert store.load_working().parents[0].algo_state["risk_holds"]["W"][:2] == ["CLIENT1", CALL]
    store.close()
    store = Store(url)
    second = Harness(persistence=store, start=first.now())
    market(second)
    second.engine.restore(restore_from_store(store))
    return second, store


def test_a_parent_held_before_a_restart_is_not_reported_held_again_after_it(tmp_path):
    second, store = _held_then_restarted(tmp_path)
    assert second.engine.children.holds.is_held("P1", ChildRole.WORK)
    restarted = second.clock.now_ns()
    for bid in (4.81, 4.82):                             # the sweep tries again: still blocked
        second.requote("XCBO", CALL, bids=[(bid, 50)], asks=[(5.20, 50)])
        second.settle(0.2)
    blocked_after = [e for e in store.iter_journal() if e.kind == "child_blocked" and e.ts_ns > restarted]
    assert blocked_after, "the restored parent must have tried, and been blocked, again"
    assert held_reports(second, "B1") == []
    assert second.engine.parents["P1"].cum_qty == 3
    store.close()


def test_a_restored_hold_still_lifts_when_room_frees_up(tmp_path):
    second, store = _held_then_restarted(tmp_path)
    underlier_at(second, 190.0)                          # the call's $delta falls: room for more
    second.requote("XCBO", CALL, bids=[(4.80, 50)], asks=[(5.20, 50)])
    second.settle(0.5)
    assert second.engine.parents["P1"].cum_qty > 3
    store.close()
