"""Simulated market makers answering the router's auctions and package orders on the option
venues, so a facilitation gets competition and a Seeker gets responses. Seeded (its own numpy
stream ``[seed, RESPONDER_STREAM]``), on the clock, and idle until the router starts an auction
or rests a package: the rest of the simulated market draws exactly what it drew before.

Each responder's fair value is the venue's own mid (the option market maker quotes around the
model value, venues/sim/participants.py), in book ticks; a package's fair value is the sum of
its legs' mids with ratios and signs.

- Auctions: each of ``names``, with probability ``respond_prob``, answers after an exponential
  reaction time (mean ``reaction_ms``, kept inside the exposure period) at its fair value plus
  (selling to an agency buyer) or minus (buying) a whole number of ticks of edge drawn from
  0..``max_edge_ticks``; it responds only at a price at or better than the stop (it would lose
  otherwise), for ``size_min..size_max`` contracts.
- Packages: when a router package rests, with probability ``package_prob`` one responder, after
  its reaction time, quotes the other side of that package on the COB at the package's fair
  value plus its edge, for ``size_min..size_max`` units, and pulls the quote after
  ``package_life_ms``. If the quote crosses the router's order they trade; if not it shows as a
  resting contra (a response the Seeker sees in the ComplexBookUpdate).
"""
from __future__ import annotations

import math

import numpy as np

from router.clock import Clock
from router.domain.enums import Side

from .auction import AuctionError
from .complex_book import PackageError, PackageOrderView
from .venue import SimVenue
from .venue_complex import AuctionNotice

RESPONDER_STREAM = 200


def _ms(ms: float) -> int:
    return int(ms * 1_000_000)


class AuctionResponders:
    def __init__(self, clock: Clock, venues: list[SimVenue], seed: int, *,
                 names: tuple[str, ...] = ("mmA", "mmB", "mmC"), respond_prob: float = 0.7,
                 reaction_ms: float = 10.0, max_edge_ticks: int = 3, size_min: int = 1, size_max: int = 50,
                 package_prob: float = 0.5, package_life_ms: float = 1000.0) -> None:
        if not 0.0 <= respond_prob <= 1.0 or not 0.0 <= package_prob <= 1.0:
            raise ValueError(f"probabilities must be within 0..1, got {respond_prob} and {package_prob}")
        if size_min < 1 or size_max < size_min:
            raise ValueError(f"sizes must be 1 <= size_min <= size_max, got {size_min}..{size_max}")
        self._clock = clock
        self._rng = np.random.default_rng([seed, RESPONDER_STREAM])
        self.names = names
        self.respond_prob, self.reaction_ms, self.max_edge_ticks = respond_prob, reaction_ms, max_edge_ticks
        self.size_min, self.size_max = size_min, size_max
        self.package_prob, self.package_life_ms = package_prob, package_life_ms
        self.responses = 0            # auction responses sent (an audit for tests and benches)
        self.package_quotes = 0
        self._ids = 0
        for venue in venues:
            venue.auction_listeners.append(lambda notice, v=venue: self.on_auction(v, notice))
            venue.package_listeners.append(lambda view, v=venue: self.on_package(v, view))

    def _mid_ticks(self, venue: SimVenue, symbol: str) -> float | None:
        bid, ask = venue.book(symbol).best_bid(), venue.book(symbol).best_ask()
        return None if bid is None or ask is None else (bid[0] + ask[0]) / 2

    def _delay_ns(self, cap_ns: int | None = None) -> int:
        delay = _ms(self._rng.exponential(self.reaction_ms))
        return delay if cap_ns is None else min(delay, cap_ns)

    def _size(self) -> int:
        return int(self._rng.integers(self.size_min, self.size_max + 1))

    # ---- auctions

    def on_auction(self, venue: SimVenue, notice: AuctionNotice) -> None:
        fair = self._mid_ticks(venue, notice.symbol)
        if fair is None:
            return
        window = max(notice.ends_ns - self._clock.now_ns() - 1, 0)
        stop = round(notice.stop_price / venue.price_tick)
        for name in self.names:
            if self._rng.random() >= self.respond_prob:
                continue
            edge = int(self._rng.integers(0, self.max_edge_ticks + 1))
            # selling to an agency buyer: fair plus edge; buying from an agency seller: fair minus edge
            price = math.ceil(fair) + edge if notice.agency_side.is_buy else math.floor(fair) - edge
            if (price > stop) if notice.agency_side.is_buy else (price < stop):
                continue
            qty, delay = self._size(), self._delay_ns(window)
            self._clock.call_later(delay, lambda n=name, p=price, q=qty: self._respond(venue, notice, n, p, q))

    def _respond(self, venue: SimVenue, notice: AuctionNotice, name: str, price_ticks: int, qty: int) -> None:
        try:
            venue.respond(notice.auction_id, name, price_ticks * venue.price_tick, qty)
        except AuctionError:
            return                      # it ended meanwhile
        self.responses += 1

    # ---- package orders

    def on_package(self, venue: SimVenue, view: PackageOrderView) -> None:
        if self._rng.random() >= self.package_prob:
            return
        mids = [self._mid_ticks(venue, leg.symbol) if not leg.is_stock else None for leg in view.package.legs]
        if any(m is None for m in mids):
            return
        fair = sum(leg.sign * leg.ratio * mid for leg, mid in zip(view.package.legs, mids))   # canonical
        edge = int(self._rng.integers(0, self.max_edge_ticks + 1))
        router_buys = view.package.canonical_side(view.side).is_buy
        side = Side.SELL if router_buys else Side.BUY
        price = math.ceil(fair) + edge if side is Side.SELL else math.floor(fair) - edge
        legs = tuple((leg.symbol, Side.BUY if leg.sign > 0 else Side.SELL, leg.ratio) for leg in view.package.legs)
        # (no stock legs here: a package with one has no mid on this option venue and got no response above)
        name = self.names[int(self._rng.integers(len(self.names)))]
        qty = self._size()
        self._clock.call_later(self._delay_ns(), lambda: self._quote_package(venue, name, legs, side, qty, price))

    def _quote_package(self, venue: SimVenue, name: str, legs, side: Side, qty: int, price_ticks: int) -> None:
        self._ids += 1
        order_id = f"{name}-pkg{self._ids}"
        try:
            result = venue.place_package(name, order_id, legs, side, qty, round(price_ticks * venue.price_tick, 8))
        except PackageError:
            return
        self.package_quotes += 1
        if result.rested_qty:
            self._clock.call_later(_ms(self.package_life_ms), lambda: venue.pull_package(order_id))
