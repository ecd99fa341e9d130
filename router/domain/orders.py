"""Parent and child order state. Mutated only on the engine thread."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from .commands import AlgoParams
from .enums import OrdStatus, OrdType, Side, TimeInForce


class ChildStatus(str, Enum):
    PENDING_NEW = "pending_new"
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    PENDING_CANCEL = "pending_cancel"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"

    @property
    def is_done(self) -> bool:
        return self in (ChildStatus.FILLED, ChildStatus.CANCELED, ChildStatus.REJECTED)


@dataclass(slots=True)
class ChildOrder:
    child_id: str            # derived from the parent: P7.3 is the third child of P7
    parent_id: str
    venue: str
    symbol: str
    side: Side
    qty: int
    price: float
    time_in_force: TimeInForce
    sent_ns: int
    status: ChildStatus = ChildStatus.PENDING_NEW
    cum_qty: int = 0
    notional: float = 0.0
    fees: float = 0.0

    @property
    def leaves_qty(self) -> int:
        return 0 if self.status.is_done else self.qty - self.cum_qty

    @property
    def is_open(self) -> bool:
        return not self.status.is_done


@dataclass(slots=True)
class Fill:
    exec_id: str
    parent_id: str
    child_id: str
    venue: str
    qty: int
    price: float
    fee: float
    liquidity: str          # "R" removed (taker), "A" added (maker)
    ts_ns: int


@dataclass(slots=True)
class PendingChange:
    """A cancel or replace the client asked for, waiting for open children to come back."""
    kind: str                       # "cancel" | "replace"
    cl_ord_id: str
    orig_cl_ord_id: str
    new_qty: int | None = None
    new_price: float | None = None
    new_ord_type: OrdType | None = None
    new_time_in_force: TimeInForce | None = None


@dataclass(slots=True)
class ParentOrder:
    order_id: str
    session: str
    account: str
    cl_ord_id: str
    symbol: str
    side: Side
    qty: int
    ord_type: OrdType
    price: float | None
    time_in_force: TimeInForce
    algo_name: str
    algo: AlgoParams
    created_ns: int
    expire_ns: int | None = None
    orig_cl_ord_id: str | None = None
    status: OrdStatus = OrdStatus.PENDING_NEW
    cum_qty: int = 0
    notional: float = 0.0
    fees: float = 0.0
    child_seq: int = 0
    exec_seq: int = 0
    arrival_bid: float | None = None
    arrival_ask: float | None = None
    pending: PendingChange | None = None
    cl_ord_ids: list[str] = field(default_factory=list)   # the whole cancel/replace chain

    @property
    def leaves_qty(self) -> int:
        return 0 if self.status.is_done else max(self.qty - self.cum_qty, 0)

    @property
    def avg_px(self) -> float:
        return self.notional / self.cum_qty if self.cum_qty else 0.0

    @property
    def is_working(self) -> bool:
        return not self.status.is_done

    def next_child_id(self) -> str:
        self.child_seq += 1
        return f"{self.order_id}.{self.child_seq}"

    def next_exec_id(self) -> str:
        self.exec_seq += 1
        return f"{self.order_id}-{self.exec_seq}"
