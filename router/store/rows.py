"""Domain objects to table rows and back. Column names equal field names, so a round trip
rebuilds an equal object."""
from __future__ import annotations

import json
from dataclasses import fields
from operator import attrgetter
from typing import Any, Mapping

from router.domain.commands import AlgoParams
from router.domain.enums import ChildRole, Liquidity, OrdStatus, OrdType, PendingKind, Side, TimeInForce
from router.domain.orders import ChildOrder, ChildStatus, Fill, ParentOrder, PendingChange

from router.domain.events import JournalEntry

Row = dict[str, Any]

_PARENT_FIELDS = tuple(f.name for f in fields(ParentOrder))
_CHILD_FIELDS = tuple(f.name for f in fields(ChildOrder))
_FILL_FIELDS = tuple(f.name for f in fields(Fill))
_PENDING_FIELDS = tuple(f.name for f in fields(PendingChange))
_JOURNAL_FIELDS = tuple(f.name for f in fields(JournalEntry))


_GETTERS: dict[tuple[str, ...], attrgetter] = {}


def _values(obj: object, names: tuple[str, ...]) -> Row:
    getter = _GETTERS.get(names)
    if getter is None:
        getter = _GETTERS[names] = attrgetter(*names)
    return dict(zip(names, getter(obj)))


# A parent's AlgoParams never change (frozen), but the parent row is rewritten on every change
# of state: serialise each one once. Entries hold the object, so an id is never reused.
_ALGO_JSON: dict[int, tuple[AlgoParams, str]] = {}
_ALGO_JSON_MAX = 50_000


def _algo_json(algo: AlgoParams) -> str:
    cached = _ALGO_JSON.get(id(algo))
    if cached is not None and cached[0] is algo:
        return cached[1]
    if len(_ALGO_JSON) >= _ALGO_JSON_MAX:
        _ALGO_JSON.clear()
    text = algo.model_dump_json()
    _ALGO_JSON[id(algo)] = (algo, text)
    return text


def journal_to_row(entry: JournalEntry) -> Row:
    return _values(entry, _JOURNAL_FIELDS)


def journal_from_row(row: Mapping[str, Any]) -> JournalEntry:
    return JournalEntry(**row)


def parent_to_row(parent: ParentOrder) -> Row:
    row = _values(parent, _PARENT_FIELDS)
    row.update(side=parent.side.value, ord_type=parent.ord_type.value,
               time_in_force=parent.time_in_force.value, status=parent.status.value,
               algo=_algo_json(parent.algo),
               pending=None if parent.pending is None else _pending_to_json(parent.pending),
               cl_ord_ids=json.dumps(parent.cl_ord_ids), algo_state=json.dumps(parent.algo_state))
    return row


def parent_from_row(row: Mapping[str, Any]) -> ParentOrder:
    return ParentOrder(**{
        **row,
        "side": Side(row["side"]), "ord_type": OrdType(row["ord_type"]),
        "time_in_force": TimeInForce(row["time_in_force"]), "status": OrdStatus(row["status"]),
        "algo": AlgoParams.model_validate_json(row["algo"]),
        "pending": None if row["pending"] is None else _pending_from_json(row["pending"]),
        "cl_ord_ids": json.loads(row["cl_ord_ids"]),
        "algo_state": json.loads(row["algo_state"]), "closed": bool(row["closed"]),
    })


def child_to_row(child: ChildOrder) -> Row:
    row = _values(child, _CHILD_FIELDS)
    row.update(side=child.side.value, time_in_force=child.time_in_force.value,
               status=child.status.value, role=child.role.value)
    return row


def child_from_row(row: Mapping[str, Any]) -> ChildOrder:
    return ChildOrder(**{**row, "side": Side(row["side"]),
                         "time_in_force": TimeInForce(row["time_in_force"]),
                         "status": ChildStatus(row["status"]), "role": ChildRole(row["role"]),
                         "post_only": bool(row["post_only"]), "cancel_queued": bool(row["cancel_queued"])})


def fill_to_row(fill: Fill) -> Row:
    row = _values(fill, _FILL_FIELDS)
    row.update(liquidity=Liquidity(fill.liquidity).value, role=fill.role.value,
               side=None if fill.side is None else fill.side.value)
    return row


def fill_from_row(row: Mapping[str, Any]) -> Fill:
    return Fill(**{**row, "liquidity": Liquidity(row["liquidity"]), "role": ChildRole(row["role"]),
                   "side": None if row["side"] is None else Side(row["side"])})


def _pending_to_json(pending: PendingChange) -> str:
    values = _values(pending, _PENDING_FIELDS)
    values.update(kind=pending.kind.value, new_ord_type=_enum_value(pending.new_ord_type),
                  new_time_in_force=_enum_value(pending.new_time_in_force))
    return json.dumps(values)


def _pending_from_json(text: str) -> PendingChange:
    values = json.loads(text)
    ord_type, time_in_force = values["new_ord_type"], values["new_time_in_force"]
    values.update(kind=PendingKind(values["kind"]), new_ord_type=None if ord_type is None else OrdType(ord_type),
                  new_time_in_force=None if time_in_force is None else TimeInForce(time_in_force))
    return PendingChange(**values)


def _enum_value(member: OrdType | TimeInForce | None) -> str | None:
    return None if member is None else member.value
