"""A whole router on a simulated clock, for unit tests: no sockets, no sleeps, no wall clock."""
from __future__ import annotations

from datetime import datetime, timezone

from router.app import System, build_system, load_settings
from router.clock import NANOS_PER_SECOND, SimClock
from router.config import AlgoSettings, EngineConfig
from router.domain.commands import (AlgoParams, CancelOrder, InstrumentSpec, MassCancel, NewOrder, OrderStatusQuery,
                                    ReplaceOrder)
from router.domain.enums import MassCancelType, OrdType, Side, TimeInForce
from router.domain.events import ExecReport
from router.domain.commands import ClientRequest

START = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)
SESSION = "FIX.4.4:ROUTER->CLIENT1"
CALL = "AAPL  261218C00200000"


class Harness:
    def __init__(self, *, background: bool = False, persistence=None, engine_config: EngineConfig | None = None,
                 start: datetime = START, algo_settings: AlgoSettings | None = None, accounts=None) -> None:
        settings = load_settings()
        self.settings = settings
        self.clock = SimClock.at(start)
        self.out: list = []
        self.system: System = build_system(
            clock=self.clock, market=settings.router.market, venue_configs=settings.venues,
            accounts=accounts or settings.accounts, engine_config=engine_config or settings.router.engine,
            send=self.out.append, persistence=persistence, background=background,
            algo_settings=algo_settings or settings.router.algos)
        self.engine = self.system.engine
        self.venues = self.system.venues
        self._ids = 0

    # ---- market set-up

    def quote(self, venue: str, symbol: str, *, bids=(), asks=(), owner: str = "mm", settle: bool = True) -> None:
        """Rest liquidity at a venue: bids/asks are (price, qty) pairs. Published after md latency."""
        from router.domain.enums import Side as S
        for side, levels in ((S.BUY, bids), (S.SELL, asks)):
            for price, qty in levels:
                self._ids += 1
                self.venues[venue].place(owner, f"{owner}{self._ids}", symbol, side, qty, price)
        if settle:
            self.settle()

    def requote(self, venue: str, symbol: str, *, bids=(), asks=(), owner: str = "mm", settle: bool = True) -> None:
        """Replace ``owner``'s resting orders in this book with these levels (a market maker moving)."""
        book = self.venues[venue].book(symbol)
        for side in (Side.BUY, Side.SELL):
            for order in book.resting(side):
                if order.owner == owner:
                    self.venues[venue].pull(order.order_id, symbol)
        self.quote(venue, symbol, bids=bids, asks=asks, owner=owner, settle=settle)

    def settle(self, seconds: float = 0.05) -> None:
        self.clock.advance(int(seconds * NANOS_PER_SECOND))

    # ---- client side

    def new(self, cl_ord_id: str, side: Side, qty: int, price: float | None = None, *, symbol: str = CALL,
            tif: TimeInForce = TimeInForce.DAY, session: str = SESSION, account: str = "CLIENT1",
            transact_time: datetime | None = None, expire_time: datetime | None = None, **algo) -> None:
        cmd = NewOrder(cl_ord_id=cl_ord_id, instrument=InstrumentSpec(symbol=symbol), side=side, qty=qty,
                       ord_type=OrdType.LIMIT if price is not None else OrdType.MARKET, price=price,
                       time_in_force=tif, transact_time=transact_time or self.now(), expire_time=expire_time,
                       algo=AlgoParams(**algo))
        self.engine.dispatch(ClientRequest(session, account, "D", None, cmd))

    def cancel(self, cl_ord_id: str, orig: str, session: str = SESSION) -> None:
        self.engine.dispatch(ClientRequest(session, "CLIENT1", "F", None,
                                           CancelOrder(cl_ord_id=cl_ord_id, orig_cl_ord_id=orig, transact_time=self.now())))

    def replace(self, cl_ord_id: str, orig: str, qty: int | None = None, price: float | None = None,
                session: str = SESSION, tif: TimeInForce | None = None) -> None:
        self.engine.dispatch(ClientRequest(session, "CLIENT1", "G", None, ReplaceOrder(
            cl_ord_id=cl_ord_id, orig_cl_ord_id=orig, qty=qty, price=price, time_in_force=tif,
            transact_time=self.now())))

    def mass_cancel(self, cl_ord_id: str, session: str = SESSION) -> None:
        self.engine.dispatch(ClientRequest(session, "CLIENT1", "q", None, MassCancel(
            cl_ord_id=cl_ord_id, request_type=MassCancelType.ALL, transact_time=self.now())))

    def status(self, cl_ord_id: str | None = None, order_id: str | None = None, session: str = SESSION) -> None:
        self.engine.dispatch(ClientRequest(session, "CLIENT1", "H", None,
                                           OrderStatusQuery(cl_ord_id=cl_ord_id, order_id=order_id)))

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now_ns() / NANOS_PER_SECOND, tz=timezone.utc)

    # ---- looking at results

    def reports(self, cl_ord_id: str | None = None) -> list[ExecReport]:
        return [r for r in self.out if isinstance(r, ExecReport) and (cl_ord_id is None or r.cl_ord_id == cl_ord_id)]

    def last(self, cl_ord_id: str | None = None):
        reports = [r for r in self.out if cl_ord_id is None or getattr(r, "cl_ord_id", None) == cl_ord_id]
        return reports[-1]

    def children(self, order_id: str):
        return [c for c in self.engine.orders.children.values() if c.parent_id == order_id]
