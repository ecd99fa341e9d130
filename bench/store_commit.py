"""Group-commit throughput of Store.commit_batch on sqlite (WAL, synchronous=NORMAL).

Each event of a batch writes one journal row and changes its parent, a child and a fill, as a
fill report would. Three ways:
- journal: the router's setting, the commit is one journal append (the batch's state rides on
  it) and the projection tables are written behind, by the projection thread every 200 ms;
- inline: the same, with the projection written right after each commit on the same thread
  (what tests and replays use; close to the store before the journal came first);
- orm_merge (peer): the same rows the ORM way (Session.merge, one SELECT per row).

    python -m bench.store_commit [seconds per case]     (from the project root)
"""
from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.orm import Session

from router.domain.commands import AlgoParams
from router.domain.enums import OrdStatus, OrdType, Side, TimeInForce
from router.domain.orders import ChildOrder, ChildStatus, Fill, ParentOrder
from router.store import JournalEntry, Store
from router.store.rows import child_to_row, fill_to_row, journal_to_row, parent_to_row
from router.store.schema import ChildRow, FillRow, JournalRow, ParentRow

PARENTS = 50
Batch = tuple[list[JournalEntry], list[ParentOrder], list[ChildOrder], list[Fill]]


def make_parent(number: int) -> ParentOrder:
    return ParentOrder(order_id=f"P{number}", session="FIX.4.4:ROUTER->C1", account="A1",
                       cl_ord_id=f"C{number}", symbol="AAPL  240621C00190000", side=Side.BUY,
                       qty=10_000, ord_type=OrdType.LIMIT, price=1.25, time_in_force=TimeInForce.DAY,
                       algo_name="sweep", algo=AlgoParams(exchanges=("CBOE", "ISE")), created_ns=number,
                       status=OrdStatus.PARTIALLY_FILLED, cl_ord_ids=[f"C{number}"])


def event_rows(seq: int, parents: list[ParentOrder]) -> tuple[JournalEntry, ParentOrder, ChildOrder, Fill]:
    parent = parents[seq % PARENTS]
    parent.cum_qty += 1
    parent.notional += 1.25
    child = ChildOrder(child_id=f"{parent.order_id}.{seq}", parent_id=parent.order_id, venue="CBOE",
                       symbol=parent.symbol, side=Side.BUY, qty=1, price=1.25,
                       time_in_force=TimeInForce.IOC, sent_ns=seq, status=ChildStatus.FILLED, cum_qty=1)
    fill = Fill(exec_id=f"E{seq}", parent_id=parent.order_id, child_id=child.child_id, venue="CBOE",
                qty=1, price=1.25, fee=0.5, liquidity="R", ts_ns=seq, symbol=parent.symbol, side=Side.BUY)
    entry = JournalEntry(seq=seq, ts_ns=seq, kind="venue_report", session=None,
                         payload=f'{{"exec_id": "E{seq}", "qty": 1, "price": 1.25}}')
    return entry, dataclasses.replace(parent), child, fill


def make_batches(batch_size: int, count: int) -> list[Batch]:
    parents = [make_parent(n) for n in range(PARENTS)]
    batches: list[Batch] = []
    for first in range(1, batch_size * count + 1, batch_size):
        events = [event_rows(seq, parents) for seq in range(first, first + batch_size)]
        batches.append(([e[0] for e in events], [e[1] for e in events], [e[2] for e in events],
                        [e[3] for e in events]))
    return batches


def run(store: Store, batch_size: int, seconds: float, orm: bool) -> tuple[float, float, float]:
    """(batch commits per second, p50 and p99 of one commit in µs); the events are built
    before the clock starts."""
    count = max(int(seconds * (500 if orm else 4000) / batch_size), 20)
    batches = make_batches(batch_size, count)
    took = []
    start = time.perf_counter()
    for number, (journal, parents, children, fills) in enumerate(batches):
        began = time.perf_counter()
        if orm:
            commit_with_orm_merge(store, journal, parents, children, fills)
        else:
            store.commit_batch(journal, parents, children, fills, {"next_order_number": str(number)})
        took.append((time.perf_counter() - began) * 1e6)
    took.sort()
    return len(batches) / (time.perf_counter() - start), took[len(took) // 2], took[int(len(took) * 0.99)]


def commit_with_orm_merge(store: Store, journal: list[JournalEntry], parents: list[ParentOrder],
                          children: list[ChildOrder], fills: list[Fill]) -> None:
    with Session(store.engine) as session, session.begin():
        session.add_all(JournalRow(**journal_to_row(e), crc=-1) for e in journal)
        for parent in {p.order_id: p for p in parents}.values():
            session.merge(ParentRow(**parent_to_row(parent)))
        for child in children:
            session.merge(ChildRow(**child_to_row(child)))
        for fill in fills:
            session.merge(FillRow(**fill_to_row(fill)))


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as directory:
        for name, interval, orm in (("journal", 0.2, False), ("inline", None, False), ("orm_merge", None, True)):
            for batch_size in (1, 64):
                with Store(f"sqlite:///{Path(directory)}/{name}{batch_size}.db",
                           projection_interval_s=interval) as store:
                    store.migrate()
                    rate, p50, p99 = run(store, batch_size, seconds, orm)
                figures[f"{name}_batch{batch_size}_commits_per_s"] = rate
                figures[f"{name}_batch{batch_size}_events_per_s"] = rate * batch_size
                figures[f"{name}_batch{batch_size}_p99_us"] = p99
                label = {"journal": "journal append (router)", "inline": "journal + inline projection",
                         "orm_merge": "ORM Session.merge (peer)"}[name]
                print(f"{label:27} batch {batch_size:>2}: {rate:9,.0f} commits/s "
                      f"{rate * batch_size:11,.0f} events/s, one commit p50 {p50:7,.0f} µs p99 {p99:7,.0f} µs")
    print(" ".join(f"{key}={value:.0f}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
