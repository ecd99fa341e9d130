"""Races between the router and a venue: a fill that arrives before (or without) its child's
acknowledgement, and a child cancel that meets a fill on the way."""
from __future__ import annotations

from router.domain.enums import BalanceHandling, ExecType, LimitType, OrdStatus, Side
from router.domain.events import ChildAccepted
from router.domain.orders import ChildStatus
from tests.harness import CALL, Harness


def test_a_fill_that_comes_without_its_acknowledgement_is_booked(monkeypatch):
    """Venues send an immediate execution as a fill report alone (no New first), and an ack can
    be lost: the router books the fill of a child still PendingNew, and a late ack changes
    nothing."""
    h = Harness()
    venue = h.venues["XCBO"]
    held: list = []
    original = venue._reply

    def no_acks(report):
        if isinstance(report, ChildAccepted):
            held.append(report)
        else:
            original(report)
    monkeypatch.setattr(venue, "_reply", no_acks)
    h.quote("XCBO", CALL, asks=[(5.00, 10)])
    h.new("A1", Side.BUY, 10, 5.00)
    child = h.children("P1")[0]
    assert child.status is ChildStatus.PENDING_NEW
    h.settle(0.1)
    assert held, "the venue did accept it"
    assert child.status is ChildStatus.FILLED and child.cum_qty == 10
    assert h.engine.parents["P1"].status is OrdStatus.FILLED
    h.engine.dispatch(held[0])                      # the ack, late: nothing moves back
    h.settle(0.1)
    assert child.status is ChildStatus.FILLED
    assert [r.exec_type for r in h.reports("A1")][-1] is ExecType.TRADE


def test_a_fill_that_lands_with_its_acknowledgement_in_one_batch():
    """The venue accepts a resting child and a taker hits it before the ack reaches the router."""
    h = Harness()
    h.quote("XNAS", "AAPL", bids=[(199.99, 50_000)], asks=[(200.01, 50_000)], owner="smm")
    h.quote("XCBO", CALL, bids=[(4.80, 10)], asks=[(5.20, 10)])
    h.new("V1", Side.BUY, 10, 4.90, limit_type=LimitType.PRC_DE, balance_handling=BalanceHandling.POST_LIMIT,
          order_ref_delta=0.5, order_ref_gamma=0.0)
    posted = [c for c in h.children("P1") if c.is_open]
    assert posted and posted[0].status is ChildStatus.PENDING_NEW
    venue = h.venues[posted[0].venue]
    arrival = venue.latency_ns + 1                  # just after the child rests there, before the ack is back
    h.clock.call_later(arrival, lambda: venue.place("taker", "T1", CALL, Side.SELL, 10, posted[0].price, ioc=True))
    h.settle(0.1)
    child = h.engine.orders.children[posted[0].child_id]
    assert child.cum_qty == 10 and child.status is ChildStatus.FILLED
    assert h.engine.parents["P1"].cum_qty == 10
