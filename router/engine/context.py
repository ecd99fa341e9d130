"""The engine as one algo (or one auto-hedger) sees it: ``algos.base.AlgoContext`` v2."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from router.clock import Clock
from router.domain.enums import ChildRole, Liquidity, Side, TimeInForce
from router.domain.instruments import Instrument
from router.domain.orders import ChildOrder, ParentOrder
from router.market.books import EMPTY_NBBO, InstrumentBook, MarketBooks, Nbbo
from router.market.live_surface import LiveSurfaces
from router.market.model import OptionModel
from router.market.securities import SecurityMaster
from router.market.waiters import LiquidityWaiters
from router.models.live_alpha import LiveAlpha
from venues.fees import FeeError

if TYPE_CHECKING:
    from venues.fees import FeeSchedule
    from venues.sor import SmartOrderRouter

    from .children import ChildOrderManager
    from .parents import ParentLifecycle
    from .runtime import AlgoRuntime

ALGO, HEDGE = "algo", "hedge"


@dataclass
class Services:
    clock: Clock
    books: MarketBooks
    securities: SecurityMaster
    model: OptionModel
    waiters: LiquidityWaiters
    children: "ChildOrderManager" = None
    runtime: "AlgoRuntime" = None
    lifecycle: "ParentLifecycle" = None
    live_surfaces: LiveSurfaces | None = None
    live_alpha: LiveAlpha | None = None
    fees: "FeeSchedule | None" = None         # the venues' fee models, for the net-of-fee alpha probabilities
    sor: "SmartOrderRouter | None" = None
    package_children: "PackageChildren | None" = None     # packages on the venues' complex order books
    complex_books: "ComplexBooks | None" = None
    auctions: "Auctions | None" = None                     # price-improvement auctions (facilitation)


class ParentContext:
    __slots__ = ("_s", "_parent", "_instrument", "_owner")

    def __init__(self, services: Services, parent: ParentOrder, owner: str) -> None:
        self._s = services
        self._parent = parent
        self._instrument = services.securities.get(parent.symbol)
        self._owner = owner

    # ---- the parent
    @property
    def parent(self) -> ParentOrder:
        return self._parent

    def now_ns(self) -> int:
        return self._s.clock.now_ns()

    # ---- market
    def instrument(self, symbol: str | None = None) -> Instrument | None:
        return self._instrument if symbol is None else self._s.securities.get(symbol)

    def book(self, symbol: str | None = None) -> InstrumentBook:
        return self._s.books.book(symbol or self._parent.symbol)

    def underlier_quote(self) -> Nbbo:
        if self._instrument is None:
            return EMPTY_NBBO
        return self._s.books.nbbo(self._instrument.underlying)

    def greeks(self, symbol: str | None = None, *, underlier: float | None = None):
        instrument = self.instrument(symbol)
        if instrument is None:
            return None
        return self._s.model.greeks(instrument, self.now_ns(), self._parent.algo, underlier)

    def implied_vol(self, price: float, symbol: str | None = None) -> float | None:
        instrument = self.instrument(symbol)
        if instrument is None:
            return None
        return self._s.model.implied_vol(instrument, price, self.now_ns(), self._parent.algo)

    def market_rate(self) -> float:
        return self._s.model.rate

    def subscribe(self, symbol: str) -> None:
        self._s.runtime.subscribe(self._parent.order_id, self._owner, symbol)

    def unsubscribe(self, symbol: str) -> None:
        self._s.runtime.unsubscribe(self._parent.order_id, self._owner, symbol)

    # ---- secondary limits: the live surface and alpha probabilities
    def surface_prices(self, symbols, vol_shifts):
        instruments = [self._s.securities.get(symbol) for symbol in symbols]
        return self._s.live_surfaces.surface_prices(instruments, self.now_ns(), vol_shifts)

    def follow_alpha(self) -> None:
        nbbo = self.book().nbbo()
        tick = self._instrument.tick_rule.tick_at(nbbo.bid or nbbo.ask or 0.0)
        self._s.live_alpha.follow(self._parent.order_id, self._parent.symbol, tick, self.now_ns(), nbbo.bid,
                                  nbbo.ask, nbbo.bid_qty, nbbo.ask_qty)

    def alpha_state(self, symbols):
        return self._s.live_alpha.state(symbols, self.now_ns())

    def alpha_model(self, variant: str):
        return self._s.live_alpha.model(variant)

    def probability_window(self, kind: str):
        return self._s.live_alpha.window(self._parent.order_id, kind)

    def expected_fee(self, kind: str, price: float) -> float:
        return expected_fee(self._s, self._parent, self._instrument, kind, price)

    # ---- orders
    def _default_role(self) -> ChildRole:
        return ChildRole.HEDGE if self._owner == HEDGE else ChildRole.WORK

    def take(self, qty: int, limit: float, *, symbol: str | None = None, side: Side | None = None,
             venues: tuple[str, ...] = (), max_children: int | None = None, role: ChildRole | None = None,
             short_sale: bool = False) -> list[ChildOrder]:
        symbol = symbol or self._parent.symbol
        instrument = self._s.securities.get(symbol)
        return self._s.children.take(self._parent, instrument, symbol, side or self._parent.side, qty, limit,
                                     venues, max_children, role or self._default_role(), short_sale)

    def plan_posts(self, qty: int, price: float, *, num_venues: int = 1, max_exposure: int | None = None,
                   exclude: tuple[str, ...] = ()) -> list[tuple[str, int]]:
        return self._s.children.plan_posts(self._parent, self._instrument, self._parent.side, qty, price,
                                           num_venues, max_exposure, exclude)

    def post(self, symbol: str | None, side: Side | None, qty: int, price: float, *, venue: str | None = None,
             post_only: bool = True, display_qty: int | None = None, tif: TimeInForce = TimeInForce.DAY,
             role: ChildRole | None = None, short_sale: bool = False) -> ChildOrder | None:
        symbol = symbol or self._parent.symbol
        instrument = self._s.securities.get(symbol)
        allowed = self._parent.algo.exchanges if symbol == self._parent.symbol else ()
        return self._s.children.post(self._parent, instrument, symbol, side or self._parent.side, qty, price, venue,
                                     post_only, display_qty, tif, role or self._default_role(), allowed, short_sale)

    def post_package(self, venue: str, packages: int, price: float,
                     tif: TimeInForce = TimeInForce.DAY) -> ChildOrder | None:
        return self._s.package_children.post(self._parent, venue, packages, price, tif)

    def auction_venue(self) -> str | None:
        """The venue to run the parent's price-improvement auction on, or None when none may."""
        return self._s.auctions.choose_venue(self._parent)

    def start_auction(self, venue: str, qty: int, stop: float, auto_match_limit: float | None):
        """(auction id, agency child id, initiator child id), or the reason nothing was sent."""
        return self._s.auctions.start(self._parent, venue, qty, stop, auto_match_limit)

    def package_responses(self, venues: tuple[str, ...]) -> list:
        return self._s.complex_books.responses(self._parent, venues)

    def package_venues(self) -> tuple[str, ...]:
        return self._s.package_children.venues(self._parent)

    def replace(self, child: ChildOrder, qty: int | None = None, price: float | None = None) -> None:
        self._s.children.replace(self._parent, self._s.securities.get(child.symbol), child, qty, price)

    def cancel(self, child: ChildOrder) -> None:
        self._s.children.cancel(child)

    def open_children(self, role: ChildRole | None = ChildRole.WORK) -> list[ChildOrder]:
        return self._s.children.open_children(self._parent.order_id, role)

    def children_sent(self) -> int:
        return self._parent.child_seq

    # ---- time
    def set_timer(self, name: str, at_ns: int) -> None:
        self._s.runtime.set_timer(self._parent.order_id, self._owner, name, at_ns)

    def cancel_timer(self, name: str) -> None:
        self._s.runtime.cancel_timer(self._parent.order_id, self._owner, name)

    def wait_for_liquidity(self, limit: float | None) -> None:
        self._s.waiters.wait(self._parent.symbol, self._parent.order_id, self._parent.side.is_buy, limit)

    # ---- the end
    def finish(self, text: str) -> None:
        self._s.lifecycle.finish(self._parent, text)

    def hold(self, text: str) -> None:
        self._s.lifecycle.hold(self._parent, text)


def expected_fee(services: Services, parent: ParentOrder, instrument: Instrument, kind: str, price: float) -> float:
    """Per share, in premium units: the cheapest taker (take) or maker (make) fee per contract
    among the parent's venues, over the multiplier. A coin-quoted option's fee comes in the coin
    (underlier price 1: the premium is in it too); 0 when no venue's fee can be known."""
    if services.fees is None or services.sor is None or instrument is None:
        return 0.0
    liquidity = Liquidity.REMOVED if kind == "take" else Liquidity.ADDED
    underlier = 1.0 if instrument.coin_quoted else services.model.underlier_mid(instrument)
    per_contract = []
    for venue in services.sor.candidates(parent.symbol, parent.algo.exchanges):
        try:
            per_contract.append(services.fees.net_fee(venue, liquidity, symbol=parent.symbol, price=price,
                                                      underlier_price=underlier))
        except FeeError:
            continue
    return min(per_contract) / instrument.multiplier if per_contract else 0.0
