"""Price-time priority limit order book for one instrument at one venue.

Like QuickFIX's ordermatch ``Market``, it knows nothing of FIX; the venue adapter translates.
Prices are integer ticks, so the book never compares floats. Trades print at the maker's
price, and each price level fills first in, first out.

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
    maker_leaves: int
    taker_leaves: int


@dataclass(slots=True)
class SubmitResult:
    """``rested_qty`` is the open quantity left on the book; ``canceled_qty`` is quantity
    removed without trading (an IOC remainder, or the cut made by a replace)."""
    trades: list[Trade]
    rested_qty: int
    canceled_qty: int


@dataclass(frozen=True, slots=True)
class OrderView:
    order_id: str
    owner: str
    side: Side
    price_ticks: int
    leaves: int


@dataclass(slots=True)
class _Order:
    order_id: str
    owner: str
    side: Side
    price_ticks: int
    leaves: int

    def view(self) -> OrderView:
        return OrderView(self.order_id, self.owner, self.side, self.price_ticks, self.leaves)


@dataclass(slots=True)
class _Level:
    """Orders in time priority, keyed by id. An OrderedDict, not a deque, because a cancel
    deep in a long queue must be O(1)."""
    qty: int = 0
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
        level.qty += order.leaves

    def remove(self, order: _Order) -> None:
        level = self.levels[order.price_ticks]
        del level.orders[order.order_id]
        level.qty -= order.leaves
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


class OrderBook:
    def __init__(self) -> None:
        self._bids = _BookSide(is_buy=True)
        self._asks = _BookSide(is_buy=False)
        self._orders: dict[str, _Order] = {}

    def __len__(self) -> int:
        return len(self._orders)

    def submit(self, order_id: str, owner: str, side: Side, qty: int, price_ticks: int,
               ioc: bool = False) -> SubmitResult:
        if order_id in self._orders:
            raise BookError(f"duplicate order id {order_id!r}")
        _check_order(qty, price_ticks)
        trades: list[Trade] = []
        leaves = self._match(order_id, owner, side.is_buy, qty, price_ticks, trades)
        if not leaves or ioc:
            return SubmitResult(trades, 0, leaves)
        self._rest(_Order(order_id, owner, side, price_ticks, leaves))
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
        unchanged and the qty not increased; otherwise it goes to the back and may trade."""
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
        self._remove(order)
        trades: list[Trade] = []
        leaves = self._match(order_id, order.owner, order.side.is_buy, new_qty,
                             new_price_ticks, trades)
        if leaves:
            order.price_ticks, order.leaves = new_price_ticks, leaves
            self._rest(order)
        return SubmitResult(trades, leaves, max(cut, 0))

    def best_bid(self) -> tuple[int, int] | None:
        return self._bids.best()

    def best_ask(self) -> tuple[int, int] | None:
        return self._asks.best()

    def depth(self, side: Side, levels: int) -> list[tuple[int, int]]:
        """(price_ticks, total qty) of the best ``levels`` levels of ``side``, best first."""
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
        """Resting qty at the order's price level that will fill before it."""
        order = self._orders.get(order_id)
        if order is None:
            raise BookError(f"unknown order id {order_id!r}")
        ahead = 0
        for other in self._side(order.side.is_buy).levels[order.price_ticks].orders.values():
            if other is order:
                return ahead
            ahead += other.leaves
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
        order.leaves -= by_qty
        self._side(order.side.is_buy).levels[order.price_ticks].qty -= by_qty

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
                fill = qty if qty < maker.leaves else maker.leaves
                maker.leaves -= fill
                level.qty -= fill
                qty -= fill
                trades.append(Trade(maker.order_id, maker.owner, taker_id, taker_owner,
                                    level_price, fill, maker.leaves, qty))
                if not maker.leaves:
                    del queue[maker.order_id]
                    del self._orders[maker.order_id]
            if not queue:
                del levels[level_price]
                keys.pop()
        return qty


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
