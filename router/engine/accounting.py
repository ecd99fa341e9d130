"""Fill accounting by child role.

A WORK fill moves its parent's CumQty, AvgPx and fees and is reported on the parent; a HEDGE
fill is the auto-hedge's and is reported under the hedge ClOrdID (5010), never touching the
parent's CumQty; a FIRM fill (a facilitation's initiator) is the firm account's position, journaled
and never reported to the client. Every fill becomes a Fill row and a position in the ledger.
"""
from __future__ import annotations

from router.clock import Clock
from router.domain.enums import ChildRole, ExecType, OrdStatus
from router.domain.events import ChildFilled, PackageLegFilled
from router.domain.orders import ChildOrder, Fill, ParentOrder
from router.market.securities import SecurityMaster
from router.positions import PositionLedger

from .batch import UnitOfWork
from .children import InvariantError
from .packages import apply_leg_fill, legging_text
from .reports import Reports


class FillAccounting:
    def __init__(self, clock: Clock, work: UnitOfWork, reports: Reports, securities: SecurityMaster,
                 positions: PositionLedger) -> None:
        self._clock = clock
        self._work = work
        self._reports = reports
        self._securities = securities
        self.positions = positions
        self.firm_account = "FIRM"      # a FIRM child's (facilitation initiator's) fills book here

    def apply(self, parent: ParentOrder, child: ChildOrder, report: ChildFilled) -> Fill:
        if child.role is ChildRole.WORK:
            self._work_fill(parent, report)
        fill = self._book(parent, child, report, child.symbol, child.side)
        if child.role is ChildRole.WORK:
            self._reports.send(parent, ExecType.TRADE, last_qty=report.qty, last_px=report.price,
                               last_mkt=report.venue, liquidity=report.liquidity, fee=report.fee)
        elif child.role is ChildRole.LEG:
            self._leg_fill(parent, child, report)
        elif child.role is ChildRole.FIRM:       # the firm's contra fill: its own book, nothing to the client
            self._work.journal_add("firm_fill", parent.session, {
                "child": child.child_id, "account": self.firm_account, "exec_id": report.exec_id, "qty": report.qty,
                "price": report.price, "side": child.side.value})
        else:
            self._reports.hedge(parent, fill_child=child, last_qty=report.qty, last_px=report.price,
                                liquidity=report.liquidity, fee=report.fee)
        return fill

    def apply_package_leg(self, parent: ParentOrder, child: ChildOrder, report: PackageLegFilled) -> Fill:
        """One leg of a package child's fill on a complex order book: a Fill in the leg's symbol."""
        fill = self._book(parent, child, report, report.symbol, report.side)
        self._leg_fill(parent, child, report, report.leg, legging=False)
        return fill

    def _book(self, parent: ParentOrder, child: ChildOrder, report, symbol: str, side) -> Fill:
        """The Fill row and the position of an execution in ``symbol``."""
        fill = Fill(report.exec_id, parent.order_id, child.child_id, report.venue, report.qty, report.price,
                    report.fee, report.liquidity, self._clock.now_ns(), child.role, symbol, side)
        self._work.fills.append(fill)
        instrument = self._securities.get(symbol)
        position = self.positions.add_fill(
            self.firm_account if child.role is ChildRole.FIRM else parent.account, parent.order_id, symbol, side, report.qty, report.price,
            # the instrument's own multiplier (a share's 1, a perp's lot of 0.001 BTC): P&L in units, not lots
            instrument.multiplier if instrument is not None else 1, fee=report.fee)
        self._work.positions[(position.account, position.parent_id, position.symbol)] = position
        return fill

    def _leg_fill(self, parent: ParentOrder, child: ChildOrder, report, leg: int | None = None,
                  legging: bool = True) -> None:
        """A leg's fill: its own report (442=2), then the package's when it completed packages (442=3)."""
        leg = child.leg if leg is None else leg
        if leg is None or not parent.is_working:
            raise InvariantError(f"leg fill {report.exec_id} on {child.child_id}: leg {leg} of "
                                 f"{parent.order_id} ({parent.status.name})")
        before = parent.notional
        now = self._clock.now_ns()
        packages = apply_leg_fill(parent, leg, report.qty, report.price, report.fee, now, legging)
        self._reports.leg_fill(parent, leg, last_qty=report.qty, last_px=report.price, last_mkt=report.venue,
                               liquidity=report.liquidity, fee=report.fee,
                               text=legging_text(parent, leg, now) if legging else "complex order book fill")
        if packages:
            if parent.cum_qty >= parent.qty:
                parent.status = OrdStatus.FILLED
            elif parent.status is OrdStatus.NEW:
                parent.status = OrdStatus.PARTIALLY_FILLED
            self._reports.send(parent, ExecType.TRADE, last_qty=packages,
                               last_px=round((parent.notional - before) / packages, 8))
        self._work.touch(parent)

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
