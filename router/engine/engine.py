"""The deterministic core: one thread, one inbox, an injected clock.

Every state change happens on the engine thread, in inbox order. Work is done in batches:
handle up to ``batch_max`` events, persist the batch (journal entries plus the rows of every
parent, child and fill it touched) in one transaction, and only then release the batch's
effects — reports to FIX clients and orders to venues: "store then send" with a group commit.
This module only wires the parts together and routes events; each job has its own module
(README.md, "Order management").

Market data from another thread (a remote exchange) does not queue in the inbox: it is conflated
in ``market`` (market_inbox.py) and applied once per batch, after the batch's client requests and
venue reports. In-process venues on the same clock dispatch their books directly, as before."""
from __future__ import annotations

import logging
import math
import queue
import threading
from typing import Callable

from algos.registry import create_algo
from router.clock import NANOS_PER_SECOND, Clock
from router.config import Accounts, AlgoSettings, EngineConfig
from router.domain.commands import ClientRequest
from router.domain.enums import ChildRole, ExecType, HedgeMode
from router.domain.events import (VENUE_REPORT_TYPES, AuctionResult, BookUpdate, CancelChild, ChildFilled, ClientReport,
                                  ComplexBookUpdate, MarkPrice, PackageFilled, PackageLegFilled, ReplaceChild,
                                  StartAuction, SubmitChild, SubmitPackage, TradePrint, VenueCommand, VenueConnectivity)
from router.domain.orders import ChildOrder, ChildStatus
from router.hedge import AutoHedger
from router.market.books import MarketBooks
from router.market.live_surface import LiveSurfaces
from router.market.model import OptionModel
from router.market.securities import SecurityMaster
from router.market.waiters import LiquidityWaiters
from router.models.live_alpha import LiveAlpha
from router.positions import PositionLedger, SymbolRisk
from router.risk.greek_limits import DayGreekLimits
from venues.sor import SmartOrderRouter

from . import tif
from .accounting import FillAccounting
from .auctions import Auctions
from .batch import Persistence, UnitOfWork
from .children import ChildOrderManager, InvariantError
from .refusals import MAX_STREAK as MAX_REFUSAL_STREAK
from .connectivity import Connectivity
from .context import Services, ParentContext
from .market_inbox import MARKET_WAKE, MarketInbox
from .marks import Marks
from .package_children import ComplexBooks, PackageChildren
from .parents import ParentLifecycle
from .reports import Reports
from .requests import ClientRequests
from .runtime import AlgoRuntime
from .state import Orders
from .timers import Timers
from .validation import Validator

log = logging.getLogger(__name__)
_STOP = object()


