"""The parent lifecycle: new orders, cancel, replace, expiry, mass cancel, status, and the end
of an order (after its auto-hedges, when it has them).

A client replace no longer pulls every child. The order manager only amends what would break
the new terms (a child priced through the new limit is pulled; if the children's balance is
above the new leaves, the newest are reduced, which keeps their queue place), the replace
completes once those amendments are answered, and the algo then decides the rest. The new
quantity is checked against CumQty when the replace arrives and again when it completes.
Filled is terminal: a pending cancel or replace that a fill overtakes is rejected, too late.
StartType (5090) decides when a parent's algo starts (start_type.py); TwapSliceCount (5056)
needs a duration, checked at entry (twap.py).
"""
from __future__ import annotations

import json

from router import faults
from router.clock import Clock
from router.config import Accounts, EngineConfig
from router.domain.commands import (CancelOrder, ClientRequest, MassCancel, NewMultilegOrder, NewOrder,
                                    OrderStatusQuery, ReplaceOrder)
from router.domain.enums import (ChildRole, CxlRejReason, CxlRejResponseTo, ExecType, MassCancelType, OrdRejReason,
                                 OrdStatus, OrdType, PendingKind, Side, SRRejectCode, StartType)
from router.domain.events import ExecReport, MassCancelReportOut
from router.domain.orders import ParentOrder, PendingChange, immediate_or_cancel
from router.market.books import MarketBooks
from router.market.securities import SecurityMaster
from router.market.waiters import LiquidityWaiters

from algos.base import ParentChange

from . import packages, start_type, tif, twap
from .batch import UnitOfWork
from .children import ChildOrderManager
from .replace_rules import enforce_new_terms, replace_problem, replace_ready
from .reports import Reports
from .runtime import AlgoRuntime
from .state import Orders
from .timers import Timers
from .validation import Draft, Reject, Validator, stale_text

_EPS = 1e-9


