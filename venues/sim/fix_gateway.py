"""`router exchange --protocol fix`: the simulated venues and their market behind a QuickFIX acceptor,
one FIX 4.4 session per venue (the venue's MIC is its SenderCompID; the dialect and its tags:
venues/fix_protocol.py).

QuickFIX callbacks only translate: an order, cancel, replace or status request becomes the venue
command it stands for, posted with a subscription or a logout to the exchange's one thread, which
owns the venues (they are not thread-safe). That thread runs the venues' timers on the exchange's
clock, applies what was posted, and sends what the venues report: each report as an
ExecutionReport (8) or OrderCancelReject (9) on the venue's session, and, at the end of each pass,
every book change and trade print since the last one in one Incremental Refresh (X) per venue.

The exchange outlives its routers' connections. A report made while a router is disconnected is
kept by QuickFIX (FileStore under the state directory) and resent by the sequence recovery when it
logs on again; market data is not: a subscription ends with its session, a stale book is never
resent (``toApp`` gap-fills it), and the router's new subscription starts with a fresh snapshot.
A status request is answered with the child's reports again (venues/base.py ``reconcile``).
"""
from __future__ import annotations

import itertools
import logging
import os
import queue
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import quickfix as fix

from router.clock import NANOS_PER_SECOND, Clock, LiveClock, ns_to_datetime
from router.config import MarketConfig, VenueConfig
from router.domain.events import (BookLevel, BookUpdate, CancelChild, ChildAccepted, ChildCanceled,
                                  ChildCancelRejected, ChildFilled, ChildRejected, ChildReplaced, ChildReplaceRejected,
                                  MarkPrice, ReplaceChild, SubmitChild, TradePrint)
from router.market.securities import SecurityMaster
from venues.fix_protocol import (BEGIN_STRING, BID, CAPACITY_NAMES, OFFER, POST_ONLY, ROUTER_COMP_ID, TRADE,
                                 FixProtocolError, base_id, body_fields, entries, fix_timestamp, level_changes,
                                 message, need, need_float, need_int, price_text, revision_of, session_settings,
                                 side_of, split, tif_of)

from .market import SimMarket, build_sim_market
from .replay_perpetual import prepare_replays
from .venue import UNKNOWN_ORDER, SimVenue, exec_token

log = logging.getLogger(__name__)

IDLE_WAIT_S = 0.2              # longest wait for work: how often a stop request is noticed
MAX_ENTRIES = 200              # book entries per Incremental Refresh
UNKNOWN = "[N/A]"


@dataclass(slots=True)
class _Order:
    """A router child as the gateway reports it: the fields an ExecutionReport carries."""
    symbol: str
    side: str
    qty: int
    price: float
    cl_ord_id: str
    cum: int = 0
    notional: float = 0.0
    fill_ids: set[str] = field(default_factory=set)
    requests: deque = field(default_factory=deque)       # (msg type, ClOrdID, OrigClOrdID) awaiting an answer

    def status(self, final: str | None = None) -> str:
        if final is not None:
            return final
        if self.cum >= self.qty > 0:
            return "2"
        return "1" if self.cum else "0"

    def take_request(self, kind: str) -> tuple[str, str | None]:
        """The ClOrdID (and OrigClOrdID) of the oldest request of ``kind`` the venue is answering."""
        for index, (request_kind, cl_ord_id, orig) in enumerate(self.requests):
            if request_kind == kind:
                del self.requests[index]
                return cl_ord_id, orig
        return self.cl_ord_id, None


@dataclass(frozen=True, slots=True)
class Subscribe:
    venue: str
    req_id: str
    symbols: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    venue: str


