"""Both reconstructions against the real recordings in ../shared/data (never copied here)."""
from __future__ import annotations

from itertools import islice
from pathlib import Path

import pytest

from router.clock import SimClock
from router.market.feeds import BinanceCapture, LobsterReplay, play, rebuild_binance, rebuild_lobster

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
LOBSTER = "LOBSTER_AMZN_2012-06-21_34200000_57600000_{}_1.csv"
MESSAGES = DATA / LOBSTER.format("message")
ORDERBOOK = DATA / LOBSTER.format("orderbook")
BINANCE = DATA / "binance_usdm_btcusdt_20240808.gz"


def needs(*paths: Path):
    missing = [p.name for p in paths if not p.is_file()]
    return pytest.mark.skipif(bool(missing), reason=f"real data absent from {DATA}: {', '.join(missing)}")


@needs(MESSAGES, ORDERBOOK)
def test_lobster_level_1_rebuilt_from_messages_matches_every_orderbook_row():
    check = rebuild_lobster(MESSAGES, ORDERBOOK)
    assert check.rows == 57_515
    assert (check.seeded, check.checked) == (1, 57_514)  # row 1 is the book before any check
    assert check.mismatches == 0, check.examples
    assert check.revealed == 13_953  # the touch emptied; the level below is not in a level-1 file
    assert check.skipped == []


@needs(BINANCE)
def test_binance_book_from_snapshot_and_diffs_matches_book_ticker():
    result = rebuild_binance(BINANCE)
    assert (result.lines, result.trades, result.tickers) == (93_954, 21_313, 66_089)
    assert result.dropped == 4 and result.depth_updates == 6_547  # 6,551 diffs in the file
    assert result.checks == 6_546 and result.unconfirmed == 1 and result.unaligned == 0
    assert result.match_rate >= 0.999, result.misses
    assert result.exact_checks > 600 and result.exact_matches == result.exact_checks
    assert result.skipped == []


@needs(MESSAGES, ORDERBOOK)
def test_lobster_replay_plays_on_the_simulated_clock_at_recorded_times():
    clock = SimClock()
    seen: list[tuple[int, int]] = []
    play(clock, LobsterReplay(MESSAGES, ORDERBOOK), lambda u: seen.append((clock.now_ns(), u.ts_ns))).run()
    assert len(seen) == 57_515
    assert all(now == ts for now, ts in seen)
    assert clock.now_ns() == seen[-1][1]


@needs(BINANCE)
def test_binance_playback_is_deterministic():
    def trace() -> list:
        clock = SimClock()
        out: list = []
        play(clock, islice(BinanceCapture(BINANCE), 5_000), lambda e: out.append((clock.now_ns(), e))).run()
        return out

    first = trace()
    assert len(first) == 5_000 and first == trace()
