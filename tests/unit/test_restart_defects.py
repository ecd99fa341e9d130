"""Restart defects of issue 7, one regression test each: the router restarted from its store
must remember the whole trading day, not only what was still working."""
from __future__ import annotations

from datetime import timedelta

import pytest

from router.domain.enums import CxlRejReason, ExecType, OrdStatus, Side
from router.domain.events import CancelRejectReport, ChildFilled, ExecReport
from router.server import restore_from_store
from router.store.store import Store
from tests.harness import CALL, START, Harness


def open_store(tmp_path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'router.db'}")
    store.migrate()
    return store


def restarted(tmp_path, first: Harness, store: Store, *, at=None, before_restore=None) -> tuple[Harness, Store]:
    store.close()
    store = open_store(tmp_path)
    second = Harness(persistence=store, start=at or first.now())
    if before_restore is not None:
        before_restore(second)
    second.engine.restore(restore_from_store(store))
    return second, store


def filled_then_restarted(tmp_path):
    store = open_store(tmp_path)
    first = Harness(persistence=store)
    first.quote("XCBO", CALL, asks=[(5.00, 4), (5.10, 6)])
    first.new("A1", Side.BUY, 10, 5.10)
    first.settle(0.1)
    assert first.reports("A1")[-1].ord_status is OrdStatus.FILLED
    return restarted(tmp_path, first, store)


def test_status_of_an_order_filled_before_the_restart(tmp_path):
    second, _ = filled_then_restarted(tmp_path)
    second.status("A1")
    answer = second.reports("A1")[-1]
    assert answer.exec_type is ExecType.ORDER_STATUS
    assert (answer.ord_status, answer.cum_qty, answer.leaves_qty) == (OrdStatus.FILLED, 10, 0)
    assert answer.avg_px == pytest.approx((4 * 5.00 + 6 * 5.10) / 10)
    assert answer.order_id == "P1" and answer.symbol == CALL


def test_status_by_order_id_and_of_a_canceled_order_after_restart(tmp_path):
    store = open_store(tmp_path)
    first = Harness(persistence=store)
    first.new("A1", Side.BUY, 10, 4.00)
    first.cancel("A2", "A1")
    first.settle(0.1)
    assert first.reports("A2")[-1].ord_status is OrdStatus.CANCELED
    second, _ = restarted(tmp_path, first, store)
    second.status(order_id="P1")
    answer = second.last()
    assert isinstance(answer, ExecReport) and answer.ord_status is OrdStatus.CANCELED
    assert (answer.cum_qty, answer.leaves_qty) == (0, 0)


def test_cancel_of_an_order_filled_before_the_restart_is_too_late(tmp_path):
    second, _ = filled_then_restarted(tmp_path)
    second.cancel("A2", "A1")
    reject = second.last()
    assert isinstance(reject, CancelRejectReport)
    assert reject.reason == CxlRejReason.TOO_LATE_TO_CANCEL and reject.ord_status is OrdStatus.FILLED
    assert reject.order_id == "P1"


def test_fills_after_a_restart_are_all_stored(tmp_path):
    """The restarted venue starts its own counters again: the store must keep every fill."""
    second, store = filled_then_restarted(tmp_path)
    second.quote("XCBO", CALL, asks=[(5.00, 10)])
    second.new("B1", Side.BUY, 10, 5.00)
    second.settle(0.1)
    assert second.reports("B1")[-1].ord_status is OrdStatus.FILLED
    assert sum(f.qty for f in store.fills("P1")) == 10
    assert sum(f.qty for f in store.fills("P2")) == 10


def test_a_duplicate_fill_is_journaled_and_counted_once(tmp_path):
    store = open_store(tmp_path)
    h = Harness(persistence=store)
    h.quote("XCBO", CALL, asks=[(5.00, 4)])
    h.new("A1", Side.BUY, 10, 5.00)
    h.settle(0.1)
    child = h.children("P1")[0]
    fill = store.fills("P1")[0]
    h.engine.dispatch(ChildFilled(child.child_id, fill.venue, fill.exec_id, fill.qty, fill.price, fill.fee,
                                  fill.liquidity))
    parent = h.engine.parents["P1"]
    assert parent.cum_qty == 4 and len(store.fills("P1")) == 1
    assert [r.cum_qty for r in h.reports("A1") if r.exec_type is ExecType.TRADE] == [4]
    duplicates = [e for e in store.iter_journal() if e.kind == "duplicate_fill"]
    assert len(duplicates) == 1 and fill.exec_id in duplicates[0].payload


