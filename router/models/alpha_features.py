"""What the alpha-probability model (router/models/alpha.py) sees of a market: the level-1 book and
the trades of one instrument (a ``MarketTape``), and the state features computed from them at any
set of times (an ``AlphaState``, one row per time or per order).

The same function, ``state_at``, computes the features for fitting (thousands of sample times
over a recorded day) and live (``RecentMarket`` keeps the last minutes of one instrument's
market data and asks for the state now), so the router scores with exactly what the fit saw.

State features, each a number per row (signed by the order's side later, in alpha.py):
- ``spread_ticks``: ask - bid, in ticks.
- ``imbalance``: (bid size - ask size) / (bid size + ask size), in [-1, 1]; positive leans up.
- ``flow``: signed traded volume over the last ``FLOW_WINDOW_S`` (buyer-aggressor positive)
  over the total traded volume then; 0 when nothing traded.
- ``ret``: the mid's change over the last ``RETURN_WINDOW_S``, in units of the recent 1-second
  volatility times sqrt(window).
- ``since_trade_s``: seconds since the last trade (``VOL_WINDOW_S`` when none in the tape).
- ``sigma_1s``: the root mean square of the mid's 1-second changes over the last
  ``VOL_WINDOW_S`` (a floor of a tenth of a tick keeps a still market from dividing by zero).
- ``bid_hit_30s`` / ``ask_lifted_30s``: volume sold into the bid / bought from the ask in the last
  ``FLOW_WINDOW_S``: the trading at each touch, for the fill-probability model.

Prices are floats in the instrument's own units (dollars for LOBSTER, USDT for Binance), sizes in
its lots (shares, BTC).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from router.market.feeds.binance import BinanceCapture, BookTicker, Trade
from router.market.feeds.lobster import LobsterEventType, LobsterReplay, PRICE_SCALE

NS = 1_000_000_000
FLOW_WINDOW_S = 30.0
RETURN_WINDOW_S = 10.0
VOL_WINDOW_S = 300.0
_EXECUTIONS = (LobsterEventType.EXECUTE, LobsterEventType.EXECUTE_HIDDEN)


@dataclass(frozen=True)
class MarketTape:
    """One instrument's level-1 books (each in force from its time on) and trades, times sorted."""
    book_ns: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    bid_size: np.ndarray
    ask_size: np.ndarray
    trade_ns: np.ndarray
    trade_price: np.ndarray
    trade_signed: np.ndarray        # +size: the buyer took; -size: the seller took
    tick: float
    source: str = ""

    @property
    def start_ns(self) -> int:
        return int(self.book_ns[0])

    @property
    def end_ns(self) -> int:
        return int(self.book_ns[-1])

    def book_index(self, times_ns) -> np.ndarray:
        """The index of the book in force at each time (-1 before the first)."""
        return np.searchsorted(self.book_ns, np.asarray(times_ns, np.int64), side="right") - 1

    def mid_at(self, times_ns) -> np.ndarray:
        index = self.book_index(times_ns)
        mid = (self.bid + self.ask) / 2.0
        return np.where(index >= 0, mid[np.maximum(index, 0)], np.nan)


@dataclass(frozen=True)
class AlphaState:
    """The market around each row (an order, or a sample time): see the module docstring."""
    bid: np.ndarray
    ask: np.ndarray
    bid_size: np.ndarray
    ask_size: np.ndarray
    spread_ticks: np.ndarray
    imbalance: np.ndarray
    flow: np.ndarray
    ret: np.ndarray
    since_trade_s: np.ndarray
    sigma_1s: np.ndarray
    bid_hit_30s: np.ndarray
    ask_lifted_30s: np.ndarray
    tick: np.ndarray

    def __len__(self) -> int:
        return len(self.bid)

    @property
    def mid(self) -> np.ndarray:
        return (self.bid + self.ask) / 2.0

    def take(self, rows) -> "AlphaState":
        return AlphaState(*(getattr(self, f.name)[rows] for f in fields(self)))

    @classmethod
    def stack(cls, states: list["AlphaState"]) -> "AlphaState":
        """Many instruments' states as one, e.g. every working parent of an underlier."""
        return cls(*(np.concatenate([getattr(s, f.name) for s in states]) for f in fields(cls)))