class ParentLifecycle:
    def __init__(self, clock: Clock, timers: Timers, work: UnitOfWork, orders: Orders, reports: Reports,
                 children: ChildOrderManager, runtime: AlgoRuntime, validator: Validator, securities: SecurityMaster,
                 books: MarketBooks, waiters: LiquidityWaiters, accounts: Accounts, config: EngineConfig,
                 calendar: tif.SessionCalendar) -> None:
        self._clock, self._timers, self._work, self._orders = clock, timers, work, orders
        self._reports, self._children, self._runtime, self._validator = reports, children, runtime, validator
        self._securities, self._books, self._waiters = securities, books, waiters
        self._accounts, self._config, self._calendar = accounts, config, calendar
        self._expiry_timers: dict[str, object] = {}
        self._work_over: set[str] = set()         # parents whose own work ended (hedges may go on)
        self.mass_cancel_ids: set[tuple[str, str]] = set()
        self.connectivity = None      # the engine's Connectivity: reports say when no venue is reachable
        self._start_changes: dict[str, StartType] = {}   # a held parent's new StartType, until its replace applies
        runtime.on_trigger = self._triggered
        caps = children.caps
        caps.finish = self.finish
        caps.wake = self._wake
        caps.start_of = lambda parent: runtime.started_ns.get(parent.order_id, parent.created_ns)

    # ------------------------------------------------------------------ new orders

    def on_new(self, request: ClientRequest, cmd: NewOrder) -> None:
        now = self._clock.now_ns()
        account = cmd.account or request.account
        draft = Draft(request, cmd, account, now, fields={"cl_ord_id": cmd.cl_ord_id, "symbol": cmd.instrument.symbol,
                                                          "side": cmd.side, "qty": cmd.qty, "price": cmd.price})
        if self.mass_cancel_ids and (request.session, cmd.cl_ord_id) in self.mass_cancel_ids:
            return self.reject_new(request.session, account, draft.fields, f"Duplicate ClOrdID {cmd.cl_ord_id}",
                                   OrdRejReason.DUPLICATE_ORDER, SRRejectCode.DUP_ORD_NUM)
        reject = self._validator.run(draft)
        if reject is not None:
            return self.reject_new(request.session, account, draft.fields, reject.text, reject.reason, reject.sr_code)
        if (text := twap.slice_problem(cmd.algo, immediate_or_cancel(cmd.time_in_force, cmd.algo), now,
                                       draft.expire_ns)):
            return self.reject_new(request.session, account, draft.fields, text, OrdRejReason.OTHER,
                                   SRRejectCode.BAD_ORD_TYPE)
        instrument = draft.instrument
        order_id = f"P{self._orders.next_order_number}"
        self._orders.next_order_number += 1
        self._work.meta["next_order_number"] = str(self._orders.next_order_number)
        parent = ParentOrder(
            order_id=order_id, session=request.session, account=account, cl_ord_id=cmd.cl_ord_id,
            symbol=instrument.symbol, side=cmd.side, qty=cmd.qty, ord_type=cmd.ord_type, price=cmd.price,
            time_in_force=cmd.time_in_force, algo_name=draft.algo_name, algo=cmd.algo, created_ns=now,
            expire_ns=draft.expire_ns, cl_ord_ids=[cmd.cl_ord_id])
        nbbo = self._books.nbbo(instrument.symbol)
        parent.arrival_bid, parent.arrival_ask = nbbo.bid, nbbo.ask
        self._orders.add_parent(parent)
        self._work.touch(parent)
        # PendingNew lasts while the order is validated and journaled, inside this batch; the
        # client's first report is New, sent once the order is durable (report_pending_new adds
        # the PendingNew report before it).
        if self._config.report_pending_new:
            self._reports.send(parent, ExecType.PENDING_NEW, status=OrdStatus.PENDING_NEW)
        parent.status = OrdStatus.NEW
        hold = start_type.hold_for(parent, parent.algo.start_type, nbbo)
        self._reports.send(parent, ExecType.NEW,
                           text=self._annotate(parent, start_type.hold_text(hold) if hold is not None else None))
        self.arm_expiry(parent)
        self._runtime.attach(parent)
        if parent.order_id in self._runtime.hedgers:
            self._reports.hedging.add(parent.order_id)
        self._hold_or_start(parent, hold)
        self.settle(parent)

    def on_new_package(self, request: ClientRequest, cmd: NewMultilegOrder) -> None:
        """A NewOrderMultileg: the single-order checks on its first option leg, then the package's
        own (packages.py); the parent counts packages and its reports say 442=3."""
        now = self._clock.now_ns()
        account = cmd.account or request.account
        fields = {"cl_ord_id": cmd.cl_ord_id, "symbol": "[N/A]", "side": Side.BUY, "qty": cmd.qty, "price": cmd.price}
        try:
            legs = packages.resolve_legs(cmd, self._securities,
                                         across_underliers=self._config.packages_across_underliers)
        except packages.PackageProblem as problem:
            return self.reject_new(request.session, account, fields, str(problem), OrdRejReason.OTHER,
                                   SRRejectCode.UNKNOWN_OPTION)
        anchor = packages.anchor_order(cmd, legs, self._securities)
        fields["symbol"] = self._reports.underlier_of(anchor.instrument.symbol)
        draft = Draft(request, anchor, account, now, fields=dict(fields))
        reject = self._validator.run(draft, package=True)
        if reject is None:
            tick = packages.package_tick([self._securities.get(leg.symbol) for leg in legs])
            text = packages.price_problem(cmd.price, tick)
            if text is not None:
                reject = Reject(text, OrdRejReason.INVALID_PRICE_INCREMENT, SRRejectCode.BAD_LIMIT)
        if reject is not None:
            return self.reject_new(request.session, account, fields, reject.text, reject.reason, reject.sr_code)
        order_id = f"P{self._orders.next_order_number}"
        self._orders.next_order_number += 1
        self._work.meta["next_order_number"] = str(self._orders.next_order_number)
        ord_type = cmd.ord_type or (OrdType.LIMIT if cmd.price is not None else OrdType.MARKET)
        parent = ParentOrder(
            order_id=order_id, session=request.session, account=account, cl_ord_id=cmd.cl_ord_id,
            symbol=anchor.instrument.symbol, side=Side.BUY, qty=cmd.qty, ord_type=ord_type, price=cmd.price,
            time_in_force=cmd.time_in_force, algo_name=draft.algo_name, algo=cmd.algo, created_ns=now,
            expire_ns=draft.expire_ns, cl_ord_ids=[cmd.cl_ord_id], legs=legs)
        self._orders.add_parent(parent)
        self._work.touch(parent)
        parent.status = OrdStatus.NEW
        self._reports.send(parent, ExecType.NEW, text=self._annotate(parent, None))
        self.arm_expiry(parent)
        self._runtime.attach(parent)
        if parent.order_id in self._runtime.hedgers:
            self._reports.hedging.add(parent.order_id)
        self._hold_or_start(parent, start_type.hold_for(parent, parent.algo.start_type, self._books.nbbo(parent.symbol)))
        self.settle(parent)

    def reject_new(self, session: str, account: str, fields: dict, text: str, reason, sr_code) -> None:
        self._work.report(ExecReport(
            session=session, order_id=fields.get("order_id") or "NONE", cl_ord_id=fields.get("cl_ord_id") or "NONE",
            exec_id=f"R{self._work.journal_seq}", exec_type=ExecType.REJECTED, ord_status=OrdStatus.REJECTED,
            symbol=fields.get("symbol") or "[N/A]", side=fields.get("side"), order_qty=int(fields.get("qty") or 0),
            cum_qty=0, leaves_qty=0, avg_px=0.0, transact_ns=self._clock.now_ns(), account=account,
            price=fields.get("price"), text=text, ord_rej_reason=int(reason), sr_reject_code=int(sr_code)))

    # ------------------------------------------------------------------ StartType (5090)

    def _hold_or_start(self, parent: ParentOrder, hold: StartType | None) -> None:
        if hold is None:
            self._waiters.forget(parent.order_id)
            self._runtime.start_algo(parent, self._clock.now_ns())
            return
        self._runtime.hold_back(parent.order_id, hold)
        if hold is StartType.WAIT_TRIGGER:
            self._waiters.wait(parent.symbol, parent.order_id, parent.side.is_buy, parent.static_limit)
        else:
            self._waiters.forget(parent.order_id)

    def _triggered(self, order_id: str) -> None:
        parent = self._orders.parents.get(order_id)
        if parent is None or not parent.is_working or parent.pending is not None:
            return
        self._work.journal_add("start_trigger", parent.session, {"parent": order_id})
        self._runtime.start_algo(parent, self._clock.now_ns())
        self.settle(parent)

    def _wake(self, order_id: str, role: ChildRole, symbol: str) -> None:
        """A TWAP slice was released, or a cancel a child was held back for is confirmed."""
        parent = self._orders.parents.get(order_id)
        if parent is None:
            return
        self._runtime.retry_due(order_id, role, symbol)
        self.settle(parent)

    def hold_restored(self, parent: ParentOrder) -> bool:
        """After a restart: keep a parent that had not started held (True), or let it resume. A
        WaitTrigger order waits for the next book update (the books start empty after a restart)."""
        hold = start_type.restored_hold(parent)
        if hold is None:
            return False
        self._runtime.hold_back(parent.order_id, hold)
        if hold is StartType.WAIT_TRIGGER:
            self._waiters.wait(parent.symbol, parent.order_id, parent.side.is_buy, parent.static_limit)
        return True

    # ------------------------------------------------------------------ expiry

    def arm_expiry(self, parent: ParentOrder) -> None:
        old = self._expiry_timers.pop(parent.order_id, None)
        if old is not None:
            old.cancel()
        if parent.expire_ns is not None and parent.is_working:
            self._expiry_timers[parent.order_id] = self._timers.call_at(
                parent.expire_ns, lambda oid=parent.order_id: self.on_expiry(oid))

    def on_expiry(self, order_id: str) -> None:
        parent = self._orders.parents.get(order_id)
        self._expiry_timers.pop(order_id, None)
        if parent is None or not parent.is_working or order_id in self._work_over:
            return
        self._work.journal_add("timer", parent.session, {"expire": order_id})
        self._overtake_pending(parent, "order expired")
        parent.pending = PendingChange(PendingKind.EXPIRE, parent.cl_ord_id, parent.cl_ord_id)
        self._pull_work(parent)

    def _overtake_pending(self, parent: ParentOrder, why: str) -> None:
        """A client cancel or replace still pending when expiry or a kill takes over is answered."""
        pending = parent.pending
        if pending is None or pending.kind not in (PendingKind.CANCEL, PendingKind.REPLACE):
            return
        if pending.kill:
            return               # a mass cancel's own pending cancel: nothing for the client to answer
        response = CxlRejResponseTo.CANCEL if pending.kind is PendingKind.CANCEL else CxlRejResponseTo.REPLACE
        parent.pending = None
        self._reports.cancel_reject(parent.session, parent, pending.cl_ord_id, pending.orig_cl_ord_id,
                                    CxlRejReason.TOO_LATE_TO_CANCEL, f"Too late: {why}", response)

    # ------------------------------------------------------------------ cancel and replace

    def _check_change(self, request: ClientRequest, cmd, response: CxlRejResponseTo) -> ParentOrder | None:
        parent = self._orders.find(request.session, cmd.orig_cl_ord_id, cmd.order_id)
        name = "cancel" if response is CxlRejResponseTo.CANCEL else "replace"

        def reject(p, reason, text, sr=None):
            self._reports.cancel_reject(request.session, p, cmd.cl_ord_id, cmd.orig_cl_ord_id, reason, text, response,
                                        None if sr is None else int(sr))
        if parent is None and (request.session, cmd.orig_cl_ord_id) in self.mass_cancel_ids:
            reject(None, CxlRejReason.TOO_LATE_TO_CANCEL, f"{cmd.orig_cl_ord_id} is a mass cancel request, not an order")
        elif parent is None:
            reject(None, CxlRejReason.UNKNOWN_ORDER, f"Unknown order {cmd.orig_cl_ord_id or cmd.order_id}")
        elif self._orders.cl_ord_id_used(request.session, cmd.cl_ord_id) or \
                (request.session, cmd.cl_ord_id) in self.mass_cancel_ids:
            reject(parent, CxlRejReason.DUPLICATE_CLORDID, f"Duplicate ClOrdID {cmd.cl_ord_id}", SRRejectCode.DUP_ORD_NUM)
        elif cmd.orig_cl_ord_id and cmd.orig_cl_ord_id != parent.cl_ord_id:
            reject(parent, CxlRejReason.OTHER, f"OrigClOrdID {cmd.orig_cl_ord_id} is not the latest in its chain "
                                               f"({parent.cl_ord_id})", SRRejectCode.INVLD_CXL_REPL)
        elif parent.order_id in self._work_over:
            reject(parent, CxlRejReason.TOO_LATE_TO_CANCEL, f"Too late to {name}: the order is done "
                                                            f"({parent.status.name.lower()}); its auto-hedge is still working")
        elif not parent.is_working:
            reject(parent, CxlRejReason.TOO_LATE_TO_CANCEL, f"Too late to {name}: order is {parent.status.name}")
        elif parent.pending is not None:
            reject(parent, CxlRejReason.ALREADY_PENDING, f"A {parent.pending.kind.value} is already pending",
                   SRRejectCode.PEND_CXL_REPL)
        elif (stale := stale_text(cmd.transact_time, self._clock.now_ns(), self._config.max_transact_age_s)):
            reject(parent, CxlRejReason.OTHER, stale)
        else:
            return parent
        return None

    def on_cancel(self, request: ClientRequest, cmd: CancelOrder) -> None:
        parent = self._check_change(request, cmd, CxlRejResponseTo.CANCEL)
        if parent is None:
            return
        self._chain(parent, request.session, cmd.cl_ord_id)
        parent.pending = PendingChange(PendingKind.CANCEL, cmd.cl_ord_id, parent.cl_ord_id)
        faults.reached("cancel_replace")
        self._pull_work(parent, report=ExecType.PENDING_CANCEL)

    def _chain(self, parent: ParentOrder, session: str, cl_ord_id: str) -> None:
        self._orders.register_cl_ord_id(session, cl_ord_id, parent.order_id)
        parent.cl_ord_ids.append(cl_ord_id)

    def on_replace(self, request: ClientRequest, cmd: ReplaceOrder) -> None:
        parent = self._check_change(request, cmd, CxlRejResponseTo.REPLACE)
        if parent is None:
            return
        text, sr = replace_problem(parent, cmd, self._securities, self._books, self._accounts.limits_for(parent.account))
        new_start = getattr(cmd, "start_type", None)      # SRStartType (5090) on the replace
        held = parent.order_id in self._runtime.held_back
        if text is None and (text := start_type.replace_problem(held, new_start)):
            sr = SRRejectCode.INVLD_CXL_REPL
        if text is not None:
            self._reports.cancel_reject(request.session, parent, cmd.cl_ord_id, cmd.orig_cl_ord_id, CxlRejReason.OTHER,
                                        text, CxlRejResponseTo.REPLACE, int(sr) if sr is not None else None)
            return
        self._chain(parent, request.session, cmd.cl_ord_id)
        if held and new_start is not None:
            self._start_changes[parent.order_id] = new_start
        new_tif = cmd.time_in_force
        expire = None
        if new_tif is not None or cmd.expire_time is not None or cmd.expire_date is not None:
            expire = tif.expire_ns(new_tif or parent.time_in_force, parent.algo, cmd.expire_time, cmd.expire_date,
                                   now_ns=self._clock.now_ns(), calendar=self._calendar,
                                   ioc_timeout_ns=int(self._config.ioc_timeout_ms * 1e6))
        parent.pending = PendingChange(PendingKind.REPLACE, cmd.cl_ord_id, parent.cl_ord_id, new_qty=cmd.qty,
                                       new_price=cmd.price, new_ord_type=cmd.ord_type, new_time_in_force=new_tif,
                                       new_expire_ns=expire)
        faults.reached("cancel_replace")
        self._work.touch(parent)
        enforce_new_terms(self._orders, self._children, self._securities, parent)
        if not replace_ready(self._orders, parent):
            self._reports.send(parent, ExecType.PENDING_REPLACE, cl_ord_id=cmd.cl_ord_id, orig=parent.cl_ord_id)
        self.settle(parent)

    def on_replace_package(self, request: ClientRequest, cmd: NewMultilegOrder) -> None:
        """A MultilegOrderCancelReplace (AC): only OrderQty (38) and TimeInForce (59) may change
        (the reference); it completes once the package's open leg children are pulled back."""
        change = ReplaceOrder(cl_ord_id=cmd.cl_ord_id, orig_cl_ord_id=cmd.replaces, qty=cmd.qty,
                              time_in_force=cmd.time_in_force, transact_time=cmd.transact_time)
        parent = self._check_change(request, change, CxlRejResponseTo.REPLACE)
        if parent is None:
            return
        text = packages.replace_problem(parent, cmd)
        if text is not None:
            self._reports.cancel_reject(request.session, parent, cmd.cl_ord_id, cmd.replaces, CxlRejReason.OTHER,
                                        text, CxlRejResponseTo.REPLACE, int(SRRejectCode.INVLD_CXL_REPL))
            return
        self.on_replace(request, change)
        if parent.pending is not None and parent.pending.kind is PendingKind.REPLACE:
            for child in self._orders.open_work(parent.order_id):
                self._children.cancel(child)

    def _apply_replace(self, parent: ParentOrder) -> None:
        pending, parent.pending = parent.pending, None
        new_qty = pending.new_qty if pending.new_qty is not None else parent.qty
        if parent.cum_qty > new_qty:                 # fills overtook the size-down
            self._reports.cancel_reject(parent.session, parent, pending.cl_ord_id, pending.orig_cl_ord_id,
                                        CxlRejReason.TOO_LATE_TO_CANCEL,
                                        f"Too late to reduce to {new_qty}: CumQty is {parent.cum_qty}",
                                        CxlRejResponseTo.REPLACE, int(SRRejectCode.TOO_LATE_TO_REDUCE))
            self._resume(parent, ParentChange(parent.qty, parent.price))
            return
        change = ParentChange(parent.qty, parent.price)
        parent.cl_ord_id, parent.orig_cl_ord_id = pending.cl_ord_id, pending.orig_cl_ord_id
        parent.qty = new_qty
        if pending.new_price is not None:
            parent.price = pending.new_price
        if pending.new_ord_type is not None:
            parent.ord_type = pending.new_ord_type
        if pending.new_time_in_force is not None:
            parent.time_in_force = pending.new_time_in_force
        if pending.new_time_in_force is not None or pending.new_expire_ns is not None:
            parent.expire_ns = pending.new_expire_ns     # recomputed from the new TimeInForce (None: GTC)
            self.arm_expiry(parent)
        if parent.cum_qty >= parent.qty:
            parent.status = OrdStatus.FILLED
        else:
            parent.status = OrdStatus.PARTIALLY_FILLED if parent.cum_qty else OrdStatus.NEW
        self._reports.send(parent, ExecType.REPLACED, orig=pending.orig_cl_ord_id)
        if parent.is_working:
            self._resume(parent, change)
        else:
            self.settle(parent)          # replaced down to CumQty: filled, so its work ends here

    def _resume(self, parent: ParentOrder, change: ParentChange) -> None:
        new_start = self._start_changes.pop(parent.order_id, None)
        hold = self._runtime.held_back.get(parent.order_id)
        if hold is not None:                 # not started: the replace changed its terms, perhaps its StartType
            if parent.is_working and parent.pending is None:
                if new_start is not None:
                    parent.algo = parent.algo.model_copy(update={"start_type": new_start})
                    self._work.touch(parent)
                    hold = new_start
                self._hold_or_start(parent, start_type.hold_for(parent, hold, self._books.nbbo(parent.symbol)))
            return
        algo = self._runtime.algos.get(parent.order_id)
        if algo is not None and parent.is_working and parent.pending is None:
            self._work.touch(parent)
            algo.on_parent_change(change)

    # ------------------------------------------------------------------ the algo ends or holds its order

    def resume_work_over(self, parent: ParentOrder) -> None:
        """After a restart: a parent whose own work ended before it (its hedge goes on)."""
        self._work_over.add(parent.order_id)
        self._runtime.detach_algo(parent.order_id)

    def finish(self, parent: ParentOrder, text: str) -> None:
        if not parent.is_working or parent.pending is not None or parent.order_id in self._work_over:
            return
        parent.pending = PendingChange(PendingKind.FINISH, parent.cl_ord_id, parent.cl_ord_id,
                                       text=self._annotate(parent, text))
        self._pull_work(parent)

    def _annotate(self, parent: ParentOrder, text: str | None) -> str | None:
        """``text``, saying so when no venue the parent may trade on is reachable."""
        if self.connectivity is None:
            return text
        return self.connectivity.annotate(text, parent.symbol, parent.algo.exchanges)

    def hold(self, parent: ParentOrder, text: str) -> None:
        self._work.journal_add("hold", parent.session, {"parent": parent.order_id, "text": text})
        for child in self._orders.open_work(parent.order_id):
            self._children.cancel(child)

    # ------------------------------------------------------------------ mass cancel and status

    def on_mass_cancel(self, request: ClientRequest, cmd: MassCancel) -> None:
        now = self._clock.now_ns()
        if cmd.request_type is MassCancelType.UNDERLYING and not cmd.underlying:
            self._work.report(MassCancelReportOut(
                request.session, cmd.cl_ord_id, f"M{self._work.journal_seq}", cmd.request_type.value, "0",
                text="MassCancelRequestType 2 needs UnderlyingSymbol (311) or Symbol (55)", account=request.account,
                transact_ns=now))
            return
        self.mass_cancel_ids.add((request.session, cmd.cl_ord_id))
        self._work.meta["mass_cancel_ids"] = _encode_ids(self.mass_cancel_ids)
        affected = []
        for parent in list(self._orders.parents.values()):
            if parent.session != request.session or not parent.is_working:
                continue
            if cmd.account and parent.account != cmd.account:
                continue
            if cmd.request_type is MassCancelType.UNDERLYING:
                instrument = self._securities.get(parent.symbol)
                if instrument is None or instrument.underlying != cmd.underlying:
                    continue
            if parent.pending is not None and parent.pending.kind is PendingKind.CANCEL and parent.pending.kill:
                continue
            affected.append(parent.order_id)
            self._overtake_pending(parent, f"order canceled by mass cancel {cmd.cl_ord_id}")
            parent.pending = PendingChange(PendingKind.CANCEL, cmd.cl_ord_id, parent.cl_ord_id, kill=True)
            self._pull_work(parent, report=ExecType.PENDING_CANCEL)
        self._work.report(MassCancelReportOut(
            request.session, cmd.cl_ord_id, f"M{self._work.journal_seq}", cmd.request_type.value,
            cmd.request_type.value, affected=tuple(affected), account=cmd.account or request.account, transact_ns=now))

    def on_status(self, request: ClientRequest, cmd: OrderStatusQuery) -> None:
        parent = self._orders.find(request.session, cmd.cl_ord_id, cmd.order_id)
        exec_id = f"S{self._work.journal_seq}"
        if parent is None:
            self._work.report(ExecReport(
                session=request.session, order_id=cmd.order_id or "NONE", cl_ord_id=cmd.cl_ord_id or "NONE",
                exec_id=exec_id, exec_type=ExecType.ORDER_STATUS, ord_status=OrdStatus.REJECTED, symbol="[N/A]",
                side=None, order_qty=0, cum_qty=0, leaves_qty=0, avg_px=0.0, transact_ns=self._clock.now_ns(),
                account=request.account, text="Unknown order", ord_rej_reason=int(OrdRejReason.UNKNOWN_ORDER)))
            return
        self._work.report(self._reports.exec_report(parent, ExecType.ORDER_STATUS, exec_id=exec_id))
        if self._orders.children_with_role(parent.order_id, ChildRole.HEDGE):
            self._reports.hedge_status(parent, exec_id + "H")

    # ------------------------------------------------------------------ pulling children, ending orders

    def _pull_work(self, parent: ParentOrder, report: ExecType | None = None) -> None:
        self._work.touch(parent)
        open_work = self._orders.open_work(parent.order_id)
        if report is not None and open_work:
            self._reports.send(parent, report, cl_ord_id=parent.pending.cl_ord_id, orig=parent.pending.orig_cl_ord_id)
        for child in open_work:
            self._children.cancel(child)
        if parent.pending is not None and parent.pending.kill:
            for child in self._orders.open_children(parent.order_id, ChildRole.HEDGE):
                self._children.cancel(child)
            self._runtime.detach(parent.order_id)
            self._reports.hedging.discard(parent.order_id)
        self.settle(parent)

    def settle(self, parent: ParentOrder) -> None:
        """Move a parent on as far as its children allow: complete a pending change, end its
        work, and close it once its hedges are done. Called after every event that touches it."""
        order_id = parent.order_id
        if order_id not in self._orders.working_by_account.get(parent.account, ()):
            return
        pending = parent.pending
        if parent.status is OrdStatus.FILLED and pending is not None and order_id not in self._work_over:
            if pending.kind in (PendingKind.CANCEL, PendingKind.REPLACE) and not pending.kill:
                response = CxlRejResponseTo.CANCEL if pending.kind is PendingKind.CANCEL else CxlRejResponseTo.REPLACE
                parent.pending = None
                self._reports.cancel_reject(parent.session, parent, pending.cl_ord_id, pending.orig_cl_ord_id,
                                            CxlRejReason.TOO_LATE_TO_CANCEL, "Too late: order filled", response)
            parent.pending = pending = None
        if pending is not None and pending.kind is PendingKind.REPLACE:
            if replace_ready(self._orders, parent):
                self._apply_replace(parent)
            return
        open_work = self._orders.open_work(order_id)
        if pending is None and parent.status is not OrdStatus.FILLED:
            return
        if open_work:
            if parent.status is OrdStatus.FILLED:
                for child in open_work:
                    self._children.cancel(child)
            return
        if order_id not in self._work_over:
            self._work_over.add(order_id)
            self._runtime.detach_algo(order_id)
            self._waiters.forget(order_id)
            timer = self._expiry_timers.pop(order_id, None)
            if timer is not None:
                timer.cancel()
            hedger = self._runtime.hedgers.get(order_id)
            if hedger is not None:
                hedger.flush()
        hedger = self._runtime.hedgers.get(order_id)
        if hedger is not None and not hedger.is_done:
            return
        self._close(parent)

    def _close(self, parent: ParentOrder) -> None:
        pending, parent.pending = parent.pending, None
        hedged = parent.order_id in self._reports.hedging
        self._reports.hedging.discard(parent.order_id)
        if self._orders.children_with_role(parent.order_id, ChildRole.HEDGE):
            self._reports.hedge(parent, final=True)
        if pending is None:                          # filled
            if hedged:
                self._reports.send(parent, ExecType.DONE_FOR_DAY, text="filled; auto-hedge done")
        elif pending.kind is PendingKind.CANCEL:
            if not pending.kill:         # a mass cancel's ClOrdID names the request, not this order
                parent.cl_ord_id, parent.orig_cl_ord_id = pending.cl_ord_id, pending.orig_cl_ord_id
            parent.status = OrdStatus.CANCELED
            self._reports.send(parent, ExecType.CANCELED, cl_ord_id=pending.cl_ord_id, orig=pending.orig_cl_ord_id)
        elif pending.kind is PendingKind.EXPIRE:
            parent.status = OrdStatus.EXPIRED
            self._reports.send(parent, ExecType.EXPIRED, text="order expired")
        else:
            parent.status = OrdStatus.CANCELED
            self._reports.send(parent, ExecType.CANCELED, text=pending.text)
        self._runtime.detach(parent.order_id)
        parent.closed = True
        self._orders.retire(parent)
        self._work_over.discard(parent.order_id)
        self._work.touch(parent)


def _encode_ids(ids: set[tuple[str, str]]) -> str:
    return json.dumps(sorted(ids))
