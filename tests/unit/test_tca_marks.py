"""The engine marks the market around each fill and over each parent's life (router/engine/marks.py),
the store keeps the marks as projected rows, and a rebuild from the journal reproduces them."""
from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text, update

from router.clock import NANOS_PER_SECOND as S, SimClock
from router.domain.commands import AlgoParams
from router.domain.enums import OrdStatus, OrdType, Side, TimeInForce
from router.domain.events import BookLevel, BookUpdate
from router.domain.orders import Fill, ParentOrder
from router.engine.batch import UnitOfWork
from router.engine.marks import FillMark, Marks, ParentMark
from router.engine.timers import Timers
from router.market.books import MarketBooks
from router.store import schema
from router.store.rebuild import rebuild
from router.store.store import Store
from router.tca import time_weighted_mid
from tests.harness import CALL, Harness

UNDERLIER = "AAPL"


def open_store(tmp_path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'router.db'}")
    store.migrate()
    return store


def quote_mid(h: Harness, mid: float) -> None:
    """XCBO quotes mid +- 0.10; it is the NBBO (ARCO's ask is above it)."""
    h.requote("XCBO", CALL, bids=[(round(mid - 0.10, 2), 10)], asks=[(round(mid + 0.10, 2), 4)])


def test_a_fill_gets_its_mid_at_each_horizon_in_the_store_and_a_rebuild_reproduces_them(tmp_path):
    store = open_store(tmp_path)
    h = Harness(persistence=store)
    h.quote("XNAS", UNDERLIER, bids=[(199.99, 5000)], asks=[(200.01, 5000)])
    h.quote("XCBO", CALL, bids=[(4.80, 10)], asks=[(5.00, 4)])
    h.quote("ARCO", CALL, asks=[(5.00, 6), (5.05, 20)])
    start = h.clock.now_ns()
    h.new("A1", Side.BUY, 10, 5.00)                    # sweeps 4 on XCBO and 6 on ARCO at once
    h.new("A2", Side.BUY, 5, 4.00)                     # rests below the market
    for seconds, mid in ((0.5, 4.80), (5.0, 4.70), (30.0, 4.60), (300.0, 4.50)):
        h.clock.advance_to(start + int(seconds * S))
        quote_mid(h, mid)
    h.cancel("A3", "A2")
    h.settle(700)
    marks = {row["venue"]: row for row in store.table_rows("fill_marks")}
    assert set(marks) == {"XCBO", "ARCO"}
    for row in marks.values():
        assert row["parent_id"] == "P1" and row["symbol"] == CALL
        assert row["mid"] == pytest.approx((row["bid"] + row["ask"]) / 2)
        # the quote moved at 0.5 s, 5 s, 30 s and 300 s after the order: each horizon sees its own mid
        assert [row["mid_1s"], row["mid_10s"], row["mid_60s"], row["mid_600s"]] == \
            pytest.approx([4.80, 4.70, 4.60, 4.50])
    parent_marks = {row["order_id"]: row for row in store.table_rows("parent_marks")}
    resting = parent_marks["P2"]
    assert resting["end_ns"] is not None and resting["end_ns"] > start + 300 * S
    assert resting["quoted_seconds"] == pytest.approx((resting["end_ns"] - start) / S, abs=0.01)
    assert 4.50 < resting["qwap"] < 4.70                    # mostly at 4.60 (30 s to 300 s) and 4.50 after

    report = rebuild(store, write=False)
    assert report.ok and report.tables["fill_marks"].rows == 2 and report.tables["parent_marks"].rows == 2
    with store.engine.begin() as connection:
        connection.execute(text("DELETE FROM fill_marks WHERE venue = 'ARCO'"))
        connection.execute(update(schema.parent_marks).where(schema.parent_marks.c.order_id == "P2")
                           .values(qwap=1.0))
    report = rebuild(store)
    assert report.tables["fill_marks"].missing == [("ARCO", marks["ARCO"]["exec_id"])]
    assert report.tables["parent_marks"].differing == [("P2", "qwap")]
    assert {r["venue"]: r for r in store.table_rows("fill_marks")} == marks
    assert store.table_rows("parent_marks")[1]["qwap"] == pytest.approx(resting["qwap"])


