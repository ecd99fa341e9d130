"""The deterministic core: one thread, one inbox, an injected clock.

Every state change happens in ``_handle`` on the engine thread, in inbox order. Work is done in
batches: handle up to ``batch_max`` events, persist the batch (journal entries plus the rows of
every parent, child and fill it touched) in one transaction, and only then release the batch's
effects — reports to FIX clients and orders to venues. That is "store then send" with a group
commit, so durability costs one commit per batch rather than one per message.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Protocol

from algos.base import Algo
from algos.registry import choose_algo, create_algo, is_available
from router.clock import NANOS_PER_SECOND, Clock, datetime_to_ns, ns_to_datetime
from router.config import Accounts, EngineConfig
from router.domain.commands import (CancelOrder, ClientCommand, MassCancel, NewMultilegOrder, NewOrder,
                                    OrderStatusQuery, ReplaceOrder)
from router.domain.enums import (CxlRejReason, ExecType, MassCancelType, OrdRejReason, OrdStatus, OrdType,
                                 SRRejectCode, SRTimeInForce, TimeInForce)
from router.domain.events import (BookUpdate, BusinessRejectReport, CancelChild, CancelRejectReport, ChildAccepted,
                                  ChildCanceled, ChildFilled, ChildRejected, ClientReport, ExecReport, JournalEntry,
                                  MassCancelReportOut, SubmitChild, TradePrint, VenueReport)
from router.domain.instruments import Instrument
from router.domain.orders import ChildOrder, ChildStatus, Fill, ParentOrder, PendingChange
from router.market.books import InstrumentBook, MarketBooks
from router.market.waiters import LiquidityWaiters
from router.market.securities import SecurityMaster
from router.risk import default_child_checks, default_parent_checks
from venues.base import VenueAdapter
from venues.sor import SmartOrderRouter, SweepRequest

log = logging.getLogger(__name__)


class InvariantError(RuntimeError):
    """The engine found its own state impossible (an overfill, a fill on a done order)."""


class Persistence(Protocol):
    """What the engine needs from the store (router.store.Store implements it)."""

    def commit_batch(self, journal: list[JournalEntry], parents: Iterable[ParentOrder], children: Iterable[ChildOrder],
                     fills: Iterable[Fill], meta: dict[str, str] | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class ClientRequest:
    """A decoded FIX message, or the reason it could not become a command."""
    session: str
    account: str
    msg_type: str
    seq_num: int | None
    command: ClientCommand | None = None
    # Set when decoding failed a business rule: the ER reject to send.
    reject_text: str | None = None
    reject_reason: int = int(OrdRejReason.OTHER)
    sr_reject_code: int = int(SRRejectCode.SYS_REJECT)
    reject_fields: dict = field(default_factory=dict)   # cl_ord_id, symbol, side, qty as far as known
    raw: str | None = None                              # the FIX message as received: journaled verbatim


@dataclass(frozen=True, slots=True)
class RestoredState:
    parents: list[ParentOrder]
    children: list[ChildOrder]
    fills: list[Fill]
    used_cl_ord_ids: set[tuple[str, str]]
    next_order_number: int
    journal_seq: int


_STOP = object()


class Engine:
    def __init__(self, *, clock: Clock, securities: SecurityMaster, books: MarketBooks, sor: SmartOrderRouter,
                 venues: dict[str, VenueAdapter], accounts: Accounts, config: EngineConfig,
                 send: Callable[[ClientReport], None], persistence: Persistence | None = None) -> None:
        self.clock = clock
        self.securities = securities
        self.books = books
        self.sor = sor
        self.venues = venues
        self.accounts = accounts
        self.config = config
        self._send = send
        self._persistence = persistence
        self._parent_checks = default_parent_checks()
        self._child_checks = default_child_checks()

        self.parents: dict[str, ParentOrder] = {}
        self.children: dict[str, ChildOrder] = {}
        self._children_of: dict[str, list[str]] = {}
        self._by_cl_ord_id: dict[tuple[str, str], str] = {}      # (session, ClOrdID) -> order id, whole chains
        self._working_by_account: dict[str, set[str]] = {}
        self._waiters = LiquidityWaiters()
        self._day_close_cache: dict[int, tuple[int, int]] = {}
        self._algos: dict[str, Algo] = {}
        self._expiry_timers: dict[str, object] = {}
        self._next_order_number = 1
        self._journal_seq = 0

        # the batch in progress
        self._journal: list[JournalEntry] = []
        self._dirty_parents: dict[str, ParentOrder] = {}
        self._dirty_children: dict[str, ChildOrder] = {}
        self._new_fills: list[Fill] = []
        self._client_out: list[ClientReport] = []
        self._venue_out: list[tuple[int, SubmitChild | CancelChild]] = []

        self.inbox: "queue.SimpleQueue[object]" = queue.SimpleQueue()
        self._in_batch = False
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ driving

    def dispatch(self, event: object) -> None:
        """Handle one event and release its effects. Inside the engine loop (timers firing there)
        the event joins the loop's batch instead, and is released with it."""
        self._handle_safely(event)
        if not self._in_batch:
            self._flush()

    def post(self, event: object) -> None:
        """Thread-safe: queue an event for the engine thread."""
        self.inbox.put(event)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="engine", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.inbox.put(_STOP)
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        """One iteration: due timers (venue reports, market data, expiries) and up to batch_max
        inbox events are handled, then persisted in one commit and released together."""
        batch_max = self.config.batch_max
        while True:
            nxt = self.clock.next_timer_ns()
            timeout = None if nxt is None else max((nxt - self.clock.now_ns()) / NANOS_PER_SECOND, 0.0)
            try:
                event = self.inbox.get(timeout=timeout)
            except queue.Empty:
                event = None
            self._in_batch = True
            try:
                self.clock.run_due()
                handled = 0
                while event is not None:
                    if event is _STOP:
                        return
                    self._handle_safely(event)
                    handled += 1
                    if handled >= batch_max:
                        break
                    try:
                        event = self.inbox.get_nowait()
                    except queue.Empty:
                        event = None
            finally:
                self._in_batch = False
                self._flush()

    def _handle_safely(self, event: object) -> None:
        try:
            self._handle(event)
        except InvariantError as exc:
            log.error("invariant violated: %s (event %r)", exc, event)
            self._journal_add("invariant_violation", None, {"error": str(exc), "event": repr(event)})
        except Exception:  # one bad event must not stop the engine
            log.exception("engine failed on %r", event)
            self._journal_add("engine_error", None, {"event": repr(event)})

    def _handle(self, event: object) -> None:
        if isinstance(event, ClientRequest):
            self._on_client(event)
        elif isinstance(event, (ChildAccepted, ChildFilled, ChildCanceled, ChildRejected)):
            self._on_venue_report(event)
        elif isinstance(event, BookUpdate):
            self._on_book(event)
        elif isinstance(event, TradePrint):
            self.books.record_trade(event)
        elif callable(event):
            event()
        else:
            raise TypeError(f"engine cannot handle {type(event).__name__}")

    def _flush(self) -> None:
        if self._persistence is not None and (self._journal or self._dirty_parents or self._dirty_children):
            self._persistence.commit_batch(self._journal, list(self._dirty_parents.values()),
                                           list(self._dirty_children.values()), self._new_fills,
                                           {"next_order_number": str(self._next_order_number)})
        self._journal, self._new_fills = [], []
        self._dirty_parents, self._dirty_children = {}, {}
        client_out, venue_out = self._client_out, self._venue_out
        self._client_out, self._venue_out = [], []
        for report in client_out:
            try:
                self._send(report)
            except Exception:
                log.exception("could not deliver %r", report)
        for delay_ns, command in venue_out:
            if delay_ns > 0:
                self.clock.call_later(delay_ns, lambda c=command: self._to_venue(c))
            else:
                self._to_venue(command)

    def _to_venue(self, command: SubmitChild | CancelChild) -> None:
        venue = self.venues[command.venue]
        if isinstance(command, SubmitChild):
            venue.submit(command)
        else:
            venue.cancel(command)

    # ------------------------------------------------------------------ journal

    def _journal_add(self, kind: str, session: str | None, payload: object) -> None:
        self._journal_seq += 1
        text = payload if isinstance(payload, str) else json.dumps(payload, default=str, separators=(",", ":"))
        self._journal.append(JournalEntry(self._journal_seq, self.clock.now_ns(), kind, session, text))

    def _touch(self, parent: ParentOrder) -> None:
        self._dirty_parents[parent.order_id] = parent

    def _touch_child(self, child: ChildOrder) -> None:
        self._dirty_children[child.child_id] = child

    # ------------------------------------------------------------------ client commands

    def _on_client(self, request: ClientRequest) -> None:
        command = request.command
        if request.raw is not None:
            self._journal_add("fix_in", request.session, request.raw)
        else:
            self._journal_add("fix_in", request.session, {
                "msg_type": request.msg_type, "seq": request.seq_num, "account": request.account,
                "command": command.model_dump(mode="json") if command is not None else None,
                "reject": request.reject_text})
        if command is None:
            self._reject_undecodable(request)
        elif isinstance(command, NewOrder):
            self._on_new(request, command)
        elif isinstance(command, CancelOrder):
            self._on_cancel(request, command)
        elif isinstance(command, ReplaceOrder):
            self._on_replace(request, command)
        elif isinstance(command, OrderStatusQuery):
            self._on_status(request, command)
        elif isinstance(command, MassCancel):
            self._on_mass_cancel(request, command)
        elif isinstance(command, NewMultilegOrder):
            self._client_out.append(BusinessRejectReport(
                request.session, request.seq_num, request.msg_type, 4,
                "NewOrderMultileg is validated but the multi-leg algo is not available yet", command.cl_ord_id))

    def _reject_undecodable(self, request: ClientRequest) -> None:
        fields, text = request.reject_fields, request.reject_text or "rejected"
        if request.msg_type in ("F", "G"):
            self._client_out.append(CancelRejectReport(
                session=request.session, order_id="NONE", cl_ord_id=fields.get("cl_ord_id") or "NONE",
                orig_cl_ord_id=fields.get("orig_cl_ord_id") or "NONE", ord_status=OrdStatus.REJECTED,
                response_to="1" if request.msg_type == "F" else "2", reason=int(CxlRejReason.OTHER), text=text,
                transact_ns=self.clock.now_ns(), sr_reject_code=request.sr_reject_code))
        elif request.msg_type in ("D", "AB", "AC"):
            self._reject_new(request.session, request.account, fields, text, request.reject_reason,
                             request.sr_reject_code)
        else:
            self._client_out.append(BusinessRejectReport(request.session, request.seq_num, request.msg_type, 0, text,
                                                         fields.get("cl_ord_id")))

    def _reject_new(self, session: str, account: str, fields: dict, text: str, reason: int, sr_code: int) -> None:
        side = fields.get("side")
        self._client_out.append(ExecReport(
            session=session, order_id=fields.get("order_id") or "NONE", cl_ord_id=fields.get("cl_ord_id") or "NONE",
            exec_id=f"R{self._journal_seq}", exec_type=ExecType.REJECTED, ord_status=OrdStatus.REJECTED,
            symbol=fields.get("symbol") or "[N/A]", side=side, order_qty=int(fields.get("qty") or 0), cum_qty=0,
            leaves_qty=0, avg_px=0.0, transact_ns=self.clock.now_ns(), account=account, price=fields.get("price"),
            text=text, ord_rej_reason=reason, sr_reject_code=sr_code))

    def _stale_text(self, transact_time: datetime | None) -> str | None:
        if transact_time is None:
            return None
        age = (self.clock.now_ns() - datetime_to_ns(transact_time)) / NANOS_PER_SECOND
        limit = self.config.max_transact_age_s
        if age > limit:
            return f"TransactTime {transact_time:%Y%m%d-%H:%M:%S} is {age:.1f}s old; orders must arrive within {limit:g}s"
        if age < -limit:
            return f"TransactTime {transact_time:%Y%m%d-%H:%M:%S} is {-age:.1f}s in the future"
        return None

    def _on_new(self, request: ClientRequest, cmd: NewOrder) -> None:
        session = request.session
        fields = {"cl_ord_id": cmd.cl_ord_id, "symbol": cmd.instrument.symbol, "side": cmd.side, "qty": cmd.qty,
                  "price": cmd.price}

        def reject(text: str, reason: OrdRejReason, sr_code: SRRejectCode) -> None:
            self._reject_new(session, request.account, fields, text, int(reason), int(sr_code))

        account = cmd.account or request.account
        if cmd.account and cmd.account != request.account:
            return reject(f"Account {cmd.account} is not permitted on this session (session account {request.account})",
                          OrdRejReason.UNKNOWN_ACCOUNT, SRRejectCode.UNKNOWN_ACCOUNT)
        if (session, cmd.cl_ord_id) in self._by_cl_ord_id:
            return reject(f"Duplicate ClOrdID {cmd.cl_ord_id}", OrdRejReason.DUPLICATE_ORDER, SRRejectCode.DUP_ORD_NUM)
        if (stale := self._stale_text(cmd.transact_time)) is not None:
            return reject(stale, OrdRejReason.STALE_ORDER, SRRejectCode.SYS_REJECT)
        instrument = self.securities.resolve(cmd.instrument)
        if instrument is None:
            return reject(f"Unknown instrument {_describe(cmd)}", OrdRejReason.UNKNOWN_SYMBOL, SRRejectCode.UNKNOWN_OPTION)
        fields["symbol"] = instrument.symbol
        algo_name = choose_algo(cmd.algo)
        if not is_available(algo_name):
            return reject(f"The {algo_name} algo selected by the order's tags is not available yet",
                          OrdRejReason.OTHER, SRRejectCode.BAD_LMT_TYPE)
        unknown = [x for x in cmd.algo.exchanges if x not in self.venues]
        if unknown:
            return reject(f"Unknown exchange {','.join(unknown)} in Exchanges (5082); known: {','.join(sorted(self.venues))}",
                          OrdRejReason.OTHER, SRRejectCode.NO_ROUTES)
        if cmd.price is not None and not instrument.tick_rule.is_on_tick(cmd.price):
            return reject(f"Price {cmd.price:g} is not a multiple of the {instrument.tick_rule.tick_at(cmd.price):g} tick",
                          OrdRejReason.INVALID_PRICE_INCREMENT,
                          SRRejectCode.BAD_LIMIT)
        if cmd.time_in_force in (TimeInForce.OPG, TimeInForce.CLOSE, TimeInForce.FOK):
            return reject(f"TimeInForce {cmd.time_in_force.name} is not supported", OrdRejReason.OTHER,
                          SRRejectCode.BAD_ORD_TYPE)
        expire_ns = self._expiry_ns(cmd)
        if expire_ns is not None and expire_ns <= self.clock.now_ns():
            return reject("GoodTillDttm (5088) is already past", OrdRejReason.OTHER, SRRejectCode.EXPIRED)

        order_id = f"P{self._next_order_number}"
        parent = ParentOrder(
            order_id=order_id, session=session, account=account, cl_ord_id=cmd.cl_ord_id, symbol=instrument.symbol,
            side=cmd.side, qty=cmd.qty, ord_type=cmd.ord_type, price=cmd.price, time_in_force=cmd.time_in_force,
            algo_name=algo_name, algo=cmd.algo, created_ns=self.clock.now_ns(), expire_ns=expire_ns,
            cl_ord_ids=[cmd.cl_ord_id])
        limits = self.accounts.limits_for(account)
        open_orders = len(self._working_by_account.get(account, ()))
        for check in self._parent_checks:
            if (risk := check(parent, instrument.multiplier, limits, open_orders)) is not None:
                return reject(risk.text, OrdRejReason(risk.ord_rej_reason), SRRejectCode(risk.sr_reject_code))

        self._next_order_number += 1
        self.parents[order_id] = parent
        self._by_cl_ord_id[(session, cmd.cl_ord_id)] = order_id
        self._children_of[order_id] = []
        self._working_by_account.setdefault(account, set()).add(order_id)
        self._touch(parent)
        # PendingNew lasts while the order is validated and journaled, inside this batch. By default
        # the client's first report is New, sent once the order is durable; report_pending_new adds
        # the PendingNew report before it (one more message per order).
        if self.config.report_pending_new:
            self._report(parent, ExecType.PENDING_NEW)
        parent.status = OrdStatus.NEW
        self._report(parent, ExecType.NEW)
        self._arm_expiry(parent)
        algo = create_algo(algo_name, _ParentContext(self, parent, instrument))
        self._algos[order_id] = algo
        algo.start()

    def _expiry_ns(self, cmd: NewOrder) -> int | None:
        now = self.clock.now_ns()
        params = cmd.algo
        sr_tif = params.sr_time_in_force
        if sr_tif is SRTimeInForce.IOC or (sr_tif is None and cmd.time_in_force is TimeInForce.IOC):
            return now + int(self.config.ioc_timeout_ms * 1_000_000)
        if sr_tif is SRTimeInForce.GTD or (sr_tif is None and cmd.time_in_force is TimeInForce.GTD):
            candidates = []
            if params.order_duration_s:
                candidates.append(now + params.order_duration_s * NANOS_PER_SECOND)
            if params.good_till is not None:
                candidates.append(datetime_to_ns(params.good_till))
            return min(candidates) if candidates else self._day_close_ns(now)
        if sr_tif in (SRTimeInForce.WEEK, SRTimeInForce.EXT_WEEK):
            return self._day_close_ns(now, days_ahead=(4 - ns_to_datetime(now).weekday()) % 7)
        if cmd.time_in_force is TimeInForce.GTC and sr_tif is None:
            return None
        return self._day_close_ns(now)

    def _day_close_ns(self, now_ns: int, days_ahead: int = 0) -> int:
        cached = self._day_close_cache.get(days_ahead)
        if cached is not None and cached[0] <= now_ns < cached[1]:
            return cached[1]
        now = ns_to_datetime(now_ns)
        close = datetime.combine(now.date(), self.config.session_close_utc, tzinfo=timezone.utc)
        close += timedelta(days=days_ahead)
        if close <= now:
            close += timedelta(days=1)
        close_ns = datetime_to_ns(close)
        self._day_close_cache[days_ahead] = (now_ns, close_ns)
        return close_ns

    def _arm_expiry(self, parent: ParentOrder) -> None:
        if parent.expire_ns is not None:
            self._expiry_timers[parent.order_id] = self.clock.call_at(
                parent.expire_ns, lambda oid=parent.order_id: self.dispatch(lambda: self._on_expiry(oid)))

    def _find(self, session: str, orig_cl_ord_id: str | None, order_id: str | None) -> ParentOrder | None:
        if orig_cl_ord_id:
            found = self._by_cl_ord_id.get((session, orig_cl_ord_id))
            if found:
                return self.parents.get(found)
        if order_id:
            parent = self.parents.get(order_id)
            if parent is not None and parent.session == session:
                return parent
        return None

    def _cancel_reject(self, request: ClientRequest, cmd, parent: ParentOrder | None, reason: CxlRejReason,
                       text: str, response_to: str, sr_code: SRRejectCode | None = None) -> None:
        self._client_out.append(CancelRejectReport(
            session=request.session, order_id=parent.order_id if parent else "NONE", cl_ord_id=cmd.cl_ord_id,
            orig_cl_ord_id=cmd.orig_cl_ord_id or (parent.cl_ord_id if parent else "NONE"),
            ord_status=parent.status if parent else OrdStatus.REJECTED, response_to=response_to, reason=int(reason),
            text=text, transact_ns=self.clock.now_ns(), sr_reject_code=int(sr_code) if sr_code is not None else None))

    def _check_change(self, request: ClientRequest, cmd, response_to: str) -> ParentOrder | None:
        parent = self._find(request.session, cmd.orig_cl_ord_id, cmd.order_id)
        name = "cancel" if response_to == "1" else "replace"
        if parent is None:
            self._cancel_reject(request, cmd, None, CxlRejReason.UNKNOWN_ORDER,
                                f"Unknown order {cmd.orig_cl_ord_id or cmd.order_id}", response_to)
            return None
        if (request.session, cmd.cl_ord_id) in self._by_cl_ord_id:
            self._cancel_reject(request, cmd, parent, CxlRejReason.DUPLICATE_CLORDID,
                                f"Duplicate ClOrdID {cmd.cl_ord_id}", response_to, SRRejectCode.DUP_ORD_NUM)
            return None
        if cmd.orig_cl_ord_id and cmd.orig_cl_ord_id != parent.cl_ord_id:
            self._cancel_reject(request, cmd, parent, CxlRejReason.OTHER,
                                f"OrigClOrdID {cmd.orig_cl_ord_id} is not the latest in its chain ({parent.cl_ord_id})",
                                response_to, SRRejectCode.INVLD_CXL_REPL)
            return None
        if not parent.is_working:
            self._cancel_reject(request, cmd, parent, CxlRejReason.TOO_LATE_TO_CANCEL,
                                f"Too late to {name}: order is {parent.status.name}", response_to)
            return None
        if parent.pending is not None:
            self._cancel_reject(request, cmd, parent, CxlRejReason.ALREADY_PENDING,
                                f"A {parent.pending.kind} is already pending", response_to, SRRejectCode.PEND_CXL_REPL)
            return None
        if (stale := self._stale_text(cmd.transact_time)) is not None:
            self._cancel_reject(request, cmd, parent, CxlRejReason.OTHER, stale, response_to)
            return None
        return parent

    def _on_cancel(self, request: ClientRequest, cmd: CancelOrder) -> None:
        parent = self._check_change(request, cmd, "1")
        if parent is None:
            return
        self._by_cl_ord_id[(request.session, cmd.cl_ord_id)] = parent.order_id
        parent.cl_ord_ids.append(cmd.cl_ord_id)
        parent.pending = PendingChange("cancel", cmd.cl_ord_id, parent.cl_ord_id)
        self._begin_pending(parent, ExecType.PENDING_CANCEL, OrdStatus.PENDING_CANCEL)

    def _on_replace(self, request: ClientRequest, cmd: ReplaceOrder) -> None:
        parent = self._check_change(request, cmd, "2")
        if parent is None:
            return
        if cmd.qty is not None and cmd.qty < parent.cum_qty:
            self._cancel_reject(request, cmd, parent, CxlRejReason.OTHER,
                                f"OrderQty {cmd.qty} is below CumQty {parent.cum_qty}", "2",
                                SRRejectCode.TOO_LATE_TO_REDUCE)
            return
        instrument = self.securities.get(parent.symbol)
        new_price = cmd.price if cmd.price is not None else parent.price
        if (cmd.ord_type or parent.ord_type) is OrdType.LIMIT and new_price is None:
            self._cancel_reject(request, cmd, parent, CxlRejReason.OTHER, "Limit order requires Price (44)", "2")
            return
        if cmd.price is not None and instrument is not None and not instrument.tick_rule.is_on_tick(cmd.price):
            self._cancel_reject(request, cmd, parent, CxlRejReason.OTHER,
                                f"Price {cmd.price:g} is not a multiple of the tick", "2", SRRejectCode.BAD_LIMIT)
            return
        new_qty = cmd.qty if cmd.qty is not None else parent.qty
        if instrument is not None and new_price is not None:
            limits = self.accounts.limits_for(parent.account)
            notional = new_qty * new_price * instrument.multiplier
            if new_qty > limits.max_order_qty or notional > limits.max_order_notional:
                self._cancel_reject(request, cmd, parent, CxlRejReason.OTHER,
                                    f"replace exceeds account limits (qty {new_qty}, notional {notional:,.2f})", "2",
                                    SRRejectCode.USER_RISK)
                return
        self._by_cl_ord_id[(request.session, cmd.cl_ord_id)] = parent.order_id
        parent.cl_ord_ids.append(cmd.cl_ord_id)
        parent.pending = PendingChange("replace", cmd.cl_ord_id, parent.cl_ord_id, new_qty=cmd.qty,
                                       new_price=cmd.price, new_ord_type=cmd.ord_type,
                                       new_time_in_force=cmd.time_in_force)
        self._begin_pending(parent, ExecType.PENDING_REPLACE, OrdStatus.PENDING_REPLACE)

    def _begin_pending(self, parent: ParentOrder, exec_type: ExecType | None, status: OrdStatus | None) -> None:
        """Pull back every open child; the change completes when the last one is done."""
        self._touch(parent)
        open_children = self._open_children(parent.order_id)
        if exec_type is not None and open_children:
            resting_status = parent.status
            parent.status = status
            self._report(parent, exec_type, cl_ord_id=parent.pending.cl_ord_id, orig=parent.pending.orig_cl_ord_id)
            parent.status = resting_status
        for child in open_children:
            self._cancel_child(child)
        self._try_complete_pending(parent)

    def _try_complete_pending(self, parent: ParentOrder) -> None:
        pending = parent.pending
        if pending is None or self._open_children(parent.order_id):
            return
        parent.pending = None
        self._touch(parent)
        if pending.kind == "replace":
            parent.cl_ord_id = pending.cl_ord_id
            parent.orig_cl_ord_id = pending.orig_cl_ord_id
            if pending.new_qty is not None:
                parent.qty = pending.new_qty
            if pending.new_price is not None:
                parent.price = pending.new_price
            if pending.new_ord_type is not None:
                parent.ord_type = pending.new_ord_type
            if pending.new_time_in_force is not None:
                parent.time_in_force = pending.new_time_in_force
            if parent.cum_qty >= parent.qty:
                parent.status = OrdStatus.FILLED
            else:
                parent.status = OrdStatus.PARTIALLY_FILLED if parent.cum_qty else OrdStatus.NEW
            self._report(parent, ExecType.REPLACED, orig=pending.orig_cl_ord_id)
            if parent.is_working:
                self._algos[parent.order_id].resume()
            else:
                self._retire(parent)
            return
        if pending.kind == "cancel":
            parent.cl_ord_id = pending.cl_ord_id
            parent.orig_cl_ord_id = pending.orig_cl_ord_id
            parent.status = OrdStatus.CANCELED
            self._report(parent, ExecType.CANCELED, orig=pending.orig_cl_ord_id)
        elif pending.kind == "expire":
            parent.status = OrdStatus.EXPIRED
            self._report(parent, ExecType.EXPIRED, text="order expired")
        else:  # "finish": the algo ended the order
            parent.status = OrdStatus.CANCELED
            self._report(parent, ExecType.CANCELED, text=pending.cl_ord_id)
        self._retire(parent)

    def _on_status(self, request: ClientRequest, cmd: OrderStatusQuery) -> None:
        parent = self._find(request.session, cmd.cl_ord_id, cmd.order_id)
        if parent is None:
            self._client_out.append(ExecReport(
                session=request.session, order_id=cmd.order_id or "NONE", cl_ord_id=cmd.cl_ord_id or "NONE",
                exec_id=f"S{self._journal_seq}", exec_type=ExecType.ORDER_STATUS, ord_status=OrdStatus.REJECTED,
                symbol="[N/A]", side=None, order_qty=0, cum_qty=0, leaves_qty=0, avg_px=0.0,
                transact_ns=self.clock.now_ns(), account=request.account, text="Unknown order",
                ord_rej_reason=int(OrdRejReason.UNKNOWN_ORDER)))
            return
        self._client_out.append(self._exec_report(parent, ExecType.ORDER_STATUS, exec_id=f"S{self._journal_seq}"))

    def _on_mass_cancel(self, request: ClientRequest, cmd: MassCancel) -> None:
        if cmd.request_type is MassCancelType.UNDERLYING and not cmd.underlying:
            self._client_out.append(MassCancelReportOut(
                request.session, cmd.cl_ord_id, f"M{self._journal_seq}", cmd.request_type.value, "0",
                text="MassCancelRequestType 2 needs UnderlyingSymbol (311) or Symbol (55)", account=request.account,
                transact_ns=self.clock.now_ns()))
            return
        affected = []
        for parent in list(self.parents.values()):
            if parent.session != request.session or not parent.is_working or parent.pending is not None:
                continue
            if cmd.account and parent.account != cmd.account:
                continue
            if cmd.request_type is MassCancelType.UNDERLYING:
                instrument = self.securities.get(parent.symbol)
                if instrument is None or instrument.underlying != cmd.underlying:
                    continue
            affected.append(parent.order_id)
            parent.pending = PendingChange("cancel", cmd.cl_ord_id, parent.cl_ord_id)
            self._begin_pending(parent, ExecType.PENDING_CANCEL, OrdStatus.PENDING_CANCEL)
        self._client_out.append(MassCancelReportOut(
            request.session, cmd.cl_ord_id, f"M{self._journal_seq}", cmd.request_type.value, cmd.request_type.value,
            affected=tuple(affected), account=cmd.account or request.account, transact_ns=self.clock.now_ns()))

    # ------------------------------------------------------------------ timers and algo requests

    def _on_expiry(self, order_id: str) -> None:
        parent = self.parents.get(order_id)
        self._expiry_timers.pop(order_id, None)
        if parent is None or not parent.is_working:
            return
        self._journal_add("timer", parent.session, {"expire": order_id})
        # Expiry overrides any cancel or replace in flight: the children are pulled either way.
        parent.pending = PendingChange("expire", parent.cl_ord_id, parent.cl_ord_id)
        self._begin_pending(parent, None, None)

    def _finish(self, parent: ParentOrder, text: str) -> None:
        if not parent.is_working or parent.pending is not None:
            return
        parent.pending = PendingChange("finish", text, parent.cl_ord_id)
        self._begin_pending(parent, None, None)

    def _retire(self, parent: ParentOrder) -> None:
        self._algos.pop(parent.order_id, None)
        self._waiters.forget(parent.order_id)
        timer = self._expiry_timers.pop(parent.order_id, None)
        if timer is not None:
            timer.cancel()
        working = self._working_by_account.get(parent.account)
        if working is not None:
            working.discard(parent.order_id)

    def _open_children(self, order_id: str) -> list[ChildOrder]:
        return [c for cid in self._children_of.get(order_id, ()) if (c := self.children[cid]).is_open]

    def _take(self, parent: ParentOrder, instrument: Instrument, qty: int, limit: float,
              venues: tuple[str, ...], max_children: int | None) -> list[ChildOrder]:
        book = self.books.book(parent.symbol)
        far = book.nbbo().ask if parent.side.is_buy else book.nbbo().bid
        if far is None or (far > limit + 1e-9 if parent.side.is_buy else far < limit - 1e-9):
            return []            # nothing anywhere at the limit: skip the SOR
        request = SweepRequest(parent.side, qty, limit, instrument.multiplier, venues, max_children)
        plan = self.sor.plan_sweep(request, book)
        open_qty = sum(c.leaves_qty for c in self._open_children(parent.order_id))
        made: list[ChildOrder] = []
        for allocation in plan.allocations:
            child = ChildOrder(
                child_id=f"{parent.order_id}.{parent.child_seq + 1}", parent_id=parent.order_id,
                venue=allocation.venue, symbol=parent.symbol, side=parent.side, qty=allocation.qty,
                price=instrument.tick_rule.round_passive(allocation.price, parent.side.is_buy),
                time_in_force=TimeInForce.IOC, sent_ns=self.clock.now_ns() + allocation.send_delay_ns)
            risk = next((r for check in self._child_checks if (r := check(parent, child, open_qty)) is not None), None)
            if risk is not None:
                self._journal_add("child_blocked", parent.session, {"child": child.child_id, "reason": risk.text})
                log.warning("risk blocked %s: %s", child.child_id, risk.text)
                continue
            parent.child_seq += 1
            open_qty += child.qty
            self.children[child.child_id] = child
            self._children_of[parent.order_id].append(child.child_id)
            self._touch_child(child)
            self._touch(parent)
            self._journal_add("child_out", parent.session, {
                "child": child.child_id, "venue": child.venue, "qty": child.qty, "price": child.price,
                "side": child.side.value, "mode": plan.mode})
            self._venue_out.append((allocation.send_delay_ns, SubmitChild(
                child.child_id, child.venue, child.symbol, child.side, child.qty, child.price, child.time_in_force)))
            made.append(child)
        return made

    def _cancel_child(self, child: ChildOrder) -> None:
        if child.status in (ChildStatus.PENDING_CANCEL,) or not child.is_open:
            return
        child.status = ChildStatus.PENDING_CANCEL
        self._touch_child(child)
        self._venue_out.append((0, CancelChild(child.child_id, child.venue)))

    # ------------------------------------------------------------------ venue reports and market data

    def _on_venue_report(self, report: VenueReport) -> None:
        child = self.children.get(report.child_id)
        self._journal_add("venue_report", None, {"type": type(report).__name__, **asdict(report)})
        if child is None:
            log.warning("report for unknown child %s", report.child_id)
            return
        parent = self.parents[child.parent_id]
        if isinstance(report, ChildAccepted):
            if child.status is ChildStatus.PENDING_NEW:
                child.status = ChildStatus.NEW
                self._touch_child(child)
            return
        if isinstance(report, ChildFilled):
            self._apply_fill(parent, child, report)
        elif isinstance(report, (ChildCanceled, ChildRejected)):
            if child.status.is_done:
                return
            child.status = ChildStatus.CANCELED if isinstance(report, ChildCanceled) else ChildStatus.REJECTED
            self._touch_child(child)
        if child.status.is_done:
            self._after_child_done(parent, child)

    def _apply_fill(self, parent: ParentOrder, child: ChildOrder, fill: ChildFilled) -> None:
        if not parent.is_working:
            raise InvariantError(f"fill {fill.exec_id} on {parent.order_id}, which is {parent.status.name}")
        if child.cum_qty + fill.qty > child.qty:
            raise InvariantError(f"fill {fill.exec_id} overfills child {child.child_id}")
        if parent.cum_qty + fill.qty > parent.qty:
            raise InvariantError(f"fill {fill.exec_id} would take CumQty of {parent.order_id} past OrderQty "
                                 f"({parent.cum_qty}+{fill.qty}>{parent.qty})")
        child.cum_qty += fill.qty
        child.notional += fill.qty * fill.price
        child.fees += fill.fee
        if child.cum_qty >= child.qty:
            child.status = ChildStatus.FILLED
        elif child.status in (ChildStatus.PENDING_NEW, ChildStatus.NEW):
            child.status = ChildStatus.PARTIALLY_FILLED
        parent.cum_qty += fill.qty
        parent.notional += fill.qty * fill.price
        parent.fees += fill.fee
        if parent.cum_qty >= parent.qty:
            parent.status = OrdStatus.FILLED
        elif parent.status is OrdStatus.NEW:
            parent.status = OrdStatus.PARTIALLY_FILLED
        self._touch_child(child)
        self._touch(parent)
        self._new_fills.append(Fill(fill.exec_id, parent.order_id, child.child_id, fill.venue, fill.qty, fill.price,
                                    fill.fee, fill.liquidity, self.clock.now_ns()))
        self._report(parent, ExecType.TRADE, last_qty=fill.qty, last_px=fill.price, last_mkt=fill.venue,
                     liquidity=fill.liquidity, fee=fill.fee)
        if parent.status is OrdStatus.FILLED:
            for other in self._open_children(parent.order_id):
                self._cancel_child(other)
            if parent.pending is not None and parent.pending.kind != "replace":
                if parent.pending.kind == "cancel":
                    self._client_out.append(CancelRejectReport(
                        parent.session, parent.order_id, parent.pending.cl_ord_id, parent.pending.orig_cl_ord_id,
                        OrdStatus.FILLED, "1", int(CxlRejReason.TOO_LATE_TO_CANCEL), "Too late to cancel: order filled",
                        self.clock.now_ns()))
                parent.pending = None
            if parent.pending is None:
                self._retire(parent)

    def _after_child_done(self, parent: ParentOrder, child: ChildOrder) -> None:
        if parent.pending is not None:
            self._try_complete_pending(parent)
            return
        algo = self._algos.get(parent.order_id)
        if algo is not None and parent.is_working:
            algo.on_child_done(child)

    def _on_book(self, update: BookUpdate) -> None:
        book = self.books.apply(update)
        for order_id in self._waiters.reached(update.symbol, book.nbbo()):
            algo = self._algos.get(order_id)
            parent = self.parents[order_id]
            if algo is not None and parent.pending is None and parent.is_working:
                algo.on_book()

    # ------------------------------------------------------------------ reports

    def _exec_report(self, parent: ParentOrder, exec_type: ExecType, *, exec_id: str | None = None,
                     cl_ord_id: str | None = None, orig: str | None = None, last_qty: int = 0, last_px: float = 0.0,
                     last_mkt: str | None = None, text: str | None = None, liquidity: str | None = None,
                     fee: float | None = None) -> ExecReport:
        return ExecReport(
            session=parent.session, order_id=parent.order_id, cl_ord_id=cl_ord_id or parent.cl_ord_id,
            exec_id=exec_id or parent.next_exec_id(), exec_type=exec_type, ord_status=parent.status,
            symbol=parent.symbol, side=parent.side, order_qty=parent.qty, cum_qty=parent.cum_qty,
            leaves_qty=parent.leaves_qty, avg_px=round(parent.avg_px, 8), transact_ns=self.clock.now_ns(),
            account=parent.account, price=parent.price, orig_cl_ord_id=orig, last_qty=last_qty, last_px=last_px,
            last_mkt=last_mkt, text=text, liquidity=liquidity, fee=fee)

    def _report(self, parent: ParentOrder, exec_type: ExecType, **kwargs) -> None:
        self._touch(parent)
        self._client_out.append(self._exec_report(parent, exec_type, **kwargs))

    # ------------------------------------------------------------------ restart

    def restore(self, state: RestoredState) -> None:
        """Bring back working parents and their children after a restart, then ask each venue
        for its view of every child we believe is open."""
        self._next_order_number = max(self._next_order_number, state.next_order_number)
        self._journal_seq = max(self._journal_seq, state.journal_seq)
        for key in state.used_cl_ord_ids:
            self._by_cl_ord_id.setdefault(key, "")
        for child in state.children:
            self.children[child.child_id] = child
        for parent in state.parents:
            self.parents[parent.order_id] = parent
            for cl in parent.cl_ord_ids:
                self._by_cl_ord_id[(parent.session, cl)] = parent.order_id
            self._children_of[parent.order_id] = sorted(
                (c.child_id for c in state.children if c.parent_id == parent.order_id),
                key=lambda cid: int(cid.rsplit(".", 1)[1]))
            instrument = self.securities.get(parent.symbol)
            if instrument is None or not parent.is_working:
                continue
            self._working_by_account.setdefault(parent.account, set()).add(parent.order_id)
            self._algos[parent.order_id] = create_algo(parent.algo_name, _ParentContext(self, parent, instrument))
            self._arm_expiry(parent)
        self._journal_add("restore", None, {"parents": [p.order_id for p in state.parents]})
        for parent in state.parents:
            if not parent.is_working:
                continue
            open_children = self._open_children(parent.order_id)
            for child in open_children:
                self.venues[child.venue].reconcile(child.child_id)
            if not open_children:
                if parent.pending is not None:
                    self._try_complete_pending(parent)
                elif (algo := self._algos.get(parent.order_id)) is not None:
                    algo.resume()
        self._flush()


