"""Limit order book for one instrument at one venue: price-time or pro-rata allocation.

Like QuickFIX's ordermatch ``Market``, it knows nothing of FIX; the venue adapter translates.
Prices are integer ticks, so the book never compares floats. Trades print at the maker's
price. Price priority always comes first; within a price level the book's ``allocation``
decides who trades:

``price-time`` (the default, FIFO): first in, first out.

``pro-rata`` with a priority-customer overlay, after Cboe Options Rule 5.32 (formerly Rule
6.45A, "Priority and Allocation of Equity Option Trades on the CBOE Hybrid System": the pro-rata
base allocation algorithm with the Priority Customer overlay) and Nasdaq ISE Options 3,
Section 10 (order book allocation: Priority Customer orders first in time priority, then size
pro-rata among Professional orders and Market Maker quotes). At one price:
  1. priority customer orders (capacity ``"customer"``) trade first, in time priority;
  2. what is left is split among the other resting orders in proportion to their displayed
     size, each share rounded DOWN to whole contracts;
  3. the contracts the rounding left over go first, in time priority, to orders whose share
     came out below ``min_allocation`` (each topped up to the minimum, or to its size if
     smaller, while contracts remain), then in time priority to the rest (the earliest order
     takes what it can, then the next). The round-down, the minimum and the first-in leftover
     follow the published CME Globex "Pro Rata Allocation" conventions (shares rounded down,
     a pro-rata minimum, unallocated lots FIFO); the exact rounding text of the Cboe and ISE
     rules is not quoted here, so this step is this simulator's documented, tested choice.
  A reserve order takes part with its displayed slice only. When every displayed contract at
  the level has traded and the incoming order still has quantity, refreshed slices (now at the
  back of the level) make a new round of the same steps.

Order types: IOC (the unfilled rest is canceled), FOK (fills in full at once or not at all),
post-only (refused, with a reason in the result, if it would take) and reserve orders (only
``display_qty`` shows; the rest is hidden).

Reserve rule (the common exchange rule, Nasdaq's for one): at one price, displayed interest
has priority over reserve. A reserve order shows one slice; when that slice is filled the
next slice is shown from the hidden rest with a new timestamp, at the BACK of its price
level. So at a price every displayed order trades before any hidden share, and each
refreshed slice waits behind the displayed queue that was there when it appeared.

Self-match prevention (STP) applies to the owners in ``stp_owners`` (the venue passes its
router): an incoming order of such an owner never trades against a resting order of the same
owner. ``stp_action`` ``"cancel_resting"`` (the default) removes the resting order (reported in
``SubmitResult.stp_canceled``) and the incoming order goes on matching; ``"cancel_incoming"``
stops the incoming order where it would meet its own order (trades made before stand) and
cancels its remainder (``SubmitResult.stp_incoming``). Under pro-rata every order at a level
takes part at once, so the incoming order stops before a level holding one of its owner's orders.
Other owners may trade against themselves, as before.

Order ids must be unique among resting orders; uniqueness over a whole session is the
caller's job, so the book keeps no history of finished orders.
"""
from __future__ import annotations

from bisect import bisect_left, insort
from collections import OrderedDict
from dataclasses import dataclass, field

from router.domain.enums import Side

POST_ONLY_WOULD_TAKE = "post-only order would take liquidity"

PRICE_TIME = "price-time"
PRO_RATA = "pro-rata"
ALLOCATIONS = (PRICE_TIME, PRO_RATA)
PRIORITY_CUSTOMER = "customer"          # the capacity that has priority under the pro-rata overlay
STP_CANCEL_RESTING = "cancel_resting"
STP_CANCEL_INCOMING = "cancel_incoming"
STP_ACTIONS = (STP_CANCEL_RESTING, STP_CANCEL_INCOMING)


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
    request and changed nothing (a post-only order that would take). ``stp_canceled`` lists
    (order id, qty) of resting orders that self-match prevention removed; ``stp_incoming`` is
    the id of the resting order the incoming one met when self-match prevention canceled the
    incoming order's remainder (counted in ``canceled_qty``), else None."""
    trades: list[Trade]
    rested_qty: int
    canceled_qty: int
    refused: str | None = None
    stp_canceled: list[tuple[str, int]] = field(default_factory=list)
    stp_incoming: str | None = None


