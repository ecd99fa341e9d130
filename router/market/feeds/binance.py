"""Binance USD-M futures captures: one line per message, ``<receive ns> <raw JSON>``, holding
``depth@…`` diffs, ``trade``, ``bookTicker`` and REST depth snapshots (``lastUpdateId``).

Prices and quantities become integers on the symbol's grid (BTCUSDT: tick 0.1, step 0.001), so
books never compare floats.

Book synchronisation follows Binance's rules for USD-M futures: buffer diffs until a snapshot,
drop those with ``u < lastUpdateId``, the first applied must have ``U <= lastUpdateId <= u`` and
each later one ``pu`` equal to the previous ``u``; anything else is a sequence gap.

How the rebuilt book is checked against bookTicker: both carry the exchange's update id, and
bookTicker is pushed on every change of the best bid or ask. So after the diff ending at update
``u`` is applied, the best bid/ask in force is that of the last bookTicker with update id <= u.
The check waits until a bookTicker at or beyond ``u`` has arrived (proof that the ticker stream
covers ``u``); receive order across the two streams does not matter.
"""
from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

from router.market.feeds.errors import BookError, ErrorPolicy, FeedError, OnError, open_text

Quote = tuple[int, int]  # (price ticks, quantity steps)
Bbo = tuple[Quote | None, Quote | None]  # (best bid, best ask)

_DECIMAL = re.compile(r"(\d+)(?:\.(\d+))?")


@dataclass(frozen=True, slots=True)
class DepthUpdate:
    ts_ns: int  # receive time
    event_ms: int
    transact_ms: int
    first_id: int  # U
    last_id: int  # u
    prev_last_id: int  # pu
    bids: tuple[Quote, ...]  # quantity 0 removes the level
    asks: tuple[Quote, ...]


@dataclass(frozen=True, slots=True)
class DepthSnapshot:
    ts_ns: int
    event_ms: int
    transact_ms: int
    last_update_id: int
    bids: tuple[Quote, ...]
    asks: tuple[Quote, ...]


@dataclass(frozen=True, slots=True)
class Trade:
    ts_ns: int
    event_ms: int
    trade_ms: int
    trade_id: int
    price: int
    qty: int
    buyer_is_maker: bool  # True: the seller was the aggressor


@dataclass(frozen=True, slots=True)
class BookTicker:
    ts_ns: int
    event_ms: int
    transact_ms: int
    update_id: int
    bid: Quote
    ask: Quote

    @property
    def bbo(self) -> Bbo:
        return self.bid, self.ask


BinanceEvent = DepthUpdate | DepthSnapshot | Trade | BookTicker


class BinanceBook:
    """An L2 book kept in sync with the rules above. Feed it every snapshot and diff, live or
    replayed; ``apply`` returns the diffs that entered the book (a snapshot releases the ones
    buffered before it). After a gap or a crossed book it drops its sync and buffers again until
    the next snapshot, as a live client would re-fetch one."""

    __slots__ = ("bids", "asks", "update_id", "dropped", "_first", "_buffer", "_best_bid",
                 "_best_ask")

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.update_id: int | None = None  # None until synced
        self.dropped = 0  # diffs older than the snapshot they waited for
        self._first = False
        self._buffer: list[tuple[DepthUpdate, int]] = []
        self._best_bid: int | None = None
        self._best_ask: int | None = None

    @property
    def synced(self) -> bool:
        return self.update_id is not None

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def best_bid(self) -> Quote | None:
        price = self._best_bid
        return None if price is None else (price, self.bids[price])

    def best_ask(self) -> Quote | None:
        price = self._best_ask
        return None if price is None else (price, self.asks[price])

    def bbo(self) -> Bbo:
        return self.best_bid(), self.best_ask()

    def apply(self, event: DepthUpdate | DepthSnapshot, line: int = 0) -> list[DepthUpdate]:
        """Raises BookError (with the line of the offending diff when it was buffered)."""
        if isinstance(event, DepthSnapshot):
            return self._on_snapshot(event)
        return [event] if self._on_diff(event, line) else []

    def _on_snapshot(self, snapshot: DepthSnapshot) -> list[DepthUpdate]:
        self.bids = dict(snapshot.bids)
        self.asks = dict(snapshot.asks)
        self._best_bid = max(self.bids, default=None)
        self._best_ask = min(self.asks, default=None)
        self.update_id = snapshot.last_update_id
        self._first = True
        self._check_crossed()
        buffered, self._buffer = self._buffer, []
        applied = []
        for index, (diff, line) in enumerate(buffered):
            try:
                if self._on_diff(diff, line):
                    applied.append(diff)
            except BookError:
                self._buffer.extend(buffered[index + 1:])
                raise
        return applied

    def _on_diff(self, diff: DepthUpdate, line: int) -> bool:
        if self.update_id is None:
            self._buffer.append((diff, line))
            return False
        if self._first:
            if diff.last_id < self.update_id:
                self.dropped += 1
                return False
            if not diff.first_id <= self.update_id <= diff.last_id:
                snapshot_id = self.update_id
                self._lose_sync()
                raise BookError(f"sequence gap: first diff after the snapshot covers "
                                f"{diff.first_id}..{diff.last_id}, not lastUpdateId "
                                f"{snapshot_id}", line)
            self._first = False
        elif diff.prev_last_id != self.update_id:
            expected = self.update_id
            self._lose_sync()
            raise BookError(f"sequence gap: pu {diff.prev_last_id} != previous u {expected}",
                            line)
        self._best_bid = _update(self.bids, diff.bids, self._best_bid, True)
        self._best_ask = _update(self.asks, diff.asks, self._best_ask, False)
        self.update_id = diff.last_id
        self._check_crossed(line)
        return True

    def _check_crossed(self, line: int = 0) -> None:
        bid, ask = self._best_bid, self._best_ask
        if bid is not None and ask is not None and bid >= ask:
            at = self.update_id
            self._lose_sync()
            raise BookError(f"crossed book after update {at}: best bid {bid} >= best ask {ask}",
                            line)

    def _lose_sync(self) -> None:
        self.update_id = None
        self._first = False


