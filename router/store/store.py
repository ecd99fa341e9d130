"""SQLAlchemy persistence: the journal of inbound events plus projections of parents,
children, fills and counters.

The engine calls :meth:`Store.commit_batch` once per batch of inbox events (group commit),
before any effect of the batch leaves the process. One transaction writes the journal
rows and the projections, so after a crash they always agree.

Writes use Core statements with executemany: one round trip per table and batch.
"""
from __future__ import annotations

from operator import itemgetter

import json
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import (ColumnElement, Connection, Executable, Select, Table, create_engine, event, func,
                        insert, select)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from router.domain.orders import ChildOrder, Fill, ParentOrder, RestoredState

from . import schema
from router.domain.events import JournalEntry
from .rows import (child_from_row, child_to_row, fill_from_row, fill_to_row, journal_from_row,
                   journal_to_row, parent_from_row, parent_to_row)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_DIALECT_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
T = TypeVar("T")


class Store:
    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
        if backend not in _DIALECT_INSERTS:
            raise ValueError(f"store supports sqlite and postgresql URLs, not {backend!r}")
        self.url = url
        if backend == "sqlite":
            _create_parent_directory(parsed.database)
        self.engine = create_engine(url)
        if backend == "sqlite":
            event.listen(self.engine, "connect", _sqlite_on_connect)
            event.listen(self.engine, "begin", _sqlite_on_begin)
        dialect_insert = _DIALECT_INSERTS[backend]
        batch_upserts = backend == "postgresql"
        self._insert_journal = insert(schema.journal)
        self._upsert_parents = _upsert(dialect_insert, schema.parents, batch_upserts)
        self._upsert_children = _upsert(dialect_insert, schema.children, batch_upserts)
        self._upsert_meta = _upsert(dialect_insert, schema.meta, batch_upserts)
        self._insert_new_fills = _batched(dialect_insert(schema.fills).on_conflict_do_nothing(
            index_elements=["exec_id"]), schema.fills, batch_upserts)
        self._writer: Connection | None = None   # kept open: commit_batch is on the hot path
        # On SQLite the batch statements go to the driver precompiled: SQLAlchemy's per-row parameter
        # processing cost more than SQLite's own insert (bench/store_commit.py).
        self._driver_sql = {statement: _positional_sql(statement, self.engine.dialect)
                            for statement in (self._insert_journal, self._upsert_parents, self._upsert_children,
                                              self._upsert_meta, self._insert_new_fills)} \
            if backend == "sqlite" else {}

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def commit_batch(self, journal: list[JournalEntry], parents: Iterable[ParentOrder] = (),
                     children: Iterable[ChildOrder] = (), fills: Iterable[Fill] = (),
                     meta: dict[str, str] | None = None) -> None:
        """Write one batch in one transaction: append journal rows, upsert parents,
        children and meta, insert fills not seen before. Writes nothing if any part fails.
        Called by the one writer, the engine thread."""
        # A batch may touch an order twice: one row per key, the last state wins.
        parents = {parent.order_id: parent for parent in parents}.values()
        children = {child.child_id: child for child in children}.values()
        fills = {fill.exec_id: fill for fill in fills}.values()
        writes: list[tuple[Executable, list[dict[str, Any]]]] = [
            (self._insert_journal, [journal_to_row(entry) for entry in journal]),
            (self._upsert_parents, [parent_to_row(parent) for parent in parents]),
            (self._upsert_children, [child_to_row(child) for child in children]),
            (self._insert_new_fills, [fill_to_row(fill) for fill in fills]),
            (self._upsert_meta, [{"key": key, "value": value} for key, value in (meta or {}).items()]),
        ]
        if self._writer is None:
            self._writer = self.engine.connect()
        with self._writer.begin():
            for statement, rows in writes:
                if not rows:
                    continue
                driver = self._driver_sql.get(statement)
                if driver is None:
                    self._writer.execute(statement, rows)
                else:
                    sql, ordered = driver
                    self._writer.exec_driver_sql(sql, [ordered(row) for row in rows])

    def load_working(self) -> RestoredState:
        """What a restarted engine needs: parents not closed, with all their children and fills,
        the counters, and every ClOrdID used; read in one transaction."""
        is_working = schema.parents.c.closed.is_(False)
        working_ids = select(schema.parents.c.order_id).where(is_working)
        with self.engine.connect() as connection:
            meta = _meta(connection)
            return RestoredState(
                parents=_fetch(connection, _parents_query().where(is_working), parent_from_row),
                children=_fetch(connection, _children_query(schema.children.c.parent_id.in_(working_ids)),
                                child_from_row),
                fills=_fetch(connection, _fills_query(schema.fills.c.parent_id.in_(working_ids)),
                             fill_from_row),
                used_cl_ord_ids=_used_cl_ord_ids(connection),
                next_order_number=int(meta.get("next_order_number", "1")),
                journal_seq=_last_journal_seq(connection),
                meta=meta,
            )

    def load_used_cl_ord_ids(self) -> set[tuple[str, str]]:
        """(session, ClOrdID) of every ClOrdID any chain (or auto-hedge, 5010) has used, to reject duplicates."""
        with self.engine.connect() as connection:
            return _used_cl_ord_ids(connection)

    def last_journal_seq(self) -> int:
        """The highest journal seq, 0 when the journal is empty."""
        with self.engine.connect() as connection:
            return _last_journal_seq(connection)

    def iter_journal(self, from_seq: int = 0) -> Iterator[JournalEntry]:
        """Journal entries with seq >= from_seq, in seq order, streamed."""
        journal = schema.journal
        query = select(journal).where(journal.c.seq >= from_seq).order_by(journal.c.seq)
        with self.engine.connect() as connection:
            result = connection.execution_options(yield_per=1000).execute(query)
            for row in result.mappings():
                yield journal_from_row(row)

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        query = select(schema.meta.c.value).where(schema.meta.c.key == key)
        with self.engine.connect() as connection:
            value = connection.execute(query).scalar_one_or_none()
        return default if value is None else value

    def meta(self) -> dict[str, str]:
        with self.engine.connect() as connection:
            return _meta(connection)

    def parents(self, open_only: bool = False) -> list[ParentOrder]:
        """Parents in arrival order; ``open_only``: those not closed (working, or done and still hedging)."""
        query = _parents_query()
        if open_only:
            query = query.where(schema.parents.c.closed.is_(False))
        with self.engine.connect() as connection:
            return _fetch(connection, query, parent_from_row)

    def children(self, parent_id: str) -> list[ChildOrder]:
        with self.engine.connect() as connection:
            return _fetch(connection, _children_query(schema.children.c.parent_id == parent_id),
                          child_from_row)

    def fills(self, parent_id: str) -> list[Fill]:
        with self.engine.connect() as connection:
            return _fetch(connection, _fills_query(schema.fills.c.parent_id == parent_id), fill_from_row)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _positional_sql(statement: Executable, dialect) -> tuple[str, Callable[[dict], tuple]]:
    """The statement as driver SQL, and a function putting a row's values in its parameter order."""
    compiled = statement.compile(dialect=dialect, column_keys=None)
    if not compiled.positional:
        raise ValueError("expected a positional paramstyle")
    names = tuple(compiled.positiontup)
    getter = itemgetter(*names)
    return str(compiled), (getter if len(names) > 1 else lambda row: (getter(row),))


