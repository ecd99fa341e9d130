"""Orders waiting for the market to come to them, indexed by price.

A working order that cannot trade registers the price it needs: a buy waits for the best offer
to fall to its limit, a sell for the best bid to rise to it. On a book update only the orders
the new NBBO reaches are woken, so an update costs O(woken), not O(working orders) — which is
what keeps thousands of resting parents on one option cheap. Orders whose limit moves with the
market (LimitType Market) register without a price and are woken by every update.
"""
from __future__ import annotations

import heapq
import itertools

from .books import Nbbo

_EPS = 1e-9


class _SymbolWaiters:
    __slots__ = ("buys", "sells", "any")

    def __init__(self) -> None:
        self.buys: list[tuple[float, int, str]] = []     # (-limit, token, order_id): highest limit first
        self.sells: list[tuple[float, int, str]] = []    # (limit, token, order_id): lowest limit first
        self.any: dict[str, int] = {}


class LiquidityWaiters:
    def __init__(self) -> None:
        self._by_symbol: dict[str, _SymbolWaiters] = {}
        self._token: dict[str, int] = {}                  # order_id -> live registration
        self._tokens = itertools.count(1)

    def wait(self, symbol: str, order_id: str, is_buy: bool, limit: float | None) -> None:
        token = next(self._tokens)
        self._token[order_id] = token
        waiters = self._by_symbol.setdefault(symbol, _SymbolWaiters())
        if limit is None:
            waiters.any[order_id] = token
        elif is_buy:
            heapq.heappush(waiters.buys, (-limit, token, order_id))
        else:
            heapq.heappush(waiters.sells, (limit, token, order_id))

    def forget(self, order_id: str) -> None:
        self._token.pop(order_id, None)

    def watches(self, symbol: str) -> bool:
        """Some order may be waiting on this symbol (stale entries count until a ``reached`` drops them)."""
        waiters = self._by_symbol.get(symbol)
        return waiters is not None and bool(waiters.buys or waiters.sells or waiters.any)

    def reached(self, symbol: str, nbbo: Nbbo) -> list[str]:
        """Orders the NBBO now reaches, in price priority; they are unregistered."""
        waiters = self._by_symbol.get(symbol)
        if waiters is None:
            return []
        woken: list[str] = []
        if nbbo.ask is not None:
            self._pop_while(waiters.buys, lambda key: -key >= nbbo.ask - _EPS, woken)
        if nbbo.bid is not None:
            self._pop_while(waiters.sells, lambda key: key <= nbbo.bid + _EPS, woken)
        for order_id, token in sorted(waiters.any.items()):
            if self._token.get(order_id) == token:
                del self._token[order_id]
                woken.append(order_id)
        waiters.any.clear()
        return woken

    def _pop_while(self, heap: list, reaches, woken: list[str]) -> None:
        while heap:
            key, token, order_id = heap[0]
            if self._token.get(order_id) != token:
                heapq.heappop(heap)          # stale: re-registered, woken or forgotten since
                continue
            if not reaches(key):
                return
            heapq.heappop(heap)
            del self._token[order_id]
            woken.append(order_id)
