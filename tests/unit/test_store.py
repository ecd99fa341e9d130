"""Store on sqlite: round trips, upserts, journal order, restore and atomicity."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import exc, inspect

from router.domain.commands import AlgoParams
from router.domain.enums import (ChildRole, Liquidity, PendingKind, LimitClass, LimitType, OrderHandling, OrdStatus, OrdType, Side,
                                 SRTimeInForce, TimeInForce)
from router.domain.orders import ChildOrder, ChildStatus, Fill, ParentOrder, PendingChange
from router.store import JournalEntry, Store
from router.store import schema

SESSION = "FIX.4.4:ROUTER->CLIENT1"


def make_parent(order_id: str = "P1", status: OrdStatus = OrdStatus.PARTIALLY_FILLED,
                **changes) -> ParentOrder:
    parent = ParentOrder(
        order_id=order_id, session=SESSION, account="ACC1", cl_ord_id=f"{order_id}-c2",
        symbol="AAPL  240621C00190000", side=Side.BUY, qty=100, ord_type=OrdType.LIMIT, price=1.25,
        time_in_force=TimeInForce.GTD, algo_name="sweep",
        algo=AlgoParams(order_handling=OrderHandling.ACTIVE_TAKER, limit_type=LimitType.VOL,
                        take_limit_class=LimitClass.SURF_PROB, exchanges=("CBOE", "ISE"),
                        max_child_orders=4, sr_time_in_force=SRTimeInForce.GTD,
                        good_till=datetime(2024, 6, 21, 20, 0, tzinfo=timezone.utc),
                        vol_limit=0.215, order_prc_offset=0.05, strategy="s1",
                        extra={5200: "x", 5301: "7"}),
        created_ns=1_718_000_000_123_456_789, expire_ns=1_718_990_000_000_000_000,
        orig_cl_ord_id=f"{order_id}-c1", status=status, cum_qty=30, notional=37.35, fees=0.18,
        child_seq=2, exec_seq=5, arrival_bid=1.2, arrival_ask=1.3,
        pending=PendingChange(kind=PendingKind.REPLACE, cl_ord_id=f"{order_id}-c3", orig_cl_ord_id=f"{order_id}-c2",
                              new_qty=80, new_price=1.1, new_ord_type=OrdType.LIMIT,
                              new_time_in_force=TimeInForce.DAY),
        cl_ord_ids=[f"{order_id}-c1", f"{order_id}-c2"], algo_state={"algo": {"offered": 30}},
    )
    return dataclasses.replace(parent, **changes)


def make_child(parent_id: str = "P1", number: int = 1, **changes) -> ChildOrder:
    child = ChildOrder(child_id=f"{parent_id}.{number}", parent_id=parent_id, venue="CBOE",
                       symbol="AAPL  240621C00190000", side=Side.BUY, qty=50, price=1.24,
                       time_in_force=TimeInForce.IOC, sent_ns=1_718_000_000_200_000_000 + number,
                       status=ChildStatus.PARTIALLY_FILLED, cum_qty=30, notional=37.35, fees=0.18)
    return dataclasses.replace(child, **changes)


def make_fill(parent_id: str = "P1", number: int = 1) -> Fill:
    return Fill(exec_id=f"{parent_id}-{number}", parent_id=parent_id, child_id=f"{parent_id}.1",
                venue="CBOE", qty=10, price=1.245, fee=0.06, liquidity=Liquidity.REMOVED,
                ts_ns=1_718_000_000_300_000_000 + number, role=ChildRole.WORK, symbol="AAPL  240621C00190000",
                side=Side.BUY)


def entry(seq: int, kind: str = "fix_in") -> JournalEntry:
    return JournalEntry(seq=seq, ts_ns=1_718_000_000_000_000_000 + seq, kind=kind,
                        session=SESSION if kind == "fix_in" else None, payload=f'{{"n": {seq}}}')


def assert_round_trip(store: Store) -> None:
    """Shared with the PostgreSQL test."""
    parent, other = make_parent("P1"), make_parent("P2", pending=None, price=None, expire_ns=None,
                                                   algo=AlgoParams(), arrival_bid=None, cl_ord_ids=[])
    children = [make_child("P1", 1),
                make_child("P1", 2, status=ChildStatus.PENDING_REPLACE, cum_qty=0, role=ChildRole.HEDGE,
                           post_only=True, display_qty=10, revision=2, want_qty=40, want_price=1.22, next_qty=30,
                           next_price=1.21, cancel_queued=True, status_since_ns=7, accepted_ns=5)]
    fills = [make_fill("P1", 1), make_fill("P1", 2)]
    store.commit_batch([entry(1), entry(2, "venue_report")], [parent, other], children, fills,
                       {"next_order_number": "3"})

    restored = store.load_working()
    assert restored.parents == [parent, other]
    assert restored.children == children
    assert restored.fills == fills
    assert restored.meta["next_order_number"] == "3"
    assert restored.journal_seq == 2
    assert store.children("P1") == children and store.fills("P1") == fills
    assert list(store.iter_journal()) == [entry(1), entry(2, "venue_report")]


@pytest.fixture
def store(tmp_path: Path):
    with Store(f"sqlite:///{tmp_path}/var/router.db") as store:
        store.migrate()
        yield store


def test_round_trip_of_parents_children_fills_and_meta(store: Store) -> None:
    assert_round_trip(store)


def test_columns_match_domain_fields() -> None:
    def names(cls: type) -> set[str]:
        return {f.name for f in dataclasses.fields(cls)}
    assert set(schema.parents.c.keys()) == names(ParentOrder)
    assert set(schema.children.c.keys()) == names(ChildOrder)
    assert set(schema.fills.c.keys()) == names(Fill)
    assert set(schema.journal.c.keys()) == names(JournalEntry) | {"state", "crc"}


def test_upsert_updates_parents_children_and_meta(store: Store) -> None:
    parent = make_parent(status=OrdStatus.NEW, cum_qty=0, pending=None)
    child = make_child(status=ChildStatus.NEW)
    store.commit_batch([entry(1)], [parent], [child], meta={"next_order_number": "2"})

    parent.status, parent.cum_qty, parent.cl_ord_ids = OrdStatus.PARTIALLY_FILLED, 40, ["a", "b", "c"]
    child.status, child.cum_qty = ChildStatus.FILLED, 50
    store.commit_batch([entry(2)], [parent], [child], meta={"next_order_number": "7"})

    assert store.parents() == [parent]
    assert store.children(parent.order_id) == [child]
    assert store.get_meta("next_order_number") == "7"


def test_one_batch_may_touch_an_order_twice_and_the_last_state_wins(store: Store) -> None:
    first, last = make_parent(cum_qty=10), make_parent(cum_qty=20)
    store.commit_batch([entry(1)], [first, last], [make_child(cum_qty=1), make_child(cum_qty=2)])
    assert store.parents() == [last]
    assert [c.cum_qty for c in store.children("P1")] == [2]


def test_duplicate_fills_are_ignored(store: Store) -> None:
    store.commit_batch([entry(1)], fills=[make_fill(number=1)])
    store.commit_batch([entry(2)], fills=[make_fill(number=1), make_fill(number=2)])
    assert store.fills("P1") == [make_fill(number=1), make_fill(number=2)]


def test_sqlite_runs_in_wal_mode(store: Store) -> None:
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1   # NORMAL


def test_creates_the_directory_of_a_sqlite_file(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path}/a/b/router.db") as store:
        store.migrate()
    assert (tmp_path / "a" / "b" / "router.db").exists()


def test_journal_is_read_back_in_seq_order(store: Store) -> None:
    assert store.last_journal_seq() == 0
    store.commit_batch([entry(3), entry(1)])
    store.commit_batch([entry(7, "timer"), entry(5, "market")])
    assert [e.seq for e in store.iter_journal()] == [1, 3, 5, 7]
    assert list(store.iter_journal(from_seq=5)) == [entry(5, "market"), entry(7, "timer")]
    assert store.last_journal_seq() == 7


def test_load_working_leaves_out_closed_parents_of_earlier_days_and_children_and_fills_of_closed_ones(
        store: Store) -> None:
    done = [status for status in OrdStatus if status.is_done]
    working = [status for status in OrdStatus if not status.is_done]
    today = make_parent().created_ns
    parents = [make_parent(f"P{i}", status, closed=True, created_ns=today - 1) for i, status in enumerate(done)]
    parents.append(make_parent("P98", OrdStatus.FILLED, closed=True))   # closed today: still answers status
    parents += [make_parent(f"P{len(done) + i}", status) for i, status in enumerate(working)]
    hedging = make_parent("P99", OrdStatus.FILLED)        # filled, its auto-hedge still working: not closed
    parents.append(hedging)
    store.commit_batch([entry(1)], parents, [make_child(p.order_id) for p in parents],
                       [make_fill(p.order_id) for p in parents])

    restored = store.load_working(since_ns=today)
    assert {p.status for p in restored.parents} == set(working) | {OrdStatus.FILLED}
    assert sorted(p.order_id for p in restored.parents if p.status.is_done) == ["P98", "P99"]
    working_ids = [p.order_id for p in parents if not p.closed]
    assert [c.parent_id for c in restored.children] == sorted(working_ids)
    assert [f.parent_id for f in restored.fills] == sorted(working_ids)
    assert ("CBOE", "P98-1") in restored.fill_keys and ("CBOE", "P1-1") not in restored.fill_keys
    assert len(store.parents()) == len(parents)
    assert store.parents(open_only=True) == [p for p in restored.parents if not p.closed]
    assert len(store.load_working().parents) == len(parents)        # no day given: every parent


def test_used_cl_ord_ids_cover_every_chain(store: Store) -> None:
    store.commit_batch([entry(1)], [make_parent("P1"), make_parent("P2", OrdStatus.FILLED, cl_ord_ids=[])])
    assert store.load_used_cl_ord_ids() == {(SESSION, "P1-c1"), (SESSION, "P1-c2"), (SESSION, "P2-c2")}


def test_a_failing_batch_writes_nothing(store: Store) -> None:
    store.commit_batch([entry(1)], [make_parent("P1")], [make_child("P1")], [make_fill("P1")], {"n": "1"})
    before = (store.parents(), store.children("P1"), store.fills("P1"), store.meta())

    with pytest.raises(exc.IntegrityError):   # seq 1 again: the journal insert fails
        store.commit_batch([entry(2), entry(1)], [make_parent("P1", cum_qty=99), make_parent("P9")],
                           [make_child("P1", cum_qty=49)], [make_fill("P1", 2)], {"n": "2"})

    assert (store.parents(), store.children("P1"), store.fills("P1"), store.meta()) == before
    assert store.last_journal_seq() == 1

    store.commit_batch([entry(2)], [make_parent("P9")])   # the store goes on working
    assert [p.order_id for p in store.parents()] == ["P1", "P9"]


def test_a_reopened_store_restores_the_same_state(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/router.db"
    with Store(url) as store:
        store.migrate()
        store.commit_batch([entry(1)], [make_parent()], [make_child()], [make_fill()], {"n": "2"})
        before = store.load_working()
    with Store(url) as reopened:
        reopened.migrate()
        assert reopened.load_working() == before


def test_migrate_twice_is_harmless(store: Store) -> None:
    store.migrate()
    assert set(inspect(store.engine).get_table_names()) == {"alembic_version", *schema.Base.metadata.tables}


def test_migrations_match_schema(store: Store) -> None:
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), schema.Base.metadata)
    assert differences == []


def test_alembic_ini_works_from_any_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ini = Path(schema.__file__).with_name("alembic.ini")
    monkeypatch.chdir(tmp_path)
    config = Config(str(ini))
    config.set_main_option("sqlalchemy.url", f"sqlite:///{tmp_path}/cli.db")
    command.upgrade(config, "head")
    with Store(f"sqlite:///{tmp_path}/cli.db") as store:
        store.commit_batch([entry(1)], [make_parent()])
        assert store.parents() == [make_parent()]


def test_rejects_unsupported_urls() -> None:
    with pytest.raises(ValueError, match="sqlite and postgresql"):
        Store("mysql://localhost/router")
