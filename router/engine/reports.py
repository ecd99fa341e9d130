"""ExecutionReports and cancel rejects, built from the book of record.

OrdStatus follows FIX 4.4's precedence (Volume 4, "Order State Change Matrices"): while a cancel
or replace is pending, every report carries Pending Cancel (6) or Pending Replace (E), which
rank above Partially Filled and New. Two choices of ours: a fill that completes the order is
reported Filled (the pending request is then rejected, too late), and a parent with auto-hedges
still working is not reported done — its last option fill says Partially Filled with LeavesQty
0 — until the hedges are resolved (the SpiderRock reference's rule for autohedged orders).
"""
from __future__ import annotations

from router.clock import Clock
from router.domain.enums import ChildRole, CxlRejReason, CxlRejResponseTo, ExecType, OrdStatus, PendingKind, Side
from router.domain.events import CancelRejectReport, ExecReport
from router.domain.orders import ChildOrder, ParentOrder

from .batch import UnitOfWork
from .state import Orders

REF_METRIC_TAGS = (5192, 5194, 5196, 5198)      # SROrderRefRMetric1-4: kept verbatim, echoed on every report


def ref_metrics(parent: ParentOrder) -> tuple[tuple[int, str], ...]:
    extra = parent.algo.extra
    return tuple((tag, extra[tag]) for tag in REF_METRIC_TAGS if tag in extra) if extra else ()


def reported_status(parent: ParentOrder, hedging: bool = False) -> OrdStatus:
    status = parent.status
    pending = parent.pending
    if pending is not None and not (status is OrdStatus.FILLED and not hedging):
        if pending.kind is PendingKind.CANCEL:
            return OrdStatus.PENDING_CANCEL
        if pending.kind is PendingKind.REPLACE:
            return OrdStatus.PENDING_REPLACE
    if hedging and status.is_done:
        return OrdStatus.PARTIALLY_FILLED if parent.cum_qty else OrdStatus.NEW
    return status


