"""Market data from another thread (a remote exchange's reader), conflated for the engine.

Books are not queued in the engine's inbox: each (venue, symbol) keeps only its latest book,
under a lock, and prints go to a bounded tape. The first item into an empty buffer posts one
wake-up marker to the inbox; the engine takes the whole buffer at the end of a batch, after the
batch's client requests and venue reports, so no order ever waits behind a backlog of quotes
and a burst of updates to one book costs the engine one update. Items may arrive undecoded
(wire frames): ``decode`` makes them events on the engine thread, and only for what is applied.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Callable

MARKET_WAKE = object()          # the inbox marker: "the market buffer has something"
MAX_PRINTS = 10_000             # prints kept between two batches; older ones are dropped


class MarketInbox:
    def __init__(self, wake: Callable[[object], None], decode: Callable[[object], object] | None = None,
                 max_prints: int = MAX_PRINTS) -> None:
        self._wake = wake
        self._decode = decode
        self._lock = threading.Lock()
        self._books: dict[tuple[str, str], object] = {}
        self._prints: deque = deque(maxlen=max_prints)
        self._marked = False            # a wake-up marker was posted since the buffer was last taken
        self.dropped_prints = 0

    def put_book(self, key: tuple[str, str], item: object) -> None:
        """Thread-safe: ``item`` becomes the latest book of ``key`` (venue, symbol)."""
        with self._lock:
            self._books[key] = item
            if self._marked:
                return
            self._marked = True
        self._wake(MARKET_WAKE)

    def put_print(self, item: object) -> None:
        with self._lock:
            if len(self._prints) == self._prints.maxlen:
                self.dropped_prints += 1
            self._prints.append(item)
            if self._marked:
                return
            self._marked = True
        self._wake(MARKET_WAKE)

    def take(self) -> tuple[list, list]:
        """Engine thread: everything buffered, decoded — the latest book per (venue, symbol) in the
        order each key first arrived, and the prints in arrival order — leaving the buffer empty."""
        if not self._marked:            # read without the lock: a put racing it posts its own wake-up
            return [], []
        with self._lock:
            books, self._books = self._books, {}
            prints = list(self._prints)
            self._prints.clear()
            self._marked = False
        decode = self._decode
        if decode is None:
            return list(books.values()), prints
        return [decode(item) for item in books.values()], [decode(item) for item in prints]
