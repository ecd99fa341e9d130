"""The algo runtime: one algo (and, when the order asks for it, one auto-hedger) per working
parent, the context each sees, their named timers and market subscriptions.

Gating: no timer, market or book callback reaches an algo whose parent is pending cancel or
replace, or done; the hedger keeps hearing about its own children until its work is done.
Market data is conflated: symbols whose book changed are collected during a batch and each
subscriber hears ``on_market`` once, just before the batch is stored. Algo classes tied to the
underlier get one ``on_underlier_batch`` call with all their parents on that underlier, and
one ``on_option_batch(algos, underlier)`` call (where the class defines it) with all their
parents on that underlier whose own option's book changed in the round, after every symbol of
the round was delivered; a parent its underlier batch already repriced in the round is left out
(that pass read its option's book too).
A parent held back by its StartType (5090; start_type.py) has its algo attached but not started:
nothing reaches that algo until ``start_algo``.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from typing import Callable

from algos.base import Algo
from router.domain.enums import ChildRole, OrdStatus, StartType
from router.domain.orders import ChildOrder, Fill, ParentOrder
from router.market.securities import SecurityMaster
from router.risk.holds import RiskHolds

from .batch import UnitOfWork
from .context import ALGO, HEDGE, ParentContext
from .start_type import STARTED_KEY
from .state import Orders
from .timers import Timers

HOLDS_KEY = "risk_holds"        # in ParentOrder.algo_state: the parent's risk holds (router/risk/holds.py)

log = logging.getLogger(__name__)
_PARENT_DONE = tuple(status for status in OrdStatus if status.is_done)   # OrdStatus.is_done, without the property


class AlgoRuntime:
    def __init__(self, work: UnitOfWork, orders: Orders, timers: Timers, securities: SecurityMaster,
                 make_context: Callable[[ParentOrder, str], ParentContext],
                 make_algo: Callable[[str, ParentContext], Algo],
                 make_hedger: Callable[[ParentContext], object | None]) -> None:
        self._work = work
        self._orders = orders
        self._timers = timers
        self._securities = securities
        self._make_context = make_context
        self._make_algo = make_algo
        self._make_hedger = make_hedger
        self.algos: dict[str, Algo] = {}
        self.hedgers: dict[str, object] = {}
        self._timer_handles: dict[tuple[str, str, str], object] = {}
        self._subscribers: dict[str, set[tuple[str, str]]] = defaultdict(set)   # symbol -> (order id, owner)
        self._subscriptions: dict[tuple[str, str], set[str]] = defaultdict(set)
        # Each symbol's subscribers in delivery (sorted) order, as of the last delivery, and what
        # joined or left since: a delivery sorts only the newcomers instead of every subscriber.
        self._ordered: dict[str, list[tuple[str, str]]] = {}
        self._joined: dict[str, set[tuple[str, str]]] = {}
        self._left: dict[str, set[tuple[str, str]]] = {}
        self._dirty_symbols: set[str] = set()
        self.held_back: dict[str, StartType] = {}     # parents whose algo has not started (Staged, WaitTrigger)
        self.started_ns: dict[str, int] = {}          # when a held parent's algo started (TWAP slices count from it)
        self.on_trigger: Callable[[str], None] = lambda order_id: None   # a WaitTrigger parent's limit is reachable
        self.holds: RiskHolds | None = None           # the child manager's, saved with each parent it holds
        work.before_commit.append(self._deliver_market)
        work.before_commit.append(self._save_states)

    # ------------------------------------------------------------------ life cycle

    def attach(self, parent: ParentOrder) -> Algo:
        algo = self._make_algo(parent.algo_name, self._make_context(parent, ALGO))
        self.algos[parent.order_id] = algo
        hedger = self._make_hedger(self._make_context(parent, HEDGE))
        if hedger is not None:
            self.hedgers[parent.order_id] = hedger
        if parent.algo_state:
            if STARTED_KEY in parent.algo_state:
                self.started_ns[parent.order_id] = int(parent.algo_state[STARTED_KEY])
            algo.load_state(parent.algo_state.get("algo", {}))
            if hedger is not None:
                hedger.load_state(parent.algo_state.get("hedge", {}))
        return algo

    def hold_back(self, order_id: str, hold: StartType) -> None:
        self.held_back[order_id] = hold

    def start_algo(self, parent: ParentOrder, now_ns: int) -> None:
        """Start a parent's algo: at once for an Immediate order, on release or trigger for a held one."""
        if self.held_back.pop(parent.order_id, None) is not None or parent.algo.start_type is not None:
            self.started_ns[parent.order_id] = now_ns
        self._work.touch(parent)
        self.algos[parent.order_id].start()

    def detach_algo(self, order_id: str) -> None:
        """The parent's own work is over; its hedger (if any) may go on."""
        self.held_back.pop(order_id, None)
        if self.algos.pop(order_id, None) is not None:
            self._drop_owner(order_id, ALGO)

    def detach(self, order_id: str) -> None:
        self.detach_algo(order_id)
        self.started_ns.pop(order_id, None)
        if self.hedgers.pop(order_id, None) is not None:
            self._drop_owner(order_id, HEDGE)

    def _drop_owner(self, order_id: str, owner: str) -> None:
        for key in [k for k in self._timer_handles if k[0] == order_id and k[1] == owner]:
            self._timer_handles.pop(key).cancel()
        for symbol in self._subscriptions.pop((order_id, owner), ()):
            self._leave(symbol, (order_id, owner))

    def _live_algo(self, order_id: str) -> Algo | None:
        parent = self._orders.parents.get(order_id)
        if parent is None or parent.pending is not None or parent.status in _PARENT_DONE or order_id in self.held_back:
            return None
        self._work.touch(parent)
        return self.algos.get(order_id)

    def _live_hedger(self, order_id: str):
        hedger = self.hedgers.get(order_id)
        if hedger is not None:
            self._work.touch(self._orders.parents[order_id])
        return hedger

    def _owner(self, order_id: str, owner: str):
        return self._live_algo(order_id) if owner == ALGO else self._live_hedger(order_id)

    # ------------------------------------------------------------------ timers and subscriptions

    def set_timer(self, order_id: str, owner: str, name: str, at_ns: int) -> None:
        key = (order_id, owner, name)
        old = self._timer_handles.pop(key, None)
        if old is not None:
            old.cancel()

        def fire() -> None:
            if self._timer_handles.get(key) is handle:
                del self._timer_handles[key]
                target = self._owner(order_id, owner)
                if target is not None:
                    target.on_timer(name)
        handle = self._timers.call_at(at_ns, fire)
        self._timer_handles[key] = handle

    def cancel_timer(self, order_id: str, owner: str, name: str) -> None:
        handle = self._timer_handles.pop((order_id, owner, name), None)
        if handle is not None:
            handle.cancel()

    def subscribe(self, order_id: str, owner: str, symbol: str) -> None:
        key = (order_id, owner)
        subscribers = self._subscribers[symbol]
        if key not in subscribers:
            subscribers.add(key)
            left = self._left.get(symbol)
            if left and key in left:
                left.discard(key)                 # still in the ordered list
            else:
                self._joined.setdefault(symbol, set()).add(key)
        self._subscriptions[key].add(symbol)

    def unsubscribe(self, order_id: str, owner: str, symbol: str) -> None:
        self._leave(symbol, (order_id, owner))
        self._subscriptions[(order_id, owner)].discard(symbol)

    def _leave(self, symbol: str, key: tuple[str, str]) -> None:
        subscribers = self._subscribers[symbol]
        if key in subscribers:
            subscribers.discard(key)
            joined = self._joined.get(symbol)
            if joined and key in joined:
                joined.discard(key)               # never made the ordered list
            else:
                self._left.setdefault(symbol, set()).add(key)

    def _in_order(self, symbol: str) -> list[tuple[str, str]]:
        """``sorted(self._subscribers[symbol])``, kept between deliveries (a new list when it changes)."""
        ordered = self._ordered.get(symbol, [])
        left, joined = self._left.pop(symbol, None), self._joined.pop(symbol, None)
        if left:
            ordered = [key for key in ordered if key not in left]
        if joined:
            ordered = sorted(ordered + sorted(joined))      # two sorted runs: one merge
        if left or joined:
            self._ordered[symbol] = ordered
        return ordered

    def market_changed(self, symbol: str) -> None:
        if self._subscribers.get(symbol):
            self._dirty_symbols.add(symbol)

    def _deliver_market(self) -> None:
        parents, algos = self._orders.parents, self.algos
        while self._dirty_symbols:
            symbols, self._dirty_symbols = sorted(self._dirty_symbols), set()
            option_batches: dict[tuple[type, str], list[Algo]] = {}    # (class, underlier) -> parents
            repriced: set[int] = set()                                 # ids of algos an underlier batch had
            for symbol in symbols:
                touched = self._work.parents
                batches: dict[type, list[Algo]] = {}
                underlier_of: dict[str, bool] = {}       # parent symbol -> is ``symbol`` its underlier
                for order_id, owner in self._in_order(symbol):
                    if owner != ALGO:
                        target = self._owner(order_id, owner)
                        if target is not None:
                            target.on_market(symbol)
                        continue
                    # _live_algo, spelled out: this loop runs once per subscriber
                    parent = parents.get(order_id)
                    if parent is None or parent.pending is not None or parent.status in _PARENT_DONE:
                        continue
                    touched[order_id] = parent
                    target = algos.get(order_id)
                    if target is None:
                        continue
                    algo_class = type(target)
                    if algo_class.tied_to_underlier:
                        tied = underlier_of.get(parent.symbol)
                        if tied is None:
                            tied = underlier_of[parent.symbol] = self._is_underlier_of(symbol, parent.symbol)
                        if tied:
                            batch = batches.get(algo_class)
                            if batch is None:
                                batches[algo_class] = [target]
                            else:
                                batch.append(target)
                            continue
                        if parent.symbol == symbol and getattr(algo_class, "on_option_batch", None) is not None:
                            underlier = self._underlier_of(symbol)
                            if underlier is not None:
                                option_batches.setdefault((algo_class, underlier), []).append(target)
                                continue
                    target.on_market(symbol)
                for algo_class, batch in batches.items():
                    algo_class.on_underlier_batch(batch, symbol)
                    repriced.update(map(id, batch))
            for (algo_class, underlier), batch in option_batches.items():
                batch = [algo for algo in batch if id(algo) not in repriced]
                if batch:
                    algo_class.on_option_batch(batch, underlier)

    def _underlier_of(self, symbol: str) -> str | None:
        """An option's underlier (None for a symbol that is not an option of one)."""
        instrument = self._securities.get(symbol)
        if instrument is None or instrument.underlying == instrument.symbol:
            return None
        return instrument.underlying

    def _is_underlier_of(self, symbol: str, parent_symbol: str) -> bool:
        instrument = self._securities.get(parent_symbol)
        return instrument is not None and instrument.underlying == symbol and instrument.symbol != symbol

    def _save_states(self) -> None:
        for order_id, parent in self._work.parents.items():
            algo, hedger = self.algos.get(order_id), self.hedgers.get(order_id)
            if algo is None and hedger is None:
                continue
            state = {}
            if algo is not None and (saved := algo.save_state()):
                state["algo"] = saved
            if hedger is not None and (saved := hedger.save_state()):
                state["hedge"] = saved
            if order_id in self.started_ns:
                state[STARTED_KEY] = self.started_ns[order_id]
            if self.holds and (held := self.holds.state_of(order_id)):
                state[HOLDS_KEY] = held
            if state or parent.algo_state:
                parent.algo_state = state

    # ------------------------------------------------------------------ child events, routed by role

    def _for_child(self, child: ChildOrder):
        return self._live_hedger(child.parent_id) if child.role is ChildRole.HEDGE else self._live_algo(child.parent_id)

    def child_accepted(self, child: ChildOrder) -> None:
        if (target := self._for_child(child)) is not None:
            target.on_child_accepted(child)

    def child_filled(self, child: ChildOrder, fill: Fill) -> None:
        if (target := self._for_child(child)) is not None:
            target.on_fill(child, fill)

    def child_replaced(self, child: ChildOrder) -> None:
        if (target := self._for_child(child)) is not None:
            target.on_child_replaced(child)

    def child_rejected(self, child: ChildOrder, reason: str) -> None:
        if (target := self._for_child(child)) is not None:
            target.on_child_rejected(child, reason)

    def child_done(self, child: ChildOrder) -> None:
        if (target := self._for_child(child)) is not None:
            target.on_child_done(child)

    def option_filled(self, parent: ParentOrder, fill: Fill) -> None:
        hedger = self._live_hedger(parent.order_id)
        if hedger is not None and not hedger.on_work_fill(fill):
            self._work.journal_add("hedge_skipped", parent.session,
                                   {"fill": fill.exec_id, "reason": "no underlier price for the model delta"})

    def auction_result(self, order_id: str, result) -> bool:
        """Hand a finished auction to its parent's algo; False when no live algo took it."""
        algo = self._live_algo(order_id)
        if algo is None:
            return False
        algo.on_auction_result(result)
        return True

    def book_reached(self, order_id: str) -> None:
        if order_id in self.held_back:
            self.on_trigger(order_id)
            return
        if (algo := self._live_algo(order_id)) is not None:
            algo.on_book()

    def retry_due(self, order_id: str, role: ChildRole, symbol: str) -> None:
        """A venue's back-off after refusing this parent ran out: let its owner plan again, as
        after a market change."""
        if role is ChildRole.HEDGE:
            if (hedger := self._live_hedger(order_id)) is not None:
                hedger.on_market(symbol)
        elif (algo := self._live_algo(order_id)) is not None:
            algo.on_book()
            algo.on_market(symbol)