def _window_sum(times: np.ndarray, values: np.ndarray, at: np.ndarray, window_ns: int) -> np.ndarray:
    """The sum of ``values`` whose time is in (at - window, at], for each ``at``."""
    cumulative = np.concatenate(([0.0], np.cumsum(values)))
    hi = np.searchsorted(times, at, side="right")
    lo = np.searchsorted(times, at - window_ns, side="right")
    return cumulative[hi] - cumulative[lo]


def state_at(tape: MarketTape, times_ns) -> AlphaState:
    """The state features at each time (module docstring), from the tape up to that time only."""
    at = np.asarray(times_ns, np.int64)
    index = tape.book_index(at)
    if np.any(index < 0):
        raise ValueError(f"{tape.source or 'tape'}: a state asked for before its first book")
    bid, ask = tape.bid[index], tape.ask[index]
    bid_size, ask_size = tape.bid_size[index], tape.ask_size[index]
    mid = (bid + ask) / 2.0
    depth = bid_size + ask_size
    imbalance = np.where(depth > 0, (bid_size - ask_size) / np.where(depth > 0, depth, 1.0), 0.0)

    window = int(FLOW_WINDOW_S * NS)
    signed = _window_sum(tape.trade_ns, tape.trade_signed, at, window)
    bought = _window_sum(tape.trade_ns, np.maximum(tape.trade_signed, 0.0), at, window)
    sold = _window_sum(tape.trade_ns, np.maximum(-tape.trade_signed, 0.0), at, window)
    total = bought + sold
    flow = np.where(total > 0, signed / np.where(total > 0, total, 1.0), 0.0)

    since = np.full(len(at), VOL_WINDOW_S)
    last_trade = np.searchsorted(tape.trade_ns, at, side="right") - 1
    if len(tape.trade_ns):
        traded = last_trade >= 0
        since[traded] = np.minimum((at[traded] - tape.trade_ns[last_trade[traded]]) / NS, VOL_WINDOW_S)

    steps = np.arange(int(VOL_WINDOW_S) + 1, dtype=np.int64) * NS
    grid = at[:, None] - steps[None, :]                       # now, 1 s ago, ..., VOL_WINDOW_S ago
    grid_mid = tape.mid_at(grid.ravel()).reshape(grid.shape)
    changes = grid_mid[:, :-1] - grid_mid[:, 1:]
    valid = np.isfinite(changes)
    count = valid.sum(axis=1)
    square = np.where(valid, changes, 0.0) ** 2
    sigma = np.sqrt(square.sum(axis=1) / np.maximum(count, 1))
    sigma = np.maximum(sigma, tape.tick / 10.0)

    before = tape.mid_at(at - int(RETURN_WINDOW_S * NS))
    ret = np.where(np.isfinite(before), (mid - before) / (sigma * np.sqrt(RETURN_WINDOW_S)), 0.0)
    spread_ticks = np.rint((ask - bid) / tape.tick)          # on the grid: float noise would pass for variation
    return AlphaState(bid, ask, bid_size, ask_size, spread_ticks, imbalance, flow, ret, since, sigma,
                      sold, bought, np.full(len(at), tape.tick))


def lobster_tape(message_path: str | Path, orderbook_path: str | Path, tick: float = 0.01) -> MarketTape:
    """A LOBSTER message file and its orderbook file, followed with LobsterReplay (every row
    checked against the book rebuilt from the one before). An execution's direction is the
    resting order's side, so the aggressor is the other one."""
    book_ns, books, trade_ns, trades = [], [], [], []
    for update in LobsterReplay(message_path, orderbook_path):
        event, levels = update.event, update.book
        if levels.best_bid is None or levels.best_ask is None:
            continue
        book_ns.append(event.ts_ns)
        books.append((levels.best_bid[0], levels.best_ask[0], levels.best_bid[1], levels.best_ask[1]))
        if event.type in _EXECUTIONS:
            trade_ns.append(event.ts_ns)
            trades.append((event.price, -event.direction * event.size))
    if not books:
        raise ValueError(f"{message_path}: no two-sided book in the file")
    b, t = np.array(books, float), np.array(trades, float).reshape(-1, 2)
    return MarketTape(np.array(book_ns, np.int64), b[:, 0] / PRICE_SCALE, b[:, 1] / PRICE_SCALE, b[:, 2], b[:, 3],
                      np.array(trade_ns, np.int64), t[:, 0] / PRICE_SCALE, t[:, 1], tick, Path(message_path).name)


