"""The algo protocol and the context the engine gives each algo (version 2).

An algo decides *what should be working*: what to take now, what to rest where and at what
price. The child order manager behind the context executes it: it makes the child IDs, runs
every child through the risk checks, keeps one request in flight per child (a newer target
supersedes a queued one), and turns venue reports into the events below. Nothing here is
specific to one algo.

Event rules the runtime guarantees:
- no timer, market or book callback reaches an algo whose parent is pending cancel or
  replace, or done;
- ``on_market(symbol)`` is conflated: at most one call per subscribed symbol per engine batch,
  after the batch's market data is applied, so the algo always sees the latest book;
- ``save_state`` is called whenever the parent is written, so the algo's state is durable in
  the same commit as the parent; ``load_state`` hands it back after a restart, before
  ``resume``.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, Sequence

from router.domain.enums import ChildRole, Side, TimeInForce
from router.domain.instruments import Instrument
from router.domain.orders import ChildOrder, Fill, ParentOrder
from router.market.books import InstrumentBook, Nbbo
from router.market.pricing import Greeks


@dataclass(frozen=True, slots=True)
class ParentChange:
    """A client replace, applied: the parent's terms before it. The parent holds the new ones."""
    old_qty: int
    old_price: float | None


class AlgoContext(Protocol):
    # ---- the parent
    @property
    def parent(self) -> ParentOrder: ...

    def now_ns(self) -> int: ...

    # ---- market: any symbol; ``symbol=None`` means the parent's own
    def instrument(self, symbol: str | None = None) -> Instrument | None: ...

    def book(self, symbol: str | None = None) -> InstrumentBook: ...

    def underlier_quote(self) -> Nbbo:
        """The NBBO of the parent's underlier (its own NBBO when the parent is not an option)."""

    def greeks(self, symbol: str | None = None, *, underlier: float | None = None) -> Greeks | None:
        """Model price and greeks of an option (at the underlier's mid unless ``underlier`` is
        given), with the parent's rate and dividend overrides; None without an underlier price."""

    def implied_vol(self, price: float, symbol: str | None = None) -> float | None: ...

    def market_rate(self) -> float:
        """The market's risk-free rate (before the order's RateOverride 5118)."""

    def subscribe(self, symbol: str) -> None:
        """Call ``on_market(symbol)`` after each batch in which the symbol's book changed."""

    def unsubscribe(self, symbol: str) -> None: ...

    # ---- secondary limits (algos/secondary_limits.py): the live surface and alpha probabilities
    def surface_prices(self, symbols: Sequence[str], vol_shifts) -> tuple[Any, Any]:
        """(prices, vols) arrays: each option at its live-surface vol + shift, in premium units;
        NaN where the surface has no fit for it (router/market/live_surface.py)."""

    def follow_alpha(self) -> None:
        """Keep the parent's option's recent market for its alpha probabilities (idempotent)."""

    def alpha_state(self, symbols: Sequence[str]) -> tuple[Any, Any]:
        """(the stacked AlphaState of the symbols that have one or None, the mask of which do)."""

    def alpha_model(self, variant: str) -> Any:
        """The alpha model of a variant (standard, hawk, eagle, falcon), loaded once."""

    def probability_window(self, kind: str) -> Any:
        """The parent's ProbabilityWindow for its take (or make) Relative alpha type."""

    def expected_fee(self, kind: str, price: float) -> float:
        """Expected exchange fee per share, in premium units, of a take (the cheapest taker fee of
        the parent's venues) or a make (the cheapest maker fee) at ``price``."""

    # ---- orders
    def take(self, qty: int, limit: float, *, symbol: str | None = None, side: Side | None = None,
             venues: tuple[str, ...] = (), max_children: int | None = None,
             role: ChildRole = ChildRole.WORK, short_sale: bool = False) -> list[ChildOrder]:
        """Marketable IOC children for up to ``qty`` at ``limit`` through the SOR; the children made."""

    def plan_posts(self, qty: int, price: float, *, num_venues: int = 1, max_exposure: int | None = None,
                   exclude: tuple[str, ...] = ()) -> list[tuple[str, int]]:
        """(venue, qty) for resting ``qty`` of the parent's option at ``price`` over the
        ``num_venues`` best posting venues (the SOR's expected-cost rank), showing at most
        ``max_exposure`` in all; ``exclude``: venues not to use. Empty when no venue is allowed."""

    def post(self, symbol: str | None, side: Side | None, qty: int, price: float, *, venue: str | None = None,
             post_only: bool = True, display_qty: int | None = None, tif: TimeInForce = TimeInForce.DAY,
             role: ChildRole = ChildRole.WORK, short_sale: bool = False) -> ChildOrder | None:
        """Rest a child. ``venue=None`` lets the SOR choose (maker rebate first, then displayed
        size). None when the child risk checks block it (journaled)."""

    # ---- packages (a NewOrderMultileg parent) on the venues' complex order books
    def post_package(self, venue: str, packages: int, price: float,
                     tif: TimeInForce = TimeInForce.DAY) -> ChildOrder | None:
        """Rest ``packages`` of the parent's package at net ``price`` on ``venue``'s complex book (a
        PACKAGE child; its fills arrive as its legs'). None when the risk checks block it."""

    def package_responses(self, venues: tuple[str, ...]) -> list:
        """Contra package interest resting on these venues' complex books, best first
        (router/engine/package_children.py Response: venue, net price per package, packages)."""

    def package_venues(self) -> tuple[str, ...]:
        """Venues with a complex book listing every option leg, allowed and reachable."""

    # ---- price-improvement auctions (facilitation)
    def auction_venue(self) -> str | None:
        """The venue to run the parent's auction on, or None when none may."""

    def start_auction(self, venue: str, qty: int, stop: float, auto_match_limit: float | None):
        """Start one: (auction id, agency child id, initiator child id), or why nothing was sent."""

    def replace(self, child: ChildOrder, qty: int | None = None, price: float | None = None) -> None:
        """Amend a resting child (total OrderQty and/or price). Sent at once if nothing is in flight
        for the child, otherwise queued; a newer target replaces a queued one."""

    def cancel(self, child: ChildOrder) -> None: ...

    def open_children(self, role: ChildRole | None = ChildRole.WORK) -> list[ChildOrder]:
        """Open children of the parent with this role (None: every role)."""

    def children_sent(self) -> int: ...

    # ---- time
    def set_timer(self, name: str, at_ns: int) -> None:
        """Call ``on_timer(name)`` at ``at_ns``; setting a name again moves that timer."""

    def cancel_timer(self, name: str) -> None: ...

    def wait_for_liquidity(self, limit: float | None) -> None:
        """Call ``on_book`` once the far side reaches ``limit`` (None: on every book update)."""

    # ---- the end
    def finish(self, text: str) -> None:
        """Stop working: pull open children and cancel the parent's balance, reporting ``text``."""

    def hold(self, text: str) -> None:
        """Pull every open WORK child and keep the parent working (a hold until the algo resumes)."""


