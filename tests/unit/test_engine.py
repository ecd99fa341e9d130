"""The engine on a simulated clock: order lifecycle, sweep behaviour, rejects, invariants."""
from __future__ import annotations

from datetime import timedelta

import pytest

from router.domain.enums import ExecType, LimitClass, LimitType, OrderHandling, OrdStatus, Side, SRTimeInForce, TimeInForce
from router.domain.events import CancelRejectReport, ChildFilled, MassCancelReportOut
from router.domain.commands import MassCancel, OrderStatusQuery
from router.domain.enums import MassCancelType
from router.domain.commands import ClientRequest
from tests.harness import CALL, SESSION, Harness

PUT = "AAPL  261218P00195000"


def statuses(h: Harness, cl_ord_id: str) -> list[tuple[str, str]]:
    return [(r.exec_type.name, r.ord_status.name) for r in h.reports(cl_ord_id)]


@pytest.fixture
def h() -> Harness:
    return Harness()


def book_three_venues(h: Harness) -> None:
    h.quote("XCBO", CALL, asks=[(5.00, 10), (5.05, 20)], bids=[(4.90, 10)])
    h.quote("BATO", CALL, asks=[(5.00, 5)])
    h.quote("ARCO", CALL, asks=[(5.05, 30)])


def test_lifecycle_pending_new_new_partial_filled_with_vwap(h):
    book_three_venues(h)
    h.new("A1", Side.BUY, 20, 5.05)
    h.settle(0.1)
    assert statuses(h, "A1")[0] == ("NEW", "NEW")
    fills = [r for r in h.reports("A1") if r.exec_type is ExecType.TRADE]
    assert sum(r.last_qty for r in fills) == 20
    final = h.reports("A1")[-1]
    assert final.ord_status is OrdStatus.FILLED and final.cum_qty == 20 and final.leaves_qty == 0
    notional = sum(r.last_qty * r.last_px for r in fills)
    assert final.avg_px == pytest.approx(notional / 20)
    assert all(r.last_mkt for r in fills)


def test_pending_new_report_is_optional():
    h = Harness(engine_config=Harness().settings.router.engine.model_copy(update={"report_pending_new": True}))
    h.new("A1", Side.BUY, 5, 4.00)
    assert statuses(h, "A1") == [("PENDING_NEW", "PENDING_NEW"), ("NEW", "NEW")]


def test_below_visible_size_takes_cheapest_all_in_first(h):
    book_three_venues(h)
    h.new("A1", Side.BUY, 12, 5.05)
    h.settle(0.1)
    taken = {c.venue: c.qty for c in h.children("P1")}
    # 5.00 is cheapest; at 5.00 XCBO's taker fee (0.44) beats BATO's (0.50); nothing at 5.05 needed
    assert taken == {"XCBO": 10, "BATO": 2}
    assert h.reports("A1")[-1].avg_px == pytest.approx(5.00)


def test_at_visible_size_one_synchronized_wave_on_every_venue(h):
    book_three_venues(h)
    h.new("A1", Side.BUY, 65, 5.05)
    children = h.children("P1")
    assert {c.venue for c in children} == {"XCBO", "BATO", "ARCO"}
    arrivals = {c.sent_ns + h.venues[c.venue].latency_ns for c in children}
    assert len(arrivals) == 1, "staggered sends must land at the same moment"
    h.settle(0.1)
    assert h.reports("A1")[-1].ord_status is OrdStatus.FILLED


def test_max_child_orders_and_exchanges_are_respected(h):
    book_three_venues(h)
    h.new("A1", Side.BUY, 65, 5.05, max_child_orders=1)
    h.settle(0.1)
    assert len(h.children("P1")) == 1
    assert h.reports("A1")[-1].ord_status is OrdStatus.CANCELED
    assert "MaxChildOrders" in h.reports("A1")[-1].text

    h.new("A2", Side.BUY, 5, 5.05, exchanges=("ARCO",))
    h.settle(0.1)
    assert {c.venue for c in h.children("P2")} == {"ARCO"}


def test_active_order_size_caps_each_wave(h):
    book_three_venues(h)
    h.new("A1", Side.BUY, 30, 5.05, active_size=10)
    assert sum(c.qty for c in h.children("P1")) == 10
    h.settle(0.2)
    assert h.reports("A1")[-1].cum_qty == 30
    assert len({c.child_id for c in h.children("P1")}) >= 3


