"""Price-time priority limit order book for one instrument at one venue.

Like QuickFIX's ordermatch ``Market``, it knows nothing of FIX; the venue adapter translates.
Prices are integer ticks, so the book never compares floats. Trades print at the maker's
price, and each price level fills first in, first out.

Order types: IOC (the unfilled rest is canceled), FOK (fills in full at once or not at all),
post-only (refused, with a reason in the result, if it would take) and reserve orders (only
``display_qty`` shows; the rest is hidden).

Reserve rule (the common exchange rule, Nasdaq's for one): at one price, displayed interest
has priority over reserve. A reserve order shows one slice; when that slice is filled the
next slice is shown from the hidden rest with a new timestamp, at the BACK of its price
level. So at a price every displayed order trades before any hidden share, and each
refreshed slice waits behind the displayed queue that was there when it appeared.

There is no self-trade prevention: an owner's order may trade against its own resting order.
A venue that needs STP must check ``Trade.maker_owner`` or screen orders before submitting.

Order ids must be unique among resting orders; uniqueness over a whole session is the
caller's job, so the book keeps no history of finished orders.
"""
from __future__ import annotations

from bisect import bisect_left, insort
from collections import OrderedDict
from dataclasses import dataclass, field

from router.domain.enums import Side

POST_ONLY_WOULD_TAKE = "post-only order would take liquidity"


class BookError(ValueError):
    """A request the book refuses before changing any state."""


@dataclass(frozen=True, slots=True)
class Trade:
    maker_order_id: str
    maker_owner: str
    taker_order_id: str
    taker_owner: str
    price_ticks: int
    qty: int
    maker_leaves: int      # displayed plus hidden
    taker_leaves: int


@dataclass(slots=True)
class SubmitResult:
    """``rested_qty`` is the open quantity left on the book (displayed plus hidden);
    ``canceled_qty`` is quantity removed without trading (an IOC remainder, an unfilled FOK,
    or the cut made by a replace). ``refused`` is the reason when the book refused the
    request and changed nothing (a post-only order that would take)."""
    trades: list[Trade]
    rested_qty: int
    canceled_qty: int
    refused: str | None = None


@dataclass(frozen=True, slots=True)
class OrderView:
    order_id: str
    owner: str
    side: Side
    price_ticks: int
    leaves: int            # displayed plus hidden
    displayed: int


@dataclass(slots=True)
class _Order:
    order_id: str
    owner: str
    side: Side
    price_ticks: int
    displayed: int
    hidden: int = 0
    display_qty: int | None = None     # the slice a reserve order shows; None shows everything
    post_only: bool = False

    @property
    def leaves(self) -> int:
        return self.displayed + self.hidden

    def set_leaves(self, leaves: int) -> None:
        """A fresh entry on the book: show one slice, hide the rest."""
        self.displayed = leaves if self.display_qty is None else min(leaves, self.display_qty)
        self.hidden = leaves - self.displayed

    def view(self) -> OrderView:
        return OrderView(self.order_id, self.owner, self.side, self.price_ticks, self.leaves, self.displayed)


@dataclass(slots=True)
class _Level:
    """Orders in time priority, keyed by id. An OrderedDict, not a deque, because a cancel
    deep in a long queue must be O(1). ``qty`` is displayed, ``hidden`` the reserve behind it."""
    qty: int = 0
    hidden: int = 0
    orders: OrderedDict[str, _Order] = field(default_factory=OrderedDict)


