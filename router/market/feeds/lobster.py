"""LOBSTER message and orderbook files (https://lobsterdata.com), at any level count.

A level-N message file only reports events inside the top N price levels, and row i of the
orderbook file is the book after message i. ``LobsterReplay`` rebuilds the top N levels from
the messages and checks every row against that prediction. One thing the messages cannot
tell: when a level inside the top N empties, the level that moves up from below was never
described (its orders arrived while it was deeper). That level is "revealed" and taken from
the orderbook row; everything else in the row must match exactly.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import IntEnum
from itertools import zip_longest
from pathlib import Path
from zoneinfo import ZoneInfo

from router.clock import datetime_to_ns
from router.market.feeds.errors import BookError, ErrorPolicy, FeedError, OnError, open_text

PRICE_SCALE = 10_000  # LOBSTER prices are dollars * 10_000: integer ticks of $0.0001
EMPTY_ASK = 9_999_999_999
EMPTY_BID = -9_999_999_999
BUY, SELL = 1, -1

Level = tuple[int, int]  # (price, size)

_SECONDS = re.compile(r"(\d+)(?:\.(\d{1,9}))?")


class LobsterEventType(IntEnum):
    SUBMIT = 1
    CANCEL = 2  # partial
    DELETE = 3
    EXECUTE = 4  # a visible order
    EXECUTE_HIDDEN = 5
    CROSS = 6  # auction trade
    HALT = 7


_REMOVES = (LobsterEventType.CANCEL, LobsterEventType.DELETE, LobsterEventType.EXECUTE)


@dataclass(frozen=True, slots=True)
class LobsterEvent:
    ts_ns: int  # since midnight, or since the epoch when the reader was given a date
    type: LobsterEventType
    order_id: int
    size: int
    price: int  # ticks of $0.0001
    direction: int  # side of the resting limit order: 1 buy, -1 sell

    @property
    def is_buy(self) -> bool:
        return self.direction == BUY


@dataclass(frozen=True, slots=True)
class LobsterLevels:
    """One orderbook-file row; empty levels (the ±9999999999 dummies) are left out."""

    asks: tuple[Level, ...]
    bids: tuple[Level, ...]

    @property
    def best_bid(self) -> Level | None:
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> Level | None:
        return self.asks[0] if self.asks else None


@dataclass(frozen=True, slots=True)
class LobsterUpdate:
    """A message and the book after it."""

    event: LobsterEvent
    book: LobsterLevels

    @property
    def ts_ns(self) -> int:
        return self.event.ts_ns


@dataclass(slots=True)
class LobsterCheck:
    rows: int = 0  # message/orderbook row pairs read
    seeded: int = 0  # rows taken as the starting book (the first, and after a skipped line)
    checked: int = 0  # rows compared with the book rebuilt from the previous one + the message
    mismatches: int = 0
    revealed: int = 0  # checked rows where a level emptied and the one below came from the file
    examples: list[str] = field(default_factory=list)  # the first mismatches, described
    skipped: list[FeedError] = field(default_factory=list)  # with on_error="skip"


class LobsterBook:
    """The top ``levels`` price levels per side, best first."""

    __slots__ = ("levels", "bids", "asks")

    def __init__(self, levels: int) -> None:
        self.levels = levels
        self.bids: list[Level] = []
        self.asks: list[Level] = []

    def seed(self, row: LobsterLevels) -> None:
        self.bids = list(row.bids)
        self.asks = list(row.asks)

    def apply(self, event: LobsterEvent) -> int | None:
        """Apply one message. Returns the price of a level that emptied while the side was full,
        i.e. when the level moving up into the top N is unknown; otherwise None."""
        kind = event.type
        if kind != LobsterEventType.SUBMIT and kind not in _REMOVES:
            return None
        is_bid = event.direction == BUY
        side = self.bids if is_bid else self.asks
        price = event.price
        index = 0
        while index < len(side) and (side[index][0] > price if is_bid else side[index][0] < price):
            index += 1
        at_level = index < len(side) and side[index][0] == price
        revealed = None
        if kind == LobsterEventType.SUBMIT:
            if at_level:
                side[index] = (price, side[index][1] + event.size)
            elif index < self.levels:
                side.insert(index, (price, event.size))
                del side[self.levels:]
            else:
                raise BookError(f"submission at {price} is below the top {self.levels} levels")
        else:
            if not at_level:
                raise BookError(f"{kind.name.lower()} at {price}: no such level on the "
                                f"{'bid' if is_bid else 'ask'} side")
            left = side[index][1] - event.size
            if left < 0:
                raise BookError(f"{kind.name.lower()} of {event.size} at {price} exceeds the "
                                f"{side[index][1]} shown")
            if left:
                side[index] = (price, left)
            else:
                revealed = price if len(side) == self.levels else None
                del side[index]
        if self.bids and self.asks and self.bids[0][0] >= self.asks[0][0]:
            raise BookError(f"crossed book: bid {self.bids[0][0]} >= ask {self.asks[0][0]}")
        return revealed

    def matches(self, row: LobsterLevels, direction: int, revealed: int | None) -> bool:
        return (_same(self.bids, row.bids, revealed if direction == BUY else None, True)
                and _same(self.asks, row.asks, revealed if direction == SELL else None, False))


def _same(rebuilt: list[Level], actual: tuple[Level, ...], revealed: int | None,
          is_bid: bool) -> bool:
    if revealed is None:
        return tuple(rebuilt) == actual
    known = len(rebuilt)
    if tuple(rebuilt) != actual[:known] or len(actual) > known + 1:
        return False
    if len(actual) == known:
        return True
    new_price = actual[known][0]
    return new_price < revealed if is_bid else new_price > revealed


class LobsterMessages:
    """The events of a LOBSTER message file, with or without a header line."""

    def __init__(self, path: str | Path, *, day: date | None = None,
                 tz: str = "America/New_York", on_error: OnError = "raise") -> None:
        self.path = Path(path)
        self.policy = ErrorPolicy(on_error)
        self._day_ns = _midnight_ns(day, tz)

    @property
    def skipped(self) -> list[FeedError]:
        return self.policy.skipped

    def __iter__(self) -> Iterator[LobsterEvent]:
        parse = _MessageParser(self._day_ns)
        with open_text(self.path) as handle:
            for line, text in _data_lines(handle):
                try:
                    event = parse(text)
                except ValueError as error:
                    self.policy.fail(self.path, line, str(error))
                    continue
                yield event


class LobsterOrderbook:
    """The rows of a LOBSTER orderbook file; the level count comes from the column count."""

    def __init__(self, path: str | Path, *, on_error: OnError = "raise") -> None:
        self.path = Path(path)
        self.policy = ErrorPolicy(on_error)

    @property
    def skipped(self) -> list[FeedError]:
        return self.policy.skipped

    def __iter__(self) -> Iterator[LobsterLevels]:
        levels: int | None = None
        with open_text(self.path) as handle:
            for line, text in _data_lines(handle):
                try:
                    row = parse_levels(text, levels)
                except ValueError as error:
                    self.policy.fail(self.path, line, str(error))
                    continue
                levels = (text.count(",") + 1) // 4
                yield row


class LobsterReplay:
    """Messages paired with orderbook rows, each row checked against the book rebuilt from the
    previous row and the message (results in ``check``). A message that cannot apply to the book
    (a crossing submission, a delete of a level that is not there) is bad input, like a
    malformed or crossed row; a well-formed row that merely disagrees counts as a mismatch."""

    def __init__(self, message_path: str | Path, orderbook_path: str | Path, *,
                 day: date | None = None, tz: str = "America/New_York",
                 on_error: OnError = "raise") -> None:
        self.message_path = Path(message_path)
        self.orderbook_path = Path(orderbook_path)
        self.policy = ErrorPolicy(on_error)
        self.check = LobsterCheck(skipped=self.policy.skipped)
        self._day_ns = _midnight_ns(day, tz)

    @property
    def skipped(self) -> list[FeedError]:
        return self.policy.skipped

    def __iter__(self) -> Iterator[LobsterUpdate]:
        parse_message = _MessageParser(self._day_ns)
        check, fail = self.check, self.policy.fail
        book: LobsterBook | None = None
        levels: int | None = None
        with open_text(self.message_path) as messages, open_text(self.orderbook_path) as rows:
            for message, row_entry in zip_longest(_data_lines(messages), _data_lines(rows)):
                if message is None or row_entry is None:
                    self._unpaired(message, row_entry)
                    break
                (msg_line, msg_text), (row_line, row_text) = message, row_entry
                check.rows += 1
                try:
                    event = parse_message(msg_text)
                except ValueError as error:
                    fail(self.message_path, msg_line, str(error))
                    book = None
                    continue
                try:
                    row = parse_levels(row_text, levels)
                except ValueError as error:
                    fail(self.orderbook_path, row_line, str(error))
                    book = None
                    continue
                if book is None:
                    levels = (row_text.count(",") + 1) // 4
                    book = LobsterBook(levels)
                    book.seed(row)
                    check.seeded += 1
                elif self._checked(book, event, row, msg_line, row_line):
                    continue
                yield LobsterUpdate(event, row)

    def _checked(self, book: LobsterBook, event: LobsterEvent, row: LobsterLevels,
                 msg_line: int, row_line: int) -> bool:
        """Check ``row`` against ``book`` + ``event``, leaving ``book`` equal to ``row``.
        Returns True when the pair is to be skipped."""
        check = self.check
        try:
            revealed = book.apply(event)
        except BookError as error:
            book.seed(row)
            self.policy.fail(self.message_path, msg_line, str(error))
            return True
        check.checked += 1
        if not book.matches(row, event.direction, revealed):
            check.mismatches += 1
            if len(check.examples) < 10:
                check.examples.append(f"{self.orderbook_path.name}:{row_line}: after {event} "
                                      f"rebuilt bids={book.bids} asks={book.asks}, file has {row}")
            book.seed(row)
        elif revealed is not None:
            check.revealed += 1
            book.seed(row)
        return False

    def _unpaired(self, message: tuple[int, str] | None, row: tuple[int, str] | None) -> None:
        if message is None:
            assert row is not None
            self.policy.fail(self.orderbook_path, row[0],
                             f"no matching line in {self.message_path.name}")
        else:
            self.policy.fail(self.message_path, message[0],
                             f"no matching line in {self.orderbook_path.name}")


def rebuild_lobster(message_path: str | Path, orderbook_path: str | Path, *,
                    on_error: OnError = "raise") -> LobsterCheck:
    replay = LobsterReplay(message_path, orderbook_path, on_error=on_error)
    for _ in replay:
        pass
    return replay.check


class _MessageParser:
    __slots__ = ("day_ns", "last_ns")

    def __init__(self, day_ns: int) -> None:
        self.day_ns = day_ns
        self.last_ns = -1

    def __call__(self, text: str) -> LobsterEvent:
        fields = text.split(",")
        if len(fields) != 6:
            raise ValueError(f"expected 6 fields (Time,Type,OrderId,Size,Price,Direction), "
                             f"got {len(fields)}")
        match = _SECONDS.fullmatch(fields[0].strip())
        if match is None:
            raise ValueError(f"time is not seconds after midnight: {fields[0]!r}")
        whole, frac = match.groups()
        ts_ns = self.day_ns + int(whole) * 1_000_000_000 + int((frac or "").ljust(9, "0"))
        raw_type, order_id, size, price, direction = (_integer(f, name) for f, name in zip(
            fields[1:], ("type", "order id", "size", "price", "direction")))
        try:
            kind = LobsterEventType(raw_type)
        except ValueError:
            raise ValueError(f"unknown event type {raw_type}") from None
        if direction not in (BUY, SELL):
            raise ValueError(f"direction must be 1 or -1, not {direction}")
        if kind != LobsterEventType.HALT and (size <= 0 or price <= 0):
            raise ValueError(f"size and price must be positive, got size {size} price {price}")
        if ts_ns < self.last_ns:
            raise ValueError(f"time goes backwards: {fields[0]} after "
                             f"{(self.last_ns - self.day_ns) / 1e9:.9f}")
        self.last_ns = ts_ns
        return LobsterEvent(ts_ns, kind, order_id, size, price, direction)


def parse_levels(text: str, levels: int | None = None) -> LobsterLevels:
    fields = text.split(",")
    if len(fields) % 4 or not fields or (levels is not None and len(fields) != 4 * levels):
        expected = f"{4 * levels}" if levels is not None else "a multiple of 4"
        raise ValueError(f"expected {expected} fields (AskPrice,AskSize,BidPrice,BidSize per "
                         f"level), got {len(fields)}")
    values = [_integer(f, "orderbook field") for f in fields]
    asks = tuple((values[i], values[i + 1]) for i in range(0, len(values), 4)
                 if values[i] != EMPTY_ASK)
    bids = tuple((values[i + 2], values[i + 3]) for i in range(0, len(values), 4)
                 if values[i + 2] != EMPTY_BID)
    _check_side(asks, values[0::4], EMPTY_ASK, "ask", 1)
    _check_side(bids, values[2::4], EMPTY_BID, "bid", -1)
    if asks and bids and bids[0][0] >= asks[0][0]:
        raise ValueError(f"crossed book: bid {bids[0][0]} >= ask {asks[0][0]}")
    return LobsterLevels(asks, bids)


def _check_side(levels: tuple[Level, ...], prices: list[int], empty: int, name: str,
                order: int) -> None:
    if any(price != empty for price in prices[len(levels):]):
        raise ValueError(f"{name} levels: an occupied level after an empty one")
    for (price, _), (deeper, _) in zip(levels, levels[1:]):
        if (deeper - price) * order <= 0:
            raise ValueError(f"{name} levels out of order: {price} then {deeper}")
    if any(size <= 0 or price <= 0 for price, size in levels):
        raise ValueError(f"{name} levels: price and size must be positive")


def _integer(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} is not an integer: {text!r}") from None


def _data_lines(handle) -> Iterator[tuple[int, str]]:
    """(line number, text), leaving out a header line (one that starts with a letter)."""
    for line, text in enumerate(handle, 1):
        text = text.rstrip("\r\n")
        if line == 1 and text[:1].isalpha():
            continue
        yield line, text


def _midnight_ns(day: date | None, tz: str) -> int:
    if day is None:
        return 0
    return datetime_to_ns(datetime.combine(day, time(0), ZoneInfo(tz)))
