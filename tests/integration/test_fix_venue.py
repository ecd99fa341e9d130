"""The router and `router exchange --protocol fix` in two processes, real QuickFIX on both sides (the
router's initiator, a session per venue, and the exchange's acceptor), with a TCP line between them
that the test can cut. A client over FIX: a sweep that fills across venues, a resting order replaced;
then the line is cut: the venues are unreachable (an IOC is canceled saying so, a day order is
acknowledged saying so and waits), a cancel asked for meanwhile is delivered by the sequence recovery
when the line is back, and the waiting order trades."""
from __future__ import annotations

import math
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from router.app import load_settings
from router.domain.enums import Side
from router.fix.client import FixClient, fix_time, new_order_fields
from router.server import RouterServer

from .conftest import CALL, free_port, write_sessions

ROOT = Path(__file__).resolve().parents[2]
TIED = [(5094, "1"), (5096, "4"), (5098, "3"), (5110, "0.5")]    # volatility: PostLimit, PrcDe


class Line:
    """A TCP proxy the test can cut (every connection dropped, new ones refused) and restore."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self._target = target_port
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            doomed, self._sockets = [self._listener, *self._sockets], []
        for sock in doomed:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                near, _ = listener.accept()
                far = socket.create_connection(("127.0.0.1", self._target))
            except OSError:
                return
            with self._lock:
                self._sockets += [near, far]
            for a, b in ((near, far), (far, near)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def field(message, tag: int) -> str | None:
    value = message.get(tag)
    return value.decode() if value is not None else None


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout}s")


def on_engine(server: RouterServer, action):
    done, result = threading.Event(), []

    def run() -> None:
        try:
            result.append(action())
        finally:
            done.set()
    server.engine.post(run)
    assert done.wait(5)
    return result[0]


def ticks(price: float) -> float:
    return math.floor(price * 20 + 1e-9) / 20           # a multiple of 0.05 is on any tick ladder


@pytest.fixture
def system(tmp_path):
    exchange = subprocess.Popen([sys.executable, "-m", "router", "exchange", "--protocol", "fix", "--port", "0",
                                 "--state-dir", str(tmp_path / "exchange")],
                                cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        line = exchange.stdout.readline()
        assert line.startswith("exchange ready: port "), line
        wire = Line(int(line.split()[-1]))
        port = free_port()
        server = RouterServer(load_settings(), sessions=write_sessions(tmp_path / "sessions.cfg", port),
                              state_dir=tmp_path / "state", exchange=f"127.0.0.1:{wire.port}",
                              venue_protocol="fix").start()
        try:
            yield server, wire, port, tmp_path / "exchange" / "log"
        finally:
            server.stop()
            wire.cut()
    finally:
        exchange.terminate()
        try:                    # QuickFIX logs the sessions out first: slow on a loaded machine
            exchange.wait(30)
        except subprocess.TimeoutExpired:
            exchange.kill()
            exchange.wait(10)


# Two processes, a live simulated market and real sockets: on a starved CI machine the market can
# move between the snapshot and the order, or a reconnect can outlast a timeout. A failure is run
# again (twice at most, from a fresh exchange); a real defect fails all three runs.
@pytest.mark.flaky(reruns=2)
def test_fills_across_venues_a_replace_and_a_line_cut_with_recovery_over_fix_on_both_sides(system):
    server, wire, port, exchange_log = system
    venues = {v.name for v in load_settings().venues}
    link = server.system.exchange
    assert all(link.logged_on(v) for v in venues)
    books = server.engine.books

    def offered():
        book = books.book(CALL)
        nbbo = book.nbbo()
        if nbbo.ask is None or nbbo.bid is None:
            return None
        limit = ticks(nbbo.ask + 0.30)
        return nbbo, {v: book.takeable(v, Side.BUY, limit) for v in venues}, limit
    wait_for(lambda: (o := on_engine(server, offered)) is not None and sum(1 for q in o[1].values() if q) >= 2, 10,
             "the FIX snapshots give a market on two venues")
    nbbo, takeable, limit = on_engine(server, offered)

    with FixClient("127.0.0.1", port, "CLIENT1", "ROUTER") as client:
        # a sweep larger than any one venue shows: it fills across venues
        qty = min(sum(takeable.values()), max(takeable.values()) + 1)
        client.send("D", new_order_fields("S1", "1", qty, CALL, limit))
        reports = client.until(lambda m: field(m, 11) == "S1" and field(m, 39) == "2", timeout=10)
        fills = [m for m in reports if field(m, 11) == "S1" and field(m, 150) == "F"]
        assert sum(int(field(m, 32)) for m in fills) == qty
        assert len({field(m, 30) for m in fills}) >= 2, [field(m, 30) for m in fills]

        # a resting tied order, then a replace of its price: the child is replaced at its venue (G)
        bid = on_engine(server, lambda: books.nbbo(CALL).bid)
        rest = ticks(bid - 0.50)
        client.send("D", new_order_fields("V1", "1", 5, CALL, rest, extra=TIED))
        client.until(lambda m: field(m, 11) == "V1" and field(m, 150) == "0", timeout=5)
        child = _resting_child(server)
        client.send("G", [(11, "V2"), (41, "V1"), (55, CALL), (54, "1"), (60, fix_time()), (38, "5"), (40, "2"),
                          (44, f"{rest - 0.05:.2f}"), (59, "0"), *TIED])
        client.until(lambda m: field(m, 11) == "V2" and field(m, 150) == "5", timeout=5)
        wait_for(lambda: child.revision >= 1 and child.status.name == "NEW" and abs(child.price - (rest - 0.05)) < 1e-9,
                 5, "the child replaced at its venue")

        # the line to the exchange is cut: every venue is down
        wire.cut()
        wait_for(lambda: server.engine.connectivity.down == venues, 10, "the sessions log out")
        client.send("F", [(11, "V3"), (41, "V2"), (55, CALL), (54, "1"), (60, fix_time())])   # stored by QuickFIX
        client.send("D", new_order_fields("I1", "1", 1, CALL, ticks(nbbo.ask + 0.50), tif="3"))
        ioc = client.until(lambda m: field(m, 11) == "I1" and field(m, 39) == "4", timeout=5)
        ack, canceled = [m for m in ioc if field(m, 11) == "I1"]
        assert "venues unreachable" in field(ack, 58) and "venues unreachable" in field(canceled, 58)
        client.send("D", new_order_fields("D1", "1", 1, CALL, ticks(nbbo.ask + 0.50)))
        (day_ack,) = [m for m in client.until(lambda m: field(m, 11) == "D1", timeout=5) if field(m, 11) == "D1"]
        assert field(day_ack, 39) == "0" and "venues unreachable" in field(day_ack, 58)
        time.sleep(1.5)                                # reconnect attempts fail while the line is down
        assert server.engine.connectivity.down == venues
        assert child.is_open

        # the line is back: sequence recovery delivers the cancel, the waiting order trades
        wire.restore()
        wait_for(lambda: all(link.logged_on(v) for v in venues), 15, "the sessions log on again")
        done = client.until(lambda m: field(m, 11) == "D1" and field(m, 39) == "2", timeout=10)
        assert any(field(m, 11) == "V3" and field(m, 39) == "4" for m in done) or \
            client.until(lambda m: field(m, 11) == "V3" and field(m, 39) == "4", timeout=5)
        wait_for(lambda: child.status.name == "CANCELED", 5, "the child canceled at its venue")
        assert not server.engine.connectivity.down
    # the cancel reached the exchange as QuickFIX's resend of what was sent while down (PossDupFlag)
    received = "".join(path.read_text() for path in exchange_log.glob("*.messages.current.log")).split("\n")
    assert any("\x0135=F\x01" in line and "\x0143=Y\x01" in line and f"\x0111={child.child_id}~x" in line
               for line in received)


def _resting_child(server: RouterServer):
    def find():
        children = server.engine.orders.children
        return next((c for c in children.values() if c.parent_id == "P2" and c.is_open and c.status.name == "NEW"),
                    None)
    wait_for(lambda: on_engine(server, find) is not None, 5, "a resting child at a venue")
    return on_engine(server, find)


def test_router_serve_with_venue_protocol_fix_spawns_its_exchange_and_fills_over_fix(tmp_path):
    port = free_port()
    serve = subprocess.Popen([sys.executable, "-m", "router", "serve", "--venue-protocol", "fix",
                              "--sessions", str(write_sessions(tmp_path / "sessions.cfg", port)),
                              "--state-dir", str(tmp_path / "state")], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        line = serve.stdout.readline()
        assert line.startswith("router ready"), line
        with FixClient("127.0.0.1", port, "CLIENT1", "ROUTER") as client:
            deadline = time.monotonic() + 10
            filled = []
            while not filled and time.monotonic() < deadline:       # until the snapshots show an offer
                cl_ord_id = f"S{len(filled)}-{time.monotonic_ns()}"
                client.send("D", new_order_fields(cl_ord_id, "1", 1, CALL, 30.0, tif="3"))
                reports = client.until(lambda m: field(m, 11) == cl_ord_id and field(m, 39) in ("2", "4"), timeout=5)
                filled = [m for m in reports if field(m, 11) == cl_ord_id and field(m, 39) == "2"]
        assert filled and field(filled[0], 30)
        assert (tmp_path / "state" / "exchange" / "store").is_dir()      # its FIX store beside the router's
    finally:
        serve.terminate()
        serve.wait(20)
