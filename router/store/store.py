"""SQLAlchemy persistence, journal first.

The engine calls :meth:`Store.commit_batch` once per batch of inbox events (group commit),
before any effect of the batch leaves the process. The commit is one append to the journal:
the batch's inbound events and commands, and on its last entry the state the batch left (the
rows of every parent, child, fill and position it changed, router/store/journal.py). The other
tables are projections of the journal, written behind it (router/store/projection.py). Start-up
checks the journal, replays it after the projection's watermark and loads the trading day.

Writes use Core statements with executemany: one round trip per table and batch.
"""
from __future__ import annotations

import logging
import time
from operator import itemgetter
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Executable, Table, create_engine, delete, event, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from router.domain.events import ClientReport, JournalEntry, ResentReport
from router.domain.orders import ChildOrder, Fill, ParentOrder, RestoredState
from router.engine.batch import REPORTS_RELEASED

from . import schema
from .journal import Damage, JournalCorrupt, decode_state, encode_state, entry_crc, find_damage
from .queries import (children_query, fetch, fills_query, last_journal_seq, parents_query, read_meta,
                      used_cl_ord_ids)
from .projection import WATERMARK, InlineProjection, Pending, ProjectionProcess, write_pending
from .rows import (child_from_row, child_record, fill_from_row, fill_record, journal_from_row, journal_to_row,
                   mark_records, parent_from_row, parent_record, position_record, report_from_record,
                   report_record)

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_DIALECT_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
_SCAN_BATCH = 5000


