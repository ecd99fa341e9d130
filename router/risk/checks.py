"""Each check looks at one thing and returns a reason when it fails. The pipeline stops at the
first failure, so the client sees the one rule that stopped the order.

Parent checks see the price the order's notional is measured at: its static limit, or for a
market or tied order the far side of the market (the price it would trade at now). Child checks
follow the child's role: a WORK child must stay within its parent's side, symbol, balance and
static limit; a HEDGE child must be in the parent's underlier and never more shares than the
parent's contracts could ever need (|delta| <= 1); a package's LEG child must match its leg and
keep the leg within the package's quantity, and a PACKAGE child within the package's balance.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from router.config import AccountLimits
from router.domain.enums import ChildRole, LimitType, Side
from router.domain.orders import ChildOrder, ParentOrder, package_scale

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class RiskReject:
    text: str
    ord_rej_reason: int = 3          # FIX 103=3 order exceeds limit
    sr_reject_code: int = 130        # SRRejectCode UserRisk
    holds: bool = False              # the parent is held (and told why) until the limit frees up
    fits_qty: int = 0                # a smaller new child that would pass (0: none)


@dataclass(frozen=True, slots=True)
class ParentTerms:
    """What a parent check judges: a new order, or the terms a replace asks for."""
    qty: int
    notional_price: float | None     # static limit, else the far side, else None (unpriceable)
    multiplier: int


class ParentRisk(Protocol):
    def __call__(self, terms: ParentTerms, limits: AccountLimits, open_orders: int) -> RiskReject | None: ...


class ChildRisk(Protocol):
    def __call__(self, parent: ParentOrder, child: ChildOrder, open_qty: int, underlier: str,
                 multiplier: int) -> RiskReject | None: ...


def max_order_qty(terms, limits, open_orders):
    if terms.qty > limits.max_order_qty:
        return RiskReject(f"OrderQty {terms.qty} exceeds account limit {limits.max_order_qty}", 3, 131)
    return None


def max_order_notional(terms, limits, open_orders):
    if terms.notional_price is None:
        return None
    notional = terms.qty * terms.notional_price * terms.multiplier
    if notional > limits.max_order_notional + _EPS:
        return RiskReject(f"order notional {notional:,.2f} exceeds account limit {limits.max_order_notional:,.2f}")
    return None


def max_open_orders(terms, limits, open_orders):
    if open_orders >= limits.max_open_orders:
        return RiskReject(f"account has {open_orders} working orders; limit is {limits.max_open_orders}")
    return None


def child_matches_parent(parent, child, open_qty, underlier, multiplier):
    if child.role is ChildRole.WORK:
        if child.side.is_buy != parent.side.is_buy or child.symbol != parent.symbol:
            return RiskReject(f"child {child.child_id} does not match its parent's side and symbol")
    elif child.role is ChildRole.HEDGE:
        if child.symbol != underlier:
            return RiskReject(f"hedge {child.child_id} is in {child.symbol}, not the underlier {underlier}")
    elif child.role is ChildRole.PACKAGE:
        if not parent.is_package or child.side is not Side.BUY:
            return RiskReject(f"package child {child.child_id} needs a package parent, bought")
    elif child.role is ChildRole.LEG and child.leg is not None and child.leg < len(parent.legs):
        leg = parent.legs[child.leg]
        if child.symbol != leg.symbol or child.side.is_buy != leg.side.is_buy:
            return RiskReject(f"child {child.child_id} does not match leg {leg.ref_id}'s side and symbol")
    else:
        return RiskReject(f"child {child.child_id}: role {child.role.name} is not supported by this parent")
    return None


def child_within_parent(parent, child, open_qty, underlier, multiplier):
    if child.qty <= 0:
        return RiskReject(f"child {child.child_id} qty {child.qty} must be positive")
    if child.role is ChildRole.HEDGE:
        most = parent.qty * multiplier
        if open_qty + child.qty > most:
            return RiskReject(f"hedge {child.child_id} of {child.qty} shares would put {open_qty + child.qty} "
                              f"working, more than the {most} a {parent.qty}-lot can need")
        return None
    if child.role is ChildRole.PACKAGE:       # units of the ratio-reduced package; open_qty: the open ones
        factor, done = package_scale(parent.legs), parent.packages_done
        if open_qty + child.qty > (parent.qty - done) * factor:
            return RiskReject(f"package child {child.child_id} of {child.qty} units would exceed the package's "
                              f"balance of {(parent.qty - done) * factor}")
        return None
    if child.role is ChildRole.LEG:           # open_qty counts this leg's open children
        leg = parent.legs[child.leg]
        if leg.cum_qty + open_qty + child.qty > parent.qty * leg.ratio:
            return RiskReject(f"child {child.child_id} qty {child.qty} would take leg {leg.ref_id} past the "
                              f"package's {parent.qty * leg.ratio}")
        return None
    if open_qty + child.qty > parent.qty - parent.cum_qty:
        return RiskReject(f"child {child.child_id} qty {child.qty} would exceed parent leaves "
                          f"{parent.qty - parent.cum_qty - open_qty}")
    return None


# LimitTypes whose limit moves with the underlier past the static price: there 44/5106 is the
# reference the limit starts from, not a cap (the LimitType table in README.md), so the algo's limit rules.
_UNCAPPED = frozenset({LimitType.PRC_DE, LimitType.PRC_DE_X, LimitType.PRC_DE_T, LimitType.PRC_DE_XT, LimitType.VOL,
                       LimitType.VOL_X, LimitType.PRC_V, LimitType.PRC_VX})


def static_price_caps(parent: ParentOrder) -> bool:
    return parent.algo.limit_type not in _UNCAPPED


def child_price_within_limit(parent, child, open_qty, underlier, multiplier):
    limit = parent.static_limit
    if child.role is not ChildRole.WORK or limit is None or not static_price_caps(parent):
        return None
    through = child.price - limit if parent.side.is_buy else limit - child.price
    if through > _EPS:
        return RiskReject(f"child {child.child_id} price {child.price:g} is through the parent limit {limit:g}")
    return None


def default_parent_checks() -> tuple[ParentRisk, ...]:
    return (max_order_qty, max_order_notional, max_open_orders)


def default_child_checks(*extra: ChildRisk) -> tuple[ChildRisk, ...]:
    """``extra``: checks that need the engine's state (the day greek limits, greek_limits.py), last."""
    return (child_matches_parent, child_within_parent, child_price_within_limit, *extra)


def first_failure(checks, *args) -> RiskReject | None:
    for check in checks:
        if (reject := check(*args)) is not None:
            return reject
    return None
