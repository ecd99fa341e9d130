"""The simulated market around the simulated venues: the default of `router serve` and `router demo`.

- The underliers follow seeded jump-diffusion paths with U-shaped intraday volatility
  (router.market.paths); their quotes are published as books on the underlier venue.
- After every underlier step each option's fair value and delta come from the true smile
  (router.market.simulation), one vectorised pass for the whole chain.
- One market maker per venue quotes every listed option a few levels deep around fair value,
  with seed 002's delta-bucket widths times the venue's width multiplier. It re-quotes after
  its own reaction latency, so for a few milliseconds after each move its quotes are stale —
  the window a fast taker can pick off, as in real markets.
- Background takers hit random books (Poisson arrivals), and quotes flicker: a top level is
  pulled and restored a moment later.
Everything draws from one seeded numpy Generator and moves on the clock: a seed and a start
time determine the whole market.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

import numpy as np

from router.clock import NANOS_PER_SECOND, Clock
from router.config import MarketConfig, VenueConfig
from router.domain.enums import Side
from router.domain.events import BookLevel, BookUpdate
from router.market.paths import JumpDiffusion, UnderlierPaths
from router.market.quoting import quote_prices
from router.market.securities import SecurityMaster
from router.market.simulation import ChainModel, Smile

from .venue import SimVenue, from_ticks

UNDERLIER_VENUE = "NMS"


def _ms(ms: float) -> int:
    return int(ms * 1_000_000)


class BackgroundFlow:
    def __init__(self, clock: Clock, venues: list[SimVenue], securities: SecurityMaster, config: MarketConfig,
                 venue_configs: list[VenueConfig] | None = None,
                 book_sink: Callable[[BookUpdate], None] | None = None) -> None:
        self._clock = clock
        self._venues = venues
        self._config = config
        self._book_sink = book_sink
        self._rng = np.random.default_rng(config.seed)
        by_name = {v.name: v for v in venue_configs or []}
        self._width = {v.name: by_name[v.name].quote_width if v.name in by_name else 1.0 for v in venues}
        self._reaction_ms = {v.name: by_name[v.name].quoter_reaction_ms if v.name in by_name else 5.0
                             for v in venues}
        self._options = securities.options()
        und = config.underliers
        self._paths = UnderlierPaths([u.symbol for u in und], [u.spot for u in und],
                                     [JumpDiffusion(u.vol, u.jumps_per_day, u.jump_mean, u.jump_std) for u in und],
                                     seed=config.seed)
        self._underlier_tick = {u.symbol: u.underlier_tick for u in und}
        self._chain = ChainModel(self._options, {u.symbol: Smile(u.vol, u.smile_skew, u.smile_curvature)
                                                 for u in und}, config.rate) if self._options else None
        self.fair: dict[str, float] = {}
        self._fair = np.zeros(len(self._options))
        self._delta = np.zeros(len(self._options))
        self._quoted: dict[tuple[str, int], tuple[float, float, list[str]]] = {}
        self._order_seq = 0
        self._running = False

    @property
    def spot(self) -> dict[str, float]:
        return {s: float(x) for s, x in zip(self._paths.symbols, self._paths.spots)}

    # ---- life cycle

    def start(self) -> None:
        """Quote every book now, then keep the market moving on the clock."""
        self._running = True
        self._publish_underliers()
        self._reprice()
        for venue in self._venues:
            self._requote(venue)
        self._clock.call_later(_ms(self._config.path_step_ms), self._step)
        self._schedule(self._config.takers_per_second, self._take)
        self._schedule(self._config.flickers_per_second, self._flicker)

    def stop(self) -> None:
        self._running = False

    def _schedule(self, per_book_rate: float, action) -> None:
        total = per_book_rate * len(self._options) * len(self._venues)
        if total <= 0 or not self._running:
            return

        def fire() -> None:
            if self._running:
                action()
                self._schedule(per_book_rate, action)
        self._clock.call_later(int(self._rng.exponential(1.0 / total) * NANOS_PER_SECOND), fire)

    # ---- the underlier moves; quoters follow after their reaction time

    def _step(self) -> None:
        if not self._running:
            return
        now = datetime.fromtimestamp(self._clock.now_ns() / NANOS_PER_SECOND, tz=timezone.utc)
        seconds_of_day = now.hour * 3600 + now.minute * 60 + now.second
        self._paths.step(self._config.path_step_ms / 1000.0, seconds_of_day)
        self._publish_underliers()
        self._reprice()
        for venue in self._venues:
            delay = self._rng.exponential(self._reaction_ms[venue.name])
            self._clock.call_later(_ms(delay), lambda v=venue: self._running and self._requote(v))
        self._clock.call_later(_ms(self._config.path_step_ms), self._step)

    def _reprice(self) -> None:
        if self._chain is None:
            return
        self._fair, self._delta, _ = self._chain.value(self.spot, self._clock.now_ns())
        self.fair = dict(zip(self._chain.symbols, self._fair.tolist()))

    def _publish_underliers(self) -> None:
        if self._book_sink is None:
            return
        for symbol, spot in self.spot.items():
            tick = self._underlier_tick[symbol]
            bid = np.floor(spot / tick) * tick
            size = int(self._rng.integers(1, 20)) * 100
            update = BookUpdate(UNDERLIER_VENUE, symbol, (BookLevel(round(bid, 6), size),),
                                (BookLevel(round(bid + tick, 6), size),))
            self._clock.call_later(0, lambda u=update: self._book_sink(u))

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
                    self._order_seq += 1
                    order_id = f"mm{self._order_seq}"
                    result = venue.place("mm", order_id, option.symbol, side,
                                         int(sizes[index, int(side is Side.SELL), level]), round(price, 4))
                    if result.rested_qty:
                        placed.append(order_id)
            self._quoted[key] = (bid, ask, placed)

    # ---- background flow

    def _random_book(self) -> tuple[SimVenue, int]:
        return (self._venues[int(self._rng.integers(len(self._venues)))],
                int(self._rng.integers(len(self._options))))

    def _take(self) -> None:
        venue, index = self._random_book()
        symbol = self._options[index].symbol
        side = Side.BUY if self._rng.random() < 0.5 else Side.SELL
        book = venue.book(symbol)
        far = book.best_ask() if side.is_buy else book.best_bid()
        if far is not None:
            self._order_seq += 1
            venue.place("taker", f"tk{self._order_seq}", symbol, side, int(self._rng.integers(1, 11)),
                        from_ticks(far[0]), ioc=True)

    def _flicker(self) -> None:
        """Pull one side's top quote of a random book and restore it a few milliseconds later."""
        venue, index = self._random_book()
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
        self._order_seq += 1
        restored = f"mm{self._order_seq}"

        def restore() -> None:
            if not self._running or self._quoted.get((venue.name, index)) is not quoted:
                return                  # re-quoted meanwhile: the fresh quote stands
            if venue.place("mm", restored, option.symbol, view.side, view.leaves, from_ticks(view.price_ticks)).rested_qty:
                quoted[2].append(restored)
        self._clock.call_later(_ms(self._rng.exponential(20.0)), restore)