class Store:
    def __init__(self, url: str, *, projection_interval_s: float | None = None) -> None:
        """``projection_interval_s``: a projection process catches the tables up with the journal
        that often (the router's setting); None writes them right after each commit, on the
        committing thread (tests, replays, tools)."""
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
        self._projection_writes: dict[str, Executable] = {
            "parents": _upsert(dialect_insert, schema.parents, batch_upserts),
            "children": _upsert(dialect_insert, schema.children, batch_upserts),
            "positions": _upsert(dialect_insert, schema.positions, batch_upserts),
            "fill_marks": _upsert(dialect_insert, schema.fill_marks, batch_upserts),
            "parent_marks": _upsert(dialect_insert, schema.parent_marks, batch_upserts),
            "meta": _upsert(dialect_insert, schema.meta, batch_upserts),
            # a replayed fill is the same fill: keep the first
            "fills": _batched(dialect_insert(schema.fills).on_conflict_do_nothing(
                index_elements=["venue", "exec_id"]), schema.fills, batch_upserts),
        }
        self._writer: Connection | None = None   # kept open: commit_batch is on the hot path
        # On SQLite the batch statements go to the driver precompiled: SQLAlchemy's per-row parameter
        # processing cost more than SQLite's own insert (bench/store_commit.py).
        self._driver_sql = {statement: _positional_sql(statement, self.engine.dialect)
                            for statement in (self._insert_journal, *self._projection_writes.values())} \
            if backend == "sqlite" else {}
        self._sqlite = backend == "sqlite"
        # With a projection process, it checkpoints SQLite's WAL after each catch-up, off the hot
        # path; without one SQLite's own automatic checkpoint stays.
        self._behind = projection_interval_s is not None
        self._projector = ProjectionProcess(url, projection_interval_s) if self._behind \
            else InlineProjection(self.engine, self._write_table)
        self.last_damage: Damage | None = None

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    # ------------------------------------------------------------------ writing

    def commit_batch(self, journal: list[JournalEntry], parents: Iterable[ParentOrder] = (),
                     children: Iterable[ChildOrder] = (), fills: Iterable[Fill] = (),
                     meta: dict[str, str] | None = None, positions: Iterable[Any] = (),
                     reports: Iterable[ClientReport] = (), marks: Iterable[Any] = ()) -> None:
        """Append one batch to the journal in one transaction, its state on the last entry; then
        hand the changed rows to the projection. Writes nothing if any part fails. Called by the
        one writer, the engine thread."""
        # A batch may touch a row twice: one per key, the last state wins.
        tables = {
            "parents": [parent_record(p) for p in {p.order_id: p for p in parents}.values()],
            "children": [child_record(c) for c in {c.child_id: c for c in children}.values()],
            "fills": [fill_record(f) for f in {(f.venue, f.exec_id): f for f in fills}.values()],
            "positions": [position_record(p) for p in
                          {(p.account, p.parent_id, p.symbol): p for p in positions}.values()],
        }
        if marks:
            tables["fill_marks"], tables["parent_marks"] = mark_records(marks)
        meta = meta or {}
        rows = [journal_to_row(entry) for entry in journal]
        state = encode_state(tables, meta, reports=[report_record(r.report if type(r) is ResentReport else r)
                                                    for r in reports])
        if state is not None and not rows:
            raise ValueError("a batch that changes state must journal at least one entry to carry it")
        for row in rows:
            row["state"] = None
        if rows:
            rows[-1]["state"] = state
        for row in rows:
            row["crc"] = entry_crc(row["seq"], row["ts_ns"], row["kind"], row["session"], row["payload"],
                                   row["state"])
        if not rows:
            return
        if self._writer is None:
            self._writer = self.engine.connect()
            if self._sqlite and self._behind:
                self._writer.connection.driver_connection.execute("PRAGMA wal_autocheckpoint=0")
        with self._writer.begin():
            self._execute(self._writer, self._insert_journal, rows)
        if state is not None:
            self._projector.submit(rows[-1]["seq"], state)

    def _execute(self, connection: Connection, statement: Executable, rows: list[dict[str, Any]]) -> None:
        driver = self._driver_sql.get(statement)
        if driver is None:
            connection.execute(statement, rows)
        else:
            sql, ordered = driver
            connection.exec_driver_sql(sql, [ordered(row) for row in rows])

    def _write_table(self, connection: Connection, table: str, rows: list[dict[str, Any]]) -> None:
        self._execute(connection, self._projection_writes[table], rows)

    def sync(self) -> None:
        """Bring the projection tables up to the last commit (readers in this process call it)."""
        if self._behind:
            self.catch_up()

    # ------------------------------------------------------------------ start-up

    def recover(self) -> int:
        """Check the journal and catch the projection up with it; return the last intact seq.
        A damaged tail (a write cut short) is moved to journal_quarantine and reported; damage
        with intact entries after it raises JournalCorrupt."""
        self.sync()
        damage = self.check_journal()
        self.last_damage = damage
        if damage is not None:
            if not damage.at_tail:
                raise JournalCorrupt(damage.describe() + "; refusing to start: restore the journal from a "
                                     "backup, or inspect it with `router store check`")
            log.error("%s; recovered the intact prefix up to seq %d, damaged entries kept in journal_quarantine",
                      damage.describe(), damage.first_seq - 1)
            self._quarantine(damage)
            if int(self.get_meta(WATERMARK, "0")) >= damage.first_seq:
                self.replace_projection(self.fold())       # it had projected the damaged entries
        self.catch_up()
        return self.last_journal_seq()

    def check_journal(self) -> Damage | None:
        journal = schema.journal
        with self.engine.connect() as connection:
            result = connection.execution_options(yield_per=_SCAN_BATCH).execute(
                select(journal).order_by(journal.c.seq))
            return find_damage(result.mappings())

    def _quarantine(self, damage: Damage) -> None:
        journal, quarantine = schema.journal, schema.quarantine
        found_ns = time.time_ns()
        with self.engine.begin() as connection:
            damaged = connection.execute(select(journal).where(journal.c.seq >= damage.first_seq)).mappings().all()
            connection.execute(insert(quarantine), [{**row, "problem": damage.problem, "found_ns": found_ns}
                                                    for row in damaged])
            connection.execute(delete(journal).where(journal.c.seq >= damage.first_seq))

    def catch_up(self, chunked: bool = False) -> int:
        """Replay the journal's state records after the watermark into the projection tables;
        return how many entries were replayed. ``chunked``: a transaction per few hundred rows
        (the projection process: the engine's journal appends wait for one chunk at most), and a
        WAL checkpoint after."""
        watermark = int(self.get_meta(WATERMARK, "0"))
        pending = Pending()
        replayed = 0
        for seq, state in self._state_records(from_seq=watermark + 1):
            batch = decode_state(state)
            pending.add(seq, batch.tables, batch.meta)
            replayed += 1
        if pending and chunked:
            with self.engine.connect() as connection:
                write_pending(connection, pending, self._write_table, transaction=connection.begin)
                if self._sqlite:
                    _checkpoint(connection)
        elif pending:
            with self.engine.begin() as connection:
                write_pending(connection, pending, self._write_table)
        return replayed

    def fold(self, from_seq: int = 0, to_seq: int | None = None) -> Pending:
        """Every row as the journal's state records from ``from_seq`` up to ``to_seq`` (all when
        None) leave it."""
        folded = Pending()
        for seq, state in self._state_records(from_seq=from_seq, to_seq=to_seq):
            batch = decode_state(state)
            folded.add(seq, batch.tables, batch.meta)
        return folded

    def replace_projection(self, folded: Pending) -> None:
        """Empty the projection tables and write ``folded`` into them, in one transaction."""
        with self.engine.begin() as connection:
            for table in (schema.parents, schema.children, schema.fills, schema.positions, schema.fill_marks,
                          schema.parent_marks, schema.meta):
                connection.execute(delete(table))
            write_pending(connection, folded, self._write_table)

    def _state_records(self, from_seq: int = 0, to_seq: int | None = None) -> Iterator[tuple[int, str]]:
        journal = schema.journal
        query = select(journal.c.seq, journal.c.state).where(journal.c.seq >= from_seq, journal.c.state.is_not(None))
        if to_seq is not None:
            query = query.where(journal.c.seq <= to_seq)
        with self.engine.connect() as connection:
            result = connection.execution_options(yield_per=_SCAN_BATCH).execute(query.order_by(journal.c.seq))
            yield from result

    def load_working(self, since_ns: int | None = None) -> RestoredState:
        """What a restarted engine needs, after :meth:`recover`: every parent not closed, with its
        children and fills; the closed parents of the trading day (created at or after
        ``since_ns``; all when None), so they still answer status requests; positions; the
        counters; and every ClOrdID used. Read in one transaction."""
        self.recover()
        parents = schema.parents
        is_working = parents.c.closed.is_(False)
        of_the_day = parents.c.order_id.is_not(None) if since_ns is None else \
            is_working | (parents.c.created_ns >= since_ns)
        working_ids = select(parents.c.order_id).where(is_working)
        day_ids = select(parents.c.order_id).where(of_the_day)
        with self.engine.connect() as connection:
            meta = read_meta(connection)
            return RestoredState(
                parents=fetch(connection, parents_query().where(of_the_day), parent_from_row),
                children=fetch(connection, children_query(schema.children.c.parent_id.in_(working_ids)),
                                child_from_row),
                fills=fetch(connection, fills_query(schema.fills.c.parent_id.in_(working_ids)),
                             fill_from_row),
                used_cl_ord_ids=used_cl_ord_ids(connection),
                next_order_number=int(meta.get("next_order_number", "1")),
                journal_seq=last_journal_seq(connection),
                meta=meta,
                fill_keys={tuple(key) for key in connection.execute(
                    select(schema.fills.c.venue, schema.fills.c.exec_id).where(schema.fills.c.parent_id.in_(day_ids)))},
                positions=[tuple(row) for row in connection.execute(
                    select(schema.positions).where(schema.positions.c.parent_id.in_(day_ids))
                    .order_by(*schema.positions.primary_key.columns))],
                unsent_reports=self._unsent_reports(int(meta.get(REPORTS_RELEASED, "0"))),
            )

    def _unsent_reports(self, released_seq: int) -> list[ClientReport]:
        """Reports of the batches committed after the last one known to be sent: a crash between a
        commit and its send may have kept them from the client."""
        return [report_from_record(record) for _, state in self._state_records(from_seq=released_seq + 1)
                for record in decode_state(state).reports]

    # ------------------------------------------------------------------ reading

    def load_used_cl_ord_ids(self) -> set[tuple[str, str]]:
        """(session, ClOrdID) of every ClOrdID any chain (or auto-hedge, 5010) has used, to reject duplicates."""
        self.sync()
        with self.engine.connect() as connection:
            return used_cl_ord_ids(connection)

    def last_journal_seq(self) -> int:
        """The highest journal seq, 0 when the journal is empty."""
        with self.engine.connect() as connection:
            return last_journal_seq(connection)

    def iter_journal(self, from_seq: int = 0) -> Iterator[JournalEntry]:
        """Journal entries with seq >= from_seq, in seq order, streamed."""
        journal = schema.journal
        query = select(journal).where(journal.c.seq >= from_seq).order_by(journal.c.seq)
        with self.engine.connect() as connection:
            result = connection.execution_options(yield_per=1000).execute(query)
            for row in result.mappings():
                yield journal_from_row(row)

    def iter_states(self, to_seq: int | None = None) -> Iterator[tuple[int, Any]]:
        """(seq, decoded state record) of every batch up to ``to_seq``, in order."""
        for seq, state in self._state_records(to_seq=to_seq):
            yield seq, decode_state(state)

    def table_rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of one projection table, as stored."""
        self.sync()
        target = getattr(schema, table)
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(
                select(target).order_by(*target.primary_key.columns)).mappings()]

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        query = select(schema.meta.c.value).where(schema.meta.c.key == key)
        with self.engine.connect() as connection:
            value = connection.execute(query).scalar_one_or_none()
        return default if value is None else value

    def meta(self) -> dict[str, str]:
        self.sync()
        with self.engine.connect() as connection:
            return read_meta(connection)

    def parents(self, open_only: bool = False) -> list[ParentOrder]:
        """Parents in arrival order; ``open_only``: those not closed (working, or done and still hedging)."""
        self.sync()
        query = parents_query()
        if open_only:
            query = query.where(schema.parents.c.closed.is_(False))
        with self.engine.connect() as connection:
            return fetch(connection, query, parent_from_row)

    def children(self, parent_id: str) -> list[ChildOrder]:
        self.sync()
        with self.engine.connect() as connection:
            return fetch(connection, children_query(schema.children.c.parent_id == parent_id),
                          child_from_row)

    def fills(self, parent_id: str) -> list[Fill]:
        self.sync()
        with self.engine.connect() as connection:
            return fetch(connection, fills_query(schema.fills.c.parent_id == parent_id), fill_from_row)

    def close(self) -> None:
        try:
            self._projector.close()
        finally:
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


def _checkpoint(connection: Connection) -> None:
    """Move the WAL into the database file without waiting for anyone. SQLite's automatic
    checkpoint would run inside whichever commit crosses its threshold: on the engine's."""
    connection.connection.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")


def _sqlite_on_begin(connection: Connection) -> None:
    connection.connection.driver_connection.execute("BEGIN")