def test_unknown_exchange_is_rejected(h):
    h.new("A1", Side.BUY, 5, 5.05, exchanges=("NOPE",))
    report = h.reports("A1")[-1]
    assert report.ord_status is OrdStatus.REJECTED and "NOPE" in report.text


def test_market_limit_type_reaches_three_ticks_through(h):
    h.quote("XCBO", CALL, asks=[(5.00, 5), (5.10, 5), (5.20, 5)])
    h.new("M1", Side.BUY, 15, None, limit_type=LimitType.MARKET, tif=TimeInForce.IOC)
    child = h.children("P1")[0]
    assert child.price == pytest.approx(5.15)       # 5.00 + 3 x 0.05
    h.settle(0.1)
    assert h.reports("M1")[-1].cum_qty == 10


def test_market_limit_type_recomputes_from_the_new_far_side(h):
    h.quote("XCBO", CALL, asks=[(5.00, 5), (5.20, 5)])
    h.new("M1", Side.BUY, 10, None, limit_type=LimitType.MARKET)
    h.settle(0.1)
    assert h.reports("M1")[-1].ord_status is OrdStatus.FILLED
    assert [c.price for c in h.children("P1")] == [pytest.approx(5.15), pytest.approx(5.35)]


def test_market_arrival_keeps_the_arrival_far_side(h):
    h.quote("XCBO", CALL, asks=[(5.00, 5)])
    h.new("M1", Side.BUY, 10, None, limit_type=LimitType.MARKET_ARRIVAL)
    h.settle(0.1)
    assert h.reports("M1")[-1].cum_qty == 5
    h.quote("XCBO", CALL, asks=[(5.05, 50)])        # the market moved away: must not chase it
    h.settle(0.1)
    assert h.reports("M1")[-1].cum_qty == 5
    h.quote("BATO", CALL, asks=[(5.00, 20)])        # back at the arrival price: takes it
    h.settle(0.1)
    assert h.reports("M1")[-1].cum_qty == 10


def test_ioc_balance_is_canceled(h):
    book_three_venues(h)
    h.new("I1", Side.BUY, 100, 5.05, tif=TimeInForce.IOC)
    h.settle(0.1)
    final = h.reports("I1")[-1]
    assert (final.exec_type, final.ord_status, final.cum_qty) == (ExecType.CANCELED, OrdStatus.CANCELED, 65)
    assert final.leaves_qty == 0


def test_sr_time_in_force_ioc_overrides_fix_tif(h):
    book_three_venues(h)
    h.new("I1", Side.BUY, 100, 5.05, sr_time_in_force=SRTimeInForce.IOC)
    h.settle(0.1)
    assert h.reports("I1")[-1].ord_status is OrdStatus.CANCELED


def test_day_order_waits_for_new_liquidity(h):
    h.quote("XCBO", CALL, asks=[(5.00, 10)])
    h.new("W1", Side.BUY, 25, 5.00)
    h.settle(0.1)
    assert h.reports("W1")[-1].cum_qty == 10 and h.reports("W1")[-1].ord_status is OrdStatus.PARTIALLY_FILLED
    h.quote("ARCO", CALL, asks=[(5.00, 40)])
    h.settle(0.1)
    assert h.reports("W1")[-1].ord_status is OrdStatus.FILLED


def test_gtd_order_duration_expires(h):
    h.new("G1", Side.BUY, 10, 4.00, sr_time_in_force=SRTimeInForce.GTD, order_duration_s=30)
    h.settle(29)
    assert h.reports("G1")[-1].ord_status is OrdStatus.NEW
    h.settle(2)
    final = h.reports("G1")[-1]
    assert (final.exec_type, final.ord_status) == (ExecType.EXPIRED, OrdStatus.EXPIRED)


def test_good_till_time_expires(h):
    h.new("G1", Side.BUY, 10, 4.00, sr_time_in_force=SRTimeInForce.GTD, good_till=h.now() + timedelta(seconds=5))
    h.settle(6)
    assert h.reports("G1")[-1].ord_status is OrdStatus.EXPIRED


