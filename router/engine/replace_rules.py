"""The rules of a client replace: what it asks for, what must change before it can complete,
and when it is safe to apply. Pure functions over the book of record."""
from __future__ import annotations

from router.config import AccountLimits
from router.domain.commands import ReplaceOrder
from router.domain.enums import ChildRole, OrdType, SRRejectCode, TimeInForce
from router.domain.orders import ParentOrder, static_limit
from router.market.books import MarketBooks
from router.market.securities import SecurityMaster
from router.risk import ParentTerms, first_failure
from router.risk.checks import max_order_notional, max_order_qty

from router.risk.checks import static_price_caps

from . import tif
from .children import ChildOrderManager
from .state import Orders
from .validation import notional_price

_EPS = 1e-9


def replace_problem(parent: ParentOrder, cmd: ReplaceOrder, securities: SecurityMaster, books: MarketBooks,
                    limits: AccountLimits) -> tuple[str | None, SRRejectCode | None]:
    """Why a replace cannot be accepted (its text and SRRejectCode), checked when it arrives."""
    if cmd.qty is not None and cmd.qty < parent.cum_qty:
        return f"OrderQty {cmd.qty} is below CumQty {parent.cum_qty}", SRRejectCode.TOO_LATE_TO_REDUCE
    if cmd.time_in_force is not None and (text := tif.unsupported_time_in_force(cmd.time_in_force)):
        return text, SRRejectCode.BAD_ORD_TYPE
    instrument = securities.get(parent.symbol)
    new_price = cmd.price if cmd.price is not None else parent.price
    if (cmd.ord_type or parent.ord_type) is OrdType.LIMIT and new_price is None:
        return "Limit order requires Price (44)", None
    if cmd.price is not None and not instrument.tick_rule.is_on_tick(cmd.price):
        return f"Price {cmd.price:g} is not a multiple of the tick", SRRejectCode.BAD_LIMIT
    limit = static_limit(new_price, cmd.ord_type or parent.ord_type, parent.algo, parent.side)
    terms = ParentTerms(cmd.qty if cmd.qty is not None else parent.qty,
                        notional_price(limit, parent.side, instrument, books), instrument.multiplier)
    # The same account checks as a new order (not the open-order count: a replace opens nothing).
    risk = first_failure((max_order_qty, max_order_notional), terms, limits, 0)
    if risk is not None:
        return risk.text, SRRejectCode(risk.sr_reject_code)
    return None, None



def new_terms(parent: ParentOrder) -> tuple[int, float | None]:
    """The leaves and static limit a pending replace asks for."""
    pending = parent.pending
    qty = pending.new_qty if pending.new_qty is not None else parent.qty
    price = pending.new_price if pending.new_price is not None else parent.price
    limit = static_limit(price, pending.new_ord_type or parent.ord_type, parent.algo, parent.side)
    return qty - parent.cum_qty, limit if static_price_caps(parent) else None


def _violators(orders: Orders, parent: ParentOrder):
    leaves, limit = new_terms(parent)
    children = sorted(orders.open_children(parent.order_id, ChildRole.WORK), key=lambda c: c.sent_ns)
    through = [c for c in children if limit is not None and
               (c.target_price - limit if parent.side.is_buy else limit - c.target_price) > _EPS]
    keep = [c for c in children if c not in through]
    return through, keep, leaves


def enforce_new_terms(orders: Orders, children: ChildOrderManager, securities: SecurityMaster,
                      parent: ParentOrder) -> None:
    """Amend only what would break a pending replace's terms: pull children priced through the
    new limit, and reduce the newest (keeping their queue place) until the rest fit the new leaves."""
    through, keep, leaves = _violators(orders, parent)
    for child in through:
        children.cancel(child)
    excess = sum(c.target_qty - c.cum_qty for c in keep) - leaves
    for child in reversed(keep):                 # the newest give way first
        if excess <= 0:
            break
        cut = min(excess, child.target_qty - child.cum_qty)
        instrument = securities.get(child.symbol)
        if cut >= child.target_qty - child.cum_qty or child.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            children.cancel(child)
        else:
            children.replace(parent, instrument, child, child.target_qty - cut, None)
        excess -= cut


def replace_ready(orders: Orders, parent: ParentOrder) -> bool:
    """The new terms are safe once the worst the open children could still do fits them:
    no child can trade through the new limit, and what they could still fill (the larger of
    the confirmed and the requested quantity) fits in the new leaves."""
    if parent.is_package:           # a package's replace pulls its legs first (the reference's rule)
        return not orders.open_work(parent.order_id)
    leaves, limit = new_terms(parent)
    exposure = 0
    for child in orders.open_children(parent.order_id, ChildRole.WORK):
        if limit is not None:
            worst = max(child.price, child.want_price or child.price) if parent.side.is_buy \
                else min(child.price, child.want_price or child.price)
            if (worst - limit if parent.side.is_buy else limit - worst) > _EPS:
                return False
        exposure += max(child.qty, child.want_qty or 0) - child.cum_qty
    # leaves < 0: fills overtook a size-down; once nothing is left working the replace is answered (too late)
    return exposure <= max(leaves, 0)

