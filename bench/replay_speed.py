"""Replay speed of the replay venue (venues/sim/replay.py) beside hftbacktest, on the Binance USD-M
BTCUSDT capture in ../shared/data, with the same resting orders and the same queue model.

Run: python bench/replay_speed.py [--quick] [--queue risk_averse|power1|power2|power3|log] [--repeats N]

Both replay the same event columns (venues/sim/replay_events.py reads the capture once; the
hftbacktest rows are made from those columns here, every row both an exchange and a local event
at the receive time, so neither side has a feed latency). A fixed schedule of one-lot
(0.001 BTC) resting orders is placed, evenly spread over the replay: alternately a buy at the
best bid and a sell at the best ask as each side's own book shows it when the order is sent,
reaching the exchange after a constant 1 ms entry latency. Ours is the ReplayVenue on a SimClock
with lookahead (every input comes by a clock timer), driven exactly as a backtest drives it;
hftbacktest is its HashMapMarketDepthBacktest with the matching queue model
(RiskAdverseQueueModel, power_prob_queue_model(n) or log_prob_queue_model) and its
no-partial-fill exchange (a one-lot order fills whole either way).

Events per second: recorded rows / wall time of the replay, the median of ``--repeats`` runs
after one untimed warm-up (numba compiles, caches fill); building either side's state is not
timed. Fill times agree when every order fills at the same recorded event time on both sides, or
neither fills: tolerance 0 ns, since both stamp a fill with the time of the event that caused
it. Where they differ the reason is printed; the known one is that hftbacktest also fills a
resting order when the recorded opposite best reaches its price without a trade, which ours,
by design (seed 002: a touch or a quote is no fill), does not.
Last line: ``ours_events_per_s=… hftbacktest_events_per_s=… ratio=… fill_times_agree=…``.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable without installing

from router.clock import SimClock  # noqa: E402
from router.domain.enums import Side, TimeInForce  # noqa: E402
from router.domain.events import ChildFilled, SubmitChild  # noqa: E402
from venues.fees import FeeSchedule, VenueFees  # noqa: E402
from venues.sim import replay_core as core  # noqa: E402
from venues.sim.replay import BINANCE_PERP_SYMBOL, BINANCE_PERP_VENUE, ReplayVenue  # noqa: E402
from venues.sim.replay_events import ReplayEvents, binance_events  # noqa: E402

CAPTURE = Path(__file__).resolve().parents[2] / "shared" / "data" / "binance_usdm_btcusdt_20240808.gz"
LATENCY_NS = 1_000_000
ORDERS, QUICK_ORDERS = 8, 4
QUICK_EVENTS = 150_000
FEES = FeeSchedule([VenueFees(BINANCE_PERP_VENUE, taker=0.0, maker=0.0)])


def schedule(events: ReplayEvents, count: int) -> tuple[np.ndarray, np.ndarray]:
    """When each order is sent (1 ns after a recorded time, so no tie with an event) and its side."""
    first, last = int(events.ts[0]), int(events.ts[-1])
    times = np.array([first + (last - first) * (k + 1) // (count + 1) for k in range(count)], np.int64)
    stamps = events.ts[np.searchsorted(events.ts, times, side="right") - 1] + 1
    sides = np.array([1 if k % 2 == 0 else -1 for k in range(count)], np.int64)
    return stamps, sides


# ---- ours

def run_ours(events: ReplayEvents, times: np.ndarray, sides: np.ndarray, queue: str) -> tuple[float, list, list]:
    clock = SimClock(int(events.ts[0]))
    fills: dict[str, int] = {}
    ticks: list[int] = []

    def on_report(report) -> None:
        if isinstance(report, ChildFilled) and report.child_id not in fills:
            fills[report.child_id] = clock.now_ns() - LATENCY_NS       # back to the venue's time
    venue = ReplayVenue(BINANCE_PERP_VENUE, clock, FEES, events, LATENCY_NS, 0, on_report,
                        queue_model=queue, lookahead_ns=10**15)
    for k, (at, side) in enumerate(zip(times.tolist(), sides.tolist())):
        def send(k=k, is_buy=side == 1) -> None:
            best = venue.book.best(is_buy)
            ticks.append(best[0])
            venue.submit(SubmitChild(f"R{k}", venue.name, BINANCE_PERP_SYMBOL, Side.BUY if is_buy else Side.SELL,
                                     1, venue.price_of(best[0]), TimeInForce.GTC))
        clock.call_at(at, send)
    end = int(events.ts[-1]) + 10 * LATENCY_NS
    started = time.perf_counter()
    clock.advance_to(end)
    elapsed = time.perf_counter() - started
    assert venue.done and venue.book.applied == len(events)
    return elapsed, ticks, [fills.get(f"R{k}") for k in range(len(times))]


# ---- hftbacktest

def hftbacktest_rows(events: ReplayEvents):
    from hftbacktest.types import (BUY_EVENT, DEPTH_CLEAR_EVENT, DEPTH_EVENT, EXCH_EVENT, LOCAL_EVENT, SELL_EVENT,
                                   TRADE_EVENT, event_dtype)
    flags = np.array([DEPTH_EVENT | BUY_EVENT, DEPTH_EVENT | SELL_EVENT, TRADE_EVENT | BUY_EVENT,
                      TRADE_EVENT | SELL_EVENT, DEPTH_CLEAR_EVENT], np.uint64)
    assert (core.BID, core.ASK, core.BUY_TRADE, core.SELL_TRADE, core.CLEAR) == (0, 1, 2, 3, 4)
    rows = np.zeros(len(events), event_dtype)
    rows["ev"] = flags[events.kind] | np.uint64(EXCH_EVENT | LOCAL_EVENT)
    rows["exch_ts"] = events.ts
    rows["local_ts"] = events.ts
    rows["px"] = events.tick * events.price_tick
    rows["qty"] = events.qty * events.qty_step
    return rows


def hftbacktest_driver():
    from numba import njit
    from hftbacktest import FILLED, GTC, LIMIT

    @njit
    def drive(hbt, times, sides, end, ticks, fill_ts):
        hbt.elapse(0)                      # its clock starts at the first row (before, it reads i64 max)
        for k in range(times.shape[0]):
            hbt.elapse(times[k] - hbt.current_timestamp)
            depth = hbt.depth(0)
            if sides[k] == 1:
                ticks[k] = depth.best_bid_tick
                hbt.submit_buy_order(0, k + 1, ticks[k] * depth.tick_size, depth.lot_size, GTC, LIMIT, False)
            else:
                ticks[k] = depth.best_ask_tick
                hbt.submit_sell_order(0, k + 1, ticks[k] * depth.tick_size, depth.lot_size, GTC, LIMIT, False)
        hbt.elapse(end - hbt.current_timestamp)
        orders = hbt.orders(0)
        for k in range(times.shape[0]):
            order = orders.get(k + 1)
            if order is not None and order.status == FILLED:
                fill_ts[k] = order.exch_timestamp
        return 0
    return drive


def run_hftbacktest(rows, events: ReplayEvents, times, sides, queue: str, drive) -> tuple[float, list, list]:
    from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest
    asset = (BacktestAsset().data(rows).linear_asset(1.0).constant_order_latency(LATENCY_NS, LATENCY_NS)
             .no_partial_fill_exchange().trading_value_fee_model(0.0, 0.0)
             .tick_size(events.price_tick).lot_size(events.qty_step).last_trades_capacity(0))
    if queue == "risk_averse":
        asset = asset.risk_adverse_queue_model()
    elif queue == "log":
        asset = asset.log_prob_queue_model()
    else:
        asset = asset.power_prob_queue_model(float(queue.removeprefix("power")))
    hbt = HashMapMarketDepthBacktest([asset])
    ticks = np.zeros(len(times), np.int64)
    fill_ts = np.full(len(times), -1, np.int64)
    end = int(events.ts[-1]) + 10 * LATENCY_NS
    started = time.perf_counter()
    drive(hbt, times, sides, end, ticks, fill_ts)
    elapsed = time.perf_counter() - started
    hbt.close()
    return elapsed, ticks.tolist(), [None if t < 0 else int(t) for t in fill_ts.tolist()]


def explain(events: ReplayEvents, ours: int | None, theirs: int | None, side: int, queue: str) -> str:
    """Why two fill times differ: was there a recorded trade on the order's side at hftbacktest's time?"""
    if theirs is None:
        return "only ours filled"
    at = (events.ts == theirs)
    hitting = core.SELL_TRADE if side == 1 else core.BUY_TRADE
    if not np.any(at & (events.kind == hitting)):
        return "hftbacktest filled on a book cross without a trade (ours waits for a trade)"
    if queue != "risk_averse" and (ours is None or ours > theirs):
        # hftbacktest 2.4 rounds the overflow past a fractional front (0.9 lot -> 1); ours floors it
        # (router/models/queue.py filled_qty), so a probabilistic model's fill can come a trade later
        return "both at trades: hftbacktest rounds a fractional overflow past the front up, ours floors it"
    return "different fill times, both at trades"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"about the first {QUICK_EVENTS} events, for CI")
    parser.add_argument("--queue", default="risk_averse", help="queue model (router/models/queue.py names)")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    if not CAPTURE.exists():
        print(f"{CAPTURE} is absent: nothing to replay", file=sys.stderr)
        return 2
    repeats = args.repeats or (3 if args.quick else 5)
    events = binance_events(CAPTURE, max_events=QUICK_EVENTS if args.quick else None)
    times, sides = schedule(events, QUICK_ORDERS if args.quick else ORDERS)
    print(f"{len(events)} recorded events ({CAPTURE.name}{', quick' if args.quick else ''}), "
          f"{len(times)} one-lot resting orders, queue model {args.queue}, {repeats} timed runs each")

    rows = hftbacktest_rows(events)
    drive = hftbacktest_driver()
    run_ours(events, times, sides, args.queue)                           # warm-ups: numba loads or compiles
    run_hftbacktest(rows, events, times, sides, args.queue, drive)
    ours, theirs = [], []
    for _ in range(repeats):                # taken in turns, so a busy machine slows both alike
        ours.append(run_ours(events, times, sides, args.queue))
        theirs.append(run_hftbacktest(rows, events, times, sides, args.queue, drive))

    ours_rate = len(events) / statistics.median(r[0] for r in ours)
    their_rate = len(events) / statistics.median(r[0] for r in theirs)
    _, our_ticks, our_fills = ours[0]
    _, their_ticks, their_fills = theirs[0]
    agree = our_ticks == their_ticks and our_fills == their_fills
    same = sum(a == b for a, b in zip(our_fills, their_fills))
    for k in range(len(times)):
        side = "buy " if sides[k] == 1 else "sell"
        line = (f"  order {k}: {side} at tick {our_ticks[k]} (hftbacktest {their_ticks[k]}), "
                f"fill at ours={our_fills[k]} hftbacktest={their_fills[k]}")
        if our_fills[k] != their_fills[k]:
            line += f"  <- {explain(events, our_fills[k], their_fills[k], int(sides[k]), args.queue)}"
        print(line)
    print(f"ours: {ours_rate:,.0f} events/s; hftbacktest {their_rate:,.0f} events/s; "
          f"fill times agree on {same} of {len(times)} orders (tolerance 0 ns)")
    print(f"ours_events_per_s={ours_rate:.0f} hftbacktest_events_per_s={their_rate:.0f} "
          f"ratio={ours_rate / their_rate:.2f} fill_times_agree={agree}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
