"""The journal: every inbound event, durable before its effects leave the process."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class JournalEntry:
    seq: int                # assigned by the engine, strictly increasing
    ts_ns: int              # engine clock time when the event was taken from the inbox
    kind: str               # "fix_in", "venue_report", "timer", "market", ...
    session: str | None     # FIX session for "fix_in", else None
    payload: str            # the event as JSON
