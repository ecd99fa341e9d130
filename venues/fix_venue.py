"""Venue adapters for FIX venues: a QuickFIX initiator with one session per venue (the dialect:
venues/fix_protocol.py), and a ``FixVenue`` per venue implementing the adapter protocol
(venues/base.py) over its session.

Commands leave from the engine's thread, one message each (QuickFIX sends at once). QuickFIX
callbacks only translate and post: venue reports and ``VenueConnectivity`` to the engine's inbox
(``post``, as RemoteVenue's reader does), books and prints to the engine's conflating market
inbox. No callback lets an exception out: one escaping into QuickFIX kills the process, so a
message that cannot be read is logged and dropped (a book it leaves inconsistent is subscribed
afresh, which brings a new snapshot).

A venue that is down: at its logout the venue's books are emptied (its quotes can no longer be
reached) and ``VenueConnectivity(venue, False)`` tells the engine, whose SOR routes around it; a
child submitted to it meanwhile is rejected at once by the adapter, so it never waits in
PendingNew for a session that is not there. A cancel, replace or status request made while down
is kept by QuickFIX (its FileStore) and delivered by the sequence recovery at the next logon, as
are the venue's reports the router missed. At every logon the adapter subscribes to the market
again (a snapshot per book) and asks for the status of each child it knows to be open, so fills
made while the session was down arrive (the engine counts a venue and ExecID once).
"""
from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import quickfix as fix

from router.domain.enums import Side
from router.domain.events import (BookLevel, BookUpdate, CancelChild, ChildRejected, ReplaceChild, SubmitChild,
                                  TradePrint, VenueConnectivity)

from .fix_protocol import (BEGIN_STRING, BID, CAPACITY_CODES, OFFER, POST_ONLY, ROUTER_COMP_ID, TRADE,
                           FixProtocolError, apply_level_change, base_id, body_fields, entries, fix_timestamp,
                           message, need, need_float, need_int, price_text, replace_cl_ord_id,
                           report_from_cancel_reject, report_from_execution, session_settings, split)

log = logging.getLogger(__name__)

FINAL_STATUSES = frozenset("248C")          # OrdStatus filled, canceled, rejected, expired


class MarketSink(Protocol):
    def put_book(self, key: tuple[str, str], item: object) -> None: ...
    def put_print(self, item: object) -> None: ...


@dataclass(slots=True)
class _Order:
    """A child the adapter knows to be open at its venue: what a G, F or H needs to name it."""
    symbol: str
    side: str                   # FIX Side (54)
    cl_ord_id: str              # the last ClOrdID the venue accepted