def test_day_order_expires_at_the_new_york_close_in_winter(h):
    h.new("D1", Side.BUY, 10, 4.00)
    h.settle(5.9 * 3600)                          # 15:00 -> 20:54 UTC: 15:54 in New York (EST)
    assert h.reports("D1")[-1].ord_status is OrdStatus.NEW
    h.settle(0.2 * 3600)                          # past 21:00 UTC = 16:00 New York
    assert h.reports("D1")[-1].ord_status is OrdStatus.EXPIRED


def test_cancel_racing_a_fill_gets_too_late_to_cancel(h):
    h.quote("XCBO", CALL, asks=[(5.00, 10)])
    h.new("C1", Side.BUY, 10, 5.00)                # the child is in flight (venue latency)
    h.cancel("C2", "C1")
    assert statuses(h, "C2") == [("PENDING_CANCEL", "PENDING_CANCEL")]
    h.settle(0.1)                                  # the IOC child filled before the cancel landed
    assert h.engine.parents["P1"].status is OrdStatus.FILLED
    reject = h.out[-1]
    assert isinstance(reject, CancelRejectReport) and reject.cl_ord_id == "C2" and reject.reason == 0


def test_cancel_pulls_open_children_then_reports_canceled(h):
    h.quote("XCBO", CALL, asks=[(5.00, 5)])
    h.new("C1", Side.BUY, 10, 5.00)
    h.cancel("C2", "C1")
    h.settle(0.1)
    assert statuses(h, "C2") == [("PENDING_CANCEL", "PENDING_CANCEL"), ("CANCELED", "CANCELED")]
    final = h.reports("C2")[-1]
    assert final.cum_qty == 5 and final.leaves_qty == 0 and final.orig_cl_ord_id == "C1"


def test_cancel_of_resting_parent(h):
    h.new("C1", Side.BUY, 10, 4.00)
    h.cancel("C2", "C1")
    final = h.reports("C2")[-1]
    assert (final.exec_type, final.ord_status, final.orig_cl_ord_id) == (ExecType.CANCELED, OrdStatus.CANCELED, "C1")


def test_replace_changes_quantity_and_limit(h):
    h.new("R1", Side.BUY, 10, 4.00)
    h.quote("XCBO", CALL, asks=[(5.00, 50)])
    h.replace("R2", "R1", qty=20, price=5.00)
    h.settle(0.1)
    replaced = [r for r in h.reports("R2") if r.exec_type is ExecType.REPLACED][0]
    assert replaced.order_qty == 20 and replaced.price == 5.00 and replaced.orig_cl_ord_id == "R1"
    assert h.reports("R2")[-1].ord_status is OrdStatus.FILLED and h.reports("R2")[-1].cum_qty == 20


def test_replace_below_cum_qty_is_rejected(h):
    h.quote("XCBO", CALL, asks=[(5.00, 10)])
    h.new("R1", Side.BUY, 30, 5.00)
    h.settle(0.1)
    h.replace("R2", "R1", qty=5)
    reject = h.out[-1]
    assert isinstance(reject, CancelRejectReport) and "below CumQty" in reject.text and reject.response_to == "2"


def test_cancel_or_replace_of_unknown_order(h):
    h.cancel("X2", "NOPE")
    reject = h.out[-1]
    assert isinstance(reject, CancelRejectReport) and reject.reason == 1
    h.replace("X3", "NOPE", qty=5)
    assert isinstance(h.out[-1], CancelRejectReport) and h.out[-1].reason == 1


def test_duplicate_cl_ord_id_is_rejected(h):
    h.new("D1", Side.BUY, 10, 4.00)
    h.new("D1", Side.BUY, 10, 4.00)
    report = h.reports("D1")[-1]
    assert report.ord_status is OrdStatus.REJECTED and report.ord_rej_reason == 6


def test_unknown_instrument_is_rejected(h):
    h.new("U1", Side.BUY, 10, 4.00, symbol="AAPL  261218C00999000")
    report = h.reports("U1")[-1]
    assert report.ord_status is OrdStatus.REJECTED and report.ord_rej_reason == 1


def test_stale_transact_time_is_rejected(h):
    h.new("S1", Side.BUY, 10, 4.00, transact_time=h.now() - timedelta(seconds=16))
    report = h.reports("S1")[-1]
    assert report.ord_status is OrdStatus.REJECTED and "15s" in report.text
    h.new("S2", Side.BUY, 10, 4.00, transact_time=h.now() - timedelta(seconds=14))
    assert h.reports("S2")[-1].ord_status is OrdStatus.NEW


