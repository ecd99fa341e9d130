"""Fill accounting by child role.

A WORK fill moves its parent's CumQty, AvgPx and fees and is reported on the parent; a HEDGE
fill is the auto-hedge's and is reported under the hedge ClOrdID (5010), never touching the
parent's CumQty. Every fill becomes a Fill row and a position in the ledger.
"""
from __future__ import annotations

from router.clock import Clock
from router.domain.enums import ChildRole, ExecType, OrdStatus
from router.domain.events import ChildFilled
from router.domain.orders import ChildOrder, Fill, ParentOrder
from router.market.securities import SecurityMaster
from router.positions import PositionLedger

from .batch import UnitOfWork
from .children import InvariantError
from .reports import Reports


class FillAccounting:
    def __init__(self, clock: Clock, work: UnitOfWork, reports: Reports, securities: SecurityMaster,
                 positions: PositionLedger) -> None:
        self._clock = clock
        self._work = work
        self._reports = reports
        self._securities = securities
        self.positions = positions

    def apply(self, parent: ParentOrder, child: ChildOrder, report: ChildFilled) -> Fill:
        if child.role is ChildRole.WORK:
            self._work_fill(parent, report)
        fill = Fill(report.exec_id, parent.order_id, child.child_id, report.venue, report.qty, report.price,
                    report.fee, report.liquidity, self._clock.now_ns(), child.role, child.symbol, child.side)
        self._work.fills.append(fill)
        instrument = self._securities.get(child.symbol)
        position = self.positions.add_fill(
            parent.account, parent.order_id, child.symbol, child.side, report.qty, report.price,
            instrument.multiplier if instrument is not None and instrument.is_option else 1, fee=report.fee)
        self._work.positions[(position.account, position.parent_id, position.symbol)] = position
        if child.role is ChildRole.WORK:
            self._reports.send(parent, ExecType.TRADE, last_qty=report.qty, last_px=report.price,
                               last_mkt=report.venue, liquidity=report.liquidity, fee=report.fee)
        else:
            self._reports.hedge(parent, fill_child=child, last_qty=report.qty, last_px=report.price,
                                liquidity=report.liquidity, fee=report.fee)
        return fill

    def _work_fill(self, parent: ParentOrder, report: ChildFilled) -> None:
        if not parent.is_working:
            raise InvariantError(f"fill {report.exec_id} on {parent.order_id}, which is {parent.status.name}")
        if parent.cum_qty + report.qty > parent.qty:
            raise InvariantError(f"fill {report.exec_id} would take CumQty of {parent.order_id} past OrderQty "
                                 f"({parent.cum_qty}+{report.qty}>{parent.qty})")
        parent.cum_qty += report.qty
        parent.notional += report.qty * report.price
        parent.fees += report.fee
        if parent.cum_qty >= parent.qty:
            parent.status = OrdStatus.FILLED
        elif parent.status is OrdStatus.NEW:
            parent.status = OrdStatus.PARTIALLY_FILLED
        self._work.touch(parent)