class FixVenueLink(fix.Application):
    """The router's FIX sessions to the venues of one exchange (``host:port``)."""

    def __init__(self, host: str, port: int, venues: Sequence[str], store_dir: Path, *,
                 now_ns: Callable[[], int], log_dir: Path | None = None,
                 send_to_target: Callable[[fix.Message, fix.SessionID], object] = fix.Session.sendToTarget,
                 connect: bool = True) -> None:
        """``store_dir``: the sessions' FileStore (sequence numbers and sent messages), kept across
        restarts; ``now_ns``: the engine's clock, for TransactTime. ``send_to_target`` and
        ``connect=False``: no initiator, messages go to ``send_to_target`` only (the tests connect it
        to a gateway without sockets)."""
        super().__init__()
        self.address = f"{host}:{port}"
        self.venues = tuple(venues)
        self._now_ns = now_ns
        self._send_to_target = send_to_target
        self._connect = connect
        self._symbols: tuple[str, ...] = ()
        self._describe: Callable[[str], tuple[str, Side] | None] = lambda child_id: None
        Path(store_dir).mkdir(parents=True, exist_ok=True)
        self._settings = session_settings(self.venues, acceptor=False, host=host, port=port, store_dir=store_dir,
                                          log_dir=log_dir)
        self._session_ids = {venue: fix.SessionID(BEGIN_STRING, ROUTER_COMP_ID, venue) for venue in self.venues}
        self._venue_of = {sid.toString(): venue for venue, sid in self._session_ids.items()}
        self._post: Callable[[object], None] = lambda event: None
        self._market: MarketSink | None = None
        self._lock = threading.Lock()
        self._open: dict[str, dict[str, _Order]] = {venue: {} for venue in self.venues}
        self._books: dict[str, dict[str, tuple[list[BookLevel], list[BookLevel]]]] = {v: {} for v in self.venues}
        self._logged_on: set[str] = set()
        self._logged_on_changed = threading.Condition(self._lock)
        self._ids = itertools.count(1)
        self._initiator = None
        self._store = self._logs = None
        self._closing = False

    # ---- life

    def start(self, post: Callable[[object], None], market: MarketSink, *, symbols: Collection[str] = (),
              describe: Callable[[str], tuple[str, Side] | None] = lambda child_id: None) -> "FixVenueLink":
        """Connect, with reports and connectivity going to ``post`` and books and prints to ``market``.
        ``symbols``: what to subscribe to; ``describe``: a child's symbol and side from the engine's
        records, for a child this adapter has not seen since it started (a restart)."""
        self._post, self._market = post, market
        self._symbols, self._describe = tuple(symbols), describe
        for venue in self.venues:       # down until its session logs on
            post(VenueConnectivity(venue, False))
        if not self._connect:
            return self
        self._store = fix.FileStoreFactory(self._settings)
        self._logs = fix.FileLogFactory(self._settings) if self._settings.get().has("FileLogPath") else None
        if self._logs is None:
            self._initiator = fix.ThreadedSocketInitiator(self, self._store, self._settings)
        else:
            self._initiator = fix.ThreadedSocketInitiator(self, self._store, self._settings, self._logs)
        self._initiator.start()
        return self

    def wait_logged_on(self, timeout: float) -> bool:
        """Wait until every venue's session is logged on; False if some are not by ``timeout``."""
        with self._logged_on_changed:
            return self._logged_on_changed.wait_for(lambda: len(self._logged_on) == len(self.venues), timeout)

    def logged_on(self, venue: str) -> bool:
        return venue in self._logged_on

    def close(self) -> None:
        self._closing = True
        if self._initiator is not None:
            self._initiator.stop()
            self._initiator = None          # free the C++ sessions (router/fix/acceptor.py, Acceptor.stop)
        self._store = self._logs = None

    def adapter(self, venue: str) -> "FixVenue":
        if venue not in self._session_ids:
            raise KeyError(f"no FIX session for venue {venue} (sessions: {', '.join(self.venues)})")
        return FixVenue(venue, self)

    # ---- commands (engine thread)

    def submit(self, order: SubmitChild) -> None:
        venue = order.venue
        if venue not in self._logged_on:
            self._post(ChildRejected(order.child_id, venue, f"{venue} unreachable: its FIX session is down"))
            return
        side = "5" if order.short_sale and not order.side.is_buy else order.side.value
        with self._lock:
            self._open[venue][order.child_id] = _Order(order.symbol, side, order.child_id)
        body = [(11, order.child_id), (100, venue), (55, order.symbol), (54, side),
                (60, fix_timestamp(self._now_ns())), (38, order.qty), (40, "2"), (44, price_text(order.price)),
                (59, order.time_in_force.value)]
        if order.post_only:
            body.append((18, POST_ONLY))
        if order.display_qty is not None:
            body.append((111, order.display_qty))
        body.append((9047, CAPACITY_CODES.get(order.capacity, "C")))
        if order.alt_route_code:
            body.append((5028, order.alt_route_code))        # SRAltRouteCode, echoed from the parent
        self._send(venue, message("D", body))

    def replace(self, order: ReplaceChild) -> None:
        known = self._known(order.venue, order.child_id)
        body = [(11, replace_cl_ord_id(order.child_id, order.revision)), (41, known.cl_ord_id), (100, order.venue),
                (55, known.symbol), (54, known.side), (60, fix_timestamp(self._now_ns())), (38, order.qty),
                (40, "2"), (44, price_text(order.price))]
        self._send(order.venue, message("G", body))

    def cancel(self, order: CancelChild) -> None:
        known = self._known(order.venue, order.child_id)
        body = [(11, f"{order.child_id}~x{next(self._ids)}"), (41, known.cl_ord_id), (55, known.symbol),
                (54, known.side), (60, fix_timestamp(self._now_ns()))]
        self._send(order.venue, message("F", body))

    def reconcile(self, venue: str, child_id: str) -> None:
        self._send(venue, self._status_request(self._known(venue, child_id)))

    def _known(self, venue: str, child_id: str) -> _Order:
        with self._lock:
            known = self._open[venue].get(child_id)
        if known is not None:
            return known
        described = self._describe(child_id)
        symbol, side = described if described is not None else ("[N/A]", Side.BUY)
        known = _Order(symbol, side.value, child_id)
        with self._lock:
            return self._open[venue].setdefault(child_id, known)

    def _status_request(self, known: _Order) -> fix.Message:
        return message("H", [(11, known.cl_ord_id), (790, f"S{next(self._ids)}"), (55, known.symbol),
                             (54, known.side)])

    def _send(self, venue: str, msg: fix.Message) -> None:
        """Down or up, QuickFIX takes it: while the session is down it is stored, and resent at logon."""
        try:
            self._send_to_target(msg, self._session_ids[venue])
        except fix.SessionNotFound:
            log.error("no FIX session for %s: message dropped", venue)

    # ---- QuickFIX callbacks (its threads): translate and post, never raise

    def onCreate(self, sessionID):
        pass

    def onLogon(self, sessionID):
        try:
            venue = self._venue_of[sessionID.toString()]
            log.info("FIX venue %s logged on", venue)
            self._subscribe(venue)
            with self._lock:
                known = list(self._open[venue].values())
            for order in known:
                self._send(venue, self._status_request(order))
            with self._logged_on_changed:
                self._logged_on.add(venue)
                self._logged_on_changed.notify_all()
            self._post(VenueConnectivity(venue, True))
        except Exception:
            log.exception("onLogon failed")

    def onLogout(self, sessionID):
        try:
            venue = self._venue_of[sessionID.toString()]
            with self._logged_on_changed:
                was_on = venue in self._logged_on
                self._logged_on.discard(venue)
            if was_on and not self._closing:
                log.warning("FIX venue %s logged out", venue)
            self._clear_books(venue)
            self._post(VenueConnectivity(venue, False))
        except Exception:
            log.exception("onLogout failed")

    def toAdmin(self, message, sessionID):
        pass

    def fromAdmin(self, message, sessionID):
        pass

    def toApp(self, message, sessionID):
        try:
            header = message.getHeader()
            stale = header.isSetField(43) and header.getField(43) == "Y" and header.getField(35) == "V"
        except Exception:
            log.exception("toApp failed")
            return
        if stale:
            raise fix.DoNotSend()       # an old subscription: every logon makes a new one

    def fromApp(self, message, sessionID):
        try:
            venue = self._venue_of.get(sessionID.toString())
            if venue is None:
                log.error("message on unknown session %s", sessionID.toString())
                return
            self.on_message(venue, message.toString())
        except Exception:
            log.exception("fromApp failed")

    # ---- translation (public for the tests: a QuickFIX message's string in, events posted)

    def on_message(self, venue: str, raw: str) -> None:
        """Translate one application message from ``venue``; unreadable ones are logged and dropped."""
        try:
            pairs = split(raw)
            found = body_fields(pairs)
            msg_type = need(found, 35)
            if msg_type == "8":
                self._on_execution(venue, found)
            elif msg_type == "9":
                self._post(report_from_cancel_reject(found, venue))
            elif msg_type == "W":
                self._on_snapshot(venue, found, pairs)
            elif msg_type == "X":
                self._on_incremental(venue, pairs)
            elif msg_type == "Y":
                log.error("%s refused the market data request: %s", venue, found.get(58, ""))
            else:
                log.warning("unexpected MsgType %s from %s", msg_type, venue)
        except FixProtocolError as exc:
            log.error("unreadable message from %s (%s): %s", venue, exc, raw.replace("\x01", "|")[:300])

    def _on_execution(self, venue: str, found: dict[int, str]) -> None:
        reports = report_from_execution(found, venue)
        child_id = base_id(need(found, 11))
        with self._lock:
            known = self._open[venue].get(child_id)
            if found.get(39) in FINAL_STATUSES or (found.get(150) in ("4", "8", "C")):
                self._open[venue].pop(child_id, None)
            elif known is not None:
                if found.get(150) == "5":
                    known.cl_ord_id = found[11]
            elif found.get(150) == "0":         # a child it learns of from the venue (seq recovery)
                self._open[venue][child_id] = _Order(found.get(55, "[N/A]"), found.get(54, "1"), found[11])
        for report in reports:
            self._post(report)

    def _on_snapshot(self, venue: str, found: dict[int, str], pairs: list[tuple[int, str]]) -> None:
        symbol = need(found, 55)
        bids: list[BookLevel] = []
        asks: list[BookLevel] = []
        for entry in entries(pairs, 268, 269):
            kind = entry[269]
            if kind in (BID, OFFER):
                (bids if kind == BID else asks).append(BookLevel(need_float(entry, 270), need_int(entry, 271)))
        self._books[venue][symbol] = (bids, asks)
        self._put_book(venue, symbol, bids, asks)

    def _on_incremental(self, venue: str, pairs: list[tuple[int, str]]) -> None:
        books = self._books[venue]
        touched: dict[str, tuple[list[BookLevel], list[BookLevel]]] = {}
        try:
            for entry in entries(pairs, 268, 279):
                kind = need(entry, 269)
                symbol = need(entry, 55)
                if kind == TRADE:
                    aggressor = Side.SELL if entry.get(2446) == "2" else Side.BUY
                    self._market.put_print(TradePrint(venue, symbol, need_float(entry, 270), need_int(entry, 271),
                                                      aggressor))
                    continue
                if kind not in (BID, OFFER):
                    continue
                book = books.get(symbol)
                if book is None:
                    raise FixProtocolError(f"incremental refresh of {symbol} before its snapshot")
                action = need(entry, 279)
                level = None if action == "2" else BookLevel(need_float(entry, 270), need_int(entry, 271))
                apply_level_change(book[0] if kind == BID else book[1], action, need_int(entry, 290), level)
                touched[symbol] = book
        except FixProtocolError:
            # the books no longer follow the venue's: drop them and start again from new snapshots
            self._books[venue] = {}
            self._subscribe(venue)
            raise
        for symbol, (bids, asks) in touched.items():
            self._put_book(venue, symbol, bids, asks)

    def _put_book(self, venue: str, symbol: str, bids: list[BookLevel], asks: list[BookLevel]) -> None:
        self._market.put_book((venue, symbol), BookUpdate(venue, symbol, tuple(bids), tuple(asks)))

    def _clear_books(self, venue: str) -> None:
        books, self._books[venue] = self._books[venue], {}
        if self._market is None:
            return
        for symbol, (bids, asks) in books.items():
            if bids or asks:
                self._put_book(venue, symbol, [], [])

    def _subscribe(self, venue: str) -> None:
        if not self._symbols:
            return
        body: list[tuple[int, object]] = [(262, f"{venue}-{next(self._ids)}"), (263, "1"), (264, 0), (265, "1"),
                                          (267, 3), (269, BID), (269, OFFER), (269, TRADE),
                                          (146, len(self._symbols))]
        body.extend((55, symbol) for symbol in self._symbols)
        self._send(venue, message("V", body))


class FixVenue:
    """One venue reached over its FIX session, as a venue adapter (venues/base.py)."""

    def __init__(self, name: str, link: FixVenueLink) -> None:
        self.name = name
        self._link = link

    def submit(self, order: SubmitChild) -> None:
        self._link.submit(order)

    def replace(self, order: ReplaceChild) -> None:
        self._link.replace(order)

    def cancel(self, order: CancelChild) -> None:
        self._link.cancel(order)

    def reconcile(self, child_id: str) -> None:
        self._link.reconcile(self.name, child_id)

