"""`router exchange` as a real process: RemoteVenue adapters over TCP submit a marketable child and
get its fill; the client side dies (connection reset) and reconnects, the exchange goes on, and a
reconcile brings the fill back under the same exec ID. The slow test runs `router serve` against
it, over FIX."""
from __future__ import annotations

import queue
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from router.app import load_settings
from router.domain.enums import Side, TimeInForce
from router.domain.events import BookUpdate, ChildAccepted, ChildFilled, MarkPrice, SubmitChild
from router.engine.market_inbox import MarketInbox
from router.fix.client import FixClient, fix_time, new_order_fields
from router.server import RouterServer
from venues.remote import ExchangeLink, RemoteVenue
from venues.sim.wire import decode

from .conftest import free_port, write_sessions

ROOT = Path(__file__).resolve().parents[2]


class Exchange:
    def __init__(self, *flags: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "router", "exchange", "--port", "0", *flags],
                                     cwd=ROOT, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("exchange ready: port "), line
        self.port = int(line.split()[-1])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture(scope="module")
def exchange():
    running = Exchange()
    yield running
    running.stop()


class Client:
    """What a router's engine would be: reports in a queue, books in a conflating buffer."""

    def __init__(self, port: int) -> None:
        self.reports: "queue.SimpleQueue[object]" = queue.SimpleQueue()
        self.market = MarketInbox(lambda marker: None, decode)
        self.link = ExchangeLink("127.0.0.1", port).start(self.reports.put, self.market)
        self.venues = {name: RemoteVenue(name, self.link) for name in self.link.venues}

    def report(self, kind: type, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while True:
            report = self.reports.get(timeout=max(deadline - time.monotonic(), 0.01))
            if isinstance(report, kind):
                return report

    def an_offer(self, venue: str, timeout: float = 5.0) -> BookUpdate:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for update in self.market.take()[0]:
                if update.venue == venue and update.asks and len(update.symbol) > 6:
                    return update
            time.sleep(0.02)
        raise AssertionError(f"no option offered on {venue}")

    def reset(self) -> None:
        """Die the way a killed process does to its peer: the connection is reset, not closed."""
        self.link._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.link.close()


def test_a_fill_survives_the_client_dying_and_comes_back_by_reconcile_with_its_exec_id(exchange):
    first = Client(exchange.port)
    assert set(first.venues) == {v.name for v in load_settings().venues}
    offer = first.an_offer("XCBO")
    child = SubmitChild("T1.1", "XCBO", offer.symbol, Side.BUY, 1, offer.asks[0].price, TimeInForce.IOC)
    first.venues["XCBO"].submit(child)
    first.link.flush()
    assert first.report(ChildAccepted) == ChildAccepted("T1.1", "XCBO")
    fill = first.report(ChildFilled)
    assert (fill.child_id, fill.qty, fill.price) == ("T1.1", 1, offer.asks[0].price)
    assert fill.exec_id.startswith("XCBO-")
    first.reset()

    second = Client(exchange.port)                     # the router restarted
    second.an_offer("XISX")                            # the market went on
    second.venues["XCBO"].reconcile("T1.1")
    second.link.flush()
    assert second.report(ChildAccepted) == ChildAccepted("T1.1", "XCBO")
    assert second.report(ChildFilled) == fill
    assert second.link.audit() == {"T1.1": 1}          # sent once, whatever the router went through
    second.link.close()


def test_the_exchange_runs_the_crypto_market_and_its_marks_reach_the_router(exchange):
    client = Client(exchange.port)
    deadline = time.monotonic() + 10
    marks, crypto_books = [], []
    while time.monotonic() < deadline and not (marks and crypto_books):
        for item in client.market.take()[0]:
            if isinstance(item, MarkPrice):
                marks.append(item)
            elif item.venue in ("DRBT", "OKXO") and item.asks:
                crypto_books.append(item)
        time.sleep(0.02)
    client.link.close()
    assert crypto_books, "the crypto option venues quote in `router exchange` too"
    assert marks and marks[0].venue in ("DRBT", "OKXO") and marks[0].symbol.startswith("BTC-")
    assert 0 < marks[0].price < 1, "a BTC option's mark is in BTC"


def test_a_second_connection_takes_over_from_the_first(exchange):
    stale = Client(exchange.port)
    fresh = Client(exchange.port)
    fresh.an_offer("ARCO")
    deadline = time.monotonic() + 5
    while stale.link.connected and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not stale.link.connected
    fresh.link.close()
    stale.link.close()


def test_router_serve_against_a_running_exchange_fills_over_fix(exchange, tmp_path):
    port = free_port()
    probe = Client(exchange.port)
    offer = probe.an_offer("BATO")
    probe.link.close()
    server = RouterServer(load_settings(), sessions=write_sessions(tmp_path / "sessions.cfg", port),
                          state_dir=tmp_path / "state", exchange=f"127.0.0.1:{exchange.port}").start()
    try:
        with FixClient("127.0.0.1", port, "CLIENT1", "ROUTER") as fix:
            fix.send("D", new_order_fields("X1", "1", 1, offer.symbol, round(offer.asks[0].price + 0.50, 2)))
            reports = fix.until(lambda m: m.get(39) == b"2", timeout=10)
    finally:
        server.stop()
    assert reports[-1].get(14) == b"1" and reports[-1].get(30)


class ServeProcess:
    def __init__(self, sessions: Path, state_dir: Path, port: int, exchange_port: int) -> None:
        self.port = port
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "router", "serve", "--sessions", str(sessions), "--state-dir", str(state_dir),
             "--exchange", f"127.0.0.1:{exchange_port}"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("router ready"), line

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


@pytest.mark.slow
def test_a_killed_router_finds_its_resting_child_at_the_exchange_and_can_cancel_it(tmp_path):
    exchange = Exchange()                            # its own: child ids are unique per router store only
    try:
        _kill_and_restart_a_router(exchange, tmp_path)
    finally:
        exchange.stop()


def _kill_and_restart_a_router(exchange: Exchange, tmp_path: Path) -> None:
    port = free_port()
    sessions = write_sessions(tmp_path / "sessions.cfg", port)
    probe = Client(exchange.port)
    offer = probe.an_offer("ARCO")
    probe.link.close()
    below = max(round(offer.bids[0].price - 0.50, 2), 0.05) if offer.bids else 0.05
    volatility_post_limit = [(5094, "1"), (5096, "4"), (5100, "0"), (5102, "0"), (5098, "2")]

    router = ServeProcess(sessions, tmp_path / "state", port, exchange.port)
    with FixClient("127.0.0.1", port, "CLIENT1", "ROUTER") as fix:
        fix.send("D", new_order_fields("V1", "1", 1, offer.symbol, below, extra=volatility_post_limit))
        assert fix.expect("8", timeout=10).get(39) == b"0"
        time.sleep(1.0)                              # the algo posts its child
    router.kill()
    auditor = Client(exchange.port)
    audit = auditor.link.audit()
    auditor.link.close()
    [(child_id, submits)] = audit.items()
    assert child_id.startswith("P") and submits == 1

    router = ServeProcess(sessions, tmp_path / "state", port, exchange.port)
    try:
        with FixClient("127.0.0.1", port, "CLIENT1", "ROUTER") as fix:
            fix.send("H", [(11, "V1"), (55, offer.symbol), (54, "1")])
            assert fix.expect("8", timeout=10).get(39) == b"0"
            fix.send("F", [(11, "V1-X"), (41, "V1"), (55, offer.symbol), (54, "1"), (60, fix_time())])
            canceled = fix.until(lambda m: m.get(39) in (b"4", b"8") or m.get(35) == b"9", timeout=10)
        assert canceled[-1].get(39) == b"4", canceled[-1]
    finally:
        router.kill()
    auditor = Client(exchange.port)
    assert auditor.link.audit() == {child_id: 1}
    auditor.link.close()


def test_router_serve_spawns_its_exchange_and_stops_it(tmp_path):
    port = free_port()
    server = RouterServer(load_settings(), sessions=write_sessions(tmp_path / "sessions.cfg", port),
                          state_dir=tmp_path / "state", background=False, exchange="spawn").start()
    child = server.exchange_process._proc
    try:
        assert server.system.background is None and server.system.exchange.connected
    finally:
        server.stop()
    assert child.wait(10) is not None