def _upsert(dialect_insert: Callable[[Table], Any], table: Table, batch: bool) -> Executable:
    """INSERT ... ON CONFLICT (primary key) DO UPDATE every other column."""
    statement = dialect_insert(table)
    return _batched(statement.on_conflict_do_update(
        index_elements=[column.name for column in table.primary_key],
        set_={column.name: statement.excluded[column.name]
              for column in table.columns if not column.primary_key}), table, batch)


def _batched(statement: Any, table: Table, batch: bool) -> Executable:
    """On PostgreSQL, SQLAlchemy packs executemany rows into multi-row INSERTs (one round
    trip per 1000 rows), but for INSERT ... ON CONFLICT only when the statement has
    RETURNING. The RETURNING added here just turns that on; its rows are ignored. Packing is
    safe because commit_batch sends each key once. sqlite has no round trips to save."""
    return statement.returning(*table.primary_key) if batch else statement


def _parents_query() -> Select[Any]:
    parents = schema.parents
    return select(parents).order_by(parents.c.created_ns, parents.c.order_id)


def _children_query(where: ColumnElement[bool]) -> Select[Any]:
    children = schema.children
    return (select(children).where(where)
            .order_by(children.c.parent_id, children.c.sent_ns, children.c.child_id))


def _fills_query(where: ColumnElement[bool]) -> Select[Any]:
    fills = schema.fills
    return select(fills).where(where).order_by(fills.c.parent_id, fills.c.ts_ns, fills.c.exec_id)


def _fetch(connection: Connection, query: Select[Any], from_row: Callable[[Any], T]) -> list[T]:
    return [from_row(row) for row in connection.execute(query).mappings()]


def _used_cl_ord_ids(connection: Connection) -> set[tuple[str, str]]:
    parents = schema.parents
    used: set[tuple[str, str]] = set()
    for session, cl_ord_id, chain, algo in connection.execute(select(parents.c.session, parents.c.cl_ord_id,
                                                                     parents.c.cl_ord_ids, parents.c.algo)):
        used.add((session, cl_ord_id))
        used.update((session, chained) for chained in json.loads(chain))
        if (hedge_id := json.loads(algo).get("alt_auto_hedge_id")):
            used.add((session, hedge_id))        # the hedge executions' ClOrdID (5010)
    return used


def _meta(connection: Connection) -> dict[str, str]:
    return dict(connection.execute(select(schema.meta.c.key, schema.meta.c.value)).all())


def _last_journal_seq(connection: Connection) -> int:
    return connection.execute(select(func.coalesce(func.max(schema.journal.c.seq), 0))).scalar_one()


def _create_parent_directory(database: str | None) -> None:
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Leave transactions to SQLAlchemy's "begin" below (pysqlite's own handling would run
    # DDL outside them), then WAL: readers (the CLI blotter) never block the engine.
    # synchronous=NORMAL: a commit survives a process crash; a power loss may lose the last ones.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def _sqlite_on_begin(connection: Connection) -> None:
    connection.connection.driver_connection.execute("BEGIN")
