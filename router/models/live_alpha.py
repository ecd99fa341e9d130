"""Live alpha inputs: the recent market of each option the engine has been asked to follow (the
symbols of working alpha parents), and the shipped alpha models per variant.

The engine feeds every book change and trade it applies (``on_book`` / ``on_trade``, clock time)
to the ``RecentMarket`` of a followed symbol; ``state(symbols, now)`` stacks their states so all
the parents of an underlier are scored in ONE model call (router/models/alpha.py). A symbol is
followed while at least one parent asks for it (``follow`` / ``unfollow`` count per parent).

Models load lazily, once per variant, and the line ``load_alpha_model`` returns is logged.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from .alpha import AlphaModel, ProbabilityWindow, load_alpha_model
from .alpha_features import AlphaState, RecentMarket

log = logging.getLogger(__name__)


class LiveAlpha:
    def __init__(self, model_paths: Mapping[str, str | Path] | None = None,
                 alive: Callable[[str], bool] = lambda order_id: True) -> None:
        """``model_paths``: a model file per variant; the shipped one for any variant not named.
        ``alive``: whether a parent still works; followers that do not are dropped when another
        parent starts following."""
        self._paths = dict(model_paths or {})
        self._alive = alive
        self._models: dict[str, AlphaModel] = {}
        self._markets: dict[str, RecentMarket] = {}
        self._followers: dict[str, set[str]] = {}          # symbol -> order ids following it
        self._windows: dict[tuple[str, str], ProbabilityWindow] = {}   # (order id, take|make)

    # ------------------------------------------------------------------ following

    def follow(self, order_id: str, symbol: str, tick: float, now_ns: int,
               bid: float | None = None, ask: float | None = None, bid_size: float = 0.0,
               ask_size: float = 0.0) -> None:
        """Start keeping ``symbol``'s recent market (seeded with its book now, when two-sided)."""
        followers = self._followers.get(symbol)
        if followers is not None and order_id in followers:
            return
        for gone in {i for ids in self._followers.values() for i in ids if not self._alive(i)}:
            self.unfollow(gone)
        self._followers.setdefault(symbol, set()).add(order_id)
        if symbol not in self._markets:
            market = self._markets[symbol] = RecentMarket(tick)
            if bid is not None and ask is not None:
                market.on_book(now_ns, bid, ask, bid_size, ask_size)

    def unfollow(self, order_id: str) -> None:
        """The parent is done: forget its windows, and the symbols nobody else follows."""
        for key in [k for k in self._windows if k[0] == order_id]:
            del self._windows[key]
        for symbol in [s for s, ids in self._followers.items() if order_id in ids]:
            ids = self._followers[symbol]
            ids.discard(order_id)
            if not ids:
                del self._followers[symbol]
                self._markets.pop(symbol, None)

    def follows(self, symbol: str) -> bool:
        return symbol in self._markets

    # ------------------------------------------------------------------ the engine's feed

    def on_book(self, symbol: str, now_ns: int, bid: float | None, ask: float | None, bid_size: float,
                ask_size: float) -> None:
        market = self._markets.get(symbol)
        if market is not None and bid is not None and ask is not None:
            market.on_book(now_ns, bid, ask, bid_size, ask_size)

    def on_trade(self, symbol: str, now_ns: int, price: float, signed_size: float) -> None:
        """``signed_size``: + when the buyer took, - when the seller did."""
        market = self._markets.get(symbol)
        if market is not None:
            market.on_trade(now_ns, price, signed_size)

    # ------------------------------------------------------------------ what the algos read

    def state(self, symbols: Sequence[str], now_ns: int) -> tuple[AlphaState | None, np.ndarray]:
        """The stacked state of the symbols that have one, and a mask of which did (in order)."""
        found = [self._state_of(s, now_ns) for s in symbols]
        has = np.array([st is not None for st in found], dtype=bool)
        states = [st for st in found if st is not None]
        return (AlphaState.stack(states) if states else None), has

    def _state_of(self, symbol: str, now_ns: int) -> AlphaState | None:
        market = self._markets.get(symbol)
        if market is None:
            return None
        try:
            return market.state(now_ns)
        except ValueError:           # no two-sided book yet
            return None

    def model(self, variant: str) -> AlphaModel:
        model = self._models.get(variant)
        if model is None:
            model, line = load_alpha_model(self._paths.get(variant), variant)
            log.info("%s", line)
            self._models[variant] = model
        return model

    def window(self, order_id: str, kind: str) -> ProbabilityWindow:
        """The Relative alpha type's recent probabilities of one parent's take (or make) side."""
        window = self._windows.get((order_id, kind))
        if window is None:
            window = self._windows[(order_id, kind)] = ProbabilityWindow()
        return window
