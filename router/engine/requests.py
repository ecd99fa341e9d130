"""Client requests: journal each as received, then hand it to the parent lifecycle; a message
that could not be decoded gets the reject its type calls for."""
from __future__ import annotations

from router.clock import Clock
from router.domain.commands import (CancelOrder, ClientRequest, MassCancel, NewMultilegOrder, NewOrder,
                                    OrderStatusQuery, ReplaceOrder)
from router.domain.enums import CxlRejReason, CxlRejResponseTo, OrdStatus
from router.domain.events import BusinessRejectReport, CancelRejectReport

from .batch import UnitOfWork
from .parents import ParentLifecycle


class ClientRequests:
    def __init__(self, clock: Clock, work: UnitOfWork, lifecycle: ParentLifecycle) -> None:
        self._clock = clock
        self._work = work
        self._lifecycle = lifecycle


    def handle(self, request: ClientRequest) -> None:
        command = request.command
        if request.raw is not None:
            self._work.journal_add("fix_in", request.session, request.raw)
        else:
            self._work.journal_add("fix_in", request.session, {
                "msg_type": request.msg_type, "seq": request.seq_num, "account": request.account,
                "command": command.model_dump(mode="json") if command is not None else None,
                "reject": request.reject_text})
        lifecycle = self._lifecycle
        if command is None:
            self._reject_undecodable(request)
        elif isinstance(command, NewOrder):
            lifecycle.on_new(request, command)
        elif isinstance(command, CancelOrder):
            lifecycle.on_cancel(request, command)
        elif isinstance(command, ReplaceOrder):
            lifecycle.on_replace(request, command)
        elif isinstance(command, OrderStatusQuery):
            lifecycle.on_status(request, command)
        elif isinstance(command, MassCancel):
            lifecycle.on_mass_cancel(request, command)
        elif isinstance(command, NewMultilegOrder):
            if command.replaces is None:
                lifecycle.on_new_package(request, command)
            else:
                lifecycle.on_replace_package(request, command)

    def _reject_undecodable(self, request: ClientRequest) -> None:
        fields, text = request.reject_fields, request.reject_text or "rejected"
        if request.msg_type in ("F", "G"):
            self._work.report(CancelRejectReport(
                session=request.session, order_id="NONE", cl_ord_id=fields.get("cl_ord_id") or "NONE",
                orig_cl_ord_id=fields.get("orig_cl_ord_id") or "NONE", ord_status=OrdStatus.REJECTED,
                response_to=CxlRejResponseTo.CANCEL if request.msg_type == "F" else CxlRejResponseTo.REPLACE,
                reason=int(CxlRejReason.OTHER), text=text, transact_ns=self._clock.now_ns(),
                sr_reject_code=request.sr_reject_code))
        elif request.msg_type in ("D", "AB", "AC"):
            self._lifecycle.reject_new(request.session, request.account, fields, text, request.reject_reason,
                                      request.sr_reject_code)
        else:
            self._work.report(BusinessRejectReport(request.session, request.seq_num, request.msg_type, 0, text,
                                                  fields.get("cl_ord_id")))
