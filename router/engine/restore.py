"""Bring the day back after a restart: working parents with their children, algo state and
positions, and the day's closed parents (they answer status requests and cancels with "too
late"); then expire what is past due, ask each venue about every child we believe open, and
let the algos resume."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from router.domain.events import ResentReport
from router.domain.orders import RestoredState

from .runtime import HOLDS_KEY

if TYPE_CHECKING:
    from .engine import Engine


def _child_number(child_id: str) -> int:
    return int(child_id.rsplit(".", 1)[1])


def restore(engine: "Engine", state: RestoredState) -> None:
    orders, work, runtime, lifecycle = engine.orders, engine.work, engine.runtime, engine.lifecycle
    orders.next_order_number = max(orders.next_order_number, state.next_order_number)
    work.journal_seq = max(work.journal_seq, state.journal_seq)
    for key in state.used_cl_ord_ids:
        orders.by_cl_ord_id.setdefault(key, "")
    lifecycle.mass_cancel_ids.update(tuple(pair) for pair in json.loads(state.meta.get("mass_cancel_ids", "[]")))
    for parent in state.parents:
        orders.add_parent(parent)
    for child in sorted(state.children, key=lambda c: (c.parent_id, _child_number(c.child_id))):
        orders.add_child(child)
    engine.children.seen_fills.update(state.fill_keys)
    engine.children.seen_fills.update((fill.venue, fill.exec_id) for fill in state.fills)
    engine.positions.restore(state.positions)
    working = [p for p in state.parents if not p.closed and engine.securities.get(p.symbol) is not None]
    for parent in working:
        runtime.attach(parent)
        if held := parent.algo_state.get(HOLDS_KEY):     # reported before the restart: not again
            engine.children.holds.load(parent.order_id, held)
        if parent.order_id in runtime.hedgers:
            engine.reports.hedging.add(parent.order_id)
        if not parent.is_working:
            lifecycle.resume_work_over(parent)      # done, its auto-hedge still working
    work.journal_add("restore", None, {"parents": [p.order_id for p in working],
                                       "closed": sum(1 for p in state.parents if p.closed),
                                       "resent_reports": len(state.unsent_reports)})
    for report in state.unsent_reports:          # stored before the crash, perhaps never sent
        work.report(ResentReport(report))
    now = engine.clock.now_ns()
    for parent in working:                       # past due first: nothing trades after its expiry
        if not parent.is_working:
            continue
        if parent.expire_ns is not None and parent.expire_ns <= now:
            lifecycle.on_expiry(parent.order_id)
        else:
            lifecycle.arm_expiry(parent)
    open_children = [c for p in working for c in orders.open_children(p.order_id)]
    engine.children.reconcile_all(open_children)
    engine.auctions.restored(open_children)      # an auction in its exposure period: watched again
    for parent in working:
        if parent.closed:
            continue
        hedger = runtime.hedgers.get(parent.order_id)
        if hedger is not None:
            hedger.resume()
        algo = runtime.algos.get(parent.order_id)
        held = parent.is_working and lifecycle.hold_restored(parent)   # staged or waiting for its trigger (5090)
        if algo is not None and parent.is_working and parent.pending is None and not held:
            algo.resume()
        lifecycle.settle(parent)
    work.flush()