def test_same_exec_id_on_two_venues_is_two_fills(tmp_path):
    store = open_store(tmp_path)
    h = Harness(persistence=store)
    h.quote("XCBO", CALL, asks=[(5.00, 4)])
    h.quote("ARCO", CALL, asks=[(5.00, 6)])
    h.new("A1", Side.BUY, 10, 5.00)
    h.settle(0.1)
    fills = store.fills("P1")
    assert sum(f.qty for f in fills) == 10
    # the same execution id from a different venue is a different execution
    first, second = sorted(fills, key=lambda f: f.venue)
    assert first.venue != second.venue


def test_day_order_restored_next_morning_expires_before_it_can_trade(tmp_path):
    store = open_store(tmp_path)
    first = Harness(persistence=store)
    first.new("A1", Side.BUY, 10, 5.00)            # nothing to buy: it rests as a Day order
    first.settle(0.1)
    assert first.reports("A1")[-1].ord_status is OrdStatus.NEW
    morning = START + timedelta(days=1)

    def offer_at_the_limit(h: Harness) -> None:     # the market opens with an offer at the limit
        h.quote("XCBO", CALL, asks=[(5.00, 10)])

    second, store = restarted(tmp_path, first, store, at=morning, before_restore=offer_at_the_limit)
    second.settle(0.1)
    final = second.engine.parents["P1"]
    assert final.status is OrdStatus.EXPIRED and final.cum_qty == 0
    assert not [c for c in second.children("P1") if c.sent_ns >= int(morning.timestamp() * 1e9)]
    assert second.reports("A1")[-1].exec_type is ExecType.EXPIRED


class Killed(BaseException):
    """The process dies: nothing after this point runs."""


class DiesAfterCommit:
    """The store, with a power cut armed between a batch's commit and its send."""

    def __init__(self, store: Store) -> None:
        self.store, self.armed = store, False

    def commit_batch(self, *args, **kwargs) -> None:
        self.store.commit_batch(*args, **kwargs)
        if self.armed:
            raise Killed


def test_reports_committed_but_never_sent_are_sent_again_after_the_restart(tmp_path):
    from router.domain.events import ResentReport
    store = open_store(tmp_path)
    dying = DiesAfterCommit(store)
    first = Harness(persistence=dying)
    first.quote("XCBO", CALL, asks=[(5.00, 10)])
    dying.armed = True
    with pytest.raises(Killed):
        first.new("A1", Side.BUY, 10, 5.00)          # stored, acknowledged to nobody
    assert not first.reports("A1")

    second, store = restarted(tmp_path, first, store,
                              before_restore=lambda h: h.quote("XCBO", CALL, asks=[(5.00, 10)]))
    resent = [r.report for r in second.out if isinstance(r, ResentReport)]
    assert [(r.cl_ord_id, r.exec_type) for r in resent] == [("A1", ExecType.NEW)]
    second.settle(0.1)                                # the order goes on: its child was never sent
    assert second.engine.parents["P1"].status is OrdStatus.FILLED

    second.engine.work.flush()                        # a clean stop's last flush records the send
    third, _ = restarted(tmp_path, second, store)     # once out, never again
    assert not [r for r in third.out if isinstance(r, ResentReport)]


def test_tied_day_order_restored_next_morning_expires_before_its_algo_resumes(tmp_path):
    """The volatility algo resumes by posting at once: it must never see an expired order."""
    from router.domain.enums import BalanceHandling, LimitType
    store = open_store(tmp_path)
    first = Harness(persistence=store)
    first.quote("XNAS", "AAPL", bids=[(199.99, 50_000)], asks=[(200.01, 50_000)], owner="smm")
    first.quote("XCBO", CALL, bids=[(4.80, 10)], asks=[(5.20, 10)])
    first.new("V1", Side.BUY, 10, 4.00, limit_type=LimitType.PRC_DE, balance_handling=BalanceHandling.POST_LIMIT,
              order_ref_delta=0.5, order_ref_gamma=0.0)
    first.settle(0.1)
    assert [c for c in first.children("P1") if c.is_open], "it rests a child"
    morning = START + timedelta(days=1)

    def market(h: Harness) -> None:
        h.quote("XNAS", "AAPL", bids=[(199.99, 50_000)], asks=[(200.01, 50_000)], owner="smm")
        h.quote("XCBO", CALL, bids=[(4.80, 10)], asks=[(3.90, 10)])     # an offer through the limit

    second, _ = restarted(tmp_path, first, store, at=morning, before_restore=market)
    second.settle(0.1)
    assert second.engine.parents["P1"].status is OrdStatus.EXPIRED
    assert not [c for c in second.children("P1") if c.sent_ns >= int(morning.timestamp() * 1e9)]
    assert second.engine.parents["P1"].cum_qty == 0
