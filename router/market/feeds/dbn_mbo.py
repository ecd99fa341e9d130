"""Databento MBO (market by order) files, ``.dbn`` or ``.dbn.zst``, read with the
``databento-dbn`` package, as the order events the queue validation follows.

An MBO record is one order's add (A), cancel (C: the size canceled), modify (M: its new price and
size), fill (F: the resting order's execution), trade (T: the aggressor's print, already
told by the fills) or a book clear (R). The standing-book snapshot at the start of a file is a
run of adds. Events come out in LOBSTER's terms (router/market/feeds/lobster.py): a modify that
changes the price or raises the size loses the order's priority, so it is a delete and a new
submission; one that only lowers the size is a partial cancel. Prices stay in the file's units
(1e-9 of the currency).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import FeedError
from .lobster import LobsterEvent, LobsterEventType, LobsterLevels

_UNDEF_PRICE = 9_223_372_036_854_775_807


def _records(path: Path):
    import databento_dbn

    data = path.read_bytes()
    if path.name.endswith(".zst"):
        import zstandard

        data = zstandard.ZstdDecompressor().stream_reader(data).read()
    decoder = databento_dbn.DBNDecoder()
    try:
        decoder.write(data)
        records = decoder.decode()
    except Exception as error:           # the decoder's own error types
        raise FeedError(str(path), 0, f"not a readable DBN file: {error}") from None
    for number, record in enumerate(records):
        if type(record).__name__ == "MBOMsg":
            yield number, record


@dataclass
class _Order:
    direction: int
    price: int
    size: int


class MboEvents:
    """(event, the top of the book after it, True) for every order event of an MBO file, for one
    instrument (the most frequent, unless given)."""

    def __init__(self, path: str | Path, instrument_id: int | None = None) -> None:
        self.path = Path(path)
        self.instrument_id = instrument_id

    def __iter__(self) -> Iterator[tuple[LobsterEvent, LobsterLevels, bool]]:
        records = list(_records(self.path))
        if not records:
            raise FeedError(str(self.path), 0, "no MBO records")
        instrument = self.instrument_id
        if instrument is None:
            counts: dict[int, int] = {}
            for _, record in records:
                counts[record.instrument_id] = counts.get(record.instrument_id, 0) + 1
            instrument = max(counts, key=counts.get)
        orders: dict[int, _Order] = {}
        levels: dict[tuple[int, int], int] = {}
        for number, record in records:
            if record.instrument_id != instrument:
                continue
            action = str(record.action)
            for kind, order_id, size, price, direction in _translate(action, record, orders):
                key = (direction, price)
                levels[key] = levels.get(key, 0) + (size if kind is LobsterEventType.SUBMIT else -size)
                if levels[key] <= 0:
                    levels.pop(key, None)
                event = LobsterEvent(int(record.ts_event), kind, order_id, size, price, direction)
                yield event, _top(levels), True


def _translate(action: str, record, orders: dict[int, _Order]):
    order_id, size, price = int(record.order_id), int(record.size), int(record.price)
    side = str(record.side)
    if action == "A" and price != _UNDEF_PRICE:
        direction = 1 if side == "B" else -1
        orders[order_id] = _Order(direction, price, size)
        return [(LobsterEventType.SUBMIT, order_id, size, price, direction)]
    order = orders.get(order_id)
    if order is None:
        return []                                          # trades, clears, events of unknown orders
    if action in ("C", "F"):                             # a cancel of, or a fill against, the resting order
        size = min(size, order.size)
        order.size -= size
        if order.size <= 0:
            orders.pop(order_id)
        kind = LobsterEventType.EXECUTE if action == "F" else \
            LobsterEventType.DELETE if order.size <= 0 else LobsterEventType.CANCEL
        return [(kind, order_id, size, order.price, order.direction)]
    if action == "M":
        if price == order.price and size <= order.size:      # a size cut keeps its place
            cut = order.size - size
            order.size = size
            return [(LobsterEventType.CANCEL, order_id, cut, order.price, order.direction)] if cut else []
        old = (LobsterEventType.DELETE, order_id, order.size, order.price, order.direction)
        orders[order_id] = _Order(order.direction, price, size)
        return [old, (LobsterEventType.SUBMIT, order_id, size, price, order.direction)]
    return []


def _top(levels: dict[tuple[int, int], int]) -> LobsterLevels:
    bids = [price for direction, price in levels if direction == 1]
    asks = [price for direction, price in levels if direction == -1]
    bid = max(bids) if bids else None
    ask = min(asks) if asks else None
    return LobsterLevels(((ask, levels[(-1, ask)]),) if ask is not None else (),
                         ((bid, levels[(1, bid)]),) if bid is not None else ())
