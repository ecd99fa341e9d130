"""Stop the router mid-order, start it again from the store: the order completes with no child
sent twice and a CumQty that counts every fill exactly once."""
from __future__ import annotations

from router.domain.enums import ExecType, OrdStatus, Side
from router.server import restore_from_store
from router.store.store import Store
from tests.harness import CALL, Harness


def open_store(tmp_path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'router.db'}")
    store.migrate()
    return store


def test_restart_mid_order_completes_without_duplicate_children(tmp_path):
    store = open_store(tmp_path)
    first = Harness(persistence=store)
    first.quote("XCBO", CALL, asks=[(5.00, 10)])
    first.new("A1", Side.BUY, 30, 5.00)
    first.settle(0.1)                                   # 10 filled, the parent waits for liquidity
    first.quote("ARCO", CALL, asks=[(5.00, 5)], settle=False)
    first.settle(0.00015)                               # the quote is seen and a second wave goes out...
    in_flight = [c for c in first.children("P1") if c.is_open]
    assert in_flight, "a child must be in flight when the router stops"
    store.close()                                       # ...and the router dies before it lands

    store = open_store(tmp_path)
    second = Harness(persistence=store, start=first.now())
    restored = restore_from_store(store)
    assert [p.order_id for p in restored.parents] == ["P1"] and restored.parents[0].cum_qty == 10
    second.engine.restore(restored)
    second.settle(0.1)                                  # the venue does not know the in-flight child
    assert second.engine.orders.children[in_flight[0].child_id].status.is_done
    second.quote("BATO", CALL, asks=[(5.00, 50)])
    second.settle(0.1)

    parent = second.engine.parents["P1"]
    assert parent.status is OrdStatus.FILLED and parent.cum_qty == 30
    child_ids = [c.child_id for c in store.children("P1")]
    assert len(child_ids) == len(set(child_ids))
    sent_before = {c.child_id for c in first.children("P1")}
    sent_after = {c.child_id for c in second.children("P1")} - sent_before
    assert sent_after and not (sent_after & sent_before)
    fills = store.fills("P1")
    assert sum(f.qty for f in fills) == 30 == parent.cum_qty
    final = second.reports("A1")[-1]
    assert (final.exec_type, final.cum_qty, final.leaves_qty) == (ExecType.TRADE, 30, 0)


def test_restart_keeps_cl_ord_ids_and_order_numbers(tmp_path):
    store = open_store(tmp_path)
    first = Harness(persistence=store)
    first.new("A1", Side.BUY, 5, 4.00)
    first.new("A2", Side.BUY, 5, 4.00)
    first.cancel("A3", "A2")
    store.close()

    store = open_store(tmp_path)
    second = Harness(persistence=store, start=first.now())
    second.engine.restore(restore_from_store(store))
    second.new("A3", Side.BUY, 5, 4.00)                 # used by the cancel before the restart
    assert second.reports("A3")[-1].ord_rej_reason == 6
    second.new("A4", Side.BUY, 5, 4.00)
    assert second.reports("A4")[-1].order_id == "P3"   # numbering continues
    second.cancel("A5", "A1")                           # the restored parent is cancelable
    assert second.reports("A5")[-1].ord_status is OrdStatus.CANCELED


def test_journal_records_every_inbound_event_in_order(tmp_path):
    store = open_store(tmp_path)
    h = Harness(persistence=store)
    h.quote("XCBO", CALL, asks=[(5.00, 10)])
    h.new("A1", Side.BUY, 10, 5.00)
    h.settle(0.1)
    kinds = [entry.kind for entry in store.iter_journal()]
    assert kinds[0] == "fix_in" and "child_out" in kinds and "venue_report" in kinds
    seqs = [entry.seq for entry in store.iter_journal()]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
