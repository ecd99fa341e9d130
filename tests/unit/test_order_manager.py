"""The child order manager and the algo context v2, driven by a scripted algo on the simulated
clock: post, replace, cancel, take, named timers, state across a restart, a HEDGE child, one
request in flight per child, pending timeouts, and the gating of callbacks."""
from __future__ import annotations

from pathlib import Path

import pytest

from algos import registry
from algos.base import Algo
from router.domain.enums import ChildRole, ExecType, HedgeMode, OrdStatus, Side
from router.domain.events import ReplaceChild
from router.domain.orders import ChildStatus
from router.server import restore_from_store
from router.store import Store
from tests.harness import CALL, Harness

MS = 1_000_000


class Scripted(Algo):
    """Does nothing by itself; the test calls its context and reads what it heard."""
    name = "scripted"
    last: "Scripted" = None

    def __init__(self, ctx, settings=None) -> None:
        super().__init__(ctx, settings)
        self.heard: list[tuple] = []
        self.count = 0
        Scripted.last = self

    def start(self) -> None:
        self.heard.append(("start",))

    def resume(self) -> None:
        self.heard.append(("resume",))

    def on_child_accepted(self, child):
        self.heard.append(("accepted", child.child_id))

    def on_fill(self, child, fill):
        self.heard.append(("fill", child.child_id, fill.qty))

    def on_child_replaced(self, child):
        self.heard.append(("replaced", child.child_id, child.qty, child.price))

    def on_child_rejected(self, child, reason):
        self.heard.append(("rejected", child.child_id, reason))

    def on_child_done(self, child):
        self.heard.append(("done", child.child_id, child.status))

    def on_timer(self, name):
        self.heard.append(("timer", name))

    def on_market(self, symbol):
        self.heard.append(("market", symbol))

    def save_state(self) -> dict:
        return {"count": self.count}

    def load_state(self, state: dict) -> None:
        self.count = state["count"]


@pytest.fixture(autouse=True)
def scripted(monkeypatch):
    monkeypatch.setitem(registry.ALGOS, "sweep", Scripted)


def do(h: Harness, action):
    """Run an algo's request as the engine would: inside an engine event, released after it."""
    result = []
    h.engine.dispatch(lambda: result.append(action()))
    return result[0]


@pytest.fixture
def h() -> Harness:
    harness = Harness()
    harness.commands = []
    for venue in harness.venues.values():
        for name in ("submit", "replace", "cancel"):
            original = getattr(venue, name)

            def spy(command, original=original):
                harness.commands.append(command)
                original(command)
            setattr(venue, name, spy)
    harness.quote("XCBO", CALL, bids=[(4.80, 10)], asks=[(5.20, 10)])
    return harness


def test_post_rests_a_post_only_child_at_a_venue_chosen_by_maker_fee(h):
    h.new("A1", Side.BUY, 10, 5.00)
    algo = Scripted.last
    child = do(h, lambda: algo.ctx.post(None, None, 5, 4.90))
    assert child.status is ChildStatus.PENDING_NEW and child.role is ChildRole.WORK and child.post_only
    assert child.venue == "BATO"           # the biggest maker rebate (-0.35) in config/venues.toml
    h.settle(0.01)
    assert child.status is ChildStatus.NEW and ("accepted", child.child_id) in algo.heard
    assert h.venues["BATO"].book(CALL).order(child.child_id) is not None


def test_one_request_in_flight_and_the_newest_target_supersedes_a_queued_one(h):
    h.new("A1", Side.BUY, 10, 5.00)
    ctx = Scripted.last.ctx
    child = do(h, lambda: ctx.post(None, None, 5, 4.70, venue="XCBO"))
    h.settle(0.01)
    do(h, lambda: ctx.replace(child, price=4.75))
    do(h, lambda: ctx.replace(child, price=4.80))          # queued behind the first
    do(h, lambda: ctx.replace(child, price=4.85))          # supersedes 4.80, which is never sent
    replaces = [c for c in h.commands if isinstance(c, ReplaceChild)]
    assert [c.price for c in replaces] == [pytest.approx(4.75)]
    assert child.status is ChildStatus.PENDING_REPLACE and child.next_price == pytest.approx(4.85)
    h.settle(0.01)
    replaces = [c for c in h.commands if isinstance(c, ReplaceChild)]
    assert [round(c.price, 2) for c in replaces] == [4.75, 4.85]
    assert [c.revision for c in replaces] == [1, 2]
    assert child.price == pytest.approx(4.85) and child.status is ChildStatus.NEW
    assert [e for e in Scripted.last.heard if e[0] == "replaced"] == [
        ("replaced", child.child_id, 5, pytest.approx(4.75)), ("replaced", child.child_id, 5, pytest.approx(4.85))]


