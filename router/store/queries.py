"""The store's read queries: the projection tables in the orders the engine and the tools want."""
from __future__ import annotations

import json
from typing import Any, Callable, TypeVar

from sqlalchemy import ColumnElement, Connection, Select, func, select

from . import schema

T = TypeVar("T")


def parents_query() -> Select[Any]:
    parents = schema.parents
    return select(parents).order_by(parents.c.created_ns, parents.c.order_id)


def children_query(where: ColumnElement[bool]) -> Select[Any]:
    children = schema.children
    return (select(children).where(where)
            .order_by(children.c.parent_id, children.c.sent_ns, children.c.child_id))


def fills_query(where: ColumnElement[bool]) -> Select[Any]:
    fills = schema.fills
    return select(fills).where(where).order_by(fills.c.parent_id, fills.c.ts_ns, fills.c.exec_id)


def fetch(connection: Connection, query: Select[Any], from_row: Callable[[Any], T]) -> list[T]:
    return [from_row(row) for row in connection.execute(query).mappings()]


def used_cl_ord_ids(connection: Connection) -> set[tuple[str, str]]:
    parents = schema.parents
    used: set[tuple[str, str]] = set()
    for session, cl_ord_id, chain, algo in connection.execute(select(parents.c.session, parents.c.cl_ord_id,
                                                                     parents.c.cl_ord_ids, parents.c.algo)):
        used.add((session, cl_ord_id))
        used.update((session, chained) for chained in json.loads(chain))
        if (hedge_id := json.loads(algo).get("alt_auto_hedge_id")):
            used.add((session, hedge_id))        # the hedge executions' ClOrdID (5010)
    return used


def read_meta(connection: Connection) -> dict[str, str]:
    return dict(connection.execute(select(schema.meta.c.key, schema.meta.c.value)).all())


def last_journal_seq(connection: Connection) -> int:
    return connection.execute(select(func.coalesce(func.max(schema.journal.c.seq), 0))).scalar_one()