class FixGateway(fix.Application):
    """The acceptor's application and the venues' report and market sink."""

    def __init__(self, clock: Clock, venues: list[str],
                 send_to_target: Callable[[fix.Message, fix.SessionID], object] = fix.Session.sendToTarget) -> None:
        """``send_to_target``: where messages go (QuickFIX's sessions; the tests connect it to a
        router's FixVenueLink without sockets)."""
        super().__init__()
        self.clock = clock
        self._send_to_target = send_to_target
        self.inbox: "queue.SimpleQueue[object]" = queue.SimpleQueue()
        self.venue_names = tuple(venues)
        self._session_ids = {v: fix.SessionID(BEGIN_STRING, v, ROUTER_COMP_ID) for v in venues}
        self._venue_of = {sid.toString(): v for v, sid in self._session_ids.items()}
        self._market: SimMarket | None = None
        self._orders: dict[str, dict[str, _Order]] = {v: {} for v in venues}
        self._subscriptions: dict[str, tuple[str, frozenset[str]]] = {}
        self._sent_books: dict[str, dict[str, tuple[tuple[BookLevel, ...], tuple[BookLevel, ...]]]] = {}
        self._pending_md: dict[str, list[list[tuple[int, object]]]] = {v: [] for v in venues}
        self._exec_prefix = f"{exec_token(clock.now_ns())}-"
        self._exec_ids = itertools.count(1)

    def attach(self, market: SimMarket) -> None:
        self._market = market

    # ---- QuickFIX callbacks (its threads): translate and post, never raise

    def onCreate(self, sessionID):
        pass

    def onLogon(self, sessionID):
        try:
            log.info("router logged on to %s", self._venue_of.get(sessionID.toString()))
        except Exception:
            log.exception("onLogon failed")

    def onLogout(self, sessionID):
        try:
            venue = self._venue_of.get(sessionID.toString())
            if venue is not None:
                self.inbox.put(Unsubscribe(venue))
        except Exception:
            log.exception("onLogout failed")

    def toAdmin(self, message, sessionID):
        pass

    def fromAdmin(self, message, sessionID):
        pass

    def toApp(self, message, sessionID):
        try:
            header = message.getHeader()
            resent = header.isSetField(43) and header.getField(43) == "Y"
            msg_type = header.getField(35)
        except Exception:
            log.exception("toApp failed")
            return
        if resent and msg_type in ("W", "X", "Y"):
            raise fix.DoNotSend()       # a stale book: the router's next subscription brings a fresh one

    def fromApp(self, message, sessionID):
        try:
            venue = self._venue_of.get(sessionID.toString())
            raw = message.toString()
            if venue is None:
                log.error("message on unknown session %s", sessionID.toString())
                return
            command = self.translate(venue, raw)
        except FixProtocolError as exc:
            log.error("unreadable message (%s): %s", exc, message.toString().replace("\x01", "|")[:300])
            return
        except Exception:
            log.exception("fromApp failed")
            return
        if command is None:
            raise fix.UnsupportedMessageType()
        self.inbox.put(command)

    # ---- translation: a router message into what it asks of the venue

    def translate(self, venue: str, raw: str):
        """The venue command (with its ClOrdIDs) or subscription ``raw`` stands for; None if the
        message type is not one the venue takes."""
        pairs = split(raw)
        found = body_fields(pairs)
        msg_type = need(found, 35)
        if msg_type == "D":
            side, short = side_of(need(found, 54))
            if need(found, 40) != "2":
                raise FixProtocolError("OrdType must be 2 (limit)")
            capacity = CAPACITY_NAMES.get(found.get(9047, "C"), "customer")
            display = need_int(found, 111) if 111 in found else None
            order = SubmitChild(need(found, 11), venue, need(found, 55), side, need_int(found, 38),
                                need_float(found, 44), tif_of(found.get(59, "0")), found.get(18) == POST_ONLY,
                                display, short, capacity, found.get(5028))
            return ("D", need(found, 54), order)
        if msg_type == "G":
            cl_ord_id = need(found, 11)
            order = ReplaceChild(base_id(cl_ord_id), venue, need_int(found, 38), need_float(found, 44),
                                 revision_of(cl_ord_id))
            return ("G", (cl_ord_id, need(found, 41)), order)
        if msg_type == "F":
            return ("F", (need(found, 11), need(found, 41)), CancelChild(base_id(need(found, 41)), venue))
        if msg_type == "H":
            return ("H", venue, base_id(need(found, 11)))
        if msg_type == "V":
            if need(found, 263) == "2":
                return Unsubscribe(venue)
            symbols = tuple(entry[55] for entry in entries(pairs, 146, 55))
            return Subscribe(venue, need(found, 262), symbols)
        return None

    # ---- the exchange thread

    def handle(self, item) -> None:
        venues = self._market.venues
        if isinstance(item, Subscribe):
            self._subscribe(venues[item.venue], item)
            return
        if isinstance(item, Unsubscribe):
            self._subscriptions.pop(item.venue, None)
            self._sent_books.pop(item.venue, None)
            self._pending_md[item.venue].clear()
            return
        kind, extra, payload = item
        if kind == "H":
            venues[extra].reconcile(payload)
            return
        venue = venues[payload.venue]
        if kind == "D":
            orders = self._orders[payload.venue]
            if payload.child_id not in orders:
                orders[payload.child_id] = _Order(payload.symbol, extra, payload.qty, payload.price, payload.child_id)
            venue.submit(payload)
        elif kind == "G":
            self._remember("G", payload.venue, payload.child_id, extra)
            venue.replace(payload)
        elif kind == "F":
            self._remember("F", payload.venue, payload.child_id, extra)
            venue.cancel(payload)

    def _remember(self, kind: str, venue: str, child_id: str, ids: tuple[str, str]) -> None:
        order = self._orders[venue].get(child_id)
        if order is not None:
            order.requests.append((kind, *ids))

    def _subscribe(self, venue: SimVenue, request: Subscribe) -> None:
        symbols = frozenset(s for s in request.symbols if venue.lists(s))
        self._subscriptions[venue.name] = (request.req_id, symbols)
        sent = self._sent_books[venue.name] = {}
        self._pending_md[venue.name].clear()
        for symbol in sorted(symbols):
            book = venue.snapshot(symbol)
            sent[symbol] = (book.bids, book.asks)
            body: list[tuple[int, object]] = [(262, request.req_id), (55, symbol),
                                              (268, len(book.bids) + len(book.asks))]
            for kind, levels in ((BID, book.bids), (OFFER, book.asks)):
                for position, level in enumerate(levels, 1):
                    body += [(269, kind), (270, price_text(level.price)), (271, level.qty), (290, position)]
            self._send(venue.name, message("W", body))

    # ---- the venues' sink (exchange thread)

    def emit(self, event) -> None:
        if isinstance(event, BookUpdate):
            self._book_changed(event)
        elif isinstance(event, TradePrint):
            if event.symbol in self._subscriptions.get(event.venue, ("", frozenset()))[1]:
                self._pending_md[event.venue].append(
                    [(279, "0"), (269, TRADE), (55, event.symbol), (270, price_text(event.price)), (271, event.qty),
                     (2446, "1" if event.aggressor.is_buy else "2")])
        elif isinstance(event, MarkPrice):
            pass     # FIX 4.4 market data has no mark-price entry: marks stay on the native link (README)
        else:
            self._report(event)

    def _book_changed(self, book: BookUpdate) -> None:
        sent = self._sent_books.get(book.venue)
        if sent is None or book.symbol not in sent:
            return
        old_bids, old_asks = sent[book.symbol]
        pending = self._pending_md[book.venue]
        for kind, old, new in ((BID, old_bids, book.bids), (OFFER, old_asks, book.asks)):
            for action, position, level in level_changes(old, new):
                entry: list[tuple[int, object]] = [(279, action), (269, kind), (55, book.symbol)]
                if level is not None:
                    entry += [(270, price_text(level.price)), (271, level.qty)]
                entry.append((290, position))
                pending.append(entry)
        sent[book.symbol] = (book.bids, book.asks)

    def flush_market(self) -> None:
        """Every venue's book changes and prints since the last pass, in Incremental Refreshes."""
        for venue, pending in self._pending_md.items():
            if not pending:
                continue
            req_id = self._subscriptions[venue][0]
            for start in range(0, len(pending), MAX_ENTRIES):
                chunk = pending[start:start + MAX_ENTRIES]
                body: list[tuple[int, object]] = [(262, req_id), (268, len(chunk))]
                for entry in chunk:
                    body += entry
                self._send(venue, message("X", body))
            pending.clear()

    def _report(self, report) -> None:
        venue = report.venue
        order = self._orders[venue].get(report.child_id)
        if order is None:       # a child it never had (a status request after an exchange restart)
            order = _Order(UNKNOWN, "1", 0, 0.0, report.child_id)
        if isinstance(report, (ChildCancelRejected, ChildReplaceRejected)):
            kind = "F" if isinstance(report, ChildCancelRejected) else "G"
            cl_ord_id, orig = order.take_request(kind)
            reason = "1" if report.reason == UNKNOWN_ORDER else "0"     # CxlRejReason: unknown order, too late
            self._send(venue, message("9", [
                (37, f"{venue}-{report.child_id}"), (11, cl_ord_id), (41, orig or order.cl_ord_id),
                (39, order.status()), (434, "1" if kind == "F" else "2"), (102, reason), (58, report.reason[:200])]))
            return
        extra: list[tuple[int, object]] = []
        orig = None
        final = None
        cl_ord_id = order.cl_ord_id
        if isinstance(report, ChildAccepted):
            exec_type = "0"
        elif isinstance(report, ChildFilled):
            exec_type = "F"
            if report.exec_id not in order.fill_ids:     # a reconcile sends a fill again
                order.fill_ids.add(report.exec_id)
                order.cum += report.qty
                order.notional += report.qty * report.price
            extra = [(31, price_text(report.price)), (32, report.qty), (12, f"{report.fee:.6f}"), (13, "3"),
                     (851, report.liquidity.fix_value)]
        elif isinstance(report, ChildReplaced):
            exec_type = "5"
            cl_ord_id, orig = order.take_request("G")
            order.cl_ord_id = cl_ord_id
            order.qty, order.price = report.qty, report.price
        elif isinstance(report, ChildCanceled):
            exec_type, final = "4", "4"
            cl_ord_id, orig = order.take_request("F")
            extra = [(58, report.reason[:200])] if report.reason else []
        elif isinstance(report, ChildRejected):
            exec_type, final = "8", "8"
            extra = [(103, "99"), (58, report.reason[:200])]
        else:
            log.error("no FIX translation for %r", report)
            return
        if isinstance(report, ChildFilled):
            exec_id = report.exec_id                # the venue's own: what the router dedupes by
        else:
            exec_id = f"{venue}-{self._exec_prefix}{next(self._exec_ids)}"
        status = order.status(final)
        leaves = 0 if status in ("2", "4", "8") else max(order.qty - order.cum, 0)
        body: list[tuple[int, object]] = [(37, f"{venue}-{report.child_id}"), (11, cl_ord_id)]
        if orig is not None:
            body.append((41, orig))
        body += [(17, exec_id), (150, exec_type), (39, status), (55, order.symbol), (54, order.side),
                 (38, order.qty), (40, "2"), (44, price_text(order.price)), (151, leaves), (14, order.cum),
                 (6, price_text(order.notional / order.cum if order.cum else 0.0)), (30, venue),
                 (60, fix_timestamp(self.clock.now_ns())), *extra]
        self._send(venue, message("8", body))

    def _send(self, venue: str, msg: fix.Message) -> None:
        try:
            self._send_to_target(msg, self._session_ids[venue])
        except fix.SessionNotFound:
            log.error("no session for venue %s", venue)

    # ---- running

    def serve(self, should_stop: Callable[[], bool]) -> None:
        """The exchange thread: posted commands, the venues' timers, then this pass's market data."""
        clock, inbox = self.clock, self.inbox
        while not should_stop():
            nxt = clock.next_timer_ns()
            wait = IDLE_WAIT_S if nxt is None else min(max((nxt - clock.now_ns()) / NANOS_PER_SECOND, 0.0),
                                                       IDLE_WAIT_S)
            try:
                item = inbox.get(timeout=wait)
            except queue.Empty:
                item = None
            while item is not None:
                self._apply_safely(item)
                try:
                    item = inbox.get_nowait()
                except queue.Empty:
                    item = None
            clock.run_due()
            self.flush_market()

    def _apply_safely(self, item) -> None:
        try:
            self.handle(item)
        except Exception:       # one bad command must not stop the exchange
            log.exception("exchange failed on %r", item)


