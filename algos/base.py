"""The algo protocol and the context the engine gives each algo.

An algo decides *when*, *how much* and *at what limit* to trade. Venue choice belongs to the
smart order router behind ``AlgoContext.take``, and every child passes the risk checks there,
so an algo cannot send a child the parent would not allow.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol

from router.domain.instruments import Instrument
from router.domain.orders import ChildOrder, ParentOrder
from router.market.books import InstrumentBook


class AlgoContext(Protocol):
    @property
    def parent(self) -> ParentOrder: ...

    @property
    def instrument(self) -> Instrument: ...

    def now_ns(self) -> int: ...

    def book(self) -> InstrumentBook: ...

    def open_children(self) -> list[ChildOrder]: ...

    def children_sent(self) -> int: ...

    def take(self, qty: int, limit: float, *, venues: tuple[str, ...], max_children: int | None) -> list[ChildOrder]:
        """Route marketable IOC children for up to ``qty`` at ``limit``; returns the children made."""

    def cancel_child(self, child: ChildOrder) -> None: ...

    def wake_at(self, at_ns: int) -> None:
        """Call ``on_timer`` at this time."""

    def finish(self, text: str) -> None:
        """Stop working: pull open children and cancel the parent's balance, reporting ``text``."""

    def wait_for_liquidity(self, limit: float | None) -> None:
        """Call ``on_book`` once the far side reaches ``limit`` (None: on every book update)."""

    def market_through_ticks(self) -> int: ...


class Algo(ABC):
    name: str = "algo"

    def __init__(self, ctx: AlgoContext) -> None:
        self.ctx = ctx

    @abstractmethod
    def start(self) -> None:
        """The parent was accepted: begin working it."""

    def resume(self) -> None:
        """The parent was restored after a restart, or changed by a replace."""
        self.start()

    def on_book(self) -> None:
        """The market reached the price given to ``wait_for_liquidity``."""

    def on_child_done(self, child: ChildOrder) -> None:
        """A child reached a final state (filled, canceled or rejected)."""

    def on_timer(self) -> None:
        """A wake-up asked for with ``wake_at``."""
