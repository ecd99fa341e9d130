"""The simulated market around the simulated venues: the default of `router serve` and `router demo`.

- The underliers follow seeded jump-diffusion paths with U-shaped intraday volatility
  (router.market.paths).
- A stock market maker rests real orders on every equity venue: a few levels of round lots
  each side, one underlier tick apart around the path's spot, re-quoted at every path step. So
  hedges can trade the underlier, and its book reaches the router through the venue's normal
  publishing (with market-data latency), like any other book.
- After every underlier step each option's fair value and delta come from the true smile
  (router.market.simulation), one vectorised pass for the whole chain.
- One market maker per option venue quotes every listed option a few levels deep around fair
  value, with seed 002's delta-bucket widths times the venue's width multiplier. It re-quotes
  after its own reaction latency, so for a few milliseconds after each move its quotes are
  stale — the window a fast taker can pick off, as in real markets.
- Background takers hit random books, option and stock (Poisson arrivals), and option quotes
  flicker: a top level is pulled and restored a moment later.
Everything draws from one seeded numpy Generator and moves on the clock: a seed and a start
time determine the whole market.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np

from router.clock import NANOS_PER_SECOND, Clock
from router.config import MarketConfig, VenueConfig
from router.domain.enums import Side
from router.market.paths import JumpDiffusion, UnderlierPaths
from router.market.quoting import quote_prices
from router.market.securities import SecurityMaster
from router.market.simulation import ChainModel, Smile

from .matching import from_ticks, to_ticks
from .venue import PRICE_TICK, SimVenue

ROUND_LOT = 100
STOCK_LOTS_MAX = 20          # the stock maker shows 1..20 round lots a level
STOCK_TAKER_LOTS_MAX = 5     # a background stock taker takes 1..5 round lots


def _ms(ms: float) -> int:
    return int(ms * 1_000_000)


def stock_ladder(spot: float, tick_ticks: int, levels: int) -> tuple[list[int], list[int]]:
    """Bid and ask prices in book ticks, best first, ``tick_ticks`` apart: the best bid is the
    underlier tick at or below spot and the best ask the next one up."""
    best_bid = math.floor(spot / (tick_ticks * PRICE_TICK) + 1e-9) * tick_ticks
    bids = [best_bid - level * tick_ticks for level in range(levels)]
    asks = [best_bid + (level + 1) * tick_ticks for level in range(levels)]
    return [b for b in bids if b > 0], asks


def _underlier_tick_in_book_ticks(symbol: str, tick: float) -> int:
    ticks = to_ticks(tick, PRICE_TICK)
    if ticks < 1 or abs(from_ticks(ticks, PRICE_TICK) - tick) > 1e-9:
        raise ValueError(f"{symbol}: underlier tick {tick} is not a whole number of the venue's {PRICE_TICK} ticks")
    return ticks


class BackgroundFlow:
    def __init__(self, clock: Clock, venues: list[SimVenue], securities: SecurityMaster, config: MarketConfig,
                 venue_configs: list[VenueConfig] | None = None) -> None:
        self._clock = clock
        self._config = config
        self._rng = np.random.default_rng(config.seed)
        by_name = {v.name: v for v in venue_configs or []}
        kind = {v.name: by_name[v.name].kind if v.name in by_name else "option" for v in venues}
        self._option_venues = [v for v in venues if kind[v.name] == "option"]
        self._equity_venues = [v for v in venues if kind[v.name] == "equity"]
        self._width = {v.name: by_name[v.name].quote_width if v.name in by_name else 1.0 for v in venues}
        self._reaction_ms = {v.name: by_name[v.name].quoter_reaction_ms if v.name in by_name else 5.0
                             for v in venues}
        self._options = securities.options()
        und = config.underliers
        self._paths = UnderlierPaths([u.symbol for u in und], [u.spot for u in und],
                                     [JumpDiffusion(u.vol, u.jumps_per_day, u.jump_mean, u.jump_std) for u in und],
                                     seed=config.seed)
        self._tick_ticks = {u.symbol: _underlier_tick_in_book_ticks(u.symbol, u.underlier_tick) for u in und}
        self._chain = ChainModel(self._options, {u.symbol: Smile(u.vol, u.smile_skew, u.smile_curvature)
                                                 for u in und}, config.rate) if self._options else None
        self._option_books = [(v, index) for v in self._option_venues for index in range(len(self._options))]
        self._stock_books = [(v, symbol) for v in self._equity_venues for symbol in self._paths.symbols]
        self.fair: dict[str, float] = {}
        self._fair = np.zeros(len(self._options))
        self._delta = np.zeros(len(self._options))
        self._quoted: dict[tuple[str, int], tuple[float, float, list[str]]] = {}
        self._stock_quoted: dict[tuple[str, str], list[str]] = {}
        self._order_seq = 0
        self._running = False

    @property
    def spot(self) -> dict[str, float]:
        return {s: float(x) for s, x in zip(self._paths.symbols, self._paths.spots)}

    # ---- life cycle

    def start(self) -> None:
        """Quote every book now, then keep the market moving on the clock."""
        self._running = True
        self._quote_stocks()
        self._reprice()
        for venue in self._option_venues:
            self._requote(venue)
        self._clock.call_later(_ms(self._config.path_step_ms), self._step)
        self._schedule(self._config.takers_per_second, len(self._option_books) + len(self._stock_books), self._take)
        self._schedule(self._config.flickers_per_second, len(self._option_books), self._flicker)

    def stop(self) -> None:
        self._running = False

    def _schedule(self, per_book_rate: float, books: int, action) -> None:
        total = per_book_rate * books
        if total <= 0 or not self._running:
            return

        def fire() -> None:
            if self._running:
                action()
                self._schedule(per_book_rate, books, action)
        self._clock.call_later(int(self._rng.exponential(1.0 / total) * NANOS_PER_SECOND), fire)

    def _next_id(self, prefix: str) -> str:
        self._order_seq += 1
        return f"{prefix}{self._order_seq}"

    # ---- the underlier moves: the stock maker follows at once, option quoters after their reaction time

    def _step(self) -> None:
        if not self._running:
            return
        now = datetime.fromtimestamp(self._clock.now_ns() / NANOS_PER_SECOND, tz=timezone.utc)
        seconds_of_day = now.hour * 3600 + now.minute * 60 + now.second
        self._paths.step(self._config.path_step_ms / 1000.0, seconds_of_day)
        self._quote_stocks()
        self._reprice()
        for venue in self._option_venues:
            delay = self._rng.exponential(self._reaction_ms[venue.name])
            self._clock.call_later(_ms(delay), lambda v=venue: self._running and self._requote(v))
        self._clock.call_later(_ms(self._config.path_step_ms), self._step)

    def _reprice(self) -> None:
        if self._chain is None:
            return
        self._fair, self._delta, _ = self._chain.value(self.spot, self._clock.now_ns())
        self.fair = dict(zip(self._chain.symbols, self._fair.tolist()))

    def _quote_stocks(self) -> None:
        spot = self.spot
        for venue, symbol in self._stock_books:
            for order_id in self._stock_quoted.pop((venue.name, symbol), ()):
                venue.pull(order_id, symbol)
            bids, asks = stock_ladder(spot[symbol], self._tick_ticks[symbol], self._config.levels)
            lots = self._rng.integers(1, STOCK_LOTS_MAX + 1, size=(2, self._config.levels))
            placed = []
            for side, prices, side_lots in ((Side.BUY, bids, lots[0]), (Side.SELL, asks, lots[1])):
                for price_ticks, lot_count in zip(prices, side_lots):
                    order_id = self._next_id("smm")
                    result = venue.place("smm", order_id, symbol, side, int(lot_count) * ROUND_LOT,
                                         from_ticks(price_ticks, PRICE_TICK), capacity="market_maker")
                    if result.rested_qty:
                        placed.append(order_id)
            self._stock_quoted[(venue.name, symbol)] = placed

    def _requote(self, venue: SimVenue) -> None:
        if not self._options:
            return
        cfg = self._config
        bids, asks = quote_prices(self._fair, self._delta, width_multiplier=self._width[venue.name])
        sizes = self._rng.integers(cfg.quote_size_min, cfg.quote_size_max + 1, size=(len(self._options), 2, cfg.levels))
        for index, option in enumerate(self._options):
            bid, ask = float(bids[index]), float(asks[index])
            key = (venue.name, index)
            current = self._quoted.get(key)
            if current is not None and current[0] == bid and current[1] == ask:
                continue
            if current is not None:
                for order_id in current[2]:
                    venue.pull(order_id, option.symbol)
            rule = option.tick_rule
            placed = []
            for level in range(cfg.levels):
                for side, price in ((Side.BUY, bid - level * rule.tick_at(bid)),
                                    (Side.SELL, ask + level * rule.tick_at(ask))):
                    if price < 0.01 - 1e-9:
                        continue
                    order_id = self._next_id("mm")
                    result = venue.place("mm", order_id, option.symbol, side,
                                         int(sizes[index, int(side is Side.SELL), level]), round(price, 4),
                                         capacity="market_maker")
                    if result.rested_qty:
                        placed.append(order_id)
            self._quoted[key] = (bid, ask, placed)

    # ---- background flow

    def _take(self) -> None:
        """A market order on a random book, option or stock, at that book's far price."""
        pick = int(self._rng.integers(len(self._option_books) + len(self._stock_books)))
        if pick < len(self._option_books):
            venue, index = self._option_books[pick]
            symbol = self._options[index].symbol
        else:
            venue, symbol = self._stock_books[pick - len(self._option_books)]
        side = Side.BUY if self._rng.random() < 0.5 else Side.SELL
        book = venue.book(symbol)
        far = book.best_ask() if side.is_buy else book.best_bid()
        if far is None:
            return
        if pick < len(self._option_books):
            qty = int(self._rng.integers(1, 11))
        else:
            qty = int(self._rng.integers(1, STOCK_TAKER_LOTS_MAX + 1)) * ROUND_LOT
        venue.place("taker", self._next_id("tk"), symbol, side, qty, from_ticks(far[0], PRICE_TICK), ioc=True,
                    capacity="professional")     # an IOC never rests, so its capacity never decides an allocation

    def _flicker(self) -> None:
        """Pull one side's top quote of a random option book and restore it a few milliseconds later."""
        venue, index = self._option_books[int(self._rng.integers(len(self._option_books)))]
        quoted = self._quoted.get((venue.name, index))
        if not quoted or not quoted[2]:
            return
        option = self._options[index]
        order_id = quoted[2][int(self._rng.integers(len(quoted[2])))]
        view = venue.book(option.symbol).order(order_id)
        if view is None:
            return
        venue.pull(order_id, option.symbol)
        quoted[2].remove(order_id)
        restored = self._next_id("mm")

        def restore() -> None:
            if not self._running or self._quoted.get((venue.name, index)) is not quoted:
                return                  # re-quoted meanwhile: the fresh quote stands
            if venue.place("mm", restored, option.symbol, view.side, view.leaves,
                           from_ticks(view.price_ticks, PRICE_TICK), capacity="market_maker").rested_qty:
                quoted[2].append(restored)
        self._clock.call_later(_ms(self._rng.exponential(20.0)), restore)
