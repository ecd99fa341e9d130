"""Domain objects to table rows and back. Column names equal field names, so a round trip
rebuilds an equal object."""
from __future__ import annotations

import json
from dataclasses import fields
from operator import attrgetter
from typing import Any, Mapping

from router.domain.commands import AlgoParams
from router.domain.enums import ChildRole, Liquidity, OrdStatus, OrdType, PendingKind, Side, TimeInForce
from router.domain.orders import ChildOrder, ChildStatus, Fill, PackageLeg, ParentOrder, PendingChange

import typing
from enum import Enum

from router.domain.events import CLIENT_REPORT_TYPES, ClientReport, JournalEntry
from router.engine.marks import FillMark, ParentMark

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
    return JournalEntry(*(row[name] for name in _JOURNAL_FIELDS))


# ---- records: a changed row as the journal's state record holds it, a list of JSON values in
# the table's column order. Nested values (pending change, ClOrdID chain, algo state) stay
# nested, so the batch's one json.dumps encodes them; the database row keeps them as text.

PARENT_COLUMNS = _PARENT_FIELDS
CHILD_COLUMNS = _CHILD_FIELDS
FILL_COLUMNS = _FILL_FIELDS
POSITION_COLUMNS = ("account", "parent_id", "symbol", "qty", "avg_price", "multiplier", "realised_pnl", "fees")
FILL_MARK_COLUMNS = tuple(f.name for f in fields(FillMark))
PARENT_MARK_COLUMNS = tuple(f.name for f in fields(ParentMark))
RECORD_COLUMNS = {"parents": PARENT_COLUMNS, "children": CHILD_COLUMNS, "fills": FILL_COLUMNS,
                  "positions": POSITION_COLUMNS, "fill_marks": FILL_MARK_COLUMNS,
                  "parent_marks": PARENT_MARK_COLUMNS}
_NESTED_PARENT_COLUMNS = ("pending", "cl_ord_ids", "algo_state", "legs")
_LEG_FIELDS = tuple(f.name for f in fields(PackageLeg))

_get_parent = attrgetter(*PARENT_COLUMNS)
_get_child = attrgetter(*CHILD_COLUMNS)
_get_fill = attrgetter(*FILL_COLUMNS)
_get_position = attrgetter(*POSITION_COLUMNS)
_P = {name: index for index, name in enumerate(PARENT_COLUMNS)}
_C = {name: index for index, name in enumerate(CHILD_COLUMNS)}
_F = {name: index for index, name in enumerate(FILL_COLUMNS)}


def parent_record(parent: ParentOrder) -> list:
    # Enum members' _value_ is a plain attribute; .value goes through a descriptor.
    values = list(_get_parent(parent))
    values[_P["side"]] = parent.side._value_
    values[_P["ord_type"]] = parent.ord_type._value_
    values[_P["time_in_force"]] = parent.time_in_force._value_
    values[_P["status"]] = parent.status._value_
    values[_P["algo"]] = _algo_json(parent.algo)
    values[_P["pending"]] = None if parent.pending is None else _pending_values(parent.pending)
    values[_P["legs"]] = [[getattr(leg, name) for name in _LEG_FIELDS] for leg in parent.legs] or None
    return values


def child_record(child: ChildOrder) -> list:
    values = list(_get_child(child))
    values[_C["side"]] = child.side._value_
    values[_C["time_in_force"]] = child.time_in_force._value_
    values[_C["status"]] = child.status._value_
    values[_C["role"]] = child.role._value_
    return values


def fill_record(fill: Fill) -> list:
    values = list(_get_fill(fill))
    values[_F["liquidity"]] = Liquidity(fill.liquidity)._value_
    values[_F["role"]] = fill.role._value_
    values[_F["side"]] = None if fill.side is None else fill.side._value_
    return values


_get_fill_mark = attrgetter(*FILL_MARK_COLUMNS)
_get_parent_mark = attrgetter(*PARENT_MARK_COLUMNS)


def mark_records(marks: Any) -> tuple[list[list], list[list]]:
    """The engine's TCA marks (router/engine/marks.py) as fill_marks and parent_marks records,
    one per key, the last state winning."""
    fill_marks: dict[tuple[str, str], FillMark] = {}
    parent_marks: dict[str, ParentMark] = {}
    for mark in marks:
        if type(mark) is FillMark:
            fill_marks[(mark.venue, mark.exec_id)] = mark
        else:
            parent_marks[mark.order_id] = mark
    return ([list(_get_fill_mark(m)) for m in fill_marks.values()],
            [list(_get_parent_mark(m)) for m in parent_marks.values()])


