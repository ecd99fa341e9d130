"""`router exchange` with ``[venues.BNPF] replay`` set, as a real process: its BNPF venue is the
recorded Binance book (prices of 2024-08-08, not the simulated 90,000), a child sold into it fills
in 0.001-BTC lots at the recorded bid, and the router built on the same config takes the capture's
terms (lot 0.001) while its venues are the exchange's."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from router.app import build_system, load_settings
from router.clock import LiveClock
from router.domain.enums import Side, TimeInForce
from router.domain.events import BookUpdate, ChildAccepted, ChildFilled, SubmitChild
from router.engine.market_inbox import MarketInbox
from venues.remote import ExchangeLink, RemoteVenue
from venues.sim.wire import decode

ROOT = Path(__file__).resolve().parents[2]
CAPTURE = ROOT.parent / "shared" / "data" / "binance_usdm_btcusdt_20240808.gz"

pytestmark = pytest.mark.skipif(not CAPTURE.is_file(), reason=f"{CAPTURE} is not present")


def replaying_config(tmp_path: Path) -> Path:
    """config/ copied, with BNPF replaying the capture."""
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    venues = config / "venues.toml"
    text = venues.read_text()
    header = next(line for line in text.splitlines() if line.startswith("[venues.BNPF]"))
    venues.write_text(text.replace(header, f'{header}\nreplay = "{CAPTURE}"', 1))
    return config / "router.toml"


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    config = replaying_config(tmp_path_factory.mktemp("replay"))
    proc = subprocess.Popen([sys.executable, "-m", "router", "--config", str(config), "exchange", "--port", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("exchange ready: port "), line
    yield config, int(line.split()[-1])
    proc.terminate()
    proc.wait(10)


def a_perp_book(market: MarketInbox, timeout: float = 10.0) -> BookUpdate:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for update in market.take()[0]:
            if isinstance(update, BookUpdate) and update.venue == "BNPF" and update.bids and update.asks:
                return update
        time.sleep(0.02)
    raise AssertionError("no BNPF book from the exchange")


def test_the_exchange_replays_the_perpetual_and_fills_a_child_in_its_book(exchange):
    _, port = exchange
    reports = __import__("queue").SimpleQueue()
    market = MarketInbox(lambda marker: None, decode)
    link = ExchangeLink("127.0.0.1", port).start(reports.put, market)
    try:
        book = a_perp_book(market)
        assert 40_000 < book.bids[0].price < 80_000, "the recorded 2024-08-08 book, not the simulated 90,000"
        assert book.bids[0].qty > 100, "quantities in 0.001-BTC lots"
        bid = book.bids[0]
        RemoteVenue("BNPF", link).submit(SubmitChild("R1.1", "BNPF", "BTCUSDT", Side.SELL, 5, bid.price - 20.0,
                                                     TimeInForce.IOC))
        link.flush()
        seen = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(isinstance(r, ChildFilled) for r in seen):
            seen.append(reports.get(timeout=5))
        assert seen[0] == ChildAccepted("R1.1", "BNPF")
        fills = [r for r in seen if isinstance(r, ChildFilled)]
        assert fills and sum(f.qty for f in fills) == 5
        assert abs(fills[0].price - bid.price) < 20.0
    finally:
        link.close()


def test_a_router_on_the_same_config_takes_the_captures_terms_and_the_exchanges_venues(exchange):
    config, port = exchange
    settings = load_settings(config)
    link = ExchangeLink("127.0.0.1", port)
    system = build_system(clock=LiveClock(), market=settings.router.market, venue_configs=settings.venues,
                          accounts=settings.accounts, engine_config=settings.router.engine, send=lambda r: None,
                          algo_settings=settings.router.algos, exchange=link)
    try:
        perp = system.securities.get("BTCUSDT")
        assert perp.lot_size == perp.multiplier == 0.001
        assert isinstance(system.venues["BNPF"], RemoteVenue)
    finally:
        link.close()
