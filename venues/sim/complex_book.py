"""The complex order book (COB) of one venue: package orders (venues/sim/complex_package.py) rest
and match against each other, price-time on the net price, one book per canonical package. Like
venues/sim/matching.py it knows nothing of FIX or the engine: prices are integer ticks, ids are
the caller's, and the venue translates.

Matching an incoming package order, at each step it takes the better for the incoming order of
  - the best resting package on the other side whose price passes the leg-price check, at the
    resting order's price (a trade prints at the maker's price, as in the single-leg book); and
  - for a 2-leg 1:1 spread, the price implied by the leg books' best prices (buy the spread:
    the bought leg's offer minus the sold leg's bid), traded against the resting leg orders.
At the same net price the leg market goes first: resting single-leg interest has priority over
complex orders at a net price it can fill (Cboe Rule 5.33(f)(2)(A)).

The leg-price check (Cboe Rule 5.33(f)(2); complex_package.py): a package trades only at a net
price that can be split into leg prices each at or inside its leg's NBBO. A resting order priced
beyond what the legs' NBBO now allows is passed over, not traded, and keeps its place; an
incoming order trades only inside that range and rests at its own limit. The book re-matches
only when a package order arrives or is replaced, not when the legs' NBBO moves, and resting
package orders never trade against incoming single-leg orders (both simplifications of Cboe's
complex order auction and "legging" processes).

Every fill gives each side its legs, with the leg index of that order's own submitted legs, the
side it traded, contracts (shares for a stock leg) and the leg price; the legs' ratio-weighted
prices sum exactly to the fill's net price. Self-match prevention cancels a resting order of an
owner in ``stp_owners`` met by an incoming order of the same owner (``SubmitResult.stp_canceled``
in matching.py's terms), and the implied route is not offered where the incoming owner's own
order is at the top of a leg book.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable, Sequence

from router.domain.enums import Side

from .complex_package import (CanonicalLeg, LegSpec, Nbbo, NormalPackage, PackageError, leg_prices, net_range,
                              normalise)
from .matching import OrderBook, SubmitResult, BookSide

LEG_TAKER = "cob"          # the owner of the leg-book orders the COB sends when it trades the implied route


@dataclass(frozen=True, slots=True)
class LegFill:
    leg: int                 # the leg's index in the order's own submitted legs
    symbol: str
    side: Side
    qty: int                 # contracts, or shares for a stock leg
    price_ticks: int


@dataclass(frozen=True, slots=True)
class PackageFill:
    """One order's side of a package trade, in that order's own orientation: ``qty`` package
    units (of the reduced package), ``price_ticks`` its net price."""
    order_id: str
    owner: str
    qty: int
    price_ticks: int
    maker: bool
    leaves: int
    legs: tuple[LegFill, ...]


@dataclass(slots=True)
class PackageResult:
    """``leg_results``: (symbol, side, result) of each leg-book execution of the implied route, for
    the venue to report to those books' makers and tape. ``stopped``: why matching stopped while
    crossing interest was left (the leg-price check), else None."""
    fills: list[PackageFill]
    rested_qty: int = 0
    canceled_qty: int = 0
    leg_results: list[tuple[str, Side, SubmitResult]] = field(default_factory=list)
    stp_canceled: list[tuple[str, int]] = field(default_factory=list)
    stopped: str | None = None


@dataclass(frozen=True, slots=True)
class PackageOrderView:
    order_id: str
    owner: str
    package: NormalPackage
    side: Side               # the order's own side
    price_ticks: int         # the order's own net price
    leaves: int


@dataclass(slots=True)
class _PackageOrder:
    order_id: str
    owner: str
    package: NormalPackage
    side: Side               # canonical side
    price_ticks: int         # canonical price
    displayed: int           # open qty (package orders have no reserve)
    hidden: int = 0
    capacity: str = "customer"

    def view(self) -> PackageOrderView:
        own_side = self.side if not self.package.flipped else self.side.opposite()
        return PackageOrderView(self.order_id, self.owner, self.package, own_side,
                                self.package.canonical_price(self.price_ticks), self.displayed)


class _Book:
    """One package's two sides: matching.py's price levels (sorted keys, FIFO per level), reused
    because a package order carries the ``displayed``/``hidden`` fields they keep."""
    __slots__ = ("bids", "asks")

    def __init__(self) -> None:
        self.bids, self.asks = BookSide(is_buy=True), BookSide(is_buy=False)


class ComplexBook:
    def __init__(self, nbbo: Nbbo, spec_of: Callable[[str], LegSpec | None],
                 leg_book: Callable[[str], OrderBook | None] = lambda symbol: None, *, tick_ticks: int = 1,
                 allow_cross_underlier: bool = False, stp_owners: Sequence[str] = ()) -> None:
        if tick_ticks < 1:
            raise PackageError(f"COB tick must be at least one book tick, got {tick_ticks}")
        self._nbbo, self._spec_of, self._leg_book = nbbo, spec_of, leg_book
        self.tick_ticks = tick_ticks
        self.allow_cross_underlier = allow_cross_underlier
        self.stp_owners = frozenset(stp_owners)
        self._books: dict[tuple[CanonicalLeg, ...], _Book] = {}
        self._orders: dict[str, _PackageOrder] = {}
        self._leg_ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._orders)

    # ---- orders

    def package(self, legs: Sequence[tuple[str, Side, int]]) -> NormalPackage:
        return normalise(legs, self._spec_of, self.allow_cross_underlier)

    def submit(self, order_id: str, owner: str, legs: Sequence[tuple[str, Side, int]] | NormalPackage, side: Side,
               qty: int, price_ticks: int, *, ioc: bool = False, fok: bool = False,
               capacity: str = "customer") -> PackageResult:
        """A new package order: ``qty`` units of the package as submitted at net ``price_ticks``
        (the venue's book ticks; ratios with a common factor are reduced, qty times it and price
        divided by it). PackageError, before any change, for a bad package, qty, price or id."""
        if order_id in self._orders:
            raise PackageError(f"duplicate order id {order_id!r}")
        package = legs if isinstance(legs, NormalPackage) else self.package(legs)
        if qty <= 0:
            raise PackageError(f"qty must be positive, got {qty}")
        canonical_price = self._canonical_price(package, price_ticks)
        order = _PackageOrder(order_id, owner, package, package.canonical_side(side), canonical_price,
                              qty * package.gcd, capacity=capacity)
        return self._enter(order, ioc, fok)

    def cancel(self, order_id: str) -> int | None:
        order = self._orders.pop(order_id, None)
        if order is None:
            return None
        self._side(order.package, order.side.is_buy).remove(order)
        return order.displayed

    def replace(self, order_id: str, new_qty: int, new_price_ticks: int) -> PackageResult | None:
        """Set a resting order's open qty (reduced units) and net price (its own orientation). It
        keeps its place when the price is unchanged and the qty not increased; otherwise it goes
        to the back and may trade."""
        order = self._orders.get(order_id)
        if order is None:
            return None
        if new_qty <= 0:
            self.cancel(order_id)
            return PackageResult([], 0, order.displayed)
        canonical_price = self._canonical_price(order.package, new_price_ticks, reduced=True)
        cut = order.displayed - new_qty
        book = self._side(order.package, order.side.is_buy)
        if canonical_price == order.price_ticks and cut >= 0:
            book.levels[order.price_ticks].qty -= cut
            order.displayed = new_qty
            return PackageResult([], new_qty, cut)
        self.cancel(order_id)
        order.price_ticks, order.displayed = canonical_price, new_qty
        result = self._enter(order, ioc=False, fok=False)
        result.canceled_qty += max(cut, 0)
        return result

    def order(self, order_id: str) -> PackageOrderView | None:
        order = self._orders.get(order_id)
        return None if order is None else order.view()

    # ---- what the book shows, in canonical terms (the package's canonical buyer)

    def best(self, package: NormalPackage) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        book = self._books.get(package.key)
        return (None, None) if book is None else (book.bids.best(), book.asks.best())

    def implied(self, package: NormalPackage) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        """The (price, qty) bid and offer of a 2-leg 1:1 spread implied from the leg books' best
        prices; (None, None) for other shapes or without both leg books."""
        bid, ask = self._implied(package, False, None), self._implied(package, True, None)
        return (None if bid is None else bid[:2]), (None if ask is None else ask[:2])

    def price_range(self, package: NormalPackage) -> tuple[int, int] | str:
        """The net prices the leg-price check allows now, or why none is."""
        return net_range(package.legs, self._nbbo)

    def depth(self, package: NormalPackage, side: Side, levels: int) -> list[tuple[int, int]]:
        """(canonical net price, qty) of the best ``levels`` levels of the canonical ``side``."""
        book = self._books.get(package.key)
        if book is None:
            return []
        half = book.bids if side.is_buy else book.asks
        return [(price, half.levels[price].qty) for price in half.prices(levels)]

    def resting(self, package: NormalPackage, side: Side) -> list[PackageOrderView]:
        """The orders on the canonical ``side``, in priority order, each in its own orientation."""
        book = self._books.get(package.key)
        if book is None:
            return []
        half = book.bids if side.is_buy else book.asks
        return [o.view() for price in half.prices(len(half.keys)) for o in half.levels[price].orders.values()]

    # ---- matching

    def _canonical_price(self, package: NormalPackage, price_ticks: int, reduced: bool = False) -> int:
        divisor = 1 if reduced else package.gcd
        if price_ticks % (self.tick_ticks * divisor):
            extra = f" (ratios reduced by {divisor})" if divisor > 1 else ""
            raise PackageError(f"net price {price_ticks} ticks is off the COB's tick grid of "
                               f"{self.tick_ticks * divisor} ticks{extra}")
        return package.canonical_price(price_ticks // divisor)

    def _enter(self, order: _PackageOrder, ioc: bool, fok: bool) -> PackageResult:
        result = PackageResult([])
        if fok and self._fillable(order) < order.displayed:
            result.canceled_qty = order.displayed
            return result
        self._match(order, result)
        if order.displayed and not (ioc or fok):
            self._orders[order.order_id] = order
            self._side(order.package, order.side.is_buy).add(order)
            result.rested_qty = order.displayed
        else:
            result.canceled_qty += order.displayed
        return result

    def _side(self, package: NormalPackage, is_buy: bool) -> BookSide:
        book = self._books.get(package.key)
        if book is None:
            book = self._books[package.key] = _Book()
        return book.bids if is_buy else book.asks

    def _window(self, order: _PackageOrder) -> tuple[int, int] | str:
        """Net prices the incoming order may trade at now: its limit cut to the leg-price range."""
        span = net_range(order.package.legs, self._nbbo)
        if isinstance(span, str):
            return span
        low, high = span
        return (low, min(high, order.price_ticks)) if order.side.is_buy else (max(low, order.price_ticks), high)

    def _first_level(self, makers: BookSide, low: int, high: int) -> int | None:
        for key in reversed(makers.keys):           # best first
            price = key * makers.sign
            if low <= price <= high:
                return price
            if (makers.sign < 0 and price > high) or (makers.sign > 0 and price < low):
                return None
        return None

    def _match(self, order: _PackageOrder, result: PackageResult) -> None:
        is_buy = order.side.is_buy
        makers = self._side(order.package, not is_buy)
        while order.displayed:
            window = self._window(order)
            if isinstance(window, str):
                result.stopped = window
                return
            low, high = window
            if low > high:
                return
            level = self._first_level(makers, low, high)
            implied = self._implied(order.package, is_buy, order.owner)
            if implied is not None and not low <= implied[0] <= high:
                implied = None
            if implied is not None and (level is None or (implied[0] <= level if is_buy else implied[0] >= level)):
                self._trade_legs(order, implied, result)
            elif level is not None:
                if not self._trade_level(order, makers, level, result):
                    return
            else:
                return

    def _trade_level(self, order: _PackageOrder, makers: BookSide, price: int, result: PackageResult) -> bool:
        prices = leg_prices(order.package.legs, self._nbbo, price)
        if isinstance(prices, str):
            result.stopped = prices
            return False
        level = makers.levels[price]
        while order.displayed and price in makers.levels:
            maker = next(iter(level.orders.values()))
            if maker.owner == order.owner and maker.owner in self.stp_owners:
                self.cancel(maker.order_id)
                result.stp_canceled.append((maker.order_id, maker.displayed))
                continue
            qty = min(order.displayed, maker.displayed)
            maker.displayed -= qty
            level.qty -= qty
            order.displayed -= qty
            if not maker.displayed:
                del self._orders[maker.order_id]
                makers.remove(maker)
            result.fills.append(self._fill(order, qty, price, prices, maker=False))
            result.fills.append(self._fill(maker, qty, price, prices, maker=True))
        return True

    def _implied(self, package: NormalPackage, is_buy: bool, owner: str | None) -> tuple[int, int, list] | None:
        """(net price, qty, [(symbol, side, price)] per canonical leg) of trading a simple spread
        against the leg books' tops: buying it buys the first leg at its offer and sells the second
        at its bid."""
        if not package.is_simple_spread:
            return None
        legs, total, qty = [], 0, None
        for leg in package.legs:
            book = self._leg_book(leg.symbol)
            if book is None:
                return None
            buys_leg = (leg.sign > 0) == is_buy
            top = book.best_ask() if buys_leg else book.best_bid()
            if top is None:
                return None
            price, size = top
            if owner is not None and owner != LEG_TAKER and any(
                    v.owner == owner for v in book.resting(Side.SELL if buys_leg else Side.BUY)
                    if v.price_ticks == price):
                return None                  # the incoming owner's own order is at the top
            legs.append((leg.symbol, Side.BUY if buys_leg else Side.SELL, price))
            total += leg.sign * price
            qty = size if qty is None else min(qty, size)
        return total, qty, legs

    def _trade_legs(self, order: _PackageOrder, implied: tuple[int, int, list], result: PackageResult) -> None:
        net, available, legs = implied
        qty = min(order.displayed, available)
        for symbol, side, price in legs:
            book = self._leg_book(symbol)
            leg_result = book.submit(f"{order.order_id}/leg{next(self._leg_ids)}", LEG_TAKER, side, qty, price,
                                     ioc=True)
            traded = sum(t.qty for t in leg_result.trades)
            assert traded == qty, f"implied leg {symbol} traded {traded} of {qty} at its top"
            result.leg_results.append((symbol, side, leg_result))
        order.displayed -= qty
        result.fills.append(self._fill(order, qty, net, [price for _, _, price in legs], maker=False))

    def _fill(self, order: _PackageOrder, qty: int, net: int, prices: list[int], maker: bool) -> PackageFill:
        """``order``'s side of a trade of ``qty`` units at canonical ``net`` with canonical leg
        ``prices``, told in the order's own orientation."""
        package = order.package
        legs = tuple(LegFill(package.source[i], leg.symbol,
                             Side.BUY if (leg.sign > 0) == order.side.is_buy else Side.SELL,
                             package.leg_qty(leg, qty), price)
                     for i, (leg, price) in enumerate(zip(package.legs, prices)))
        return PackageFill(order.order_id, order.owner, qty, package.canonical_price(net), maker, order.displayed,
                           tuple(sorted(legs, key=lambda f: f.leg)))

    def _fillable(self, order: _PackageOrder) -> int:
        """What a FOK could trade now: resting packages inside its window (not its owner's own
        under self-match prevention) plus the implied route at the legs' top level (deeper leg
        levels are not counted, so a FOK that needs them is canceled)."""
        window = self._window(order)
        if isinstance(window, str):
            return 0
        low, high = window
        makers = self._side(order.package, not order.side.is_buy)
        total = sum(o.displayed for price, level in makers.levels.items() if low <= price <= high
                    for o in level.orders.values()
                    if not (o.owner == order.owner and o.owner in self.stp_owners))
        implied = self._implied(order.package, order.side.is_buy, order.owner)
        if implied is not None and low <= implied[0] <= high:
            total += implied[1]
        return total


__all__ = ["ComplexBook", "LegFill", "PackageError", "PackageFill", "PackageOrderView", "PackageResult"]