def _update(levels: dict[int, int], changes: tuple[Quote, ...], best: int | None,
            is_bid: bool) -> int | None:
    stale = False
    for price, qty in changes:
        if qty:
            levels[price] = qty
            if not stale and (best is None or (price > best if is_bid else price < best)):
                best = price
        elif levels.pop(price, None) is not None and price == best:
            stale = True
    if stale:
        best = (max(levels) if is_bid else min(levels)) if levels else None
    return best


class BinanceCapture:
    """The events of a capture file, checked as they are read: malformed lines, receive time
    going backwards, bookTicker update ids going backwards, crossed quotes, and (through an
    internal BinanceBook) sequence gaps and crossed books, each a FeedError naming file and line.

    The depth stream comes out synchronised: diffs received before the snapshot are held back
    and yielded right after it (keeping their own receive time), diffs older than the snapshot
    are dropped (``dropped``), so a BinanceBook fed with the output never meets a gap. With
    ``on_error="skip"`` the bad line is left out and recorded in ``skipped``; after a gap the
    depth stream pauses until the next snapshot."""

    def __init__(self, path: str | Path, *, price_tick_decimals: int = 1,
                 qty_step_decimals: int = 3, on_error: OnError = "raise") -> None:
        self.path = Path(path)
        self.policy = ErrorPolicy(on_error)
        self.book = BinanceBook()  # read ahead of any consumer: not for strategies to look at
        self.lines = 0
        self._price = _units_parser(price_tick_decimals)
        self._qty = _units_parser(qty_step_decimals)

    @property
    def skipped(self) -> list[FeedError]:
        return self.policy.skipped

    @property
    def dropped(self) -> int:
        return self.book.dropped

    def __iter__(self) -> Iterator[BinanceEvent]:
        last_ns = last_ticker = -1
        fail = self.policy.fail
        with open_text(self.path) as handle:
            for line, text in enumerate(handle, 1):
                self.lines = line
                try:
                    event = self._parse(text)
                    if event.ts_ns < last_ns:
                        raise ValueError(f"receive time goes backwards: {event.ts_ns} < {last_ns}")
                    if isinstance(event, BookTicker):
                        if event.update_id <= last_ticker:
                            raise ValueError(f"bookTicker update id {event.update_id} does not "
                                             f"follow {last_ticker}")
                        last_ticker = event.update_id
                except ValueError as error:
                    fail(self.path, line, str(error))
                    continue
                last_ns = event.ts_ns
                if isinstance(event, (BookTicker, Trade)):
                    yield event
                    continue
                try:
                    released = self.book.apply(event, line)
                except BookError as error:
                    fail(self.path, error.line or line, str(error))
                    continue
                if isinstance(event, DepthSnapshot):
                    yield event
                yield from released

    def _parse(self, text: str) -> BinanceEvent:
        stamp, space, raw = text.partition(" ")
        if not space:
            raise ValueError("expected '<receive ns> <json>'")
        try:
            ts_ns = int(stamp)
            message = json.loads(raw)
        except ValueError as error:
            if isinstance(error, json.JSONDecodeError):
                raise ValueError(f"invalid JSON: {error.msg} at column {error.colno}") from None
            raise ValueError(f"receive time is not an integer: {stamp!r}") from None
        try:
            if "lastUpdateId" in message:
                return DepthSnapshot(ts_ns, *_ints(message, "E", "T", "lastUpdateId"),
                                     self._levels(message["bids"]), self._levels(message["asks"]))
            data = message["data"]
            kind = data["e"]
            if kind == "depthUpdate":
                return DepthUpdate(ts_ns, *_ints(data, "E", "T", "U", "u", "pu"),
                                   self._levels(data["b"]), self._levels(data["a"]))
            if kind == "bookTicker":
                bid = (self._price(data["b"]), self._qty(data["B"]))
                ask = (self._price(data["a"]), self._qty(data["A"]))
                if bid[0] >= ask[0]:
                    raise ValueError(f"crossed bookTicker: bid {data['b']} >= ask {data['a']}")
                return BookTicker(ts_ns, *_ints(data, "E", "T", "u"), bid, ask)
            if kind == "trade":
                if not isinstance(data["m"], bool):
                    raise ValueError(f"m is not a boolean: {data['m']!r}")
                return Trade(ts_ns, *_ints(data, "E", "T", "t"), self._price(data["p"]),
                             self._qty(data["q"]), data["m"])
        except KeyError as error:
            raise ValueError(f"missing field {error.args[0]!r}") from None
        except TypeError:
            raise ValueError("unexpected message shape") from None
        raise ValueError(f"unknown event type {kind!r}")

    def _levels(self, levels: list) -> tuple[Quote, ...]:
        price, qty = self._price, self._qty
        return tuple((price(p), qty(q)) for p, q in levels)