def position_record(position: Any) -> list:
    """A router.positions.Position as stored: what its fills add up to, without the market's marks."""
    return list(_get_position(position))


def record_to_row(table: str, record: Row) -> Row:
    """A state record's row (column -> JSON value) as the database row."""
    if table != "parents":
        return record
    row = dict(record)
    for name in _NESTED_PARENT_COLUMNS:
        value = row[name]
        if value is not None:
            row[name] = json.dumps(value)
    return row


def parent_to_row(parent: ParentOrder) -> Row:
    return record_to_row("parents", dict(zip(PARENT_COLUMNS, parent_record(parent))))


def parent_from_row(row: Mapping[str, Any]) -> ParentOrder:
    return ParentOrder(**{
        **row,
        "side": Side(row["side"]), "ord_type": OrdType(row["ord_type"]),
        "time_in_force": TimeInForce(row["time_in_force"]), "status": OrdStatus(row["status"]),
        "algo": AlgoParams.model_validate_json(row["algo"]),
        "pending": None if row["pending"] is None else _pending_from_json(row["pending"]),
        "cl_ord_ids": json.loads(row["cl_ord_ids"]),
        "algo_state": json.loads(row["algo_state"]), "closed": bool(row["closed"]),
        "legs": legs_from_json(row.get("legs")),
    })


def legs_from_json(text: str | None) -> tuple[PackageLeg, ...]:
    if not text:
        return ()
    return tuple(PackageLeg(**{**dict(zip(_LEG_FIELDS, values)), "side": Side(values[2])})
                 for values in json.loads(text))


def child_to_row(child: ChildOrder) -> Row:
    return dict(zip(CHILD_COLUMNS, child_record(child)))


def child_from_row(row: Mapping[str, Any]) -> ChildOrder:
    return ChildOrder(**{**row, "side": Side(row["side"]),
                         "time_in_force": TimeInForce(row["time_in_force"]),
                         "status": ChildStatus(row["status"]), "role": ChildRole(row["role"]),
                         "post_only": bool(row["post_only"]), "cancel_queued": bool(row["cancel_queued"])})


def fill_to_row(fill: Fill) -> Row:
    return dict(zip(FILL_COLUMNS, fill_record(fill)))


def fill_from_row(row: Mapping[str, Any]) -> Fill:
    return Fill(**{**row, "liquidity": Liquidity(row["liquidity"]), "role": ChildRole(row["role"]),
                   "side": None if row["side"] is None else Side(row["side"])})


def _pending_values(pending: PendingChange) -> Row:
    values = _values(pending, _PENDING_FIELDS)
    values.update(kind=pending.kind.value, new_ord_type=_enum_value(pending.new_ord_type),
                  new_time_in_force=_enum_value(pending.new_time_in_force))
    return values


def _pending_from_json(text: str) -> PendingChange:
    values = json.loads(text)
    ord_type, time_in_force = values["new_ord_type"], values["new_time_in_force"]
    values.update(kind=PendingKind(values["kind"]), new_ord_type=None if ord_type is None else OrdType(ord_type),
                  new_time_in_force=None if time_in_force is None else TimeInForce(time_in_force))
    return PendingChange(**values)


def _enum_value(member: OrdType | TimeInForce | None) -> str | None:
    return None if member is None else member.value



# ---- client reports: kept in the state record of the batch that made them, so that reports
# committed but perhaps never sent (a crash between the commit and the send) are sent again.

_REPORT_CLASSES = {cls.__name__: cls for cls in CLIENT_REPORT_TYPES}
_REPORT_GETTERS = {cls: attrgetter(*(f.name for f in fields(cls))) for cls in CLIENT_REPORT_TYPES}


def report_record(report: ClientReport) -> list:
    """[type name, field values...]; str and int enums encode as their values."""
    return [type(report).__name__, *_REPORT_GETTERS[type(report)](report)]


def _field_decoder(hint: Any):
    if typing.get_origin(hint) is tuple:
        return tuple
    options = typing.get_args(hint) or (hint,)
    for option in options:
        if isinstance(option, type) and issubclass(option, Enum):
            return option
        if typing.get_origin(option) is tuple:
            return tuple
    return None


_REPORT_DECODERS = {cls: [_field_decoder(hint) for name, hint in typing.get_type_hints(cls).items()]
                    for cls in CLIENT_REPORT_TYPES}


def report_from_record(record: list) -> ClientReport:
    cls = _REPORT_CLASSES[record[0]]
    values = [value if decode is None or value is None else decode(value)
              for decode, value in zip(_REPORT_DECODERS[cls], record[1:], strict=True)]
    return cls(*values)
