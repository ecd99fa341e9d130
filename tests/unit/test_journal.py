"""Journal first: the projection tables are a fold of the journal's state records, written
behind it; rebuild checks and restores them; a damaged tail is recovered, damage in the middle
stops start-up."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text, update

from router.domain.enums import HedgeMode, OrdStatus, Side
from router.server import restore_from_store
from router.store import schema
from router.store.journal import JournalCorrupt, decode_state, encode_state, entry_crc, find_damage
from router.store.rebuild import rebuild
from router.store.store import Store
from tests.harness import CALL, Harness

UNDERLIER = "AAPL"


def open_store(tmp_path, **options) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'router.db'}", **options)
    store.migrate()
    return store


def trade_a_little(h: Harness) -> None:
    """Fills on two venues, a resting order, a cancel and a hedged order: every table gets rows."""
    h.quote("XNAS", UNDERLIER, bids=[(199.99, 5000)], asks=[(200.01, 5000)])
    h.quote("XCBO", CALL, asks=[(5.00, 4)])
    h.quote("ARCO", CALL, asks=[(5.00, 6), (5.05, 20)])
    h.new("A1", Side.BUY, 10, 5.00)
    h.new("A2", Side.BUY, 5, 4.00)
    h.cancel("A3", "A2")
    h.new("A4", Side.BUY, 8, 5.05, auto_hedge=HedgeMode.FAST_CRX, alt_auto_hedge_id="H4", order_ref_delta=0.5)
    h.settle(1.0)


def test_state_record_round_trip():
    columns = {"parents": ("order_id", "cum_qty", "price", "closed", "pending", "cl_ord_ids")}
    records = {"parents": [["P1", 3, 1.25, False, None, ["A1", "A2"]]], "children": []}
    batch = decode_state(encode_state(records, {"next_order_number": "2"}, columns))
    assert batch.tables == {"parents": [{"order_id": "P1", "cum_qty": 3, "price": 1.25, "closed": False,
                                         "pending": None, "cl_ord_ids": ["A1", "A2"]}]}
    assert batch.meta == {"next_order_number": "2"}
    assert encode_state({"parents": []}, {}) is None


def test_find_damage_tells_a_cut_tail_from_a_corrupt_middle():
    def row(seq, corrupt=False):
        payload = f"payload {seq}"
        crc = entry_crc(seq, seq, "fix_in", None, payload, None)
        return {"seq": seq, "ts_ns": seq, "kind": "fix_in", "session": None, "payload": payload[:-1] if corrupt
                else payload, "state": None, "crc": crc}
    assert find_damage([row(1), row(2)]) is None
    tail = find_damage([row(1), row(2, corrupt=True), row(3, corrupt=True)])
    assert tail.at_tail and tail.first_seq == 2 and tail.seqs == (2, 3)
    middle = find_damage([row(1), row(2, corrupt=True), row(3)])
    assert not middle.at_tail and middle.first_seq == 2 and "seq 3" in middle.problem


def test_commit_is_one_journal_append_and_the_projection_follows_it(tmp_path):
    store = open_store(tmp_path, projection_interval_s=3600)     # the writer thread will not run by itself
    h = Harness(persistence=store)
    trade_a_little(h)
    with store.engine.connect() as connection:
        stored_parents = connection.execute(select(schema.parents)).all()
        states = connection.execute(select(schema.journal.c.seq).where(schema.journal.c.state.is_not(None))).all()
    assert stored_parents == [] and states, "the commit wrote the journal only"
    assert [p.order_id for p in store.parents()] == ["P1", "P2", "P3"]    # a reader syncs the projection
    assert rebuild(store, write=False).ok


def test_restart_replays_the_journal_after_the_watermark(tmp_path):
    """The router dies with projection rows not yet written: start-up replays them from the journal."""
    store = open_store(tmp_path, projection_interval_s=3600)
    first = Harness(persistence=store)
    trade_a_little(first)
    before = {p.order_id: (p.status, p.cum_qty) for p in first.engine.parents.values()}
    # no close, no sync: the process is gone; a new one opens the same file
    second_store = open_store(tmp_path)
    restored = restore_from_store(second_store)
    assert {p.order_id: (p.status, p.cum_qty) for p in restored.parents} == before
    assert int(second_store.get_meta("projected_seq")) == second_store.last_journal_seq()
    assert rebuild(second_store, write=False).ok


def test_rebuild_finds_a_tampered_projection_and_restores_it(tmp_path):
    store = open_store(tmp_path)
    h = Harness(persistence=store)
    trade_a_little(h)
    report = rebuild(store, write=False)
    assert report.ok and report.tables["fills"].rows >= 3 and report.tables["positions"].rows >= 2, report
    assert report.tables["fill_marks"].rows == report.tables["fills"].rows and report.tables["parent_marks"].rows
    with store.engine.begin() as connection:
        connection.execute(update(schema.parents).where(schema.parents.c.order_id == "P1").values(cum_qty=7))
        connection.execute(text("DELETE FROM fills WHERE venue = 'ARCO'"))
        connection.execute(text("DELETE FROM fill_marks WHERE venue = 'ARCO'"))
    report = rebuild(store)
    assert not report.ok
    assert report.tables["parents"].differing == [("P1", "cum_qty")]
    assert report.tables["fills"].missing and report.tables["fill_marks"].missing and report.written
    assert rebuild(store, write=False).ok                       # the rebuild wrote the journal's truth back
    assert store.parents()[0].cum_qty == 10


def test_rebuild_checks_cum_qty_and_positions_against_the_fills(tmp_path):
    store = open_store(tmp_path)
    h = Harness(persistence=store)
    trade_a_little(h)
    assert h.engine.parents["P3"].status is OrdStatus.FILLED
    # a state record claiming a fill the journal never had
    with store.engine.connect() as connection:
        last = connection.execute(select(schema.journal).order_by(schema.journal.c.seq.desc())).mappings().first()
    row = dict(store.table_rows("fills")[0])
    row.update(exec_id="FORGED", qty=1)
    state = encode_state({"fills": [list(row.values())]}, {}, {"fills": tuple(row)})
    seq = last["seq"] + 1
    with store.engine.begin() as connection:
        connection.execute(schema.journal.insert(), [{"seq": seq, "ts_ns": last["ts_ns"], "kind": "state", "session": None,
                                                      "payload": "", "state": state,
                                                      "crc": entry_crc(seq, last["ts_ns"], "state", None, "", state)}])
    report = rebuild(store, write=False)
    assert any("fills sum to" in problem for problem in report.invariants)
    assert any(problem.startswith("position") for problem in report.invariants)


def _tamper(store: Store, seq: int) -> None:
    with store.engine.begin() as connection:
        connection.execute(update(schema.journal).where(schema.journal.c.seq == seq)
                           .values(payload=schema.journal.c.payload + "x"))


def test_a_damaged_tail_is_quarantined_and_the_router_starts(tmp_path, caplog):
    store = open_store(tmp_path)
    first = Harness(persistence=store)
    first.new("A1", Side.BUY, 5, 4.00)
    first.new("A2", Side.BUY, 5, 4.00)           # its batch will be the damaged tail
    store.close()
    last = store.last_journal_seq()
    damaged_from = next(e.seq for e in store.iter_journal() if e.kind == "fix_in" and "A2" in e.payload)
    for seq in range(damaged_from, last + 1):
        _tamper(store, seq)

    second_store = open_store(tmp_path)
    restored = restore_from_store(second_store)
    assert [p.order_id for p in restored.parents] == ["P1"]
    assert second_store.last_damage.at_tail and second_store.last_damage.first_seq == damaged_from
    assert f"from seq {damaged_from}" in caplog.text
    with second_store.engine.connect() as connection:
        quarantined = connection.execute(select(schema.quarantine.c.seq)).scalars().all()
    assert quarantined == list(range(damaged_from, last + 1))
    assert second_store.last_journal_seq() == damaged_from - 1
    second = Harness(persistence=second_store, start=first.now())
    second.engine.restore(restored)
    second.new("A2", Side.BUY, 5, 4.00)          # the lost order was never acknowledged: it can be sent again
    assert second.reports("A2")[-1].ord_status is OrdStatus.NEW and second.reports("A2")[-1].order_id == "P2"


def test_a_damaged_entry_in_the_middle_stops_start_up(tmp_path):
    store = open_store(tmp_path)
    h = Harness(persistence=store)
    h.new("A1", Side.BUY, 5, 4.00)
    h.new("A2", Side.BUY, 5, 4.00)
    store.close()
    first_seq = next(e.seq for e in store.iter_journal())
    _tamper(store, first_seq)
    with pytest.raises(JournalCorrupt, match=f"from seq {first_seq}"):
        restore_from_store(open_store(tmp_path))
