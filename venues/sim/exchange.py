"""`router exchange`: the simulated venues and their background market in a process of their own,
serving one router connection at a time over TCP (protocol: venues/sim/wire.py).

Everything runs on one thread: the venues' timers on the exchange's own clock, and the socket,
through one select loop. A router's commands reach its venues as soon as they are read (each
venue then applies its own latency); reports, books and prints are written out together at the
end of each pass. The exchange outlives its routers: when one goes away (killed, connection
reset) the market goes on, reports meant for it are dropped, and the next router to connect
recovers its children's state by reconcile.
"""
from __future__ import annotations

import logging
import os
import select
import socket
from typing import Callable

from router.clock import NANOS_PER_SECOND, LiveClock, ns_to_datetime
from router.config import MarketConfig, VenueConfig
from router.domain.events import CancelChild, ReplaceChild, SubmitChild
from router.market.securities import SecurityMaster

from .market import SimMarket, build_sim_market
from .replay_perpetual import prepare_replays
from .wire import AuditReport, AuditRequest, FrameReader, Hello, Reconcile, WireError, decode, encode

log = logging.getLogger(__name__)

IDLE_WAIT_S = 0.2                   # longest select wait: how often a stop request is noticed
MAX_UNSENT_BYTES = 64 * 1024 * 1024  # a router this far behind is not reading: drop it
RECV_BYTES = 1 << 16


class RouterConnection:
    """The one router connected now: its socket, its half-read frames, its unsent bytes."""

    def __init__(self, sock: socket.socket, address) -> None:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.address = address
        self.reader = FrameReader()
        self.unsent = bytearray()
        self.greeted = False                # nothing is sent before the router's hello is answered

    def write_some(self) -> None:
        sent = self.sock.send(self.unsent)
        del self.unsent[:sent]

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class ExchangeServer:
    def __init__(self, clock: LiveClock, port: int = 0, host: str = "127.0.0.1") -> None:
        self.clock = clock
        self._listener = socket.create_server((host, port))
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._router: RouterConnection | None = None
        self._market: SimMarket | None = None
        self.watch_fds: list[int] = []      # file descriptors whose end of file stops the exchange (stdin)
        self._orphaned = False

    def emit(self, message) -> None:
        """The venues' sink for reports, books and prints: queued for the connected router, if any."""
        router = self._router
        if router is not None and router.greeted:
            router.unsent += encode(message)

    def serve(self, market: SimMarket, should_stop: Callable[[], bool]) -> None:
        self._market = market
        try:
            while not (self._orphaned or should_stop()):
                self._pass()
        finally:
            self._drop_router("exchange stopping")
            self._listener.close()

    def _pass(self) -> None:
        router = self._router
        readers = [self._listener, *self.watch_fds]
        writers = []
        if router is not None:
            readers.append(router.sock)
            if router.unsent:
                writers.append(router.sock)
        readable = select.select(readers, writers, [], self._wait_s())[0]     # writers: to wake when one can write
        if self._listener in readable:
            self._accept()
        for fd in self.watch_fds:
            if fd in readable and not os.read(fd, 1):
                log.info("stdin closed: the router that started this exchange is gone")
                self._orphaned = True
        if router is not None and router is self._router and router.sock in readable:
            self._read(router)
        self.clock.run_due()
        router = self._router
        if router is not None and router.unsent:
            self._write(router)

    def _wait_s(self) -> float:
        nxt = self.clock.next_timer_ns()
        if nxt is None:
            return IDLE_WAIT_S
        return min(max((nxt - self.clock.now_ns()) / NANOS_PER_SECOND, 0.0), IDLE_WAIT_S)

    # ---- the connection

    def _accept(self) -> None:
        try:
            sock, address = self._listener.accept()
        except BlockingIOError:
            return
        if self._router is not None:
            self._drop_router(f"replaced by a new connection from {address}")   # a router restarted
        self._router = RouterConnection(sock, address)
        log.info("router connected from %s", address)

    def _drop_router(self, why: str) -> None:
        router, self._router = self._router, None
        if router is not None:
            log.info("router %s disconnected: %s", router.address, why)
            router.close()

    def _read(self, router: RouterConnection) -> None:
        try:
            data = router.sock.recv(RECV_BYTES)
        except BlockingIOError:
            return
        except OSError as exc:
            self._drop_router(str(exc))
            return
        if not data:
            self._drop_router("connection closed")
            return
        try:
            frames = router.reader.feed(data)
            for frame in frames:
                self._handle(decode(frame))
        except WireError as exc:
            log.error("bad frame from router %s: %s", router.address, exc)
            self._drop_router("protocol error")

    def _write(self, router: RouterConnection) -> None:
        if len(router.unsent) > MAX_UNSENT_BYTES:
            self._drop_router(f"{len(router.unsent)} bytes unread")
            return
        try:
            router.write_some()
        except BlockingIOError:
            pass
        except OSError as exc:
            self._drop_router(str(exc))

    # ---- the router's messages

    def _handle(self, message) -> None:
        venues = self._market.venues
        if isinstance(message, (SubmitChild, ReplaceChild, CancelChild, Reconcile)):
            venue = venues.get(message.venue)
            if venue is None:
                log.error("router sent %s to %s, which this exchange does not run", type(message).__name__,
                          message.venue)
            elif isinstance(message, SubmitChild):
                venue.submit(message)
            elif isinstance(message, ReplaceChild):
                venue.replace(message)
            elif isinstance(message, CancelChild):
                venue.cancel(message)
            else:
                venue.reconcile(message.child_id)
        elif isinstance(message, Hello):
            log.info("router %s says hello (protocol %d)", message.peer, message.version)
            self._router.greeted = True
            self.emit(Hello("exchange", venues=tuple(venues)))
            for venue in venues.values():
                for book in venue.snapshots():
                    self.emit(book)
        elif isinstance(message, AuditRequest):
            self.emit(AuditReport({name: dict(venue.submits) for name, venue in venues.items()}))
        else:
            raise WireError(f"{type(message).__name__} is not a router message")


def run_exchange(market_config: MarketConfig, venue_configs: list[VenueConfig], *, port: int = 0,
                 background: bool = True, ready: Callable[[int], None] = lambda port: None,
                 should_stop: Callable[[], bool] = lambda: False, watch_fds: tuple[int, ...] = ()) -> None:
    """Build the market on a live clock, listen, report the port to ``ready``, and serve until
    ``should_stop`` (or a watched descriptor closes). A venue with ``replay`` replays its capture
    from the moment the exchange starts (venues/sim/replay_perpetual.py)."""
    clock = LiveClock()
    market_config, venue_configs, replays = prepare_replays(clock, market_config, venue_configs)
    server = ExchangeServer(clock, port)
    server.watch_fds.extend(watch_fds)
    securities = SecurityMaster.from_chains(market_config.underliers, ns_to_datetime(clock.now_ns()).date())
    market = build_sim_market(clock, securities, market_config, venue_configs, server.emit, server.emit, replays)
    if background:
        market.start()
    ready(server.port)
    try:
        server.serve(market, should_stop)
    finally:
        market.stop()