def free_port(host: str = "127.0.0.1") -> int:
    """A port free now (QuickFIX binds the port it is given; it cannot report one it picked)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def run_fix_exchange(market_config: MarketConfig, venue_configs: list[VenueConfig], *, state_dir: Path,
                     port: int = 0, host: str = "127.0.0.1", background: bool = True,
                     ready: Callable[[int], None] = lambda port: None, should_stop: Callable[[], bool] = lambda: False,
                     watch_fds: tuple[int, ...] = ()) -> None:
    """Build the market on a live clock behind a FIX acceptor, report the port to ``ready``, and serve
    until ``should_stop`` (or a watched descriptor reaches end of file)."""
    clock = LiveClock()
    market_config, venue_configs, replays = prepare_replays(clock, market_config, venue_configs)
    gateway = FixGateway(clock, [v.name for v in venue_configs])
    securities = SecurityMaster.from_chains(market_config.underliers, ns_to_datetime(clock.now_ns()).date())
    market = build_sim_market(clock, securities, market_config, venue_configs, gateway.emit, gateway.emit, replays)
    gateway.attach(market)
    port = port or free_port(host)
    state_dir = Path(state_dir)
    (state_dir / "store").mkdir(parents=True, exist_ok=True)
    settings = session_settings(gateway.venue_names, acceptor=True, host=host, port=port,
                                store_dir=state_dir / "store", log_dir=state_dir / "log")
    stop = threading.Event()
    for fd in watch_fds:
        threading.Thread(target=_stop_at_eof, args=(fd, stop), daemon=True).start()
    store, logs = fix.FileStoreFactory(settings), fix.FileLogFactory(settings)
    acceptor = fix.ThreadedSocketAcceptor(gateway, store, settings, logs)
    acceptor.start()
    if background:
        market.start()
    ready(port)
    try:
        gateway.serve(lambda: stop.is_set() or should_stop())
    finally:
        market.stop()
        acceptor.stop()


def _stop_at_eof(fd: int, stop: threading.Event) -> None:
    try:
        while os.read(fd, 1024):
            pass
    except OSError:
        pass
    log.info("stdin closed: the router that started this exchange is gone")
    stop.set()
