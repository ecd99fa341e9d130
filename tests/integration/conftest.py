"""A real router (QuickFIX acceptor, engine thread, SQLite store) on a free port, and a
simplefix client talking to it over TCP."""
from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from router.app import load_settings
from router.domain.enums import Side
from router.fix.client import FixClient
from router.server import RouterServer

CALL = "AAPL  261218C00200000"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_sessions(path: Path, port: int, targets=("CLIENT1",), extra: str = "") -> Path:
    sections = "".join(f"\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=ROUTER\nTargetCompID={t}\n" for t in targets)
    path.write_text(f"[DEFAULT]\nConnectionType=acceptor\nSocketAcceptPort={port}\nStartTime=00:00:00\n"
                    f"EndTime=00:00:00\nUseDataDictionary=Y\nSocketReuseAddress=Y\n{extra}{sections}")
    return path


class LiveRouter:
    def __init__(self, tmp_path: Path, *, background: bool = False, targets=("CLIENT1",)) -> None:
        self.port = free_port()
        self.sessions = write_sessions(tmp_path / "sessions.cfg", self.port, targets)
        self.state_dir = tmp_path / "state"
        self.background = background
        self.server: RouterServer | None = None

    def start(self) -> "LiveRouter":
        self.server = RouterServer(load_settings(), sessions=self.sessions, state_dir=self.state_dir,
                                   background=self.background).start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("router did not start listening")

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def on_engine(self, action) -> None:
        """Run ``action`` on the engine thread (venue books belong to it) and wait for it."""
        import threading
        done = threading.Event()

        def run() -> None:
            try:
                action()
            finally:
                done.set()
        self.server.engine.post(run)
        assert done.wait(5)

    def quote(self, venue: str, symbol: str, asks=(), bids=()) -> None:
        def place() -> None:
            sim = self.server.system.venues[venue]
            for side, levels in ((Side.SELL, asks), (Side.BUY, bids)):
                for price, qty in levels:
                    place.count += 1
                    sim.place("mm", f"it{time.monotonic_ns()}-{place.count}", symbol, side, qty, price)
        place.count = 0
        self.on_engine(place)
        time.sleep(0.05)   # let the market-data hop reach the engine's books

    def client(self, sender: str = "CLIENT1", **kwargs) -> FixClient:
        return FixClient("127.0.0.1", self.port, sender, "ROUTER", **kwargs)


@pytest.fixture
def live_router(tmp_path):
    router = LiveRouter(tmp_path).start()
    yield router
    router.stop()
