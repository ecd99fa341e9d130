"""Each check looks at one thing and returns a reason when it fails. The pipeline stops at the
first failure, so the client sees the one rule that stopped the order."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from router.config import AccountLimits
from router.domain.orders import ChildOrder, ParentOrder

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class RiskReject:
    text: str
    ord_rej_reason: int = 3          # FIX 103=3 order exceeds limit
    sr_reject_code: int = 130        # SRRejectCode UserRisk


class ParentRisk(Protocol):
    def __call__(self, parent: ParentOrder, multiplier: int, limits: AccountLimits,
                 open_orders: int) -> RiskReject | None: ...


class ChildRisk(Protocol):
    def __call__(self, parent: ParentOrder, child: ChildOrder, open_child_qty: int) -> RiskReject | None: ...


def max_order_qty(parent, multiplier, limits, open_orders):
    if parent.qty > limits.max_order_qty:
        return RiskReject(f"OrderQty {parent.qty} exceeds account limit {limits.max_order_qty}", 3, 131)
    return None


def max_order_notional(parent, multiplier, limits, open_orders):
    if parent.price is None:
        return None
    notional = parent.qty * parent.price * multiplier
    if notional > limits.max_order_notional + _EPS:
        return RiskReject(f"order notional {notional:,.2f} exceeds account limit {limits.max_order_notional:,.2f}")
    return None


def max_open_orders(parent, multiplier, limits, open_orders):
    if open_orders >= limits.max_open_orders:
        return RiskReject(f"account has {open_orders} working orders; limit is {limits.max_open_orders}")
    return None


def child_within_parent(parent, child, open_child_qty):
    if child.qty <= 0 or open_child_qty + child.qty > parent.qty - parent.cum_qty:
        return RiskReject(f"child {child.child_id} qty {child.qty} would exceed parent leaves "
                          f"{parent.qty - parent.cum_qty - open_child_qty}")
    return None


def child_price_within_limit(parent, child, open_child_qty):
    if parent.price is None:
        return None
    through = child.price - parent.price if parent.side.is_buy else parent.price - child.price
    if through > _EPS:
        return RiskReject(f"child {child.child_id} price {child.price:g} is through the parent limit {parent.price:g}")
    return None


def child_same_side_and_symbol(parent, child, open_child_qty):
    if child.side.is_buy != parent.side.is_buy or child.symbol != parent.symbol:
        return RiskReject(f"child {child.child_id} does not match its parent's side and symbol")
    return None


def default_parent_checks() -> tuple[ParentRisk, ...]:
    return (max_order_qty, max_order_notional, max_open_orders)


def default_child_checks() -> tuple[ChildRisk, ...]:
    return (child_same_side_and_symbol, child_within_parent, child_price_within_limit)
