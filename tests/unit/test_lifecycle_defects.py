"""Regression tests for order-lifecycle defects found by reproducing them on the simulated clock
(the working-orders issue, section 7, and the suspected ones it lists). Each test fails on the
engine before the fix."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from router.domain.enums import (BalanceHandling, CxlRejReason, ExecType, LimitType, OrdStatus, Side, TimeInForce)
from router.domain.events import CancelRejectReport, ExecReport, MassCancelReportOut
from router.server import restore_from_store
from router.store import Store
from tests.harness import CALL, Harness

TERMINAL = (OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED, OrdStatus.EXPIRED)


def order_reports(h: Harness, order_id: str = "P1") -> list:
    return [r for r in h.out if getattr(r, "order_id", None) == order_id]


def assert_terminal_is_final(h: Harness, order_id: str = "P1") -> None:
    seen = None
    for report in order_reports(h, order_id):
        if isinstance(report, ExecReport):
            assert report.cum_qty <= report.order_qty
            if seen is not None:
                assert report.ord_status is seen, f"{report} after {seen.name}"
            if report.ord_status in TERMINAL:
                seen = report.ord_status


def test_1_a_replace_racing_a_fill_never_leaves_cum_qty_above_order_qty():
    h = Harness()
    h.quote("XCBO", CALL, asks=[(5.00, 10)])
    h.new("A1", Side.BUY, 10, 5.00)
    h.replace("A2", "A1", qty=3)                  # at once: the IOC child for 10 is already on its way
    h.settle(0.1)
    replaced = [r for r in h.reports("A2") if r.exec_type is ExecType.REPLACED]
    assert replaced == [], "the child filled 10 before the size-down could take effect"
    final = [r for r in h.reports("A1") if r.ord_status is OrdStatus.FILLED][-1]
    assert final.cum_qty == 10 and final.order_qty == 10
    reject = [r for r in h.out if isinstance(r, CancelRejectReport) and r.cl_ord_id == "A2"]
    assert len(reject) == 1 and reject[0].reason == int(CxlRejReason.TOO_LATE_TO_CANCEL)
    assert reject[0].ord_status is OrdStatus.FILLED
    assert_terminal_is_final(h)


def test_2_a_filled_order_is_not_revived_by_a_pending_replace():
    h = Harness()
    h.quote("XCBO", CALL, asks=[(5.00, 10)])
    h.quote("XISX", CALL, asks=[(4.95, 10)], settle=False)
    h.new("A1", Side.BUY, 10, 5.00)
    # up to 20 but at 4.90: the in-flight child at 5.00 breaks the new terms, so the replace waits
    h.replace("A2", "A1", qty=20, price=4.90)
    h.settle(0.1)
    assert h.engine.orders.parents["P1"].status is OrdStatus.FILLED
    assert not [r for r in h.reports("A2") if r.exec_type is ExecType.REPLACED]
    assert sum(c.cum_qty for c in h.children("P1")) == 10
    assert_terminal_is_final(h)


def test_2b_a_quantity_up_replace_that_completes_first_is_a_plain_partial_fill():
    h = Harness()
    h.quote("XCBO", CALL, asks=[(5.00, 10)])
    h.new("A1", Side.BUY, 10, 5.00)
    h.replace("A2", "A1", qty=20)                  # nothing breaks the new terms: replaced at once
    h.settle(0.1)
    assert h.reports("A2")[0].exec_type is ExecType.REPLACED and h.reports("A2")[0].order_qty == 20
    last = h.reports("A2")[-1]
    assert last.cum_qty == 10 and last.ord_status is OrdStatus.PARTIALLY_FILLED and last.leaves_qty == 10
    assert_terminal_is_final(h)


def test_3_a_mass_cancel_includes_orders_with_a_replace_in_flight():
    h = Harness()
    h.quote("XCBO", CALL, bids=[(4.80, 10)], asks=[(5.20, 10)])
    h.new("V1", Side.BUY, 10, 4.50, limit_type=LimitType.PRC, balance_handling=BalanceHandling.POST_LIMIT)
    h.settle(0.05)
    h.replace("V2", "V1", qty=5)                    # size-down of the resting child: in flight
    assert h.engine.orders.parents["P1"].pending is not None
    h.mass_cancel("MC1")
    h.settle(0.1)
    report = [r for r in h.out if isinstance(r, MassCancelReportOut)][-1]
    assert report.affected == ("P1",)
    assert h.engine.orders.parents["P1"].status is OrdStatus.CANCELED
    assert [r for r in h.out if isinstance(r, CancelRejectReport) and r.cl_ord_id == "V2"]
    assert not [r for r in h.reports("V2") if r.exec_type is ExecType.REPLACED]


def test_5_a_market_order_is_priced_from_the_far_side_for_the_notional_limit():
    h = Harness()                                     # CLIENT1: max notional $1,000,000
    h.quote("XCBO", CALL, asks=[(24.00, 600)])
    h.new("M1", Side.BUY, 500, None, limit_type=LimitType.MARKET)       # 500 x 24 x 100 = $1.2M
    assert h.reports("M1")[-1].ord_status is OrdStatus.REJECTED and "notional" in h.reports("M1")[-1].text
    h.new("M2", Side.BUY, 500, None, order_prc_limit=24.00)             # priced only through 5106
    assert h.reports("M2")[-1].ord_status is OrdStatus.REJECTED and "notional" in h.reports("M2")[-1].text
    h.new("M3", Side.BUY, 400, None, limit_type=LimitType.MARKET)       # $960k: within the limit
    assert h.reports("M3")[0].ord_status is OrdStatus.NEW


def test_6_a_market_sell_counts_its_three_ticks_on_the_tick_ladder():
    h = Harness()
    h.quote("XCBO", CALL, bids=[(3.05, 5), (2.90, 50)])
    h.new("S1", Side.SELL, 10, None, limit_type=LimitType.MARKET, tif=TimeInForce.IOC)
    # 3.05 -> 3.00 (0.05 above $3) -> 2.99 -> 2.98 (0.01 below): not 15 penny ticks to 2.90
    assert [c.price for c in h.children("P1")] == [pytest.approx(2.98)]


def test_7_a_replace_re_arms_expiry_and_refuses_fok():
    h = Harness()
    h.new("G1", Side.BUY, 10, 4.00, tif=TimeInForce.GTC)
    h.replace("G2", "G1", tif=TimeInForce.FOK)
    reject = h.out[-1]
    assert isinstance(reject, CancelRejectReport) and "FOK" in reject.text
    h.replace("G3", "G1", tif=TimeInForce.DAY)
    assert h.reports("G3")[-1].exec_type is ExecType.REPLACED
    h.settle(7 * 3600)                                 # past the 16:00 New York close
    assert h.reports("G3")[-1].ord_status is OrdStatus.EXPIRED


def test_8_gtd_expire_time_is_honoured():
    h = Harness()
    h.new("T1", Side.BUY, 10, 4.00, tif=TimeInForce.GTD, expire_time=h.now() + timedelta(minutes=5))
    h.settle(299)
    assert h.reports("T1")[-1].ord_status is OrdStatus.NEW
    h.settle(2)
    assert h.reports("T1")[-1].ord_status is OrdStatus.EXPIRED


def test_9_an_order_with_a_price_offset_trades_at_its_effective_limit():
    h = Harness()
    h.quote("XCBO", CALL, asks=[(5.00, 10)])
    h.new("O1", Side.BUY, 10, 4.95, order_prc_offset=0.05)              # limit 4.95 + 0.05 = 5.00
    h.settle(0.1)
    assert h.reports("O1")[-1].ord_status is OrdStatus.FILLED


def test_10_fills_during_a_pending_cancel_carry_pending_cancel():
    h = Harness()
    h.quote("XCBO", CALL, asks=[(5.00, 10)])
    h.new("C1", Side.BUY, 20, 5.00)                    # an IOC child for 10 is in flight
    h.cancel("C2", "C1")
    h.settle(0.1)
    trades = [r for r in h.reports() if r.order_id == "P1" and r.exec_type is ExecType.TRADE]
    assert trades and all(r.ord_status is OrdStatus.PENDING_CANCEL for r in trades)
    assert h.reports("C2")[-1].ord_status is OrdStatus.CANCELED and h.reports("C2")[-1].cum_qty == 10


def test_a_cancel_in_the_staggered_send_window_holds_back_children_not_yet_sent():
    h = Harness()
    h.quote("XCBO", CALL, asks=[(5.00, 10)])           # XCBO is the slowest venue: sent first
    h.quote("BATO", CALL, asks=[(5.00, 10)])           # BATO is the fastest: held back to arrive together
    sent = []
    for name in ("XCBO", "BATO"):
        original = h.venues[name].submit
        h.venues[name].submit = lambda command, original=original: (sent.append(command), original(command))
    h.new("W1", Side.BUY, 20, 5.00)
    h.settle(0.00005)                                  # XCBO's child is out, BATO's waits its turn
    h.cancel("W2", "W1")
    h.settle(0.1)
    assert [c.venue for c in sent] == ["XCBO"]
    assert h.reports("W2")[-1].ord_status is OrdStatus.CANCELED and h.reports("W2")[-1].cum_qty == 10


def test_a_mass_cancel_cl_ord_id_cannot_be_reused_before_or_after_a_restart(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/router.db"
    store = Store(url)
    store.migrate()
    first = Harness(persistence=store)
    first.new("K1", Side.BUY, 10, 4.00)
    first.mass_cancel("MC9")
    first.new("MC9", Side.BUY, 10, 4.00)
    assert first.reports("MC9")[-1].ord_status is OrdStatus.REJECTED and "Duplicate" in first.reports("MC9")[-1].text
    store.close()
    store = Store(url)
    second = Harness(persistence=store, start=first.now())
    second.engine.restore(restore_from_store(store))
    second.new("MC9", Side.BUY, 10, 4.00)
    assert second.reports("MC9")[-1].ord_status is OrdStatus.REJECTED
    store.close()


def test_a_market_arrival_order_with_no_far_side_at_arrival_takes_the_first_it_sees():
    h = Harness()
    h.new("MA1", Side.BUY, 5, None, limit_type=LimitType.MARKET_ARRIVAL)
    h.settle(0.05)
    h.quote("XCBO", CALL, asks=[(5.00, 5)])
    h.settle(0.1)
    assert h.reports("MA1")[-1].ord_status is OrdStatus.FILLED


@pytest.mark.parametrize("tags,tag", [
    (dict(take_reach=1), "5104"),      # (5090 and 5056 are common modifiers now: test_order_modifiers.py)
    (dict(min_ubid=190.0), "5074"), (dict(take_surface_prc_offset=0.05), "5140"),
    (dict(num_make_exchanges=2), "5048"), (dict(max_exposure_size=10), "5046"),
])
def test_a_tag_the_sweep_does_not_read_is_rejected_by_name(tags, tag):
    h = Harness()
    h.new("X1", Side.BUY, 5, 4.00, **tags)
    report = h.reports("X1")[-1]
    assert report.ord_status is OrdStatus.REJECTED and tag in report.text and "sweep" in report.text


def test_an_unsupported_hedge_mode_is_rejected_by_name():
    h = Harness()
    h.new("X1", Side.BUY, 5, 4.00, auto_hedge="D", alt_auto_hedge_id="H1")
    report = h.reports("X1")[-1]
    assert report.ord_status is OrdStatus.REJECTED and "5152" in report.text and "SPDR_DAY" in report.text


def test_the_hedge_cl_ord_id_must_name_nothing_else_on_the_session():
    h = Harness()
    hedge = dict(auto_hedge="X")
    h.new("A1", Side.BUY, 5, 4.00, alt_auto_hedge_id="A1", **hedge)               # its own ClOrdID
    assert h.reports("A1")[-1].ord_status is OrdStatus.REJECTED and "5010" in h.reports("A1")[-1].text
    h.new("B1", Side.BUY, 5, 4.00, alt_auto_hedge_id="HEDGE1", **hedge)
    assert h.reports("B1")[-1].ord_status is OrdStatus.NEW
    h.new("B2", Side.BUY, 5, 4.00, alt_auto_hedge_id="HEDGE1", **hedge)          # reused across parents
    assert h.reports("B2")[-1].ord_status is OrdStatus.REJECTED
    h.new("B3", Side.BUY, 5, 4.00, alt_auto_hedge_id="B1", **hedge)              # an earlier order's ClOrdID
    assert h.reports("B3")[-1].ord_status is OrdStatus.REJECTED
    h.new("HEDGE1", Side.BUY, 5, 4.00)                                            # and the reverse
    assert h.reports("HEDGE1")[-1].ord_status is OrdStatus.REJECTED


def test_a_cancel_of_a_done_order_still_hedging_says_so_consistently():
    h = Harness()
    h.requote("XNAS", "AAPL", bids=[(199.99, 50_000)], asks=[(200.01, 50_000)], owner="smm")
    h.quote("XCBO", CALL, asks=[(5.20, 10)])
    h.new("H1", Side.BUY, 10, 5.20, auto_hedge="1", alt_auto_hedge_id="HEDGE1", order_ref_delta=0.55)
    h.settle(0.1)
    h.cancel("H2", "H1")
    reject = h.out[-1]
    assert isinstance(reject, CancelRejectReport) and reject.ord_status is OrdStatus.PARTIALLY_FILLED
    assert "auto-hedge is still working" in reject.text
    h.settle(15)
    assert h.reports("H1")[-1].ord_status is OrdStatus.FILLED


def test_a_mass_canceled_order_keeps_its_own_cl_ord_id_and_a_late_cancel_is_too_late():
    h = Harness()
    h.new("B1", Side.BUY, 5, 4.60)
    h.mass_cancel("M2")
    canceled = [r for r in h.reports("M2") if r.exec_type is ExecType.CANCELED]
    assert canceled and canceled[0].orig_cl_ord_id == "B1"
    h.cancel("C1", "B1")
    reject = h.out[-1]
    assert isinstance(reject, CancelRejectReport) and reject.reason == int(CxlRejReason.TOO_LATE_TO_CANCEL)
    h.cancel("C2", "M2")
    reject = h.out[-1]
    assert isinstance(reject, CancelRejectReport) and reject.reason == int(CxlRejReason.TOO_LATE_TO_CANCEL)


def test_sizes_the_volatility_algo_does_not_apply_are_rejected_by_name():
    h = Harness()
    h.new("V1", Side.BUY, 10, 4.00, limit_type=LimitType.PRC_DE, balance_handling=BalanceHandling.POST_LIMIT,
          max_exposure_size=5)          # (ActiveOrderSize 5044 bounds every algo now: test_order_modifiers.py)
    report = h.reports("V1")[-1]
    assert report.ord_status is OrdStatus.REJECTED and "5046" in report.text and "volatility" in report.text