def binance_tape(path: str | Path, price_decimals: int = 1, qty_decimals: int = 3) -> MarketTape:
    """A Binance USD-M capture: level 1 from its bookTicker stream (the exchange's own best bid
    and ask with their sizes, on every change), trades with ``m`` (buyer is the maker: the seller
    took). Times are receive times."""
    price_unit, qty_unit = 10.0 ** -price_decimals, 10.0 ** -qty_decimals
    book_ns, books, trade_ns, trades = [], [], [], []
    for event in BinanceCapture(path, price_tick_decimals=price_decimals, qty_step_decimals=qty_decimals):
        if isinstance(event, BookTicker):
            book_ns.append(event.ts_ns)
            books.append((event.bid[0], event.ask[0], event.bid[1], event.ask[1]))
        elif isinstance(event, Trade):
            trade_ns.append(event.ts_ns)
            trades.append((event.price, -event.qty if event.buyer_is_maker else event.qty))
    if not books:
        raise ValueError(f"{path}: no bookTicker in the capture")
    b, t = np.array(books, float), np.array(trades, float).reshape(-1, 2)
    return MarketTape(np.array(book_ns, np.int64), b[:, 0] * price_unit, b[:, 1] * price_unit, b[:, 2] * qty_unit,
                      b[:, 3] * qty_unit, np.array(trade_ns, np.int64), t[:, 0] * price_unit, t[:, 1] * qty_unit,
                      price_unit, Path(path).name)


class RecentMarket:
    """The last ``VOL_WINDOW_S`` (plus a margin) of one instrument's books and trades, for the
    live state: feed it every book change and trade on the clock's time, ask ``state(now)``."""

    def __init__(self, tick: float, keep_s: float = VOL_WINDOW_S + RETURN_WINDOW_S + 1.0) -> None:
        self.tick = tick
        self.keep_ns = int(keep_s * NS)
        self._books: deque[tuple[int, float, float, float, float]] = deque()
        self._trades: deque[tuple[int, float, float]] = deque()

    def on_book(self, ts_ns: int, bid: float, ask: float, bid_size: float, ask_size: float) -> None:
        self._books.append((ts_ns, bid, ask, bid_size, ask_size))
        self._trim(ts_ns)

    def on_trade(self, ts_ns: int, price: float, signed_size: float) -> None:
        self._trades.append((ts_ns, price, signed_size))
        self._trim(ts_ns)

    def _trim(self, now_ns: int) -> None:
        # the oldest book stays while the next one is still older than the window: it is the one in force there
        while len(self._books) > 1 and self._books[1][0] <= now_ns - self.keep_ns:
            self._books.popleft()
        while self._trades and self._trades[0][0] <= now_ns - self.keep_ns:
            self._trades.popleft()

    def tape(self) -> MarketTape:
        if not self._books:
            raise ValueError("no book yet")
        b = np.array(self._books, float)
        t = np.array(self._trades, float).reshape(-1, 3)
        return MarketTape(np.array([row[0] for row in self._books], np.int64), b[:, 1], b[:, 2], b[:, 3], b[:, 4],
                          np.array([row[0] for row in self._trades], np.int64), t[:, 1], t[:, 2], self.tick, "live")

    def state(self, now_ns: int) -> AlphaState:
        return state_at(self.tape(), [now_ns])


def is_binance(path: str | Path) -> bool:
    """A Binance capture (``<ns> <json>`` lines, usually gzipped) rather than a LOBSTER csv."""
    return not str(path).endswith(".csv")


def tape_from_files(data_path: str | Path, orderbook_path: str | Path | None = None) -> MarketTape:
    """A LOBSTER message file with its orderbook file, or a Binance capture."""
    if is_binance(data_path):
        if orderbook_path is not None:
            raise ValueError(f"{data_path}: a Binance capture carries its own book; no orderbook file is read")
        return binance_tape(data_path)
    if orderbook_path is None:
        raise ValueError(f"{data_path}: a LOBSTER message file needs its orderbook file for the level-1 sizes")
    return lobster_tape(data_path, orderbook_path)
