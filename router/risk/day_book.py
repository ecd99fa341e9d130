"""The day greek limits' running aggregate: per account and symbol, and per parent and symbol,
the quantities the check (greek_limits.py) prices, kept up to date child by child.

Per (account, symbol): the day's filled net quantity (children sent since the day began), the
open buy leaves and the open sell leaves of every child. Per (parent, symbol): that parent's
filled net and its open hedge leaves (the hedge rule). Each child's last contribution is kept,
so a changed child is taken out and put back in (``update``), whatever changed: a new child,
an amendment, a fill, a child done. The check then reads an account's rows (one per symbol it
has traded or has open today) instead of scanning every parent of every account. The rows hold
quantities, not risk: greeks move with the market, so the check prices them at its own time.

A new trading day (a later ``day_start``) rebuilds everything from the book of record once, as
does the first use.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from router.domain.enums import ChildRole
from router.domain.orders import ChildOrder, ParentOrder

FILLED, OPEN_BUYS, OPEN_SELLS = 0, 1, 2          # an account row
OWN_FILLED, OWN_HEDGES = 0, 1                    # a parent row


@dataclass(slots=True)
class _Share:
    """What one child adds to its rows."""
    account: str
    parent_id: str
    symbol: str
    filled: float        # signed: counted in the day's net
    leaves: float        # open, unsigned
    is_buy: bool
    hedge: bool


def open_leaves(child: ChildOrder) -> int:
    """What an open child could still fill: the larger of its venue quantity and its target."""
    return max(child.qty, child.target_qty) - child.cum_qty


class DayBook:
    __slots__ = ("day_start", "accounts", "parents", "last_price", "_shares")

    def __init__(self, day_start: int) -> None:
        self.day_start = day_start
        self.accounts: dict[str, dict[str, list[float]]] = {}       # account -> symbol -> row
        self.parents: dict[str, dict[str, list[float]]] = {}        # parent -> symbol -> row
        self.last_price: dict[tuple[str, str], float] = {}          # (account, symbol) -> a fill's average
        self._shares: dict[str, _Share] = {}

    @classmethod
    def build(cls, parents: Mapping[str, ParentOrder], children: Mapping[str, ChildOrder],
              children_of: Mapping[str, list[str]], day_start: int) -> "DayBook":
        book = cls(day_start)
        for parent in parents.values():
            for child_id in children_of.get(parent.order_id, ()):
                book.update(children[child_id], parent.account)
        return book

    def update(self, child: ChildOrder, account: str) -> None:
        """Take the child's last contribution out of its rows and put its current one in."""
        old = self._shares.get(child.child_id)
        if old is not None:
            self._add(old, -1.0)
        sign = 1.0 if child.side.is_buy else -1.0
        filled = sign * child.cum_qty if child.cum_qty and child.sent_ns >= self.day_start else 0.0
        leaves = 0.0 if child.status.is_done else float(open_leaves(child))
        share = _Share(account, child.parent_id, child.symbol, filled, leaves, child.side.is_buy,
                       child.role is ChildRole.HEDGE)
        self._shares[child.child_id] = share
        self._add(share, 1.0)
        if filled:
            self.last_price[(account, child.symbol)] = child.notional / child.cum_qty

    def update_all(self, children: Iterable[ChildOrder], account_of: Mapping[str, ParentOrder]) -> None:
        for child in children:
            parent = account_of.get(child.parent_id)
            if parent is not None:
                self.update(child, parent.account)

    def share(self, child_id: str) -> _Share | None:
        return self._shares.get(child_id)

    def _add(self, share: _Share, times: float) -> None:
        rows = self.accounts.setdefault(share.account, {})
        row = rows.get(share.symbol)
        if row is None:
            row = rows[share.symbol] = [0.0, 0.0, 0.0]
        row[FILLED] += times * share.filled
        row[OPEN_BUYS if share.is_buy else OPEN_SELLS] += times * share.leaves
        own_rows = self.parents.setdefault(share.parent_id, {})
        own = own_rows.get(share.symbol)
        if own is None:
            own = own_rows[share.symbol] = [0.0, 0.0]
        own[OWN_FILLED] += times * share.filled
        if share.hedge:
            own[OWN_HEDGES] += times * (share.leaves if share.is_buy else -share.leaves)
