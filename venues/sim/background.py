"""Seeded background liquidity so a sweep has something to take.

- The underlier follows a seeded geometric random walk, stepped on the clock.
- After each step every option's fair value is repriced in one vectorised call.
- A market maker per venue keeps a few levels on each side of every book around fair value,
  refreshing each book at random (exponential) intervals — so books lag the underlier a little,
  as real quotes do.
- Small takers hit the books at random, so queues and displayed sizes move.

(The realistic market — jump-diffusion, surfaces, delta-bucket widths — is the market-model issue.)
"""
from __future__ import annotations

import math
import random
from datetime import datetime, timezone

import numpy as np

from router.clock import NANOS_PER_SECOND, Clock
from router.config import MarketConfig
from router.domain.enums import Side
from router.domain.instruments import Instrument
from router.market.pricing import bsm_price_delta
from router.market.securities import SecurityMaster

from .venue import SimVenue, from_ticks

_YEAR_NS = 365.25 * 24 * 3600 * NANOS_PER_SECOND


class BackgroundFlow:
    def __init__(self, clock: Clock, venues: list[SimVenue], securities: SecurityMaster, config: MarketConfig) -> None:
        self._clock = clock
        self._venues = venues
        self._config = config
        self._rng = random.Random(config.seed)
        self._options = securities.options()
        self.spot = {u.symbol: u.spot for u in config.underliers}
        self._vol = {u.symbol: u.vol for u in config.underliers}
        self.fair: dict[str, float] = {}
        self._order_seq = 0
        self._quotes: dict[tuple[str, str], list[str]] = {}
        self._running = False

    def start(self) -> None:
        """Quote every book now, then keep the market moving on the clock."""
        self._running = True
        self._reprice()
        for option in self._options:
            for venue in self._venues:
                self._requote(option, venue)
        self._clock.call_later(self._ms(self._config.path_step_ms), self._step)
        for option in self._options:
            for venue in self._venues:
                self._schedule_requote(option, venue)
                self._schedule_taker(option, venue)

    def stop(self) -> None:
        self._running = False

    @staticmethod
    def _ms(ms: float) -> int:
        return int(ms * 1_000_000)

    def _step(self) -> None:
        if not self._running:
            return
        dt_years = self._config.path_step_ms / 1000.0 / (252 * 6.5 * 3600)
        for symbol, spot in self.spot.items():
            vol = self._vol[symbol]
            shock = self._rng.gauss(0.0, 1.0)
            self.spot[symbol] = spot * math.exp(-0.5 * vol * vol * dt_years + vol * math.sqrt(dt_years) * shock)
        self._reprice()
        self._clock.call_later(self._ms(self._config.path_step_ms), self._step)

    def _reprice(self) -> None:
        if not self._options:
            return
        now = self._clock.now_ns()
        spots = np.array([self.spot[o.underlying] for o in self._options])
        strikes = np.array([o.strike for o in self._options])
        vols = np.array([self._vol[o.underlying] for o in self._options])
        expiry_ns = np.array([datetime(o.expiry.year, o.expiry.month, o.expiry.day, 20, tzinfo=timezone.utc)
                              .timestamp() * NANOS_PER_SECOND for o in self._options])
        years = np.maximum(expiry_ns - now, 0) / _YEAR_NS
        is_call = np.array([o.put_call.value == "C" for o in self._options])
        prices, _ = bsm_price_delta(spots, strikes, years, vols, is_call, rate=self._config.rate)
        self.fair = {o.symbol: float(p) for o, p in zip(self._options, prices)}

    def _schedule_requote(self, option: Instrument, venue: SimVenue) -> None:
        delay = self._rng.expovariate(1.0 / self._config.requote_ms)
        self._clock.call_later(self._ms(delay), lambda: self._requote_and_reschedule(option, venue))

    def _requote_and_reschedule(self, option: Instrument, venue: SimVenue) -> None:
        if not self._running:
            return
        self._requote(option, venue)
        self._schedule_requote(option, venue)

    def _requote(self, option: Instrument, venue: SimVenue) -> None:
        key = (venue.name, option.symbol)
        for order_id in self._quotes.pop(key, []):
            venue.pull(order_id, option.symbol)
        fair = self.fair.get(option.symbol)
        if fair is None:
            return
        cfg, rule, ids = self._config, option.tick_rule, []
        tick = rule.tick_at(max(fair, 0.01))
        half = (cfg.half_spread_ticks + self._rng.randint(0, 1)) * tick
        bid = rule.round_passive(fair - half, is_buy=True)
        ask = rule.round_passive(fair + half, is_buy=False)
        for level in range(cfg.levels):
            for side, price in ((Side.BUY, bid - level * tick), (Side.SELL, ask + level * tick)):
                if price < 0.01 - 1e-9:
                    continue
                qty = self._rng.randint(cfg.quote_size_min, cfg.quote_size_max)
                self._order_seq += 1
                order_id = f"mm{self._order_seq}"
                result = venue.place("mm", order_id, option.symbol, side, qty, round(price, 4))
                if result.rested_qty:
                    ids.append(order_id)
        self._quotes[key] = ids

    def _schedule_taker(self, option: Instrument, venue: SimVenue) -> None:
        rate = self._config.takers_per_second
        if rate <= 0:
            return
        delay_ms = self._rng.expovariate(rate) * 1000.0
        self._clock.call_later(self._ms(delay_ms), lambda: self._take(option, venue))

    def _take(self, option: Instrument, venue: SimVenue) -> None:
        if not self._running:
            return
        book = venue.book(option.symbol)
        side = Side.BUY if self._rng.random() < 0.5 else Side.SELL
        far = book.best_ask() if side.is_buy else book.best_bid()
        if far is not None:
            self._order_seq += 1
            venue.place("taker", f"tk{self._order_seq}", option.symbol, side, self._rng.randint(1, 10),
                        from_ticks(far[0]), ioc=True)
        self._schedule_taker(option, venue)