class _BookSide:
    """The levels of one side. ``keys`` is sorted with the best level last: bids are keyed
    by price and asks by -price, so on both sides a better price is a larger key."""

    __slots__ = ("sign", "levels", "keys")

    def __init__(self, is_buy: bool) -> None:
        self.sign = 1 if is_buy else -1
        self.levels: dict[int, _Level] = {}
        self.keys: list[int] = []

    def add(self, order: _Order) -> None:
        level = self.levels.get(order.price_ticks)
        if level is None:
            level = self.levels[order.price_ticks] = _Level()
            insort(self.keys, order.price_ticks * self.sign)
        level.orders[order.order_id] = order
        level.qty += order.displayed
        level.hidden += order.hidden

    def remove(self, order: _Order) -> None:
        level = self.levels[order.price_ticks]
        del level.orders[order.order_id]
        level.qty -= order.displayed
        level.hidden -= order.hidden
        if not level.orders:
            del self.levels[order.price_ticks]
            del self.keys[bisect_left(self.keys, order.price_ticks * self.sign)]

    def best(self) -> tuple[int, int] | None:
        if not self.keys:
            return None
        price = self.keys[-1] * self.sign
        return price, self.levels[price].qty

    def prices(self, count: int) -> list[int]:
        return [key * self.sign for key in self.keys[: -count - 1 : -1]]

    def crosses(self, taker_price_ticks: int) -> bool:
        """Whether a taker from the other side at this price would trade here."""
        return bool(self.keys) and self.keys[-1] >= taker_price_ticks * self.sign

    def available(self, taker_price_ticks: int, wanted: int) -> int:
        """Displayed plus hidden qty a taker at this price can reach, counted up to ``wanted``."""
        total, limit_key = 0, taker_price_ticks * self.sign
        for key in reversed(self.keys):
            if key < limit_key or total >= wanted:
                break
            level = self.levels[key * self.sign]
            total += level.qty + level.hidden
        return total


