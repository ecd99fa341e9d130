"""Projections: the parents, children, fills, positions and meta tables, written behind the
journal.

The engine's commit appends to the journal only. The router runs a projection process that
every ``interval_s`` folds the journal's state records after the watermark ``projected_seq``
(the last state of each row wins) and upserts them, moving the watermark last; tests, replays
and tools write each batch's rows right after its commit instead. A crash loses at most rows
not yet written, never the truth: start-up replays the journal after the watermark
(Store.catch_up), and every write is an idempotent upsert, so replaying twice is harmless.
"""
from __future__ import annotations

import logging
import os
import select
import subprocess
import sys
from typing import Any, Callable, Mapping

from sqlalchemy import Connection, Engine

from .journal import Row, decode_state
from .rows import record_to_row

log = logging.getLogger(__name__)

WATERMARK = "projected_seq"
KEYS: dict[str, Callable[[Row], Any]] = {
    "parents": lambda row: row["order_id"],
    "children": lambda row: row["child_id"],
    "fills": lambda row: (row["venue"], row["exec_id"]),
    "positions": lambda row: (row["account"], row["parent_id"], row["symbol"]),
    "fill_marks": lambda row: (row["venue"], row["exec_id"]),
    "parent_marks": lambda row: row["order_id"],
}
TableWriter = Callable[[Connection, str, list[Row]], None]      # (connection, table, rows)


class Pending:
    """Rows waiting to be projected, one per key, and the seq they are current to."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[Any, Row]] = {name: {} for name in KEYS}
        self.meta: dict[str, str] = {}
        self.seq = 0

    def add(self, seq: int, tables: Mapping[str, list[Row]], meta: Mapping[str, str]) -> None:
        for name, rows in tables.items():
            if rows:
                key, target = KEYS[name], self.tables[name]
                for row in rows:
                    target[key(row)] = row
        self.meta.update(meta)
        self.seq = max(self.seq, seq)

    def __bool__(self) -> bool:
        return self.seq > 0


CHUNK_ROWS = 500       # rows per projection transaction: how long the journal's writer may wait


def write_pending(connection: Connection, pending: Pending, write: TableWriter,
                  transaction: Callable[[], Any] | None = None) -> None:
    """Every table, then the meta rows and the watermark last. With ``transaction`` (a context
    manager factory), each chunk of CHUNK_ROWS rows is a transaction of its own, so a writer
    waiting on SQLite's one write lock waits for one chunk, not the whole projection; a crash
    between chunks leaves rows newer than the watermark, which replaying the journal after the
    watermark makes right. Without it, the caller's one transaction holds everything."""
    parts = [(name, [record_to_row(name, row) for row in rows.values()]) for name, rows in pending.tables.items()
             if rows]
    parts.append(("meta", [{"key": k, "value": v} for k, v in {**pending.meta, WATERMARK: str(pending.seq)}.items()]))
    for name, rows in parts:
        for start in range(0, len(rows), CHUNK_ROWS if transaction is not None else max(len(rows), 1)):
            chunk = rows[start:start + CHUNK_ROWS] if transaction is not None else rows
            if transaction is None:
                write(connection, name, chunk)
            else:
                with transaction():
                    write(connection, name, chunk)


class InlineProjection:
    """Writes each batch's rows right after its journal commit, on the committing thread (tests,
    replays, tools)."""

    def __init__(self, engine: Engine, write: TableWriter) -> None:
        self._engine = engine
        self._write = write
        self._connection: Connection | None = None

    def submit(self, seq: int, state: str) -> None:
        batch = decode_state(state)
        pending = Pending()
        pending.add(seq, batch.tables, batch.meta)
        if self._connection is None:
            self._connection = self._engine.connect()
        with self._connection.begin():
            write_pending(self._connection, pending, self._write)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class ProjectionProcess:
    """Catches the projection up with the journal every ``interval_s``, in a process of its own
    (``python -m router.store.projector``): the engine's commit is the journal append alone, and
    none of the projection's decoding and writing competes with the engine thread for the
    interpreter lock (as a thread did: p99 of a 64-event commit went from ~1 ms to ~20 ms). It
    reads the journal from the database, so it needs nothing from the engine; it stops when its
    standard input closes (told to, or the process that started it is gone), after one last
    catch-up."""

    def __init__(self, url: str, interval_s: float) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "router.store.projector", "--interval", str(interval_s)],
            stdin=subprocess.PIPE, env={**os.environ, URL_VARIABLE: url})   # a URL may hold a password

    def submit(self, seq: int, state: str) -> None:
        pass                                   # it reads the journal itself

    def close(self) -> None:
        try:
            self._process.stdin.close()
        except OSError:
            pass
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()


URL_VARIABLE = "ROUTER_PROJECTION_STORE_URL"


def project_until_stdin_closes(url: str, interval_s: float) -> None:
    from .store import Store

    store = Store(url)
    try:
        while True:
            ready, _, _ = select.select([sys.stdin], [], [], interval_s)
            try:
                store.catch_up(chunked=True)
            except Exception:
                log.exception("projection catch-up failed; the journal has everything, the next one retries")
            if ready and not sys.stdin.buffer.read1(4096):
                return
    finally:
        store.close()