class Algo(ABC):
    name: ClassVar[str] = "algo"
    # Custom tags (beyond the sweep's common set) this algo gives an effect; an order carrying a
    # behavioural tag its algo does not read is rejected (registry.py).
    reads_tags: ClassVar[frozenset[int]] = frozenset()
    # True: the runtime calls ``on_underlier_batch`` once per underlier update for every parent
    # of this class on that underlier, instead of ``on_market`` one by one.
    tied_to_underlier: ClassVar[bool] = False

    def __init__(self, ctx: AlgoContext, settings: Any = None) -> None:
        self.ctx = ctx
        self.settings = settings

    @classmethod
    def order_problem(cls, params: Any, instrument: Instrument | None) -> str | None:
        """Why this algo refuses an order's terms (a text naming the tag and the rule), or None.
        Checked at entry, after the tags it does not read (registry.unread_tags)."""
        return None

    @abstractmethod
    def start(self) -> None:
        """The parent was accepted: begin working it."""

    def resume(self) -> None:
        """The parent was restored after a restart (state already loaded)."""
        self.start()

    # ---- events
    def on_market(self, symbol: str) -> None:
        """A subscribed symbol's book changed in the last batch."""

    def on_book(self) -> None:
        """The market reached the price given to ``wait_for_liquidity``."""

    def on_child_accepted(self, child: ChildOrder) -> None: ...

    def on_fill(self, child: ChildOrder, fill: Fill) -> None: ...

    def on_child_replaced(self, child: ChildOrder) -> None: ...

    def on_child_rejected(self, child: ChildOrder, reason: str) -> None:
        """A submit, replace or cancel was refused by the venue (a refused replace leaves the
        child working on its old terms)."""

    def on_child_done(self, child: ChildOrder) -> None:
        """A child reached a final state (filled, canceled or rejected)."""

    def on_timer(self, name: str) -> None: ...

    def on_auction_result(self, result) -> None:
        """A price-improvement auction this parent started ended (router.domain.events.AuctionResult:
        the price improvement, the firm's and the responders' shares); its fills came before it."""

    def on_parent_change(self, change: ParentChange) -> None:
        """A client replace was applied. Children that would break the new terms were already
        reduced or pulled by the order manager; the algo decides the rest."""
        self.resume()

    @classmethod
    def on_underlier_batch(cls, algos: Sequence["Algo"], underlier: str) -> None:
        """The underlier's book changed; ``algos`` are this class's working parents on it."""
        for algo in algos:
            algo.on_market(underlier)

    # ---- durable state
    def save_state(self) -> dict:
        return {}

    def load_state(self, state: dict) -> None:
        """The dict ``save_state`` returned before a restart."""
