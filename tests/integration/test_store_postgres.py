"""Store on PostgreSQL: the same round trip as on sqlite, in a schema of its own per test.

Set ROUTER_TEST_PG_URL to use another server; the test skips when none answers."""
from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, exc, inspect, text
from sqlalchemy.engine import make_url

from router.store import Store, schema
from tests.unit.test_store import assert_round_trip, entry, make_child, make_fill, make_parent

pytestmark = pytest.mark.postgres

PG_URL = os.environ.get("ROUTER_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="module")
def admin():
    engine = create_engine(PG_URL, connect_args={"connect_timeout": 2})
    try:
        engine.connect().close()
    except exc.OperationalError as error:
        engine.dispose()
        pytest.skip(f"no PostgreSQL answers at {PG_URL}: {str(error.orig).strip().splitlines()[0]}")
    yield engine
    engine.dispose()


@pytest.fixture
def store(admin):
    pg_schema = f"router_test_{uuid.uuid4().hex[:12]}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{pg_schema}"'))
    # Every table of the store, alembic_version included, lands in the test's own schema.
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={pg_schema}"})
    try:
        with Store(url.render_as_string(hide_password=False)) as store:
            store.migrate()
            yield store
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{pg_schema}" CASCADE'))


def test_round_trip(store: Store) -> None:
    assert_round_trip(store)


def test_tables_live_in_the_test_schema(store: Store) -> None:
    assert set(inspect(store.engine).get_table_names()) == {"alembic_version", *schema.Base.metadata.tables}


def test_migrations_match_schema(store: Store) -> None:
    with store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), schema.Base.metadata) == []


def test_upserts_and_duplicate_fills(store: Store) -> None:
    first, last = make_parent(cum_qty=10), make_parent(cum_qty=20)
    store.commit_batch([entry(1)], [first, last], [make_child(cum_qty=1), make_child(cum_qty=2)],
                       [make_fill(number=1), make_fill(number=1)], {"n": "1"})
    store.commit_batch([entry(2)], [make_parent(cum_qty=30)],
                       fills=[make_fill(number=1), make_fill(number=2)], meta={"n": "2"})
    assert [p.cum_qty for p in store.parents()] == [30]
    assert [c.cum_qty for c in store.children("P1")] == [2]
    assert store.fills("P1") == [make_fill(number=1), make_fill(number=2)]
    assert store.meta()["n"] == "2"


def test_a_failing_batch_writes_nothing(store: Store) -> None:
    store.commit_batch([entry(1)], [make_parent("P1")], meta={"n": "1"})
    with pytest.raises(exc.IntegrityError):
        store.commit_batch([entry(2), entry(1)], [make_parent("P1", cum_qty=99), make_parent("P9")],
                           meta={"n": "2"})
    assert store.parents() == [make_parent("P1")]
    assert store.meta()["n"] == "1" and store.last_journal_seq() == 1
    store.commit_batch([entry(2)], [make_parent("P9")])
    assert [p.order_id for p in store.parents()] == ["P1", "P9"]


def test_engine_restart_mid_order_on_postgresql(store: Store) -> None:
    """The whole engine journaling to PostgreSQL: an order interrupted mid-way completes after a
    restart from the store, with no child sent twice."""
    from router.domain.enums import OrdStatus, Side
    from router.server import restore_from_store
    from tests.harness import CALL, Harness

    first = Harness(persistence=store)
    first.quote("XCBO", CALL, asks=[(5.00, 10)])
    first.new("PG1", Side.BUY, 30, 5.00)
    first.settle(0.1)
    second = Harness(persistence=store, start=first.now())
    second.engine.restore(restore_from_store(store))
    second.quote("ARCO", CALL, asks=[(5.00, 40)])
    second.settle(0.1)
    parent = second.engine.parents["P1"]
    assert parent.status is OrdStatus.FILLED and parent.cum_qty == 30
    children = store.children("P1")
    assert len({c.child_id for c in children}) == len(children) >= 2
    assert sum(f.qty for f in store.fills("P1")) == 30
    assert [e.kind for e in store.iter_journal()].count("fix_in") == 1


def test_journal_first_on_postgresql(store: Store) -> None:
    """The projection written behind the journal, caught up at start-up and rebuilt from it."""
    from router.server import restore_from_store
    from router.store.rebuild import rebuild
    from tests.harness import Harness
    from tests.unit.test_journal import trade_a_little

    behind = Store(store.url, projection_interval_s=3600)
    first = Harness(persistence=behind)
    trade_a_little(first)
    assert store.table_rows("parents") == []                 # only the journal is written on commit
    restored = restore_from_store(store)                     # a new process: catch up from the journal
    assert {p.order_id: p.cum_qty for p in restored.parents} == {
        p.order_id: p.cum_qty for p in first.engine.parents.values()}
    report = rebuild(store, write=False)
    assert report.ok and report.tables["positions"].rows >= 2, report
    behind.close()                                           # its late projection changes nothing
    assert rebuild(store, write=False).ok
