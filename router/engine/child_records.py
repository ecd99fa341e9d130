"""Cheap records for the child order manager's hot path: the amended-child view the risk checks
read, the ReplaceChild constructor, and journal payloads built without json.dumps or asdict."""
from __future__ import annotations

import math
from dataclasses import fields
from json.encoder import encode_basestring_ascii as _json_str

from router.domain.events import ReplaceChild
from router.domain.orders import ChildOrder

from .batch import five_field_record

_REPORT_FIELDS: dict[type, tuple[str, ...]] = {}
_FINITE = math.isfinite


class Amended:
    """The child as a replace would leave it, for the risk checks: ``qty`` (what it would rest)
    and ``price`` amended, every other field the child's own, and ChildOrder's properties
    (``leaves_qty``, ``target_qty``...) computed on the amended terms. A view, not a copy: the
    checks only read, and copying a ChildOrder field by field cost more than the rest of the
    replace. The fields the checks read most are copied; the others are looked up on the child."""

    __slots__ = ("_child", "qty", "price", "child_id", "parent_id", "symbol", "side", "role", "status", "cum_qty")

    def __init__(self, child: ChildOrder, qty: int, price: float) -> None:
        self._child, self.qty, self.price = child, qty, price
        self.child_id, self.parent_id, self.symbol, self.side = child.child_id, child.parent_id, child.symbol, child.side
        self.role, self.status, self.cum_qty = child.role, child.status, child.cum_qty

    def __getattr__(self, name: str):
        return getattr(self._child, name)


for _name, _attribute in vars(ChildOrder).items():
    if isinstance(_attribute, property):
        setattr(Amended, _name, _attribute)


replace_child = five_field_record(ReplaceChild)


def replace_entry(child_id: str, qty: int, price: float, revision: int) -> str | dict:
    """The journal payload of a replace: the JSON of ``{"child", "qty", "price", "revision"}``,
    written out directly for the usual types (as json.dumps writes them), else the dict."""
    if type(child_id) is str and type(qty) is int and type(price) is float and type(revision) is int \
            and _FINITE(price):
        return f'{{"child":{_json_str(child_id)},"qty":{qty},"price":{price!r},"revision":{revision}}}'
    return {"child": child_id, "qty": qty, "price": price, "revision": revision}


def report_payload(report) -> dict:
    """The venue report as its journal entry: its type and its fields (as dataclasses.asdict
    gives them for these flat reports, without its deep copies)."""
    names = _REPORT_FIELDS.get(type(report))
    if names is None:
        names = _REPORT_FIELDS[type(report)] = tuple(f.name for f in fields(report))
    payload = {"type": type(report).__name__}
    for name in names:
        payload[name] = getattr(report, name)
    return payload