class OrderBook:
    def __init__(self) -> None:
        self._bids = _BookSide(is_buy=True)
        self._asks = _BookSide(is_buy=False)
        self._orders: dict[str, _Order] = {}

    def __len__(self) -> int:
        return len(self._orders)

    def submit(self, order_id: str, owner: str, side: Side, qty: int, price_ticks: int,
               ioc: bool = False, *, fok: bool = False, post_only: bool = False,
               display_qty: int | None = None) -> SubmitResult:
        if order_id in self._orders:
            raise BookError(f"duplicate order id {order_id!r}")
        _check_order(qty, price_ticks)
        if display_qty is not None and display_qty <= 0:
            raise BookError(f"display qty must be positive, got {display_qty}")
        if post_only and self._side(not side.is_buy).crosses(price_ticks):
            return SubmitResult([], 0, 0, POST_ONLY_WOULD_TAKE)
        if fok and self._side(not side.is_buy).available(price_ticks, qty) < qty:
            return SubmitResult([], 0, qty)
        trades: list[Trade] = []
        leaves = self._match(order_id, owner, side.is_buy, qty, price_ticks, trades)
        if not leaves or ioc or fok:
            return SubmitResult(trades, 0, leaves)
        order = _Order(order_id, owner, side, price_ticks, leaves, 0, display_qty, post_only)
        if display_qty is not None:
            order.set_leaves(leaves)
        self._rest(order)
        return SubmitResult(trades, leaves, 0)

    def cancel(self, order_id: str) -> int | None:
        order = self._orders.get(order_id)
        if order is None:
            return None
        self._remove(order)
        return order.leaves

    def reduce(self, order_id: str, by_qty: int) -> int | None:
        """Take up to ``by_qty`` off a resting order, keeping its place; returns qty removed."""
        if by_qty <= 0:
            raise BookError(f"reduce qty must be positive, got {by_qty}")
        order = self._orders.get(order_id)
        if order is None:
            return None
        if by_qty >= order.leaves:
            self._remove(order)
            return order.leaves
        self._shrink(order, by_qty)
        return by_qty

    def replace(self, order_id: str, new_qty: int, new_price_ticks: int) -> SubmitResult | None:
        """Set a resting order's open qty and price. It keeps its place only when the price is
        unchanged and the qty not increased; otherwise it goes to the back and may trade. A
        post-only order that would take is refused and left as it was."""
        order = self._orders.get(order_id)
        if order is None:
            return None
        if new_qty <= 0:
            self._remove(order)
            return SubmitResult([], 0, order.leaves)
        _check_order(new_qty, new_price_ticks)
        cut = order.leaves - new_qty
        if new_price_ticks == order.price_ticks and cut >= 0:
            self._shrink(order, cut)
            return SubmitResult([], new_qty, cut)
        if order.post_only and self._side(not order.side.is_buy).crosses(new_price_ticks):
            return SubmitResult([], order.leaves, 0, POST_ONLY_WOULD_TAKE)
        self._remove(order)
        trades: list[Trade] = []
        leaves = self._match(order_id, order.owner, order.side.is_buy, new_qty,
                             new_price_ticks, trades)
        if leaves:
            order.price_ticks = new_price_ticks
            order.set_leaves(leaves)
            self._rest(order)
        return SubmitResult(trades, leaves, max(cut, 0))

    def best_bid(self) -> tuple[int, int] | None:
        return self._bids.best()

    def best_ask(self) -> tuple[int, int] | None:
        return self._asks.best()

    def depth(self, side: Side, levels: int) -> list[tuple[int, int]]:
        """(price_ticks, displayed qty) of the best ``levels`` levels of ``side``, best first."""
        book = self._side(side.is_buy)
        return [(price, book.levels[price].qty) for price in book.prices(levels)]

    def resting(self, side: Side) -> list[OrderView]:
        """Every resting order of ``side`` in priority order (best level first, then FIFO)."""
        book = self._side(side.is_buy)
        return [order.view() for price in book.prices(len(book.keys))
                for order in book.levels[price].orders.values()]

    def order(self, order_id: str) -> OrderView | None:
        order = self._orders.get(order_id)
        return None if order is None else order.view()

    def queue_ahead(self, order_id: str) -> int:
        """Displayed qty at the order's price level that will fill before it. Hidden reserve
        ahead does not count: it trades only after this order's displayed slice."""
        order = self._orders.get(order_id)
        if order is None:
            raise BookError(f"unknown order id {order_id!r}")
        ahead = 0
        for other in self._side(order.side.is_buy).levels[order.price_ticks].orders.values():
            if other is order:
                return ahead
            ahead += other.displayed
        raise AssertionError("resting order missing from its level")

    def _side(self, is_buy: bool) -> _BookSide:
        return self._bids if is_buy else self._asks

    def _rest(self, order: _Order) -> None:
        self._orders[order.order_id] = order
        self._side(order.side.is_buy).add(order)

    def _remove(self, order: _Order) -> None:
        del self._orders[order.order_id]
        self._side(order.side.is_buy).remove(order)

    def _shrink(self, order: _Order, by_qty: int) -> None:
        """Cut hidden reserve first, so the displayed slice keeps its size and place."""
        level = self._side(order.side.is_buy).levels[order.price_ticks]
        from_hidden = min(by_qty, order.hidden)
        order.hidden -= from_hidden
        level.hidden -= from_hidden
        order.displayed -= by_qty - from_hidden
        level.qty -= by_qty - from_hidden

    def _match(self, taker_id: str, taker_owner: str, is_buy: bool, qty: int,
               price_ticks: int, trades: list[Trade]) -> int:
        """Fill ``qty`` against the opposite side up to ``price_ticks``; returns what is left."""
        makers = self._asks if is_buy else self._bids
        keys, levels, sign = makers.keys, makers.levels, makers.sign
        limit_key = price_ticks * sign
        while qty and keys and keys[-1] >= limit_key:
            level_price = keys[-1] * sign
            level = levels[level_price]
            queue = level.orders
            while qty and queue:
                maker = next(iter(queue.values()))
                fill = qty if qty < maker.displayed else maker.displayed
                maker.displayed -= fill
                level.qty -= fill
                qty -= fill
                trades.append(Trade(maker.order_id, maker.owner, taker_id, taker_owner,
                                    level_price, fill, maker.displayed + maker.hidden, qty))
                if maker.displayed:
                    continue
                if maker.hidden:
                    self._refresh(level, maker)
                else:
                    del queue[maker.order_id]
                    del self._orders[maker.order_id]
            if not queue:
                del levels[level_price]
                keys.pop()
        return qty

    @staticmethod
    def _refresh(level: _Level, order: _Order) -> None:
        """Show the next slice of a reserve order, at the back of its level."""
        shown = min(order.hidden, order.display_qty or order.hidden)
        order.hidden -= shown
        order.displayed = shown
        level.hidden -= shown
        level.qty += shown
        level.orders.move_to_end(order.order_id)


def _check_order(qty: int, price_ticks: int) -> None:
    if qty <= 0:
        raise BookError(f"qty must be positive, got {qty}")
    if price_ticks <= 0:
        raise BookError(f"price must be positive, got {price_ticks} ticks")


def to_ticks(price: float, tick: float) -> int:
    """Nearest whole number of ticks, half away from zero; the 1e-9 nudge absorbs binary
    error such as 0.15 / 0.05 == 2.9999999999999996."""
    ticks = int(abs(price / tick) + 1e-9 + 0.5)
    return -ticks if price < 0 else ticks


def from_ticks(ticks: int, tick: float) -> float:
    return round(ticks * tick, 8)