class Reports:
    def __init__(self, clock: Clock, work: UnitOfWork, orders: Orders) -> None:
        self._clock = clock
        self._work = work
        self._orders = orders
        self.hedging: set[str] = set()       # parents whose auto-hedge is still working
        self.hedge_target = lambda order_id: None   # the hedger's target in shares (signed), set by the engine
        self.underlier_of = lambda symbol: symbol     # a package's reports name its underlier (set by the engine)

    def exec_report(self, parent: ParentOrder, exec_type: ExecType, *, exec_id: str | None = None,
                    cl_ord_id: str | None = None, orig: str | None = None, status: OrdStatus | None = None,
                    last_qty: int = 0, last_px: float = 0.0, last_mkt: str | None = None, text: str | None = None,
                    liquidity=None, fee: float | None = None) -> ExecReport:
        status = status or reported_status(parent, parent.order_id in self.hedging)
        leaves = 0 if status.is_done or parent.status.is_done else parent.leaves_qty
        package = parent.is_package
        return ExecReport(
            session=parent.session, order_id=parent.order_id, cl_ord_id=cl_ord_id or parent.cl_ord_id,
            exec_id=exec_id or parent.next_exec_id(), exec_type=exec_type, ord_status=status,
            symbol=self.underlier_of(parent.symbol) if package else parent.symbol, side=parent.side,
            order_qty=parent.qty, cum_qty=parent.cum_qty,
            leaves_qty=leaves, avg_px=round(parent.avg_px, 8), transact_ns=self._clock.now_ns(),
            account=parent.account, price=parent.price, orig_cl_ord_id=orig, last_qty=last_qty, last_px=last_px,
            last_mkt=last_mkt, text=text, liquidity=liquidity, fee=fee, strategy=parent.algo.strategy,
            ref_metrics=ref_metrics(parent), multileg_reporting_type=3 if package else None)

    def leg_fill(self, parent: ParentOrder, leg_index: int, *, last_qty: int, last_px: float, last_mkt: str,
                 liquidity=None, fee: float | None = None, text: str | None = None) -> None:
        """One leg's execution (442=2, 654 its LegRefID): OrderQty, CumQty and AvgPx are the leg's
        own (the package's quantity times the leg's ratio), OrdStatus the package's."""
        leg = parent.legs[leg_index]
        status = reported_status(parent, parent.order_id in self.hedging)
        ordered = parent.qty * leg.ratio
        self._work.touch(parent)
        self._work.report(ExecReport(
            session=parent.session, order_id=parent.order_id, cl_ord_id=parent.cl_ord_id,
            exec_id=parent.next_exec_id(), exec_type=ExecType.TRADE, ord_status=status, symbol=leg.symbol,
            side=leg.side, order_qty=ordered, cum_qty=leg.cum_qty,
            leaves_qty=0 if status.is_done or parent.status.is_done else max(ordered - leg.cum_qty, 0),
            avg_px=round(leg.avg_px, 8), transact_ns=self._clock.now_ns(), account=parent.account,
            last_qty=last_qty, last_px=last_px, last_mkt=last_mkt, liquidity=liquidity, fee=fee, text=text,
            strategy=parent.algo.strategy, ref_metrics=ref_metrics(parent), multileg_reporting_type=2,
            leg_ref_id=leg.ref_id))

    def send(self, parent: ParentOrder, exec_type: ExecType, **kwargs) -> None:
        self._work.touch(parent)
        self._work.report(self.exec_report(parent, exec_type, **kwargs))

    def hedge(self, parent: ParentOrder, *, fill_child: ChildOrder | None = None, last_qty: int = 0,
              last_px: float = 0.0, liquidity=None, fee: float | None = None, final: bool = False) -> None:
        """A hedge execution (or the closing hedge report) under the hedge ClOrdID 5010: OrderQty is
        the shares the hedge is for so far (it moves with the option fills, never below CumQty),
        CumQty and AvgPx the hedge's own; Partially Filled until the parent and its hedges are
        done, then Filled (the SpiderRock reference's rules for autohedge reports)."""
        self._work.touch(parent)
        self._work.report(self._hedge_report(
            parent, parent.next_exec_id(), ExecType.DONE_FOR_DAY if final else ExecType.TRADE,
            OrdStatus.FILLED if final else OrdStatus.PARTIALLY_FILLED, final, fill_child, last_qty=last_qty,
            last_px=last_px, last_mkt=fill_child.venue if fill_child is not None else None, liquidity=liquidity,
            fee=fee))

    def hedge_status(self, parent: ParentOrder, exec_id: str) -> None:
        """The hedge's own line in an OrderStatusRequest answer (ExecType I, under 5010)."""
        hedges = self._orders.children_with_role(parent.order_id, ChildRole.HEDGE)
        filled = sum(c.cum_qty for c in hedges)
        done = parent.order_id not in self.hedging and not any(c.is_open for c in hedges)
        status = OrdStatus.FILLED if done and filled else OrdStatus.PARTIALLY_FILLED if filled else OrdStatus.NEW
        self._work.report(self._hedge_report(parent, exec_id, ExecType.ORDER_STATUS, status, False, None))

    def _hedge_report(self, parent: ParentOrder, exec_id: str, exec_type: ExecType, status: OrdStatus, final: bool,
                      fill_child: ChildOrder | None, **fill) -> ExecReport:
        hedges = self._orders.children_with_role(parent.order_id, ChildRole.HEDGE)
        filled = sum(c.cum_qty for c in hedges)
        notional = sum(c.notional for c in hedges)
        target = self.hedge_target(parent.order_id)
        ordered = abs(target) if target is not None else sum(c.cum_qty if c.status.is_done else c.qty for c in hedges)
        latest = fill_child or (hedges[-1] if hedges else None)
        return ExecReport(
            session=parent.session, order_id=f"{parent.order_id}H", cl_ord_id=parent.algo.alt_auto_hedge_id or "",
            exec_id=exec_id, exec_type=exec_type, ord_status=status,
            symbol=latest.symbol if latest else parent.symbol, side=latest.side if latest else Side.SELL,
            order_qty=max(ordered, filled), cum_qty=filled,
            leaves_qty=0 if final else sum(c.leaves_qty for c in hedges),
            avg_px=round(notional / filled, 8) if filled else 0.0, transact_ns=self._clock.now_ns(),
            account=parent.account, role=ChildRole.HEDGE, **fill)

    def cancel_reject(self, session: str, parent: ParentOrder | None, cl_ord_id: str, orig_cl_ord_id: str | None,
                      reason: CxlRejReason, text: str, response_to: CxlRejResponseTo,
                      sr_code: int | None = None) -> None:
        status = OrdStatus.REJECTED if parent is None else reported_status(parent, parent.order_id in self.hedging)
        self._work.report(CancelRejectReport(
            session=session, order_id=parent.order_id if parent else "NONE", cl_ord_id=cl_ord_id,
            orig_cl_ord_id=orig_cl_ord_id or (parent.cl_ord_id if parent else "NONE"), ord_status=status,
            response_to=response_to, reason=int(reason), text=text, transact_ns=self._clock.now_ns(),
            sr_reject_code=sr_code))