class Engine:
    def __init__(self, *, clock: Clock, securities: SecurityMaster, books: MarketBooks, sor: SmartOrderRouter,
                 venues: dict, accounts: Accounts, config: EngineConfig, send: Callable[[ClientReport], None],
                 persistence: Persistence | None = None, algo_settings: AlgoSettings | None = None,
                 rate: float = 0.0, fallback_vols: dict[str, float] | None = None,
                 market_decode: Callable[[object], object] | None = None) -> None:
        self.clock, self.securities, self.books, self.venues, self.config = clock, securities, books, venues, config
        self.algo_settings = algo_settings or AlgoSettings()
        self.orders = Orders()
        self.timers = Timers(clock, self.dispatch)
        self.work = UnitOfWork(clock, persistence, send, self._to_venue, self.timers.call_later)
        self.waiters = LiquidityWaiters()
        self.model = OptionModel(books, rate, fallback_vols or {})
        self.positions = PositionLedger(self._symbol_risk)
        self.reports = Reports(clock, self.work, self.orders)
        self.reports.hedge_target = self._hedge_target
        self.reports.underlier_of = lambda symbol: getattr(securities.get(symbol), "underlying", symbol)
        # the Surface and Probability limit classes' live inputs (algos/secondary_limits.py)
        self.live_surfaces = LiveSurfaces(books, securities, rate, self.algo_settings.surface_refit_interval_ms)
        self.live_alpha = LiveAlpha(alive=lambda order_id: order_id in self.runtime.algos)
        services = Services(clock, books, securities, self.model, self.waiters, live_surfaces=self.live_surfaces,
                            live_alpha=self.live_alpha, fees=sor.fees, sor=sor)
        self.children = ChildOrderManager(clock, self.timers, self.work, self.orders, books, securities, sor, venues,
                                          int(self.algo_settings.pending_timeout_ms * 1_000_000),
                                          accounts.capacity_for)
        self.children.listener = self
        self.accounting = FillAccounting(clock, self.work, self.reports, securities, self.positions)
        self.accounting.firm_account = self.algo_settings.facilitation.firm_account   # FIRM fills book here
        self.auctions = Auctions(self, self.algo_settings.facilitation)   # facilitation auctions (auctions.py)
        self.marks = Marks(clock, self.timers, self.work, books)     # the market around fills, for TCA
        self.runtime = AlgoRuntime(self.work, self.orders, self.timers, securities,
                                   lambda parent, owner: ParentContext(services, parent, owner),
                                   self._make_algo, self._make_hedger)
        self.calendar = tif.SessionCalendar.from_config(config)
        # the day $delta and vega limits (5251-5260) hold a parent, and say why once per hold
        self.children.add_checks(DayGreekLimits(self.orders, securities, books, self.model, clock.now_ns,
                                                self.calendar.previous_close_ns, watch=self.work.watch_children))
        self.children.on_hold = lambda parent, text: self.reports.send(parent, ExecType.ORDER_STATUS, text=text)
        self.runtime.holds = self.children.holds          # a hold is saved with its parent (restore.py)
        validator = Validator(self.orders, securities, books, accounts, config, frozenset(venues), self.calendar)
        validator.surfaces = self.live_surfaces
        self.lifecycle = ParentLifecycle(clock, self.timers, self.work, self.orders, self.reports, self.children,
                                         self.runtime, validator, securities, books, self.waiters, accounts, config,
                                         self.calendar)
        services.children, services.runtime, services.lifecycle = self.children, self.runtime, self.lifecycle
        # packages on the venues' complex order books (package_children.py)
        self.package_children = PackageChildren(clock, self.work, self.children)
        self.package_children.on_leg_fill = self._package_leg_filled
        self.complex_books = ComplexBooks()
        services.package_children, services.complex_books = self.package_children, self.complex_books
        services.auctions = self.auctions
        self.sor = sor
        self.connectivity = Connectivity(venues, sor)
        self.lifecycle.connectivity = self.connectivity
        self.requests = ClientRequests(clock, self.work, self.lifecycle)
        self.inbox: "queue.SimpleQueue[object]" = queue.SimpleQueue()
        # books and prints from another thread; market_decode turns a buffered item (a wire
        # frame) into its BookUpdate or TradePrint
        self.market = MarketInbox(self.post, market_decode)
        # run after every released batch: adapters that buffer commands send them here, in one write
        self.after_release: list[Callable[[], None]] = []
        self._in_batch = False
        self._thread: threading.Thread | None = None

    @property
    def parents(self):
        return self.orders.parents

    def _symbol_risk(self, symbol: str) -> SymbolRisk | None:
        instrument = self.securities.get(symbol)
        if instrument is None or not instrument.is_option:
            return None
        greeks = self.model.greeks(instrument, self.clock.now_ns())
        underlier = self.model.underlier_mid(instrument)
        if greeks is None or underlier is None:
            return SymbolRisk(math.nan, math.nan, math.nan)     # unknown, not delta-one
        return SymbolRisk(float(greeks.delta), float(greeks.vega), underlier)

    def _make_algo(self, name: str, ctx: ParentContext):
        return create_algo(name, ctx, self.algo_settings)

    def _hedge_target(self, order_id: str) -> int | None:
        hedger = self.runtime.hedgers.get(order_id)
        return None if hedger is None else hedger.target_shares

    def _make_hedger(self, ctx: ParentContext):
        mode = ctx.parent.algo.auto_hedge
        if mode is None or mode is HedgeMode.NO_HEDGE:
            return None
        return AutoHedger(ctx, self.algo_settings.hedge)

    # ------------------------------------------------------------------ driving

    def dispatch(self, event: object) -> None:
        """Handle one event and release its effects. Inside the engine loop (timers firing there)
        the event joins the loop's batch instead, and is released with it."""
        self._handle_safely(event)
        if not self._in_batch:
            self.work.flush()
            self._after_release()

    def post(self, event: object) -> None:
        """Thread-safe: queue an event for the engine thread."""
        self.inbox.put(event)

    def start(self) -> None:
        self._after_release()            # what restore sent (reconciles) leaves now
        self._thread = threading.Thread(target=self.run, name="engine", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.inbox.put(_STOP)
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        """The engine loop (``start`` runs it on its own thread), until ``stop``. One iteration:
        due timers (expiries, algo timers; in-process venues' reports and market data) and up to
        batch_max inbox events are handled, then the conflated market data, then the batch is
        persisted in one commit and released together."""
        batch_max = self.config.batch_max
        inbox = self.inbox
        stopping = False
        while not stopping:
            nxt = self.clock.next_timer_ns()
            timeout = None if nxt is None else max((nxt - self.clock.now_ns()) / NANOS_PER_SECOND, 0.0)
            try:
                event = inbox.get(timeout=timeout)
            except queue.Empty:
                event = None
            self._in_batch = True
            try:
                self.clock.run_due()
                handled = 0
                while event is not None:
                    if event is _STOP:
                        stopping = True
                        break
                    if event is not MARKET_WAKE:
                        self._handle_safely(event)
                        handled += 1
                        if handled >= batch_max:
                            break
                    try:
                        event = inbox.get_nowait()
                    except queue.Empty:
                        event = None
                self._apply_market()
            finally:
                self._in_batch = False
                self.work.flush()
                self._after_release()

    def _apply_market(self) -> None:
        books, prints = self.market.take()
        for book in books:
            self._handle_safely(book)
        for trade in prints:
            self._handle_safely(trade)

    def _after_release(self) -> None:
        for hook in self.after_release:
            try:
                hook()
            except Exception:       # a venue link that is down must not stop the engine
                log.exception("after-release step %r failed", hook)

    def _handle_safely(self, event: object) -> None:
        try:
            self._handle(event)
        except InvariantError as exc:
            log.error("invariant violated: %s (event %r)", exc, event)
            self.work.journal_add("invariant_violation", None, {"error": str(exc), "event": repr(event)})
        except Exception:  # one bad event must not stop the engine
            log.exception("engine failed on %r", event)
            self.work.journal_add("engine_error", None, {"event": repr(event)})

    def _handle(self, event: object) -> None:
        if isinstance(event, ClientRequest):
            self.requests.handle(event)
        elif isinstance(event, VENUE_REPORT_TYPES):
            self.children.on_report(event)
        elif isinstance(event, BookUpdate):            # market data first: most events are
            self._on_book(event)
        elif isinstance(event, TradePrint):
            self._on_trade(event)
        elif isinstance(event, (PackageFilled, PackageLegFilled)):
            self.package_children.on_report(event)
        elif isinstance(event, ComplexBookUpdate):
            self.runtime.market_changed(self.complex_books.apply(event))
        elif isinstance(event, AuctionResult):
            self.auctions.on_result(event)
        elif isinstance(event, MarkPrice):
            self.books.apply_mark(event)
        elif isinstance(event, VenueConnectivity):
            self.work.journal_add("venue_connectivity", None, {"venue": event.venue, "up": event.up})
            self.connectivity.apply(event)
        elif callable(event):
            event()
        else:
            raise TypeError(f"engine cannot handle {type(event).__name__}")

    def _to_venue(self, command: VenueCommand) -> None:
        venue = self.venues[command.venue]
        if isinstance(command, SubmitChild):
            if self.children.held_back(command.child_id):
                return
            venue.submit(command)
        elif isinstance(command, ReplaceChild):
            venue.replace(command)
        elif isinstance(command, CancelChild):
            venue.cancel(command)
        elif isinstance(command, SubmitPackage):
            venue.submit_package(command)
        elif isinstance(command, StartAuction):
            venue.start_auction(command)

    # ------------------------------------------------------------------ market data

    def _on_trade(self, trade: TradePrint) -> None:
        now = self.clock.now_ns()
        self.books.record_trade(trade, now)
        if self.live_alpha.follows(trade.symbol):
            signed = trade.qty if trade.aggressor.is_buy else -trade.qty
            self.live_alpha.on_trade(trade.symbol, now, trade.price, signed)

    def _on_book(self, update: BookUpdate) -> None:
        """A symbol no position, subscription or waiting order needs costs its book update and
        three lookups; its NBBO is not even computed."""
        symbol = update.symbol
        book = self.books.apply(update)
        if self.live_alpha.follows(symbol):
            nbbo = book.nbbo()
            self.live_alpha.on_book(symbol, self.clock.now_ns(), nbbo.bid, nbbo.ask, nbbo.bid_qty, nbbo.ask_qty)
        if self.positions.holds(symbol) and (mid := book.nbbo().mid) is not None:
            self.positions.mark(symbol, mid)
        if self.marks.follows(symbol):
            self.marks.on_book(symbol, book.nbbo())
        self.runtime.market_changed(symbol)
        if self.waiters.watches(symbol):
            for order_id in self.waiters.reached(symbol, book.nbbo()):
                self.runtime.book_reached(order_id)

    # ------------------------------------------------------------------ child events (ChildListener)

    def child_accepted(self, child: ChildOrder) -> None:
        self.runtime.child_accepted(child)

    def child_filled(self, child: ChildOrder, report: ChildFilled) -> None:
        parent = self.orders.parents[child.parent_id]
        fill = self.accounting.apply(parent, child, report)
        self.marks.on_fill(fill)
        if child.role is not ChildRole.HEDGE and child.role is not ChildRole.FIRM:   # the firm's own: not hedged
            self.runtime.option_filled(parent, fill)
        self.runtime.child_filled(child, fill)
        self.lifecycle.settle(parent)

    def _package_leg_filled(self, parent, child: ChildOrder, report) -> None:
        fill = self.accounting.apply_package_leg(parent, child, report)
        self.marks.on_fill(fill)
        self.runtime.option_filled(parent, fill)
        self.runtime.child_filled(child, fill)
        self.lifecycle.settle(parent)

    def child_replaced(self, child: ChildOrder) -> None:
        self.runtime.child_replaced(child)
        self.lifecycle.settle(self.orders.parents[child.parent_id])

    def child_rejected(self, child: ChildOrder, reason: str) -> None:
        self.runtime.child_rejected(child, reason)
        parent = self.orders.parents[child.parent_id]
        if (child.status is ChildStatus.REJECTED and child.role is ChildRole.WORK
                and self.children.refusal_streak >= MAX_REFUSAL_STREAK):
            venue, last = self.children.refusals.last(parent.order_id, child.role)
            self.lifecycle.finish(parent, f"venues refused {self.children.refusal_streak} children in a row; "
                                          f"last {venue}: {last}")
        self.lifecycle.settle(parent)

    def child_done(self, child: ChildOrder) -> None:
        self.runtime.child_done(child)
        self.lifecycle.settle(self.orders.parents[child.parent_id])

    def retry_due(self, parent_id: str, role: ChildRole, symbol: str) -> None:
        self.runtime.retry_due(parent_id, role, symbol)
        self.lifecycle.settle(self.orders.parents[parent_id])

    # ------------------------------------------------------------------ restart

    def restore(self, state) -> None:
        from .restore import restore
        self.marks.ignore(p.order_id for p in state.parents)
        restore(self, state)
