"""The common order modifiers on the whole engine and simulated venues, on the simulated clock:
StartType (Staged, WaitTrigger), TwapSliceCount, ActiveOrderSize, MaxChildOrders, CanCxlOverlap,
AltRouteCode, Strategy and OrderRefMetric1-4 — for the sweep, the volatility algo and any other."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from algos import registry
from algos.base import Algo
from router.clock import NANOS_PER_SECOND
from router.domain.commands import ClientRequest, ReplaceOrder
from router.domain.enums import BalanceHandling, ChildRole, ExecType, LimitType, OrdStatus, Side, StartType, TimeInForce
from router.domain.events import ExecReport, SubmitChild
from router.domain.orders import ChildStatus
from router.fix.codec import encode
from router.server import restore_from_store
from router.store import Store
from tests.harness import CALL, SESSION, Harness

UNDERLIER = "AAPL"

def replace_start(h: Harness, cl_ord_id: str, orig: str, start: StartType | None, **terms) -> None:
    h.engine.dispatch(ClientRequest(SESSION, "CLIENT1", "G", None, ReplaceOrder(
        cl_ord_id=cl_ord_id, orig_cl_ord_id=orig, start_type=start, transact_time=h.now(), **terms)))


def spy_submits(h: Harness) -> list[tuple[int, SubmitChild]]:
    """(clock time, command) of every child submitted to a venue."""
    seen: list[tuple[int, SubmitChild]] = []
    for venue in h.venues.values():
        original = venue.submit

        def spy(command, original=original):
            seen.append((h.clock.now_ns(), command))
            original(command)
        venue.submit = spy
    return seen


def work(h: Harness, order_id: str = "P1"):
    return [c for c in h.children(order_id) if c.role is ChildRole.WORK]


def open_work(h: Harness, order_id: str = "P1"):
    return [c for c in work(h, order_id) if c.is_open]


def underlier_at(h: Harness, mid: float) -> None:
    h.requote("XNAS", UNDERLIER, bids=[(round(mid - 0.01, 2), 50_000)], asks=[(round(mid + 0.01, 2), 50_000)],
              owner="smm")


def tied_buy(h: Harness, cl: str = "V1", qty: int = 10, limit: float = 4.00, **tags) -> None:
    params = dict(limit_type=LimitType.PRC_DE, balance_handling=BalanceHandling.POST_LIMIT, order_ref_delta=0.5,
                  order_ref_gamma=0.0)
    params.update(tags)
    h.new(cl, Side.BUY, qty, limit, **params)


def hit(h: Harness, child, qty: int) -> None:
    """A taker sells ``qty`` into a resting child at its price."""
    h.venues[child.venue].place("taker", f"T{child.child_id}-{qty}", child.symbol, Side.SELL, qty, child.price,
                                ioc=True)
    h.settle(0.05)


# ---------------------------------------------------------------------------------------- StartType 5090

def test_a_staged_order_does_nothing_until_a_replace_sets_5090_to_immediate():
    h = Harness()
    h.quote("XCBO", CALL, asks=[(5.00, 50)])
    h.new("S1", Side.BUY, 10, 5.00, start_type=StartType.STAGED)
    h.settle(1.0)
    [new] = h.reports("S1")
    assert new.exec_type is ExecType.NEW and "staged" in new.text
    assert h.children("P1") == []
    h.replace("S2", "S1", qty=20)                    # other replaces only change its terms
    h.settle(1.0)
    assert h.last("S2").exec_type is ExecType.REPLACED and h.engine.parents["P1"].qty == 20
    assert h.children("P1") == []
    replace_start(h, "S3", "S2", StartType.IMMEDIATE)
    h.settle(0.1)
    assert h.last("S3").exec_type is ExecType.TRADE
    assert h.engine.parents["P1"].cum_qty == 20 and h.engine.parents["P1"].status is OrdStatus.FILLED


def test_a_started_order_cannot_be_staged_by_a_replace():
    h = Harness()
    h.quote("XCBO", CALL, bids=[(4.80, 10)], asks=[(5.20, 10)])
    h.new("S1", Side.BUY, 10, 5.00)
    replace_start(h, "S2", "S1", StartType.STAGED)
    reject = h.last("S2")
    assert not isinstance(reject, ExecReport) and "5090" in reject.text


def test_a_staged_order_stays_staged_across_a_restart_then_is_released(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/router.db"
    store = Store(url)
    store.migrate()
    first = Harness(persistence=store)
    first.new("S1", Side.BUY, 10, 5.00, start_type=StartType.STAGED)
    first.settle(0.1)
    store.close()

    store = Store(url)
    second = Harness(persistence=store, start=first.now())
    second.quote("XCBO", CALL, asks=[(5.00, 50)])
    second.engine.restore(restore_from_store(store))
    second.settle(1.0)
    assert second.children("P1") == []               # liquidity at its limit, and still nothing
    replace_start(second, "S2", "S1", StartType.IMMEDIATE)
    second.settle(0.1)
    assert second.engine.parents["P1"].cum_qty == 10
    store.close()


def test_a_released_order_is_not_held_again_after_a_restart(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/router.db"
    store = Store(url)
    store.migrate()
    first = Harness(persistence=store)
    first.quote("XCBO", CALL, bids=[(4.80, 10)], asks=[(5.20, 10)])
    first.new("S1", Side.BUY, 10, 5.00, start_type=StartType.STAGED)
    replace_start(first, "S2", "S1", StartType.IMMEDIATE)
    first.settle(0.1)
    store.close()

    store = Store(url)
    second = Harness(persistence=store, start=first.now())
    second.engine.restore(restore_from_store(store))
    assert "P1" not in second.engine.runtime.held_back
    second.quote("XCBO", CALL, asks=[(5.00, 10)])    # the resumed sweep takes what comes to its limit
    second.settle(0.1)
    assert second.engine.parents["P1"].cum_qty == 10
    store.close()


def test_a_staged_order_is_canceled_like_any_other():
    h = Harness()
    h.new("S1", Side.BUY, 10, 5.00, start_type=StartType.STAGED)
    h.cancel("S2", "S1")
    assert h.last("S2").exec_type is ExecType.CANCELED
    assert "P1" not in h.engine.runtime.held_back


def test_a_replace_that_brings_a_wait_trigger_limit_to_the_market_starts_it():
    h = Harness()
    underlier_at(h, 200.0)
    h.quote("XCBO", CALL, bids=[(3.80, 10)], asks=[(4.20, 10)])
    tied_buy(h, "W1", start_type=StartType.WAIT_TRIGGER)   # the volatility algo posts as soon as it starts
    h.replace("W2", "W1", price=4.10)                # still short of the offer: waits at the new limit
    h.settle(0.1)
    assert h.last("W2").exec_type is ExecType.REPLACED and work(h) == []
    h.replace("W3", "W2", price=4.20)
    h.settle(0.1)
    assert work(h)


def test_a_wait_trigger_order_still_waits_after_a_restart(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/router.db"
    store = Store(url)
    store.migrate()
    first = Harness(persistence=store)
    underlier_at(first, 200.0)
    first.quote("XCBO", CALL, bids=[(3.80, 10)], asks=[(4.20, 10)])
    tied_buy(first, "W1", start_type=StartType.WAIT_TRIGGER)
    first.settle(0.1)
    store.close()

    store = Store(url)
    second = Harness(persistence=store, start=first.now())
    second.engine.restore(restore_from_store(store))
    underlier_at(second, 200.0)
    second.quote("XCBO", CALL, bids=[(3.80, 10)], asks=[(4.20, 10)])
    second.settle(1.0)
    assert work(second) == []
    second.quote("XISX", CALL, asks=[(4.00, 10)])
    second.settle(0.1)
    assert work(second)
    store.close()


def test_a_wait_trigger_order_waits_for_its_limit_then_works():
    h = Harness()
    h.quote("XCBO", CALL, bids=[(4.80, 10)], asks=[(5.20, 10)])
    submits = spy_submits(h)
    h.new("W1", Side.BUY, 10, 5.00, start_type=StartType.WAIT_TRIGGER)
    h.settle(1.0)
    assert submits == [] and "trigger" in h.reports("W1")[0].text
    h.quote("XISX", CALL, asks=[(5.10, 10)])          # nearer, not there yet
    h.settle(1.0)
    assert submits == []
    triggered_ns = h.clock.now_ns()
    h.quote("ARCO", CALL, asks=[(5.00, 10)])          # the far side reaches the limit: the algo starts
    h.settle(0.1)
    assert [c.venue for _, c in submits] == ["ARCO"] and submits[0][0] > triggered_ns
    assert h.engine.parents["P1"].cum_qty == 10


def test_a_tied_wait_trigger_order_waits_for_its_static_price():
    h = Harness()
    underlier_at(h, 200.0)
    h.quote("XCBO", CALL, bids=[(3.80, 10)], asks=[(4.20, 10)])
    tied_buy(h, start_type=StartType.WAIT_TRIGGER)    # static price 4.00: it would post at once otherwise
    h.settle(1.0)
    assert work(h) == []
    h.requote("XCBO", CALL, bids=[(3.80, 10)], asks=[(4.00, 10)])
    h.settle(0.1)
    assert work(h), "the volatility algo started once the offer reached 4.00"


def test_a_market_order_with_wait_trigger_starts_at_once():
    h = Harness()
    h.quote("XCBO", CALL, bids=[(4.80, 10)], asks=[(5.20, 10)])
    h.new("W1", Side.BUY, 5, None, start_type=StartType.WAIT_TRIGGER)
    h.settle(0.1)
    assert h.engine.parents["P1"].cum_qty == 5


# ---------------------------------------------------------------------------------------- TwapSliceCount 5056

def test_a_twap_with_5_slices_sends_at_the_right_times():
    h = Harness()
    h.quote("XCBO", CALL, asks=[(5.00, 500)])
    submits = spy_submits(h)
    start = h.clock.now_ns()
    h.new("T1", Side.BUY, 50, 5.00, slice_count=5, order_duration_s=100)
    h.settle(120.0)
    sent = [(round((at - start) / NANOS_PER_SECOND, 3), c.qty) for at, c in submits]
    assert sent == [(0.0, 10), (20.0, 10), (40.0, 10), (60.0, 10), (80.0, 10)]
    assert h.engine.parents["P1"].status is OrdStatus.FILLED


def test_a_twap_volatility_order_never_works_more_than_released():
    h = Harness()
    underlier_at(h, 200.0)
    h.quote("XCBO", CALL, bids=[(3.80, 10)], asks=[(4.20, 10)])
    start = h.clock.now_ns()
    tied_buy(h, qty=30, slice_count=3, order_duration_s=60)
    h.settle(0.1)
    [child] = open_work(h)
    assert child.qty == 10
    h.settle(20.0)                                    # slice 2 released at 20 s: the child grows to 20
    assert [c.qty for c in open_work(h)] == [20]
    hit(h, open_work(h)[0], 20)
    assert open_work(h) == []                         # filled 20 of 20 released: nothing more yet
    h.clock.advance(start + 40 * NANOS_PER_SECOND - h.clock.now_ns())
    h.settle(0.1)
    assert [c.qty for c in open_work(h)] == [10]


def test_a_twap_without_a_duration_is_rejected_naming_5056_and_5086():
    h = Harness()
    h.new("T1", Side.BUY, 50, 5.00, tif=TimeInForce.GTC, slice_count=5)
    reject = h.last("T1")
    assert reject.exec_type is ExecType.REJECTED and "5056" in reject.text and "5086" in reject.text
    h.new("T2", Side.BUY, 50, 5.00, tif=TimeInForce.IOC, slice_count=5)
    reject = h.last("T2")
    assert reject.exec_type is ExecType.REJECTED and "5056" in reject.text and "IOC" in reject.text
    assert h.engine.parents == {}


def test_a_day_twap_spreads_over_the_session_left():
    h = Harness()                                     # 15:00 UTC = 10:00 New York: 6 hours to the close
    h.quote("XCBO", CALL, asks=[(5.00, 500)])
    submits = spy_submits(h)
    start = h.clock.now_ns()
    h.new("T1", Side.BUY, 20, 5.00, slice_count=2)
    h.settle(3 * 3600.0 + 1)
    assert [(round((at - start) / NANOS_PER_SECOND), c.qty) for at, c in submits] == [(0, 10), (3 * 3600, 10)]


# ---------------------------------------------------------------------------------------- 5044 and 5080

def test_active_order_size_bounds_the_volatility_algo():
    h = Harness()
    underlier_at(h, 200.0)
    h.quote("XCBO", CALL, bids=[(3.80, 10)], asks=[(4.20, 10)])
    tied_buy(h, qty=10, active_size=4)
    h.settle(0.1)
    [child] = open_work(h)
    assert child.qty == 4
    hit(h, child, 2)
    h.settle(1.0)
    underlier_at(h, 200.2)                            # a reprice wants the whole balance (8): 4 at most
    h.settle(0.1)
    [child] = open_work(h)
    assert child.price == pytest.approx(4.10) and (child.qty, child.cum_qty) == (6, 2)
    hit(h, child, 4)                                  # filled: the next child is for 4 again
    assert [c.qty for c in open_work(h)] == [4]
    assert h.engine.parents["P1"].cum_qty == 6


def test_max_child_orders_bounds_the_volatility_algo():
    h = Harness()
    underlier_at(h, 200.0)
    h.quote("XCBO", CALL, bids=[(3.80, 10)], asks=[(4.20, 10)])
    tied_buy(h, qty=10, active_size=5, max_child_orders=1)
    h.settle(0.1)
    [child] = open_work(h)
    hit(h, child, 5)                                  # filled: the balance would need a second child
    assert len(work(h)) == 1
    parent = h.engine.parents["P1"]
    assert parent.status is OrdStatus.CANCELED and parent.cum_qty == 5
    assert "MaxChildOrders (5080)" in h.last("V1").text


# ---------------------------------------------------------------------------------------- CanCxlOverlap 5052

class Scripted(Algo):
    """Does nothing by itself; the test acts through its context and reads what woke it."""
    name = "scripted"
    last: "Scripted" = None

    def __init__(self, ctx, settings=None) -> None:
        super().__init__(ctx, settings)
        self.heard: list[str] = []
        Scripted.last = self

    def start(self) -> None:
        pass

    def on_market(self, symbol):
        self.heard.append(symbol)


def late_cancels(h: Harness, venue: str, delay_s: float) -> None:
    """The venue takes ``delay_s`` longer to act on (and so to confirm) a cancel."""
    original = h.venues[venue].cancel
    h.venues[venue].cancel = lambda command: h.clock.call_later(int(delay_s * NANOS_PER_SECOND),
                                                                lambda: original(command))


def do(h: Harness, action):
    result = []
    h.engine.dispatch(lambda: result.append(action()))
    return result[0]


@pytest.mark.parametrize("overlap", [False, True])
def test_cxl_overlap_decides_whether_a_new_child_waits_for_the_cancel(monkeypatch, overlap):
    monkeypatch.setitem(registry.ALGOS, "sweep", Scripted)
    h = Harness()
    h.quote("XCBO", CALL, bids=[(4.80, 10)], asks=[(5.20, 10)])
    late_cancels(h, "XCBO", 2.0)
    h.new("C1", Side.BUY, 10, 5.00, **({"can_cxl_overlap": True} if overlap else {}))
    algo = Scripted.last
    first = do(h, lambda: algo.ctx.post(None, None, 10, 4.85, venue="XCBO"))
    h.settle(0.1)
    assert first.status is ChildStatus.NEW
    do(h, lambda: algo.ctx.cancel(first))
    second = do(h, lambda: algo.ctx.post(None, None, 10, 4.90, venue="XCBO"))
    assert first.status is ChildStatus.PENDING_CANCEL
    if overlap:
        assert second is not None                     # Y: it goes at once, beside the old one
        return
    assert second is None                             # N: never more exposure than the balance
    h.settle(1.0)
    assert first.status is ChildStatus.PENDING_CANCEL and algo.heard == []
    h.settle(2.0)
    assert first.status is ChildStatus.CANCELED and algo.heard == [CALL]   # woken once it is confirmed
    assert do(h, lambda: algo.ctx.post(None, None, 10, 4.90, venue="XCBO")) is not None


def test_without_overlap_a_child_that_fits_beside_the_cancel_goes_at_once(monkeypatch):
    monkeypatch.setitem(registry.ALGOS, "sweep", Scripted)
    h = Harness()
    h.quote("XCBO", CALL, bids=[(4.80, 10)], asks=[(5.20, 10)])
    late_cancels(h, "XCBO", 2.0)
    h.new("C1", Side.BUY, 10, 5.00)
    algo = Scripted.last
    first = do(h, lambda: algo.ctx.post(None, None, 4, 4.85, venue="XCBO"))
    h.settle(0.1)
    do(h, lambda: algo.ctx.cancel(first))
    assert do(h, lambda: algo.ctx.post(None, None, 6, 4.90, venue="XCBO")).qty == 6


# ---------------------------------------------------------------------------------------- 5028, 5034, 5192-5198

def test_alt_route_code_reaches_the_venue_on_every_child():
    h = Harness()
    h.quote("XCBO", CALL, asks=[(5.00, 5)])
    h.quote("XISX", CALL, asks=[(5.00, 5)])
    submits = spy_submits(h)
    h.new("R1", Side.BUY, 10, 5.00, alt_route_code="RT7")
    h.settle(0.1)
    assert len(submits) == 2 and {c.alt_route_code for _, c in submits} == {"RT7"}
    for child in work(h):
        assert h.venues[child.venue]._children[child.child_id].route_code == "RT7"


def test_strategy_and_order_ref_metrics_come_back_on_every_report():
    h = Harness()
    h.quote("XCBO", CALL, asks=[(5.00, 5)])
    h.new("M1", Side.BUY, 10, 5.00, strategy="calendar-7", extra={5192: "1.25", 5198: "-3"})
    h.settle(0.1)
    h.cancel("M2", "M1")
    h.settle(0.1)
    reports = [r for r in h.reports() if r.order_id == "P1"]
    assert [r.exec_type for r in reports] == [ExecType.NEW, ExecType.TRADE, ExecType.CANCELED]
    for report in reports:
        assert report.strategy == "calendar-7" and report.ref_metrics == ((5192, "1.25"), (5198, "-3"))
    _, body = encode(reports[-1])
    assert (5034, "calendar-7") in body and (5192, "1.25") in body and (5198, "-3") in body


def test_every_modifier_tag_is_accepted_by_the_volatility_algo():
    h = Harness()
    underlier_at(h, 200.0)
    h.quote("XCBO", CALL, bids=[(3.80, 10)], asks=[(4.20, 10)])
    tied_buy(h, qty=10, active_size=5, max_child_orders=3, slice_count=2, order_duration_s=60,
             can_cxl_overlap=False, alt_route_code="RT1", start_type=StartType.STAGED, extra={5194: "2"})
    assert h.last("V1").exec_type is ExecType.NEW


def test_alt_route_code_reaches_a_venue_over_fix_valid_by_the_venue_dictionary(tmp_path):
    from tests.unit.test_fix_venue import FixLoop, Link, a_child, field, validated
    wire = Link(tmp_path / "link")
    wire.logon()
    wire.sent.clear()
    wire.link.submit(a_child(alt_route_code="RT7"))
    (venue, msg), = wire.sent
    assert field(validated(msg, "ROUTER", venue), 5028) == "RT7"

    loop = FixLoop(tmp_path / "loop")
    loop.quote("XCBO", asks=[(5.20, 10)])
    loop.new("R1", Side.BUY, 10, 5.20, alt_route_code="RT7")
    [child] = loop.children()
    assert child.status is ChildStatus.FILLED
    assert loop.venues[child.venue]._children[child.child_id].route_code == "RT7"


def test_the_modifiers_bound_the_alpha_making_algo_too():
    from router.domain.enums import BalanceHandling as P, OrderHandling
    h = Harness()
    underlier_at(h, 200.0)
    for venue in ("XCBO", "XISX", "ARCO"):
        h.requote(venue, CALL, bids=[(4.80, 10)], asks=[(5.20, 10)])
    h.new("A1", Side.BUY, 30, 5.10, order_handling=OrderHandling.POST_ONLY, balance_handling=P.POST_WITH,
          num_make_exchanges=3, active_size=12, start_type=StartType.STAGED, alt_route_code="RT9")
    h.settle(0.1)
    assert work(h) == []                              # staged: the maker has not started
    replace_start(h, "A2", "A1", StartType.IMMEDIATE)
    h.settle(0.1)
    children = open_work(h)
    assert children and sum(c.qty for c in children) == 12      # ActiveOrderSize across its venues
    assert all(h.venues[c.venue]._children[c.child_id].route_code == "RT9" for c in children)
