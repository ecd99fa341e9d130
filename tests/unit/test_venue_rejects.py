"""Orders a venue must refuse: each gets a ChildRejected (or ChildReplaceRejected) naming the rule,
before it touches the book; and on the whole engine the refusal reaches the parent's algo and
nothing is left waiting in PendingNew."""
from __future__ import annotations

import pytest

from router.clock import SimClock
from router.domain.enums import OrdStatus, Side, TimeInForce
from router.domain.events import ChildAccepted, ChildRejected, ChildReplaceRejected, ReplaceChild, SubmitChild
from router.domain.instruments import PENNY_PILOT
from router.domain.orders import ChildStatus
from tests.harness import CALL, Harness
from venues.fees import FeeSchedule, VenueFees
from venues.sim.venue import SimVenue

BUY, SELL = Side.BUY, Side.SELL
DAY, FOK = TimeInForce.DAY, TimeInForce.FOK


@pytest.fixture
def venue():
    clock = SimClock(1_000_000_000)
    reports: list = []
    v = SimVenue("OPT", clock, FeeSchedule([VenueFees("OPT", 0.50, -0.25)]), 100_000, 100_000, reports.append,
                 lambda _: None, symbols=(CALL,), tick_rules={CALL: PENNY_PILOT}, max_order_qty=500)
    v.place("mm", "m1", CALL, SELL, 10, 3.10)

    def send(child_id, qty, price, tif=DAY, symbol=CALL, post_only=False):
        v.submit(SubmitChild(child_id, "OPT", symbol, BUY, qty, price, tif, post_only))
        clock.advance(1_000_000)
        return [r for r in reports if r.child_id == child_id]
    v.send, v.reports, v.clock = send, reports, clock
    return v


@pytest.mark.parametrize("price", [3.02, 2.995])
def test_a_price_off_the_instruments_tick_grid_is_rejected(venue, price):
    # penny-pilot: 0.01 below 3.00, 0.05 at and above (3.02 is between 3.00 and 3.05)
    [report] = venue.send("C1", 5, price)
    assert isinstance(report, ChildRejected) and "off the tick grid" in report.reason and f"{price:g}" in report.reason


def test_on_the_grid_either_side_of_the_threshold_is_accepted(venue):
    assert isinstance(venue.send("C1", 5, 2.99)[0], ChildAccepted)
    assert isinstance(venue.send("C2", 5, 3.05)[0], ChildAccepted)


def test_a_quantity_above_the_venues_maximum_is_rejected(venue):
    [report] = venue.send("C1", 501, 2.00)
    assert isinstance(report, ChildRejected) and "above OPT's maximum order size 500" in report.reason
    assert isinstance(venue.send("C2", 500, 2.00)[0], ChildAccepted)


def test_an_unknown_instrument_is_rejected(venue):
    [report] = venue.send("C1", 5, 2.00, symbol="MSFT  261218C00100000")
    assert isinstance(report, ChildRejected) and "not listed on OPT" in report.reason


def test_post_only_that_would_cross_is_rejected(venue):
    [report] = venue.send("C1", 5, 3.10, post_only=True)
    assert isinstance(report, ChildRejected) and "post-only" in report.reason


def test_fok_that_cannot_fill_in_full_ends_without_a_fill(venue):
    reports = venue.send("C1", 11, 3.10, tif=FOK)
    assert [type(r).__name__ for r in reports] == ["ChildAccepted", "ChildCanceled"]
    assert "FOK" in reports[-1].reason
    assert venue.book(CALL).resting(SELL)[0].leaves == 10, "an FOK that cannot fill takes nothing"


def test_a_replace_off_the_grid_or_too_big_is_refused_and_the_child_keeps_working(venue):
    venue.send("C1", 5, 2.00)
    for qty, price, reason in [(5, 3.03, "off the tick grid"), (900, 2.00, "maximum order size")]:
        venue.replace(ReplaceChild("C1", "OPT", qty, price, revision=1))
        venue.clock.advance(1_000_000)
        refused = [r for r in venue.reports if isinstance(r, ChildReplaceRejected)][-1]
        assert reason in refused.reason
    assert [o.order_id for o in venue.book(CALL).resting(BUY)] == ["C1"]


def test_on_the_engine_a_refused_child_reaches_the_algo_backs_off_and_ends_the_parent_with_the_reason():
    h = Harness()
    h.venues["XCBO"].max_order_qty = 5
    h.quote("XCBO", CALL, bids=[(4.80, 50)], asks=[(5.20, 50)])
    h.new("S1", BUY, 10, 5.20, exchanges=("XCBO",))
    h.settle(0.01)
    [first] = h.children("P1")
    assert first.status is ChildStatus.REJECTED
    h.settle(0.04)                                   # inside the 50 ms back-off: nothing resent
    assert len(h.children("P1")) == 1
    h.settle(0.02)                                   # the back-off ran out: the algo plans again
    assert len(h.children("P1")) == 2
    h.settle(10.0)
    children = h.children("P1")
    assert len(children) == 6, "back-off doubling, then the parent ends: no reject storm"
    assert all(c.status is ChildStatus.REJECTED for c in children), "nothing left in PendingNew"
    done = h.last("S1")
    assert done.ord_status is OrdStatus.CANCELED
    assert done.text == "venues refused 6 children in a row; last XCBO: qty 10 is above XCBO's maximum order size 5"


def test_an_accept_forgives_a_venue_and_a_refusing_venue_is_routed_around():
    h = Harness()
    h.venues["XCBO"].max_order_qty = 5
    h.quote("XCBO", CALL, bids=[(4.80, 50)], asks=[(5.20, 50)])
    h.quote("XISX", CALL, bids=[(4.80, 50)], asks=[(5.20, 50)])
    h.new("S1", BUY, 10, 5.20, exchanges=("XCBO", "XISX"))
    h.settle(1.0)
    # XCBO is the cheapest for a customer (no fee) and refuses; the next plan leaves it out
    assert [(c.venue, c.status) for c in h.children("P1")] == [("XCBO", ChildStatus.REJECTED),
                                                               ("XISX", ChildStatus.FILLED)]
    assert h.last("S1").ord_status is OrdStatus.FILLED
