"""Rebuild both real recordings in ../shared/data and check them: LOBSTER level 1 against every
orderbook row, the Binance L2 book against bookTicker. Also times playback on the SimClock.

Run: python bench/replay_check.py [data dir]   (no peer: no other replayer is installed)
The last line's binance_bbo_match is a fraction (matches / checks).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable without installing

from router.clock import SimClock  # noqa: E402
from router.market.feeds import (  # noqa: E402
    BinanceBook, BinanceCapture, BookTicker, LobsterReplay, Trade, play, rebuild_binance,
    rebuild_lobster,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LOBSTER = "LOBSTER_AMZN_2012-06-21_34200000_57600000_{}_1.csv"
BINANCE = "binance_usdm_btcusdt_20240808.gz"


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def receive_order_match(path: Path) -> tuple[int, int]:
    """For contrast: pair each diff with the last bookTicker *received* before it."""
    book, last, checks, matches = BinanceBook(), None, 0, 0
    for event in BinanceCapture(path):
        if isinstance(event, BookTicker):
            last = event
        elif not isinstance(event, Trade):
            for _ in book.apply(event):
                if last is not None:
                    checks += 1
                    matches += last.bbo == book.bbo()
    return checks, matches


def playback_rate(events) -> tuple[int, float]:
    clock = SimClock()
    start = time.perf_counter()
    delivered = play(clock, events, lambda event: None).run()
    return delivered, time.perf_counter() - start


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA
    messages, orderbook, capture = (data / LOBSTER.format("message"),
                                    data / LOBSTER.format("orderbook"), data / BINANCE)
    if not all(p.is_file() for p in (messages, orderbook, capture)):
        sys.exit(f"real data absent from {data}")

    lob, lob_s = timed(rebuild_lobster, messages, orderbook)
    print(f"LOBSTER AMZN level 1: {lob.rows} rows in {lob_s:.3f} s ({lob.rows / lob_s:,.0f} rows/s)")
    print(f"  seeded {lob.seeded} (the first row: the book before message 1 is not in the file), "
          f"checked {lob.checked}, mismatches {lob.mismatches}")
    print(f"  revealed {lob.revealed}: the touch emptied and the next level, never reported in a "
          f"level-1 file, was read from the row (its price checked to be worse)")
    for example in lob.examples:
        print(f"  miss: {example}")

    bn, bn_s = timed(rebuild_binance, capture)
    print(f"Binance BTCUSDT: {bn.lines} lines in {bn_s:.3f} s ({bn.lines / bn_s:,.0f} events/s), "
          f"{bn.depth_updates} diffs applied, {bn.dropped} older than the snapshot dropped, "
          f"{bn.trades} trades, {bn.tickers} bookTickers")
    print(f"  best bid/ask vs the bookTicker in force at each diff's final update id: "
          f"{bn.matches}/{bn.checks} = {bn.match_rate:.6f}; same update id: "
          f"{bn.exact_matches}/{bn.exact_checks}; unconfirmed (after the last bookTicker) "
          f"{bn.unconfirmed}; unaligned {bn.unaligned}")
    for miss in bn.misses:
        print(f"  miss: {miss}")
    naive_checks, naive_matches = receive_order_match(capture)
    print(f"  for contrast, by receive order: {naive_matches}/{naive_checks} = "
          f"{naive_matches / naive_checks:.4f} (the streams are received out of step)")

    n, seconds = playback_rate(LobsterReplay(messages, orderbook))
    print(f"playback on SimClock: LOBSTER {n} events in {seconds:.3f} s ({n / seconds:,.0f} events/s)")
    n, seconds = playback_rate(BinanceCapture(capture))
    print(f"playback on SimClock: Binance {n} events in {seconds:.3f} s ({n / seconds:,.0f} events/s)")
    print(f"lobster_rows={lob.rows} lobster_mismatches={lob.mismatches} "
          f"binance_bbo_checks={bn.checks} binance_bbo_match={bn.match_rate:.6f}")


if __name__ == "__main__":
    main()