def _ints(data: dict, *keys: str) -> tuple[int, ...]:
    values = tuple(data[key] for key in keys)
    for key, value in zip(keys, values):
        if type(value) is not int:
            raise ValueError(f"{key} is not an integer: {value!r}")
    return values


def _units_parser(decimals: int) -> Callable[[str], int]:
    @lru_cache(maxsize=1 << 16)
    def units(text: str) -> int:
        match = _DECIMAL.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"not a decimal string: {text!r}")
        whole, frac = match.group(1), match.group(2) or ""
        if frac[decimals:].strip("0"):
            raise ValueError(f"{text} is off the {10 ** -decimals:g} grid")
        return int(whole + frac[:decimals].ljust(decimals, "0"))

    return units


@dataclass(slots=True)
class BinanceCheck:
    lines: int = 0
    depth_updates: int = 0  # diffs applied
    dropped: int = 0  # diffs older than the snapshot
    trades: int = 0
    tickers: int = 0
    checks: int = 0  # applied diffs compared with the bookTicker in force at their update id
    matches: int = 0
    exact_checks: int = 0  # the subset where a bookTicker carries the diff's own update id
    exact_matches: int = 0
    unaligned: int = 0  # diffs older than the first bookTicker
    unconfirmed: int = 0  # diffs after the last bookTicker: its stream may have ended
    misses: list[str] = field(default_factory=list)
    skipped: list[FeedError] = field(default_factory=list)

    @property
    def match_rate(self) -> float:
        return self.matches / self.checks if self.checks else 0.0


class BboCheck:
    """Pairs the rebuilt best bid/ask after each applied diff with the bookTicker in force at
    that update id (see the module docstring). Keeps only the tickers it may still need."""

    def __init__(self, result: BinanceCheck) -> None:
        self.result = result
        self._pending: deque[tuple[int, Bbo]] = deque()
        self._tickers: deque[BookTicker] = deque()
        self._floor = -1  # update id of the last diff seen

    def on_book(self, update_id: int, bbo: Bbo) -> None:
        self._pending.append((update_id, bbo))
        self._floor = update_id
        self._resolve()

    def on_ticker(self, ticker: BookTicker) -> None:
        tickers = self._tickers
        tickers.append(ticker)
        oldest_needed = self._pending[0][0] if self._pending else self._floor
        while len(tickers) > 1 and tickers[1].update_id <= oldest_needed:
            tickers.popleft()
        self._resolve()

    def finish(self) -> None:
        self.result.unconfirmed += len(self._pending)
        self._pending.clear()

    def _resolve(self) -> None:
        pending, tickers, result = self._pending, self._tickers, self.result
        while pending and tickers and tickers[-1].update_id >= pending[0][0]:
            update_id, bbo = pending.popleft()
            while len(tickers) > 1 and tickers[1].update_id <= update_id:
                tickers.popleft()
            ticker = tickers[0]
            if ticker.update_id > update_id:
                result.unaligned += 1
                continue
            result.checks += 1
            same = ticker.bbo == bbo
            result.matches += same
            if ticker.update_id == update_id:
                result.exact_checks += 1
                result.exact_matches += same
            if not same and len(result.misses) < 10:
                result.misses.append(f"after update {update_id}: book {bbo}, bookTicker "
                                     f"{ticker.update_id} {ticker.bbo}")


def rebuild_binance(path: str | Path, *, on_error: OnError = "raise") -> BinanceCheck:
    """Replay a capture into a BinanceBook, as a backtest consumer would, and check its best
    bid/ask against bookTicker."""
    capture = BinanceCapture(path, on_error=on_error)
    result = BinanceCheck()
    check = BboCheck(result)
    book = BinanceBook()
    for event in capture:
        if isinstance(event, BookTicker):
            result.tickers += 1
            check.on_ticker(event)
        elif isinstance(event, Trade):
            result.trades += 1
        else:
            for diff in book.apply(event):
                result.depth_updates += 1
                check.on_book(diff.last_id, book.bbo())
    check.finish()
    result.lines = capture.lines
    result.dropped = capture.dropped
    result.skipped = capture.skipped
    return result
