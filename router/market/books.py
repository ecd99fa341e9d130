"""Per-venue displayed books and the consolidated NBBO for each instrument.

Updates arrive as ``BookUpdate`` events on the engine thread; readers (algos, the smart order
router) ask for the best prices and for the size each venue shows at or better than a limit.
Crypto option venues also publish a mark price per option (``MarkPrice``); ``book.mark(venue)``
is the fair value quoting centres on (seed 002), not a fresh Black-Scholes price.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from router.domain.enums import Side
from router.domain.events import BookLevel, BookUpdate, MarkPrice, TradePrint

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Nbbo:
    bid: float | None
    bid_qty: int
    ask: float | None
    ask_qty: int

    @property
    def mid(self) -> float | None:
        if self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2.0


EMPTY_NBBO = Nbbo(None, 0, None, 0)


TAPE_LENGTH = 256


class InstrumentBook:
    """Every venue's displayed levels for one instrument, and its recent trades."""

    __slots__ = ("symbol", "_bids", "_asks", "_nbbo", "trades", "trade_times", "marks")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self._bids: dict[str, tuple[BookLevel, ...]] = {}
        self._asks: dict[str, tuple[BookLevel, ...]] = {}
        self._nbbo: Nbbo | None = EMPTY_NBBO
        self.trades: deque[TradePrint] = deque(maxlen=TAPE_LENGTH)
        self.trade_times: deque[int] = deque(maxlen=TAPE_LENGTH)   # when each trade reached us, in step
        self.marks: dict[str, MarkPrice] = {}       # each venue's latest mark (crypto option venues publish one)

    @property
    def last_trade(self) -> TradePrint | None:
        return self.trades[-1] if self.trades else None

    def apply(self, update: BookUpdate) -> None:
        self._bids[update.venue] = update.bids
        self._asks[update.venue] = update.asks
        self._nbbo = None

    def traded_at(self, venue: str, resting_side: Side, price: float, since_ns: int) -> int:
        """Volume that traded against ``resting_side`` on ``venue`` at ``price`` or through it since
        ``since_ns``: how fast that queue is being worked."""
        total = 0
        for at_ns, trade in zip(reversed(self.trade_times), reversed(self.trades)):
            if at_ns < since_ns:
                break
            if trade.venue != venue or trade.aggressor is resting_side:
                continue
            if (trade.price <= price + _EPS) if resting_side.is_buy else (trade.price >= price - _EPS):
                total += trade.qty
        return total

    def mark(self, venue: str | None = None) -> float | None:
        """The venue's latest mark price; without a venue, the mean of every venue's latest
        (Deribit's and OKX's marks differ a little). None before any mark arrived."""
        if venue is not None:
            mark = self.marks.get(venue)
            return None if mark is None else mark.price
        if not self.marks:
            return None
        return sum(m.price for m in self.marks.values()) / len(self.marks)

    def levels(self, venue: str, side: Side) -> tuple[BookLevel, ...]:
        return (self._bids if side.is_buy else self._asks).get(venue, ())

    def venues(self, side: Side) -> tuple[str, ...]:
        """The venues that have published this side of the book."""
        return tuple(self._bids if side.is_buy else self._asks)

    def nbbo(self) -> Nbbo:
        if self._nbbo is None:
            bid, bid_qty = _best(self._bids, better=lambda a, b: a > b)
            ask, ask_qty = _best(self._asks, better=lambda a, b: a < b)
            self._nbbo = Nbbo(bid, bid_qty, ask, ask_qty)
        return self._nbbo

    def takeable(self, venue: str, taker_side: Side, limit: float) -> int:
        """Displayed quantity a taker on ``taker_side`` can reach on ``venue`` at or better than ``limit``."""
        resting = self.levels(venue, taker_side.opposite())
        total = 0
        for level in resting:
            if taker_side.is_buy and level.price > limit + _EPS:
                break
            if not taker_side.is_buy and level.price < limit - _EPS:
                break
            total += level.qty
        return total


def _best(side_levels: dict[str, tuple[BookLevel, ...]], better) -> tuple[float | None, int]:
    best_px: float | None = None
    qty = 0
    for levels in side_levels.values():
        if not levels:
            continue
        px = levels[0].price
        if best_px is not None and abs(px - best_px) <= _EPS:
            qty += levels[0].qty
        elif best_px is None or better(px, best_px):
            best_px, qty = px, levels[0].qty
    return best_px, qty


class MarketBooks:
    """All instruments' books, created on first update."""

    def __init__(self) -> None:
        self._books: dict[str, InstrumentBook] = {}

    def apply(self, update: BookUpdate) -> InstrumentBook:
        book = self._books.get(update.symbol)
        if book is None:
            book = self._books[update.symbol] = InstrumentBook(update.symbol)
        book.apply(update)
        return book

    def record_trade(self, trade: TradePrint, now_ns: int = 0) -> InstrumentBook:
        book = self.book(trade.symbol)
        book.trades.append(trade)
        book.trade_times.append(now_ns)
        return book

    def apply_mark(self, mark: MarkPrice) -> InstrumentBook:
        book = self.book(mark.symbol)
        book.marks[mark.venue] = mark
        return book

    def book(self, symbol: str) -> InstrumentBook:
        book = self._books.get(symbol)
        if book is None:
            book = self._books[symbol] = InstrumentBook(symbol)
        return book

    def nbbo(self, symbol: str) -> Nbbo:
        book = self._books.get(symbol)
        return book.nbbo() if book else EMPTY_NBBO
