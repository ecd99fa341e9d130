"""The option's book as a maker with children on several venues sees it: everyone else's size.

Venues publish their levels with our own displayed children in them; ``OthersBook`` takes our
displayed size out of each venue's level at our price, so the post types, the display sizes and
the queue estimates all work on what others show.
"""
from __future__ import annotations

from collections.abc import Iterable

from router.domain.enums import Side
from router.domain.orders import ChildOrder, ChildStatus
from router.market.books import InstrumentBook

_EPS = 1e-9


def displayed(child: ChildOrder) -> int:
    """What a resting child shows (its reserve hidden)."""
    leaves = child.leaves_qty
    return leaves if child.display_qty is None else min(leaves, child.display_qty)


class OthersBook:
    """Per venue, the (price, qty) levels others show on one side, best first."""

    __slots__ = ("side", "levels")

    def __init__(self, book: InstrumentBook, side: Side, own: Iterable[ChildOrder], venues: Iterable[str]) -> None:
        self.side = side
        mine: dict[tuple[str, float], int] = {}
        for child in own:
            if child.status is not ChildStatus.PENDING_NEW:
                key = (child.venue, round(child.price, 6))
                mine[key] = mine.get(key, 0) + displayed(child)
        self.levels: dict[str, list[tuple[float, int]]] = {}
        for venue in venues:
            shown = []
            for level in book.levels(venue, side):
                qty = level.qty - mine.get((venue, round(level.price, 6)), 0)
                if qty > 0:
                    shown.append((level.price, qty))
            self.levels[venue] = shown

    def _better_or_at(self, a: float, b: float) -> bool:
        return a >= b - _EPS if self.side.is_buy else a <= b + _EPS

    def best(self) -> tuple[float | None, int]:
        """The best price others show on this side, and their size there in all."""
        best, qty = None, 0
        for shown in self.levels.values():
            if not shown:
                continue
            price, size = shown[0]
            if best is not None and abs(price - best) <= _EPS:
                qty += size
            elif best is None or not self._better_or_at(best, price):
                best, qty = price, size
        return best, qty

    def sizes_at(self, price: float) -> list[int]:
        """Each venue's size at ``price`` (venues showing nothing there left out)."""
        return [q for shown in self.levels.values() for p, q in shown if abs(p - price) <= _EPS]

    def ahead(self, venue: str, price: float) -> int:
        """What others show on ``venue`` at ``price`` or better: ahead of an order joining there."""
        return sum(q for p, q in self.levels.get(venue, ()) if self._better_or_at(p, price))

    def better_than(self, venue: str, price: float) -> int:
        """What others show on ``venue`` at prices strictly better than ``price``."""
        return sum(q for p, q in self.levels.get(venue, ())
                   if self._better_or_at(p, price) and abs(p - price) > _EPS)

    def typical_size(self, price: float) -> float | None:
        """The average size a venue shows at ``price``; at the best level when none shows there."""
        sizes = self.sizes_at(price)
        if not sizes:
            sizes = [shown[0][1] for shown in self.levels.values() if shown]
        return sum(sizes) / len(sizes) if sizes else None


def others_best(book: InstrumentBook, child: ChildOrder) -> tuple[float | None, int]:
    """Our side's best price and size from everyone but our resting ``child``, read from the
    venues' levels (what the volatility algo's NBBO-only view cannot see behind a child alone at
    the best)."""
    side = child.side
    return OthersBook(book, side, [child], set(book.venues(side)) | {child.venue}).best()
