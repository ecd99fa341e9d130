"""The journal's own format: a CRC per entry, the state record a batch leaves on its last entry,
and the scan that finds damage before anything is replayed.

A state record is JSON, one object per table the batch changed, each with its column names
once and then one list of values per row: ``{"parents": {"columns": [...], "rows": [[...]]},
"meta": {"next_order_number": "8"}}``. The column names make old records readable after a
migration adds a column (a missing column takes its default when the projection is written).
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .rows import RECORD_COLUMNS

Row = dict[str, Any]
UNCHECKED_CRC = -1                    # entries written before journal CRCs (migration 0003)
PROJECTED_TABLES = ("parents", "children", "fills", "positions", "fill_marks", "parent_marks")


def entry_crc(seq: int, ts_ns: int, kind: str, session: str | None, payload: str, state: str | None) -> int:
    head = f"{seq}\x1f{ts_ns}\x1f{kind}\x1f{session or ''}\x1f".encode()
    crc = zlib.crc32(payload.encode(), zlib.crc32(head))
    if state is not None:
        crc = zlib.crc32(state.encode(), zlib.crc32(b"\x1e", crc))
    return crc


def encode_state(tables: Mapping[str, list[list]], meta: Mapping[str, str],
                 columns: Mapping[str, tuple[str, ...]] = RECORD_COLUMNS, reports: list[list] = ()) -> str | None:
    """The state record of one batch (records per table, router/store/rows.py, and the client
    reports it released), or None when it changed nothing."""
    doc: dict[str, Any] = {}
    for name, records in tables.items():
        if records:
            doc[name] = {"columns": columns[name], "rows": records}
    if meta:
        doc["meta"] = dict(meta)
    if reports:
        doc["reports"] = reports
    return json.dumps(doc, separators=(",", ":")) if doc else None


@dataclass
class BatchState:
    tables: dict[str, list[Row]]
    meta: dict[str, str]
    reports: list[list]          # rows.report_record lists


def decode_state(text: str) -> BatchState:
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError("a state record is a JSON object")
    tables: dict[str, list[Row]] = {}
    for name in PROJECTED_TABLES:
        part = doc.get(name)
        if part is not None:
            columns = part["columns"]
            tables[name] = [dict(zip(columns, values, strict=True)) for values in part["rows"]]
    unknown = set(doc) - set(PROJECTED_TABLES) - {"meta", "reports"}
    if unknown:
        raise ValueError(f"a state record names unknown tables {sorted(unknown)}")
    return BatchState(tables, {str(k): str(v) for k, v in doc.get("meta", {}).items()}, doc.get("reports", []))


@dataclass(frozen=True)
class Damage:
    """Journal entries that fail their check: ``first_seq`` is the offset of the first one."""
    first_seq: int
    seqs: tuple[int, ...]
    problem: str
    at_tail: bool             # nothing intact follows: a write cut short, recoverable

    def describe(self) -> str:
        where = "at the tail" if self.at_tail else "in the middle"
        return (f"journal damaged {where}: {len(self.seqs)} entr{'y' if len(self.seqs) == 1 else 'ies'} "
                f"from seq {self.first_seq} ({self.problem})")


class JournalCorrupt(RuntimeError):
    """A damaged entry with intact ones after it: replaying around it would rebuild wrong state."""


def entry_problem(row: Mapping[str, Any]) -> str | None:
    """Why this journal row cannot be trusted, or None."""
    crc = row["crc"]
    if crc != UNCHECKED_CRC:
        if crc != entry_crc(row["seq"], row["ts_ns"], row["kind"], row["session"], row["payload"], row["state"]):
            return f"CRC mismatch at seq {row['seq']}"
        return None                  # the CRC covers the state record too
    if row["state"] is not None:
        try:
            decode_state(row["state"])
        except (ValueError, KeyError, TypeError) as exc:
            return f"unreadable state record at seq {row['seq']}: {exc}"
    return None


def find_damage(rows: Iterable[Mapping[str, Any]]) -> Damage | None:
    """Scan rows in seq order. Damage followed only by damage is a tail cut short; damage with an
    intact entry after it is corruption in the middle."""
    bad: list[int] = []
    first_problem = ""
    for row in rows:
        problem = entry_problem(row)
        if problem is not None:
            if not bad:
                first_problem = problem
            bad.append(row["seq"])
        elif bad:
            return Damage(bad[0], tuple(bad), f"{first_problem}; intact entry at seq {row['seq']} after it",
                          at_tail=False)
    return Damage(bad[0], tuple(bad), first_problem, at_tail=True) if bad else None
