"""Recorded market data as the four numpy columns the replay core runs on (venues/sim/replay_core.py):
time (ns, never decreasing), kind, price in ticks, quantity in lots.

- ``binance_events``: a Binance USD-M capture read by router/market/feeds/binance.py (its
  checks included: sequence gaps, crossed books, malformed lines are errors naming file and
  line). A REST snapshot becomes a clear and one level event per price; each depth diff one
  level event per price; each trade one trade event with its aggressor (``m`` true: the buyer
  was the maker, so the seller took). bookTicker repeats what the diffs say and is left out.
  Time is the receive time; diffs held back for the snapshot play at the snapshot's time (the
  Playback rule, router/market/feeds/playback.py).
- ``lobster_events``: LOBSTER message and orderbook files (router/market/feeds/lobster.py). An
  execution (type 4, or 5 for hidden liquidity) is a trade whose aggressor is the other side of
  the resting order; then every visible level whose size differs from the previous orderbook
  row becomes a level event (a level that left the file's top N is set to 0: deeper levels are
  not recorded). Prices become ticks of ``tick_units`` LOBSTER units ($0.01 by default).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from router.market.feeds.binance import BinanceCapture, DepthSnapshot, DepthUpdate, Trade
from router.market.feeds.lobster import BUY, LobsterEventType, LobsterReplay

from .replay_core import ASK, BID, BUY_TRADE, CLEAR, SELL_TRADE


@dataclass(frozen=True)
class ReplayEvents:
    ts: np.ndarray      # int64 ns, non-decreasing
    kind: np.ndarray    # int8: replay_core BID, ASK, BUY_TRADE, SELL_TRADE, CLEAR
    tick: np.ndarray    # int64 price in ticks
    qty: np.ndarray     # int64 size in lots (0 removes a level)
    level: np.ndarray   # int64 index of a level event's price in ``prices`` (-1 for trades and clears)
    prices: np.ndarray  # int64 every price (ticks) a level event names, ascending
    price_tick: float   # what one tick is worth
    qty_step: float     # what one lot is
    source: str = ""

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @classmethod
    def from_rows(cls, rows, price_tick: float, qty_step: float, source: str = "") -> "ReplayEvents":
        """From (ts, kind, tick, qty) tuples, in time order (tests build small books this way)."""
        ts, kind, tick, qty = (list(column) for column in zip(*rows)) if rows else ([], [], [], [])
        stamps = np.maximum.accumulate(np.asarray(ts, np.int64)) if ts else np.zeros(0, np.int64)
        kinds = np.asarray(kind, np.int8)
        ticks = np.asarray(tick, np.int64)
        is_level = kinds <= ASK
        prices, ranks = np.unique(ticks[is_level], return_inverse=True)
        level = np.full(ticks.shape[0], -1, np.int64)
        level[is_level] = ranks
        return cls(stamps, kinds, ticks, np.asarray(qty, np.int64), level, prices.astype(np.int64),
                   price_tick, qty_step, source)


def binance_events(path: str | Path, price_tick: float = 0.1, qty_step: float = 0.001,
                   max_events: int | None = None) -> ReplayEvents:
    """``max_events``: stop reading once that many rows are made (the rest of the last message kept)."""
    rows: list[tuple[int, int, int, int]] = []
    add = rows.append
    last = -1
    for event in BinanceCapture(path, price_tick_decimals=_decimals(price_tick),
                                qty_step_decimals=_decimals(qty_step)):
        if max_events is not None and len(rows) >= max_events:
            break
        last = at = max(event.ts_ns, last)
        if isinstance(event, Trade):
            add((at, SELL_TRADE if event.buyer_is_maker else BUY_TRADE, event.price, event.qty))
        elif isinstance(event, (DepthUpdate, DepthSnapshot)):
            if isinstance(event, DepthSnapshot):
                add((at, CLEAR, 0, 0))
            for price, qty in event.bids:
                add((at, BID, price, qty))
            for price, qty in event.asks:
                add((at, ASK, price, qty))
    return ReplayEvents.from_rows(rows, price_tick, qty_step, str(path))


def lobster_events(message_path: str | Path, orderbook_path: str | Path, tick_units: int = 100) -> ReplayEvents:
    rows: list[tuple[int, int, int, int]] = []
    add = rows.append
    shown: dict[tuple[int, int], int] = {}       # (kind, tick) -> size in the previous row
    for update in LobsterReplay(message_path, orderbook_path):
        event, at = update.event, update.ts_ns
        if event.type in (LobsterEventType.EXECUTE, LobsterEventType.EXECUTE_HIDDEN):
            add((at, SELL_TRADE if event.direction == BUY else BUY_TRADE, event.price // tick_units, event.size))
        now = {(BID, price // tick_units): size for price, size in update.book.bids}
        now.update({(ASK, price // tick_units): size for price, size in update.book.asks})
        for key in shown.keys() - now.keys():
            add((at, key[0], key[1], 0))
        for key, size in now.items():
            if shown.get(key) != size:
                add((at, key[0], key[1], size))
        shown = now
    return ReplayEvents.from_rows(rows, tick_units / 10_000, 1.0, str(message_path))


def _decimals(step: float) -> int:
    text = f"{step:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0
