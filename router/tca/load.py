"""The TCA's input from a store: parents created since a time, their fills and marks, and the
multipliers their positions were booked with."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import select

from router.store import schema
from router.store.store import Store

from .inputs import TcaInput

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str, now_ns: int) -> int:
    """An ISO-8601 time (UTC when it names no zone) or a duration back from ``now_ns``
    ("90s", "30m", "2h", "1d"), as ns since the epoch."""
    match = _DURATION.match(text)
    if match:
        return now_ns - int(float(match.group(1)) * _UNIT_S[match.group(2).lower()] * 1_000_000_000)
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--since {text!r}: expected an ISO time such as 2026-11-20T15:00:00Z "
                         f"or a duration such as 90s, 30m, 2h, 1d") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return int(when.timestamp() * 1_000_000) * 1000


def load_tca(store: Store, since_ns: int | None = None) -> TcaInput:
    """Every parent created at or after ``since_ns`` (all when None) with its fills and marks."""
    store.sync()
    parents_table = schema.parents
    chosen = select(parents_table.c.order_id)
    if since_ns is not None:
        chosen = chosen.where(parents_table.c.created_ns >= since_ns)

    def rows(table, key_column):
        query = select(table).where(key_column.in_(chosen))
        return [dict(row) for row in connection.execute(query).mappings()]

    with store.engine.connect() as connection:
        parents = [dict(row) for row in connection.execute(
            select(parents_table).where(parents_table.c.order_id.in_(chosen))
            .order_by(parents_table.c.created_ns, parents_table.c.order_id)).mappings()]
        fills = rows(schema.fills, schema.fills.c.parent_id)
        fill_marks = rows(schema.fill_marks, schema.fill_marks.c.parent_id)
        parent_marks = rows(schema.parent_marks, schema.parent_marks.c.order_id)
        positions = schema.positions
        multipliers = {symbol: float(multiplier) for symbol, multiplier in connection.execute(
            select(positions.c.symbol, positions.c.multiplier).where(positions.c.parent_id.in_(chosen)))}
    fills.sort(key=lambda f: (f["ts_ns"], f["venue"], f["exec_id"]))
    return TcaInput.from_rows(parents, fills, fill_marks, parent_marks, multipliers)
