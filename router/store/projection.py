"""Projections: the parents, children, fills, positions and meta tables, written behind the
journal.

The engine's commit appends to the journal only; the rows its batch changed are handed here.
With an interval the writer thread conflates them (the last state of each row wins) and writes
them every ``interval_s`` in one transaction that also moves the watermark ``projected_seq``;
without one (tests, replays) they are written at once, on the caller's thread. A crash loses
at most the unwritten rows, never the truth: start-up replays the journal after the watermark
(Store.catch_up), and every write is an idempotent upsert, so replaying twice is harmless.
"""
from __future__ import annotations

import logging
import threading
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


def write_pending(connection: Connection, pending: Pending, write: TableWriter) -> None:
    """One transaction's worth: every table, then the watermark."""
    for name, rows in pending.tables.items():
        if rows:
            write(connection, name, [record_to_row(name, row) for row in rows.values()])
    write(connection, "meta", [{"key": k, "value": v} for k, v in {**pending.meta,
                                                                  WATERMARK: str(pending.seq)}.items()])


class ProjectionWriter:
    def __init__(self, engine: Engine, write: TableWriter, interval_s: float | None) -> None:
        self._engine = engine
        self._write = write
        self._interval_s = interval_s
        self._pending = Pending()
        self._submitted: list[tuple[int, str]] = []   # (seq, state record) not yet decoded
        self._lock = threading.Lock()           # guards _pending and _submitted
        self._writing = threading.Lock()        # one projection transaction at a time
        self._wake = threading.Event()
        self._closed = False
        self._connection: Connection | None = None
        self._thread: threading.Thread | None = None
        self.failures = 0
        if interval_s is not None:
            self._thread = threading.Thread(target=self._run, name="projection", daemon=True)
            self._thread.start()

    def submit(self, seq: int, state: str) -> None:
        """Called after the journal commit of the batch whose state record this is. The record is
        decoded here, off the engine's path when there is a writer thread: the projection is
        written from the journal's own text, as start-up's catch-up writes it."""
        with self._lock:
            self._submitted.append((seq, state))
        if self._thread is None:
            self.flush()

    def flush(self) -> None:
        """Write everything submitted so far, now."""
        with self._writing:
            with self._lock:
                pending, self._pending = self._pending, Pending()
                submitted, self._submitted = self._submitted, []
            for seq, state in submitted:
                batch = decode_state(state)
                pending.add(seq, batch.tables, batch.meta)
            if not pending:
                return
            try:
                if self._connection is None:
                    self._connection = self._engine.connect()
                with self._connection.begin():
                    write_pending(self._connection, pending, self._write)
            except Exception:
                self.failures += 1
                with self._lock:             # keep them, newer rows first: the next flush retries
                    pending.add(self._pending.seq, {n: list(r.values()) for n, r in self._pending.tables.items()},
                                self._pending.meta)
                    self._pending = pending
                raise

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self._interval_s)
            try:
                self.flush()
            except Exception:
                log.exception("projection write failed; the rows stay queued and the journal has them")

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5.0)
        try:
            self.flush()
        finally:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