def test_a_size_down_at_the_same_price_keeps_queue_priority(h):
    h.quote("XCBO", CALL, bids=[(4.85, 7)], owner="other")
    h.new("A1", Side.BUY, 20, 5.00)
    ctx = Scripted.last.ctx
    ours = do(h, lambda: ctx.post(None, None, 10, 4.85, venue="XCBO"))
    h.settle(0.01)
    h.quote("XCBO", CALL, bids=[(4.85, 3)], owner="late")
    book = h.venues["XCBO"].book(CALL)
    assert book.queue_ahead(ours.child_id) == 7
    do(h, lambda: ctx.replace(ours, qty=6))
    h.settle(0.01)
    assert ours.qty == 6 and book.queue_ahead(ours.child_id) == 7          # still ahead of the late 3
    do(h, lambda: ctx.replace(ours, price=4.90))
    do(h, lambda: ctx.replace(ours, price=4.85))
    h.settle(0.02)
    assert book.queue_ahead(ours.child_id) == 10                            # a price change went to the back


def test_cancel_take_and_done(h):
    h.new("A1", Side.BUY, 10, 5.20)
    algo = Scripted.last
    resting = do(h, lambda: algo.ctx.post(None, None, 4, 4.85, venue="XCBO"))
    taken = do(h, lambda: algo.ctx.take(6, 5.20))
    assert [c.qty for c in taken] == [6] and taken[0].time_in_force.value == "3"
    do(h, lambda: algo.ctx.cancel(resting))                 # PendingNew: queued until the venue answers
    assert resting.cancel_queued
    h.settle(0.01)
    assert resting.status is ChildStatus.CANCELED
    assert ("done", resting.child_id, ChildStatus.CANCELED) in algo.heard
    assert ("fill", taken[0].child_id, 6) in algo.heard
    assert h.reports("A1")[-1].cum_qty == 6


def test_named_timers_move_cancel_and_fire(h):
    h.new("A1", Side.BUY, 10, 5.00)
    algo = Scripted.last
    now = h.clock.now_ns()
    do(h, lambda: algo.ctx.set_timer("a", now + 10 * MS))
    do(h, lambda: algo.ctx.set_timer("a", now + 30 * MS))           # moved, fires once
    do(h, lambda: algo.ctx.set_timer("b", now + 20 * MS))
    do(h, lambda: algo.ctx.cancel_timer("b"))
    h.settle(0.02)
    assert [e for e in algo.heard if e[0] == "timer"] == []
    h.settle(0.02)
    assert [e for e in algo.heard if e[0] == "timer"] == [("timer", "a")]


def test_no_timer_or_market_callback_during_a_pending_cancel(h):
    h.new("A1", Side.BUY, 10, 5.00)
    algo = Scripted.last
    do(h, lambda: algo.ctx.post(None, None, 5, 4.85, venue="XCBO"))
    do(h, lambda: algo.ctx.subscribe(CALL))
    h.settle(0.01)
    do(h, lambda: algo.ctx.set_timer("a", h.clock.now_ns() + 1))
    h.cancel("C1", "A1")
    heard = len(algo.heard)
    h.quote("XISX", CALL, bids=[(4.70, 5)], settle=False)
    h.settle(0.0001)
    assert [e for e in algo.heard[heard:] if e[0] in ("timer", "market")] == []
    h.settle(0.01)
    assert h.reports("C1")[-1].ord_status is OrdStatus.CANCELED


def test_market_data_is_conflated_to_one_call_per_symbol_per_batch(h):
    h.new("A1", Side.BUY, 10, 5.00)
    algo = Scripted.last
    do(h, lambda: algo.ctx.subscribe(CALL))
    for price in (4.81, 4.82, 4.83):
        h.quote("XCBO", CALL, bids=[(price, 1)], settle=False)
    h.engine.dispatch(lambda: [h.engine._on_book(h.venues[v].snapshot(CALL)) for v in ("XCBO", "XCBO", "XISX")])
    assert [e for e in algo.heard if e[0] == "market"] == [("market", CALL)]
    assert algo.ctx.book().nbbo().bid == pytest.approx(4.83)


def test_a_replace_the_venue_refuses_reaches_the_algo_and_the_parent_keeps_working(h):
    h.new("A1", Side.BUY, 10, 5.20)
    algo = Scripted.last
    child = do(h, lambda: algo.ctx.post(None, None, 5, 4.85, venue="XCBO"))
    h.settle(0.01)
    do(h, lambda: algo.ctx.replace(child, price=5.20, qty=5))        # would take: refused for a post-only child
    h.settle(0.01)
    rejected = [e for e in algo.heard if e[0] == "rejected"]
    assert rejected and rejected[0][1] == child.child_id
    assert child.status is ChildStatus.NEW and child.price == pytest.approx(4.85)
    assert h.engine.orders.parents["P1"].is_working