def test_off_tick_price_is_rejected(h):
    h.new("T1", Side.BUY, 10, 4.02)                 # above 3.00 the tick is 0.05
    assert "tick" in h.reports("T1")[-1].text


def test_account_limits_are_enforced(h):
    h.new("L1", Side.BUY, 501, 1.00)                # CLIENT1 may trade 500 per order
    report = h.reports("L1")[-1]
    assert report.ord_status is OrdStatus.REJECTED and "exceeds account limit" in report.text


def test_unavailable_algo_is_rejected_by_name(h):
    h.new("V1", Side.BUY, 10, 4.00, order_handling=OrderHandling.MATRIX)
    assert "handling_matrix algo selected by the order's tags is not available yet" in h.reports("V1")[-1].text


def test_status_and_mass_cancel(h):
    h.new("Q1", Side.BUY, 10, 4.00)
    h.new("Q2", Side.SELL, 10, 9.00, symbol=PUT)
    h.engine.dispatch(ClientRequest(SESSION, "CLIENT1", "H", None, OrderStatusQuery(cl_ord_id="Q1")))
    status = h.out[-1]
    assert status.exec_type is ExecType.ORDER_STATUS and status.ord_status is OrdStatus.NEW
    h.engine.dispatch(ClientRequest(SESSION, "CLIENT1", "q", None,
                                    MassCancel(cl_ord_id="MC", request_type=MassCancelType.ALL)))
    report = [r for r in h.out if isinstance(r, MassCancelReportOut)][-1]
    assert set(report.affected) == {"P1", "P2"}
    assert h.engine.parents["P1"].status is OrdStatus.CANCELED and h.engine.parents["P2"].status is OrdStatus.CANCELED


def test_fill_on_a_done_order_is_an_invariant_violation(h):
    h.quote("XCBO", CALL, asks=[(5.00, 10)])
    h.new("F1", Side.BUY, 10, 5.00)
    h.settle(0.1)
    assert h.engine.parents["P1"].status is OrdStatus.FILLED
    before = len(h.out)
    h.engine.dispatch(ChildFilled("P1.1", "XCBO", "late-1", 1, 5.0, 0.44))
    assert len(h.out) == before, "no report may follow a fill on a done order"
    assert h.engine.parents["P1"].cum_qty == 10


def test_overfill_is_an_invariant_violation(h):
    h.new("F1", Side.BUY, 10, 4.00)
    h.quote("XCBO", CALL, asks=[(4.00, 4)])
    h.settle(0.1)
    h.engine.dispatch(ChildFilled("P1.1", "XCBO", "bogus", 50, 4.0, 0.44))
    assert h.engine.parents["P1"].cum_qty == 4


def test_same_events_give_the_same_reports():
    def run() -> list:
        h = Harness(background=True)
        h.settle(2)
        nbbo = h.engine.books.nbbo(CALL)
        h.new("A1", Side.BUY, 40, round(nbbo.ask + 0.10, 2))
        h.new("A2", Side.SELL, 300, 0.05, symbol=PUT, tif=TimeInForce.IOC)
        h.settle(5)
        return h.out
    assert run() == run()


def test_book_updates_wake_only_reachable_resting_orders(h):
    for i in range(200):
        h.new(f"R{i}", Side.BUY, 1, round(4.00 + 0.05 * (i % 10), 2))
    assert not h.engine.orders.children
    h.quote("XCBO", CALL, asks=[(4.40, 500)])
    touched = {c.parent_id for c in h.engine.orders.children.values()}
    reachable = {p.order_id for p in h.engine.parents.values() if p.price >= 4.40 - 1e-9}
    assert touched == reachable and len(touched) == 40          # limits 4.40 and 4.45


def test_trades_reach_the_tape_with_the_aggressor(h):
    h.quote("XCBO", CALL, asks=[(5.00, 10)])
    h.new("T1", Side.BUY, 4, 5.00)
    h.settle(0.1)
    last = h.engine.books.book(CALL).last_trade
    assert (last.venue, last.price, last.qty, last.aggressor) == ("XCBO", 5.00, 4, Side.BUY)