class _ParentContext:
    """The engine as one algo sees it: its parent, its instrument, and requests it may make."""

    __slots__ = ("_engine", "_parent", "_instrument")

    def __init__(self, engine: Engine, parent: ParentOrder, instrument: Instrument) -> None:
        self._engine = engine
        self._parent = parent
        self._instrument = instrument

    @property
    def parent(self) -> ParentOrder:
        return self._parent

    @property
    def instrument(self) -> Instrument:
        return self._instrument

    def now_ns(self) -> int:
        return self._engine.clock.now_ns()

    def book(self) -> InstrumentBook:
        return self._engine.books.book(self._parent.symbol)

    def open_children(self) -> list[ChildOrder]:
        return self._engine._open_children(self._parent.order_id)

    def children_sent(self) -> int:
        return self._parent.child_seq

    def take(self, qty: int, limit: float, *, venues: tuple[str, ...], max_children: int | None) -> list[ChildOrder]:
        return self._engine._take(self._parent, self._instrument, qty, limit, venues, max_children)

    def cancel_child(self, child: ChildOrder) -> None:
        self._engine._cancel_child(child)

    def wake_at(self, at_ns: int) -> None:
        engine, order_id = self._engine, self._parent.order_id

        def wake() -> None:
            algo = engine._algos.get(order_id)
            if algo is not None:
                engine.dispatch(algo.on_timer)
        engine.clock.call_at(at_ns, wake)

    def finish(self, text: str) -> None:
        self._engine._finish(self._parent, text)

    def wait_for_liquidity(self, limit: float | None) -> None:
        self._engine._waiters.wait(self._parent.symbol, self._parent.order_id, self._parent.side.is_buy, limit)

    def market_through_ticks(self) -> int:
        return self._engine.config.market_through_ticks


def _describe(cmd: NewOrder) -> str:
    spec = cmd.instrument
    if spec.strike is not None:
        return f"{spec.symbol} {spec.maturity_date} {spec.put_call} {spec.strike:g}"
    return repr(spec.symbol)