class Silent:
    """A venue that never answers."""
    name = "SILENT"

    def __init__(self):
        self.reconciled = []

    def submit(self, command): pass
    def replace(self, command): pass
    def cancel(self, command): pass

    def reconcile(self, child_id):
        self.reconciled.append(child_id)


def test_a_child_pending_too_long_is_reconciled_and_its_algo_told(h):
    silent = h.engine.venues["SILENT"] = Silent()
    h.new("A1", Side.BUY, 10, 5.00)
    algo = Scripted.last
    child = do(h, lambda: algo.ctx.post(None, None, 5, 4.85, venue="SILENT"))
    timeout_s = h.settings.router.algos.pending_timeout_ms / 1000
    h.settle(timeout_s / 2)
    assert silent.reconciled == []
    h.settle(timeout_s)
    assert silent.reconciled == [child.child_id]
    assert any(e[0] == "rejected" and "reconciling" in e[2] for e in algo.heard)


def test_a_hedge_child_is_reported_under_the_hedge_cl_ord_id(h):
    h.quote("XNAS", "AAPL", asks=[(200.05, 500)])
    h.new("A1", Side.BUY, 10, 5.00, auto_hedge=HedgeMode.FAST_CRX, alt_auto_hedge_id="HEDGE-A1", order_ref_delta=0.0)
    algo = Scripted.last
    hedge = do(h, lambda: algo.ctx.take(300, 200.10, symbol="AAPL", side=Side.BUY, role=ChildRole.HEDGE))
    assert hedge and hedge[0].venue == "XNAS" and hedge[0].role is ChildRole.HEDGE
    h.settle(0.01)
    hedge_reports = h.reports("HEDGE-A1")
    assert hedge_reports and hedge_reports[-1].symbol == "AAPL" and hedge_reports[-1].cum_qty == 300
    assert hedge_reports[-1].role is ChildRole.HEDGE and hedge_reports[-1].ord_status is OrdStatus.PARTIALLY_FILLED
    parent = h.engine.orders.parents["P1"]
    assert parent.cum_qty == 0, "a hedge fill never counts toward the option parent"


def test_a_hedge_child_that_is_not_in_the_underlier_is_blocked(h):
    h.new("A1", Side.BUY, 10, 5.00)
    algo = Scripted.last
    assert do(h, lambda: algo.ctx.take(5, 5.20, role=ChildRole.HEDGE)) == []


def test_algo_state_and_resting_children_survive_a_restart(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/router.db"
    store = Store(url)
    store.migrate()
    first = Harness(persistence=store)
    first.quote("XCBO", CALL, bids=[(4.80, 10)], asks=[(5.20, 10)])
    first.new("A1", Side.BUY, 10, 5.00)
    algo = Scripted.last
    child = do(first, lambda: algo.ctx.post(None, None, 5, 4.85, venue="XCBO"))
    algo.count = 41
    first.settle(0.01)
    algo.count = 42
    first.engine.dispatch(lambda: first.engine.work.touch(first.engine.orders.parents["P1"]))
    store.close()

    store = Store(url)
    second = Harness(persistence=store, start=first.now())
    second.venues["XCBO"].book(CALL)            # the venue kept nothing: the child is reconciled away
    second.engine.restore(restore_from_store(store))
    restored = Scripted.last
    assert restored is not algo and restored.count == 42 and ("resume",) in restored.heard
    assert [c.child_id for c in restored.ctx.open_children()] in ([child.child_id], [])
    second.settle(0.01)
    assert second.engine.orders.children[child.child_id].status is ChildStatus.CANCELED
    store.close()


class Failing(Scripted):
    def on_market(self, symbol):
        raise RuntimeError("algo bug")


def test_an_algo_that_raises_in_a_market_callback_does_not_stop_the_engine(h, monkeypatch):
    monkeypatch.setitem(registry.ALGOS, "sweep", Failing)
    journal = []
    original = h.engine.work.journal_add
    h.engine.work.journal_add = lambda kind, session, payload: (journal.append(kind), original(kind, session, payload))
    h.new("A1", Side.BUY, 10, 5.00)
    do(h, lambda: Scripted.last.ctx.subscribe(CALL))
    h.quote("XISX", CALL, bids=[(4.70, 5)])
    assert "engine_error" in journal
    monkeypatch.setitem(registry.ALGOS, "sweep", Scripted)
    h.new("A2", Side.BUY, 5, 5.00)
    assert h.reports("A2")[-1].exec_type is ExecType.NEW
