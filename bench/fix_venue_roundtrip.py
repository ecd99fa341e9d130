"""A child's round trip to `router exchange` over FIX (venues/fix_venue.py, a QuickFIX initiator against
venues/sim/fix_gateway.py) beside the native msgpack link (venues/remote.py), in the same run.

Each protocol gets a fresh `router exchange --quiet-market` process (no quotes, so an IOC child
cannot trade): one child at a time, a 1-lot IOC to XCBO, timed from ``submit`` to its
ChildAccepted and to its ChildCanceled (the IOC remainder), as the engine's inbox would receive
them. Both include the venue's own simulated latency (config/venues.toml: XCBO 0.40 ms each way),
so the difference between the two is the protocol's cost.

    python bench/fix_venue_roundtrip.py [--children 500]

Last line: native_ack_p50_us=... fix_ack_p50_us=... ack_ratio=... native_done_p50_us=...
fix_done_p50_us=... done_ratio=... native_ack_p99_us=... fix_ack_p99_us=...
"""
from __future__ import annotations

import argparse
import queue
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from router.app import load_settings  # noqa: E402
from router.domain.enums import Side, TimeInForce  # noqa: E402
from router.domain.events import ChildAccepted, ChildCanceled, SubmitChild  # noqa: E402
from router.engine.market_inbox import MarketInbox  # noqa: E402
from router.market.securities import SecurityMaster  # noqa: E402
from venues.fix_venue import FixVenueLink  # noqa: E402
from venues.remote import ExchangeLink, RemoteVenue  # noqa: E402
from venues.sim.wire import decode  # noqa: E402

VENUE = "XCBO"


def start_exchange(*flags: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "router", "exchange", "--port", "0", "--quiet-market", *flags],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("exchange ready: port "):
        proc.kill()
        raise RuntimeError(f"exchange did not start: {line!r}")
    return proc, int(line.split()[-1])


def round_trips(venue, reports: "queue.SimpleQueue", symbol: str, count: int, tag: str) -> tuple[list, list]:
    acks, dones = [], []
    for index in range(count + 20):              # the first 20 warm up
        child = SubmitChild(f"{tag}{index}", VENUE, symbol, Side.BUY, 1, 1.00, TimeInForce.IOC)
        started = time.perf_counter_ns()
        venue.submit(child)
        acked = None
        while True:
            report = reports.get(timeout=10)
            if getattr(report, "child_id", None) != child.child_id:
                continue
            now = time.perf_counter_ns()
            if isinstance(report, ChildAccepted):
                acked = now
            elif isinstance(report, ChildCanceled):
                if index >= 20:
                    acks.append((acked - started) / 1000)
                    dones.append((now - started) / 1000)
                break
            else:
                raise RuntimeError(f"unexpected {report!r}")
    return acks, dones


def native(symbol: str, count: int) -> tuple[list, list]:
    proc, port = start_exchange()
    try:
        reports: "queue.SimpleQueue" = queue.SimpleQueue()
        link = ExchangeLink("127.0.0.1", port).start(reports.put, MarketInbox(lambda marker: None, decode))
        venue = RemoteVenue(VENUE, link)

        class Flushing:
            def submit(self, order):
                venue.submit(order)
                link.flush()
        try:
            return round_trips(Flushing(), reports, symbol, count, "N")
        finally:
            link.close()
    finally:
        proc.terminate()
        proc.wait(10)


def over_fix(symbol: str, count: int) -> tuple[list, list]:
    with tempfile.TemporaryDirectory() as state:
        proc, port = start_exchange("--protocol", "fix", "--state-dir", f"{state}/exchange")
        try:
            reports: "queue.SimpleQueue" = queue.SimpleQueue()
            link = FixVenueLink("127.0.0.1", port, [VENUE], Path(state) / "router", now_ns=time.time_ns)
            link.start(reports.put, MarketInbox(lambda marker: None), symbols=[symbol])
            try:
                if not link.wait_logged_on(10):
                    raise RuntimeError("the FIX session did not log on")
                return round_trips(link.adapter(VENUE), reports, symbol, count, "F")
            finally:
                link.close()
        finally:
            proc.terminate()
            proc.wait(10)


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=500)
    args = parser.parse_args()
    settings = load_settings()
    symbol = next(i.symbol for i in SecurityMaster.from_chains(settings.router.market.underliers) if i.is_option)
    native_ack, native_done = native(symbol, args.children)
    fix_ack, fix_done = over_fix(symbol, args.children)
    figures = {
        "native_ack_p50_us": statistics.median(native_ack), "fix_ack_p50_us": statistics.median(fix_ack),
        "ack_ratio": statistics.median(fix_ack) / statistics.median(native_ack),
        "native_done_p50_us": statistics.median(native_done), "fix_done_p50_us": statistics.median(fix_done),
        "done_ratio": statistics.median(fix_done) / statistics.median(native_done),
        "native_ack_p99_us": p99(native_ack), "fix_ack_p99_us": p99(fix_ack),
    }
    print(f"{args.children} one-at-a-time IOC children to {VENUE} ({symbol}), microseconds")
    print(" ".join(f"{key}={value:.2f}" if key.endswith("ratio") else f"{key}={value:.0f}"
                   for key, value in figures.items()))


if __name__ == "__main__":
    main()