class _Captured:
    """A persistence that keeps what each batch committed."""

    def __init__(self) -> None:
        self.marks: list = []

    def commit_batch(self, journal, parents, children, fills, meta=None, positions=(), reports=(), marks=()):
        self.marks.extend(marks)


def _book(symbol: str, mid: float | None) -> BookUpdate:
    if mid is None:
        return BookUpdate("XCBO", symbol, (BookLevel(4.0, 1),), ())
    return BookUpdate("XCBO", symbol, (BookLevel(mid - 0.05, 1),), (BookLevel(mid + 0.05, 1),))


def _parent(order_id: str, created_ns: int) -> ParentOrder:
    return ParentOrder(order_id, "S", "ACC", "C" + order_id, CALL, Side.BUY, 10, OrdType.LIMIT, 5.0,
                       TimeInForce.DAY, "sweep", AlgoParams(), created_ns, status=OrdStatus.NEW)


def test_the_qwap_is_the_time_weighted_mid_of_the_path_over_the_parents_life():
    clock = SimClock(0)
    books = MarketBooks()
    captured = _Captured()
    work = UnitOfWork(clock, captured, lambda report: None, lambda command: None, lambda delay, cb: None)
    timers = Timers(clock, lambda callback: (callback(), work.flush()))
    marks = Marks(clock, timers, work, books)
    path = [(0, 5.00), (2, None), (3, 5.20), (7, 5.10), (12, 5.40)]     # seconds, mid (None: one-sided)

    def book_at(seconds, mid):
        clock.advance_to(seconds * S)
        books.apply(_book(CALL, mid))
        if marks.follows(CALL):
            marks.on_book(CALL, books.nbbo(CALL))
        work.flush()

    book_at(*path[0])
    parent = _parent("P1", 1 * S)
    clock.advance_to(1 * S)
    work.touch(parent)
    work.flush()                                      # the parent begins at 1 s
    for seconds, mid in path[1:4]:
        book_at(seconds, mid)
    clock.advance_to(9 * S)
    parent.status = OrdStatus.CANCELED
    work.touch(parent)
    work.flush()                                      # and ends at 9 s
    book_at(*path[4])                                 # after its end: not counted
    mark = [m for m in captured.marks if isinstance(m, ParentMark)][-1]
    times = np.array([p[0] for p in path[:4]]) * S
    mids = np.array([np.nan if p[1] is None else p[1] for p in path[:4]])
    assert mark.qwap == pytest.approx(time_weighted_mid(times, mids, 1 * S, 9 * S))
    assert mark.qwap == pytest.approx((5.0 * 1 + 5.2 * 4 + 5.1 * 2) / 7)
    assert (mark.start_ns, mark.end_ns, mark.quoted_seconds) == (1 * S, 9 * S, pytest.approx(7.0))
    assert not marks.follows(CALL)                    # nobody follows the symbol any more

    # a fill's horizons: one timer per horizon for the fills applied at the same time
    fill = Fill("E1", "P9", "P9.1", "XCBO", 1, 5.4, 0.0, "R", clock.now_ns(), symbol=CALL, side=Side.BUY)
    marks.on_fill(fill)
    work.flush()
    for seconds, mid in ((12.5, 5.5), (20, 5.6), (70, 5.7), (605, 5.8), (700, 9.9)):   # 9.9: too late
        book_at(seconds, mid)
    fill_mark = [m for m in captured.marks if isinstance(m, FillMark)][-1]
    assert (fill_mark.mid, fill_mark.mid_1s, fill_mark.mid_10s, fill_mark.mid_60s, fill_mark.mid_600s) == \
        pytest.approx((5.4, 5.5, 5.6, 5.7, 5.8))
