"""Replay feeds on small synthetic files: parsing, book rebuilding, every bad-input rule (file,
line and reason in the error), the skip option, and playback on the simulated clock."""
from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pytest

from router.clock import SimClock
from router.market.feeds import (
    BinanceCapture, DepthUpdate, FeedError, LobsterEventType, LobsterMessages, LobsterReplay,
    Trade, play, rebuild_binance, rebuild_lobster,
)

# ---------------------------------------------------------------- LOBSTER

MESSAGES = """Time,Type,OrderId,Size,Price,Direction
34200.01746,5,0,1,2238200,-1
34200.18961,1,11,21,2238100,1
34200.19023,4,11,21,2238100,1
34200.2,3,12,100,2239500,-1
34200.3,2,13,40,2237500,1
34201,7,0,0,-1,-1
"""
ORDERBOOK = """BestAsk,BestAskVolume,BestBid,BestBidVolume
2239500,100,2237500,100
2239500,100,2238100,21
2239500,100,2237500,100
2239600,50,2237500,100
2239600,50,2237500,60
2239600,50,2237500,60
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def lobster(tmp_path: Path, messages: str = MESSAGES, orderbook: str = ORDERBOOK):
    return (write(tmp_path / "msg_1.csv", messages), write(tmp_path / "book_1.csv", orderbook))


def replace_line(text: str, line: int, new: str) -> str:
    lines = text.splitlines()
    lines[line - 1] = new
    return "\n".join(lines) + "\n"


def test_lobster_messages_parse_exact_times_and_integer_prices(tmp_path):
    messages, _ = lobster(tmp_path)
    events = list(LobsterMessages(messages))
    assert len(events) == 6
    assert events[1].ts_ns == 34_200_189_610_000
    assert events[1].type is LobsterEventType.SUBMIT
    assert (events[1].order_id, events[1].size, events[1].price, events[1].is_buy) == (11, 21, 2238100, True)
    assert events[-1].type is LobsterEventType.HALT


def test_lobster_messages_without_header_and_with_a_date(tmp_path):
    no_header = write(tmp_path / "m.csv", MESSAGES.split("\n", 1)[1])
    events = list(LobsterMessages(no_header, day=date(2012, 6, 21)))
    assert len(events) == 6
    assert events[0].ts_ns == 1_340_285_400_017_460_000  # 2012-06-21 09:30:00.01746 New York


def test_level_1_rebuild_matches_every_row_and_counts_revealed_levels(tmp_path):
    check = rebuild_lobster(*lobster(tmp_path))
    assert (check.rows, check.seeded, check.checked, check.mismatches) == (6, 1, 5, 0)
    # the execution emptied 2238100 (2237500 moves up) and the delete emptied 2239500
    assert check.revealed == 2


def test_a_row_that_disagrees_is_a_counted_mismatch(tmp_path):
    check = rebuild_lobster(*lobster(tmp_path, orderbook=replace_line(ORDERBOOK, 7, "2239600,50,2237500,61")))
    assert check.mismatches == 1
    assert "book_1.csv:7" in check.examples[0]


def test_a_revealed_level_better_than_the_one_that_emptied_is_a_mismatch(tmp_path):
    check = rebuild_lobster(*lobster(tmp_path, orderbook=ORDERBOOK.replace("2239600", "2239400")))
    assert check.mismatches == 1
    assert "book_1.csv:5" in check.examples[0]


def test_level_2_rebuild_takes_only_the_unknown_level_from_the_file(tmp_path):
    messages = "1.0,5,0,1,101,1\n2.0,1,7,5,102,1\n3.0,3,8,10,103,-1\n4.0,1,9,4,101,1\n"
    orderbook = ("103,10,101,20,104,30,100,40\n"
                 "103,10,102,5,104,30,101,20\n"
                 "104,30,102,5,105,9,101,20\n"  # 103 emptied: 105 revealed from the file
                 "104,30,102,5,105,9,101,24\n")
    check = rebuild_lobster(*lobster(tmp_path, messages, orderbook))
    assert (check.checked, check.mismatches, check.revealed) == (3, 0, 1)
    messages_outside = messages.replace("4.0,1,9,4,101,1", "4.0,1,9,4,100,1")
    with pytest.raises(FeedError, match="below the top 2 levels"):
        rebuild_lobster(*lobster(tmp_path, messages_outside, orderbook))


@pytest.mark.parametrize("line, text, reason", [
    (3, "34200.18961,1,11,21,2238100", "expected 6 fields"),
    (3, "34200.18961,1,11,abc,2238100,1", "size is not an integer: 'abc'"),
    (3, "34200.18961,9,11,21,2238100,1", "unknown event type 9"),
    (3, "34200.18961,1,11,21,2238100,0", "direction must be 1 or -1"),
    (3, "34200.0,1,11,21,2238100,1", "time goes backwards"),
])
def test_malformed_message_names_file_line_and_reason(tmp_path, line, text, reason):
    messages, orderbook = lobster(tmp_path, messages=replace_line(MESSAGES, line, text))
    with pytest.raises(FeedError) as raised:
        rebuild_lobster(messages, orderbook)
    assert (raised.value.path, raised.value.line) == (str(messages), line)
    assert reason in raised.value.reason
    assert f"{messages}:{line}: " in str(raised.value)
    with pytest.raises(FeedError, match=reason):
        list(LobsterMessages(messages))


def test_crossed_orderbook_row_names_file_and_line(tmp_path):
    messages, orderbook = lobster(tmp_path, orderbook=replace_line(ORDERBOOK, 4, "2237000,50,2237500,100"))
    with pytest.raises(FeedError) as raised:
        rebuild_lobster(messages, orderbook)
    assert (raised.value.path, raised.value.line) == (str(orderbook), 4)
    assert raised.value.reason == "crossed book: bid 2237500 >= ask 2237000"


def test_message_that_crosses_the_book_names_file_and_line(tmp_path):
    messages, orderbook = lobster(tmp_path, messages=replace_line(MESSAGES, 3, "34200.18961,1,11,21,2239500,1"))
    with pytest.raises(FeedError) as raised:
        rebuild_lobster(messages, orderbook)
    assert (raised.value.path, raised.value.line) == (str(messages), 3)
    assert "crossed book" in raised.value.reason


def test_files_of_different_lengths_name_the_unpaired_line(tmp_path):
    messages, orderbook = lobster(tmp_path, orderbook=ORDERBOOK + "2239600,50,2237500,60\n")
    with pytest.raises(FeedError) as raised:
        rebuild_lobster(messages, orderbook)
    assert (raised.value.path, raised.value.line) == (str(orderbook), 8)
    assert "no matching line" in raised.value.reason


def test_skip_option_counts_skipped_lobster_lines_and_resyncs(tmp_path):
    bad = replace_line(replace_line(MESSAGES, 3, "garbage"), 6, "34200.3,2,13,40,2237500,5")
    messages, orderbook = lobster(tmp_path, messages=bad)
    with pytest.raises(FeedError):
        rebuild_lobster(messages, orderbook)
    check = rebuild_lobster(messages, orderbook, on_error="skip")
    assert [(e.line, e.reason.split(" (")[0]) for e in check.skipped] == [
        (3, "expected 6 fields"), (6, "direction must be 1 or -1, not 5")]
    assert (check.rows, check.seeded, check.mismatches) == (6, 3, 0)
    reader = LobsterMessages(messages, on_error="skip")
    assert len(list(reader)) == 4 and len(reader.skipped) == 2


def test_replay_yields_each_message_with_the_book_after_it(tmp_path):
    updates = list(LobsterReplay(*lobster(tmp_path)))
    assert updates[1].book.best_bid == (2238100, 21)
    assert updates[3].book.best_ask == (2239600, 50)
    assert updates[3].ts_ns == updates[3].event.ts_ns


# ---------------------------------------------------------------- Binance

def line(ts: int, message: dict) -> str:
    return f"{ts} {json.dumps(message)}"


def snapshot(last_id: int, bids, asks, ts: int = 0) -> str:
    return line(ts, {"lastUpdateId": last_id, "E": 1, "T": 1, "bids": bids, "asks": asks})


def diff(first: int, last: int, prev: int, bids=(), asks=(), ts: int = 0) -> str:
    data = {"e": "depthUpdate", "E": 1, "T": 1, "s": "BTCUSDT", "U": first, "u": last, "pu": prev,
            "b": list(bids), "a": list(asks)}
    return line(ts, {"stream": "btcusdt@depth@0ms", "data": data})


def ticker(update_id: int, bid: str, bid_qty: str, ask: str, ask_qty: str, ts: int = 0) -> str:
    data = {"e": "bookTicker", "u": update_id, "s": "BTCUSDT", "b": bid, "B": bid_qty, "a": ask,
            "A": ask_qty, "T": 1, "E": 1}
    return line(ts, {"stream": "btcusdt@bookTicker", "data": data})


def trade(trade_id: int, price: str, qty: str, maker: bool, ts: int = 0) -> str:
    data = {"e": "trade", "E": 1, "T": 1, "s": "BTCUSDT", "t": trade_id, "p": price, "q": qty,
            "X": "MARKET", "m": maker}
    return line(ts, {"stream": "btcusdt@trade", "data": data})


def capture_lines() -> list[str]:
    return [
        diff(90, 95, 89, bids=[["100.0", "1.000"]], ts=1),               # 1: older than the snapshot
        diff(96, 104, 95, bids=[["100.1", "2.000"]], ts=2),              # 2: held back, then applied
        ticker(103, "100.1", "2.000", "100.5", "1.000", ts=3),           # 3
        snapshot(100, [["100.0", "1.000"]], [["100.5", "1.000"]], ts=4),  # 4
        diff(105, 110, 104, asks=[["100.4", "0.500"]], ts=5),             # 5
        ticker(108, "100.1", "2.000", "100.4", "0.500", ts=6),           # 6
        trade(1, "100.40", "0.250", True, ts=7),                         # 7
        diff(111, 115, 110, bids=[["100.1", "0"]], ts=8),                 # 8
        ticker(113, "100.0", "1.000", "100.4", "0.500", ts=9),           # 9
        ticker(120, "100.0", "1.000", "100.4", "0.500", ts=10),          # 10
    ]


def write_capture(path: Path, lines: list[str]) -> Path:
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def test_capture_parses_on_the_tick_grid_and_synchronises_the_depth_stream(tmp_path):
    capture = BinanceCapture(write_capture(tmp_path / "c.gz", capture_lines()))
    events = list(capture)
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["BookTicker", "DepthSnapshot", "DepthUpdate", "DepthUpdate", "BookTicker",
                     "Trade", "DepthUpdate", "BookTicker", "BookTicker"]
    assert capture.dropped == 1
    held_back = events[2]
    assert isinstance(held_back, DepthUpdate) and held_back.last_id == 104 and held_back.ts_ns == 2
    assert held_back.bids == ((1001, 2000),)
    assert events[5] == Trade(7, 1, 1, 1, price=1004, qty=250, buyer_is_maker=True)


def test_rebuilt_best_bid_and_ask_match_book_ticker_by_update_id(tmp_path):
    result = rebuild_binance(write_capture(tmp_path / "c.gz", capture_lines()))
    assert (result.depth_updates, result.dropped, result.trades, result.tickers) == (3, 1, 1, 4)
    assert (result.checks, result.matches, result.unconfirmed) == (3, 3, 0)
    assert result.match_rate == 1.0


def test_a_book_ticker_that_disagrees_is_a_miss(tmp_path):
    lines = capture_lines()
    lines[8] = ticker(113, "100.0", "1.500", "100.4", "0.500", ts=9)
    result = rebuild_binance(write_capture(tmp_path / "c.gz", lines))
    assert (result.checks, result.matches) == (3, 2)
    assert "after update 115" in result.misses[0]


def test_sequence_gap_names_file_line_and_reason(tmp_path):
    lines = capture_lines()
    lines[7] = diff(112, 115, 111, bids=[["100.1", "0"]], ts=8)
    path = write_capture(tmp_path / "c.gz", lines)
    with pytest.raises(FeedError) as raised:
        list(BinanceCapture(path))
    assert (raised.value.path, raised.value.line) == (str(path), 8)
    assert raised.value.reason == "sequence gap: pu 111 != previous u 110"


def test_snapshot_not_covered_by_the_first_diff_is_a_gap_at_that_diff(tmp_path):
    lines = capture_lines()
    lines[1] = diff(102, 104, 95, bids=[["100.1", "2.000"]], ts=2)
    path = write_capture(tmp_path / "c.gz", lines)
    with pytest.raises(FeedError) as raised:
        list(BinanceCapture(path))
    assert raised.value.line == 2
    assert "first diff after the snapshot covers 102..104, not lastUpdateId 100" in raised.value.reason


def test_crossed_book_names_file_line_and_reason(tmp_path):
    lines = capture_lines()
    lines[4] = diff(105, 110, 104, asks=[["100.1", "0.500"]], ts=5)
    path = write_capture(tmp_path / "c.gz", lines)
    with pytest.raises(FeedError) as raised:
        list(BinanceCapture(path))
    assert raised.value.line == 5
    assert raised.value.reason == "crossed book after update 110: best bid 1001 >= best ask 1001"


@pytest.mark.parametrize("text, reason", [
    ("12345", "expected '<receive ns> <json>'"),
    ("7 {\"stream\": ", "invalid JSON"),
    ("x7 {}", "receive time is not an integer"),
    (trade(2, "100.45", "0.250", False, ts=7), "100.45 is off the 0.1 grid"),
    (trade(2, "-100.4", "0.250", False, ts=7), "not a decimal string: '-100.4'"),
    (line(7, {"stream": "btcusdt@trade", "data": {"e": "trade", "p": "1.0"}}), "missing field"),
    (line(7, {"stream": "x", "data": {"e": "kline"}}), "unknown event type 'kline'"),
    (diff(111, "115", 110, ts=7), "u is not an integer: '115'"),
    (line(7, {"stream": "btcusdt@trade", "data": {"e": "trade", "E": 1, "T": 1, "t": 2, "p": "1.0",
                                                  "q": "1.000", "m": "true"}}), "m is not a boolean"),
    (line(7, [1, 2]), "unexpected message shape"),
    (ticker(109, "100.5", "1.000", "100.4", "1.000", ts=7), "crossed bookTicker"),
    (ticker(107, "100.1", "1.000", "100.4", "1.000", ts=7), "bookTicker update id 107 does not follow 108"),
    (trade(2, "100.4", "0.250", False, ts=5), "receive time goes backwards"),
])
def test_malformed_capture_line_names_file_line_and_reason(tmp_path, text, reason):
    lines = capture_lines()
    lines[6] = text
    path = write_capture(tmp_path / "c.gz", lines)
    with pytest.raises(FeedError) as raised:
        list(BinanceCapture(path))
    assert (raised.value.path, raised.value.line) == (str(path), 7)
    assert reason in raised.value.reason


def test_skip_option_counts_skipped_capture_lines(tmp_path):
    lines = capture_lines()
    lines[6] = "garbage"
    lines[7] = diff(112, 115, 111, bids=[["100.1", "0"]], ts=8)  # gap: depth pauses
    lines.append(diff(116, 118, 115, ts=11))                     # buffered, no snapshot follows
    path = write_capture(tmp_path / "c.gz", lines)
    capture = BinanceCapture(path, on_error="skip")
    events = list(capture)
    assert [(e.line, e.reason) for e in capture.skipped] == [
        (7, "expected '<receive ns> <json>'"), (8, "sequence gap: pu 111 != previous u 110")]
    assert sum(isinstance(e, DepthUpdate) for e in events) == 2
    assert capture.book.buffered == 1
    result = rebuild_binance(path, on_error="skip")
    assert len(result.skipped) == 2 and result.checks == 2 and result.match_rate == 1.0


def test_skip_mode_resumes_the_depth_stream_at_the_next_snapshot(tmp_path):
    lines = capture_lines()
    lines[7] = diff(112, 115, 111, bids=[["100.1", "0"]], ts=8)
    lines += [diff(116, 121, 115, bids=[["100.2", "1.000"]], ts=11),
              snapshot(118, [["100.2", "1.000"]], [["100.4", "0.500"]], ts=12),
              diff(122, 125, 121, asks=[["100.3", "0.100"]], ts=13)]
    capture = BinanceCapture(write_capture(tmp_path / "c.gz", lines), on_error="skip")
    depth = [e.last_id for e in capture if isinstance(e, DepthUpdate)]
    assert depth == [104, 110, 121, 125]
    assert capture.book.bbo() == ((1002, 1000), (1003, 100))


def test_on_error_must_be_raise_or_skip(tmp_path):
    with pytest.raises(ValueError, match="on_error"):
        BinanceCapture(tmp_path / "c.gz", on_error="ignore")  # type: ignore[arg-type]


# ---------------------------------------------------------------- playback

def trace_playback(events, *, other_timer_at: int | None = None) -> list:
    clock = SimClock()
    trace: list = []
    if other_timer_at is not None:
        clock.call_at(other_timer_at, lambda: trace.append((clock.now_ns(), "timer")))
    playback = play(clock, events, lambda e: trace.append((clock.now_ns(), e)))
    assert playback.run() == len(events)
    return trace


def test_playback_delivers_each_event_at_its_time_deterministically(tmp_path):
    events = list(LobsterMessages(lobster(tmp_path)[0]))
    first = trace_playback(events, other_timer_at=events[2].ts_ns)
    assert first == trace_playback(events, other_timer_at=events[2].ts_ns)
    assert [e for _, e in first if e != "timer"] == events
    assert all(at == e.ts_ns for at, e in first if e != "timer")
    # a timer set before playback started fires first among those due at the same time
    assert first[2] == (events[2].ts_ns, "timer")


def test_playback_is_lazy_and_never_runs_backwards():
    pulled: list[int] = []

    class Stamped:
        def __init__(self, ts_ns: int) -> None:
            self.ts_ns = ts_ns

    def source():
        for ts in (10, 20, 15, 30):
            pulled.append(ts)
            yield Stamped(ts)

    clock = SimClock()
    delivered: list[tuple[int, int]] = []
    playback = play(clock, source(), lambda e: delivered.append((clock.now_ns(), e.ts_ns)))
    assert pulled == [10]
    clock.advance_to(12)
    assert pulled == [10, 20] and delivered == [(10, 10)]
    playback.run()
    assert delivered == [(10, 10), (20, 20), (20, 15), (30, 30)]
    assert playback.done and clock.next_timer_ns() is None


def test_cancelled_playback_delivers_nothing_more():
    clock = SimClock()
    delivered: list[int] = []
    playback = play(clock, range(1, 5), delivered.append, at=lambda e: e * 10)
    clock.advance_to(20)
    playback.cancel()
    clock.advance_to(100)
    assert delivered == [1, 2] and playback.done
