"""The engine's book of record: every parent and child of the day, and the indexes over them."""
from __future__ import annotations

from router.domain.enums import ChildRole
from router.domain.orders import ChildOrder, ParentOrder


class Orders:
    def __init__(self) -> None:
        self.parents: dict[str, ParentOrder] = {}
        self.children: dict[str, ChildOrder] = {}
        self.children_of: dict[str, list[str]] = {}
        self.by_cl_ord_id: dict[tuple[str, str], str] = {}      # (session, ClOrdID) -> order id, whole chains
        self.working_by_account: dict[str, set[str]] = {}
        self.next_order_number = 1

    def add_parent(self, parent: ParentOrder) -> None:
        self.parents[parent.order_id] = parent
        self.children_of.setdefault(parent.order_id, [])
        for cl_ord_id in parent.cl_ord_ids or [parent.cl_ord_id]:
            self.by_cl_ord_id[(parent.session, cl_ord_id)] = parent.order_id
        if parent.algo.alt_auto_hedge_id:       # hedge reports go under it: no order may reuse it
            self.by_cl_ord_id[(parent.session, parent.algo.alt_auto_hedge_id)] = parent.order_id
        if not parent.closed:
            self.working_by_account.setdefault(parent.account, set()).add(parent.order_id)

    def add_child(self, child: ChildOrder) -> None:
        self.children[child.child_id] = child
        self.children_of.setdefault(child.parent_id, []).append(child.child_id)

    def register_cl_ord_id(self, session: str, cl_ord_id: str, order_id: str) -> None:
        self.by_cl_ord_id[(session, cl_ord_id)] = order_id

    def cl_ord_id_used(self, session: str, cl_ord_id: str) -> bool:
        return (session, cl_ord_id) in self.by_cl_ord_id

    def find(self, session: str, cl_ord_id: str | None, order_id: str | None) -> ParentOrder | None:
        if cl_ord_id:
            found = self.by_cl_ord_id.get((session, cl_ord_id))
            if found:
                return self.parents.get(found)
        if order_id:
            parent = self.parents.get(order_id)
            if parent is not None and parent.session == session:
                return parent
        return None

    def open_children(self, order_id: str, role: ChildRole | None = None) -> list[ChildOrder]:
        children = self.children
        return [c for cid in self.children_of.get(order_id, ()) if (c := children[cid]).is_open
                and (role is None or c.role is role)]

    def open_work(self, order_id: str) -> list[ChildOrder]:
        """Open children working the parent itself: WORK, or a package's LEG children (not its hedges)."""
        children = self.children
        return [c for cid in self.children_of.get(order_id, ()) if (c := children[cid]).is_open
                and c.role is not ChildRole.HEDGE]

    def children_with_role(self, order_id: str, role: ChildRole) -> list[ChildOrder]:
        children = self.children
        return [c for cid in self.children_of.get(order_id, ()) if (c := children[cid]).role is role]

    def open_orders(self, account: str) -> int:
        return len(self.working_by_account.get(account, ()))

    def retire(self, parent: ParentOrder) -> None:
        working = self.working_by_account.get(parent.account)
        if working is not None:
            working.discard(parent.order_id)