@dataclass(frozen=True, slots=True)
class OrderView:
    order_id: str
    owner: str
    side: Side
    price_ticks: int
    leaves: int            # displayed plus hidden
    displayed: int
    capacity: str = PRIORITY_CUSTOMER


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
    capacity: str = PRIORITY_CUSTOMER

    @property
    def leaves(self) -> int:
        return self.displayed + self.hidden

    def set_leaves(self, leaves: int) -> None:
        """A fresh entry on the book: show one slice, hide the rest."""
        self.displayed = leaves if self.display_qty is None else min(leaves, self.display_qty)
        self.hidden = leaves - self.displayed

    def view(self) -> OrderView:
        return OrderView(self.order_id, self.owner, self.side, self.price_ticks, self.leaves, self.displayed,
                         self.capacity)


@dataclass(slots=True)
class _Level:
    """Orders in time priority, keyed by id. An OrderedDict, not a deque, because a cancel
    deep in a long queue must be O(1). ``qty`` is displayed, ``hidden`` the reserve behind it."""
    qty: int = 0
    hidden: int = 0
    orders: OrderedDict[str, _Order] = field(default_factory=OrderedDict)


class BookSide:
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
    def __init__(self, allocation: str = PRICE_TIME, *, min_allocation: int = 1,
                 stp_owners: frozenset[str] | set[str] | tuple[str, ...] = (),
                 stp_action: str = STP_CANCEL_RESTING) -> None:
        if allocation not in ALLOCATIONS:
            raise BookError(f"unknown allocation {allocation!r}; expected one of {', '.join(ALLOCATIONS)}")
        if min_allocation < 1:
            raise BookError(f"min allocation must be at least 1, got {min_allocation}")
        if stp_action not in STP_ACTIONS:
            raise BookError(f"unknown self-match action {stp_action!r}; expected one of {', '.join(STP_ACTIONS)}")
        self.allocation = allocation
        self.min_allocation = min_allocation
        self.stp_owners = frozenset(stp_owners)
        self.stp_action = stp_action
        self._pro_rata = allocation == PRO_RATA
        self._bids = BookSide(is_buy=True)
        self._asks = BookSide(is_buy=False)
        self._orders: dict[str, _Order] = {}

    def __len__(self) -> int:
        return len(self._orders)

    def submit(self, order_id: str, owner: str, side: Side, qty: int, price_ticks: int,
               ioc: bool = False, *, fok: bool = False, post_only: bool = False,
               display_qty: int | None = None, capacity: str = PRIORITY_CUSTOMER) -> SubmitResult:
        if order_id in self._orders:
            raise BookError(f"duplicate order id {order_id!r}")
        _check_order(qty, price_ticks)
        if display_qty is not None and display_qty <= 0:
            raise BookError(f"display qty must be positive, got {display_qty}")
        if post_only and self._side(not side.is_buy).crosses(price_ticks):
            return SubmitResult([], 0, 0, POST_ONLY_WOULD_TAKE)
        if fok and self._fillable(owner, side.is_buy, price_ticks, qty) < qty:
            return SubmitResult([], 0, qty)
        result = SubmitResult([], 0, 0)
        leaves = self._match(order_id, owner, side.is_buy, qty, price_ticks, result)
        if not leaves or ioc or fok or result.stp_incoming is not None:
            result.canceled_qty = leaves
            return result
        order = _Order(order_id, owner, side, price_ticks, leaves, 0, display_qty, post_only, capacity)
        if display_qty is not None:
            order.set_leaves(leaves)
        self._rest(order)
        result.rested_qty = leaves
        return result

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
        result = SubmitResult([], 0, max(cut, 0))
        leaves = self._match(order_id, order.owner, order.side.is_buy, new_qty,
                             new_price_ticks, result)
        if leaves and result.stp_incoming is not None:
            result.canceled_qty += leaves
        elif leaves:
            order.price_ticks = new_price_ticks
            order.set_leaves(leaves)
            self._rest(order)
            result.rested_qty = leaves
        return result

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

    def _side(self, is_buy: bool) -> BookSide:
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

    def _fillable(self, owner: str, is_buy: bool, price_ticks: int, wanted: int) -> int:
        """What an incoming order (a FOK) of ``owner`` could trade, counted up to ``wanted``:
        without self-match prevention every displayed and hidden contract it reaches; with it,
        never its owner's own orders, and under ``cancel_incoming`` nothing from where it would
        meet one (the order, or under pro-rata its whole level)."""
        makers = self._side(not is_buy)
        if owner not in self.stp_owners:
            return makers.available(price_ticks, wanted)
        total, limit_key = 0, price_ticks * makers.sign
        stop_at_own = self.stp_action == STP_CANCEL_INCOMING
        for key in reversed(makers.keys):
            if key < limit_key or total >= wanted:
                break
            orders = makers.levels[key * makers.sign].orders.values()
            if stop_at_own and self._pro_rata and any(o.owner == owner for o in orders):
                return total
            for other in orders:
                if other.owner == owner:
                    if stop_at_own:
                        return total
                    continue
                total += other.leaves
        return total

    def _match(self, taker_id: str, taker_owner: str, is_buy: bool, qty: int,
               price_ticks: int, result: SubmitResult) -> int:
        """Fill ``qty`` against the opposite side up to ``price_ticks``; returns what is left.
        Trades and self-match cancels are recorded in ``result``."""
        makers = self._asks if is_buy else self._bids
        keys, levels, sign = makers.keys, makers.levels, makers.sign
        limit_key = price_ticks * sign
        trades = result.trades
        stp = taker_owner in self.stp_owners
        while qty and keys and keys[-1] >= limit_key:
            level_price = keys[-1] * sign
            level = levels[level_price]
            queue = level.orders
            if self._pro_rata:
                qty = self._match_pro_rata(level, level_price, taker_id, taker_owner, qty, result, stp)
            else:
                while qty and queue:
                    maker = next(iter(queue.values()))
                    if stp and maker.owner == taker_owner:
                        if self.stp_action == STP_CANCEL_INCOMING:
                            result.stp_incoming = maker.order_id
                            break
                        self._stp_cancel(level, maker, result)
                        continue
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
            if result.stp_incoming is not None:
                break
        return qty

    def _stp_cancel(self, level: _Level, maker: _Order, result: SubmitResult) -> None:
        """Self-match prevention, cancel resting: take the maker off the book whole."""
        del level.orders[maker.order_id]
        del self._orders[maker.order_id]
        level.qty -= maker.displayed
        level.hidden -= maker.hidden
        result.stp_canceled.append((maker.order_id, maker.leaves))

    def _match_pro_rata(self, level: _Level, level_price: int, taker_id: str, taker_owner: str,
                        qty: int, result: SubmitResult, stp: bool) -> int:
        """One price level under pro-rata with the priority-customer overlay (see the module
        docstring for the rule and its sources). Each round first fills priority customers in
        time priority, then splits the rest by displayed size; a round ends with the incoming
        order done or every displayed contract at the level traded, so refreshed reserve slices
        trade in a later round."""
        queue = level.orders
        if stp:
            own = [o for o in queue.values() if o.owner == taker_owner]
            if own and self.stp_action == STP_CANCEL_INCOMING:
                result.stp_incoming = own[0].order_id
                return qty
            for maker in own:
                self._stp_cancel(level, maker, result)
        while qty and queue:
            customers, others = [], []
            for maker in queue.values():
                (customers if maker.capacity == PRIORITY_CUSTOMER else others).append(maker)
            for maker in customers:
                if not qty:
                    return qty
                qty = self._fill(level, level_price, maker, min(qty, maker.displayed), taker_id, taker_owner,
                                 qty, result.trades)
            if qty and others:
                shares = pro_rata_shares(qty, [maker.displayed for maker in others], self.min_allocation)
                for maker, share in zip(others, shares):
                    if share:
                        qty = self._fill(level, level_price, maker, share, taker_id, taker_owner, qty, result.trades)
        return qty

    def _fill(self, level: _Level, level_price: int, maker: _Order, fill: int, taker_id: str,
              taker_owner: str, qty: int, trades: list[Trade]) -> int:
        maker.displayed -= fill
        level.qty -= fill
        qty -= fill
        trades.append(Trade(maker.order_id, maker.owner, taker_id, taker_owner,
                            level_price, fill, maker.displayed + maker.hidden, qty))
        if not maker.displayed:
            if maker.hidden:
                self._refresh(level, maker)
            else:
                del level.orders[maker.order_id]
                del self._orders[maker.order_id]
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


def pro_rata_shares(qty: int, sizes: list[int], min_allocation: int = 1) -> list[int]:
    """Split ``qty`` among resting sizes listed in time priority (the pro-rata step of the
    module docstring): everyone in full if ``qty`` covers them all; otherwise each share is
    ``qty * size // total`` (rounded down), then the leftover tops up, in time priority, the
    shares below ``min(min_allocation, size)``, and what still remains goes in time priority,
    each order taking up to its size."""
    total = sum(sizes)
    if qty >= total:
        return list(sizes)
    shares = [qty * size // total for size in sizes]
    left = qty - sum(shares)
    if left:
        for index, size in enumerate(sizes):
            floor = min(min_allocation, size)
            if shares[index] < floor:
                top_up = min(floor - shares[index], left)
                shares[index] += top_up
                left -= top_up
                if not left:
                    break
    if left:
        for index, size in enumerate(sizes):
            extra = min(size - shares[index], left)
            shares[index] += extra
            left -= extra
            if not left:
                break
    return shares


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
