"""The simulated market around the simulated venues: the default of `router serve` and `router demo`.
This module runs the clock side; the participants themselves are in venues/sim/participants.py.

- The underliers follow seeded jump-diffusion paths with U-shaped intraday volatility
  (router.market.paths). With informed takers on, the path is stepped the longest horizon early so
  they can see it ahead; the path itself is the same.
- At every path step the stock market maker re-quotes every underlier on every equity venue at
  once; its book reaches the router through the venue's normal publishing, like any other.
- After every step each option's fair value and delta come from the true smile
  (router.market.simulation), one vectorised pass for the whole chain, and each option venue's
  market maker re-quotes after its own reaction latency (exponential, mean
  ``quoter_reaction_ms``): for a few milliseconds its quotes are stale.
- Poisson arrivals on the clock: uninformed takers on option books (``takers_per_second``) and
  on underlier books (the LOBSTER fit in config/participants.toml, or ``takers_per_second``
  without one), informed takers on option books (``[market.informed]``), option quote flickers
  (``flickers_per_second``) and cancels of the stock maker's touch orders (the LOBSTER fit).
Everything moves on the clock and draws from numpy Generators seeded by the market seed: one
for the makers, and one of its own for each kind of arrival (``[seed, stream]``), so adding or
removing one participant leaves what the others draw unchanged (common random numbers: with
informed takers on or off, the uninformed takers arrive at the same times on the same books).
A seed and a start time determine the whole market.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from router.clock import NANOS_PER_SECOND, Clock
from router.config import MarketConfig, VenueConfig
from router.domain.enums import Liquidity
from router.market.paths import JumpDiffusion, UnderlierPaths
from router.market.securities import SecurityMaster
from router.market.simulation import ChainModel, Smile
from venues.fees import FeeError, FeeSchedule

from .matching import from_ticks, to_ticks
from .participants import (ROUND_LOT, InformedTaker, LognormalSize, LookaheadPaths, OptionMarketMaker,
                           OrderIds, QuoteFlicker, StockMarketMaker, UniformSize, UninformedTaker, stock_ladder)
from .venue import PRICE_TICK, SimVenue

__all__ = ["BackgroundFlow", "ROUND_LOT", "stock_ladder"]   # the last two are participants.py's, long imported from here

OPTION_TAKER_SIZE = UniformSize(1, 10)                       # contracts
STOCK_TAKER_SIZE = UniformSize(1, 5, ROUND_LOT)              # without a LOBSTER fit
STOCK_TAKER_LOTS_MAX = 20                                    # the fitted lognormal's tail, cut
# the random streams, by participant: [seed, stream] seeds each Generator
OPTION_TAKER_STREAM, STOCK_TAKER_STREAM, OPTION_FLICKER_STREAM, STOCK_CANCEL_STREAM = 1, 2, 3, 4
INFORMED_STREAM = 100                                        # + the horizon's position in the list


def _ms(ms: float) -> int:
    return int(ms * 1_000_000)


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
        self._ids = OrderIds()
        by_name = {v.name: v for v in venue_configs or []}
        kind = {v.name: by_name[v.name].kind if v.name in by_name else "option" for v in venues}
        option_venues = [v for v in venues if kind[v.name] == "option"]
        equity_venues = [v for v in venues if kind[v.name] == "equity"]
        self._options = securities.options()
        und = config.underliers
        step_s = config.path_step_ms / 1000.0
        # each informed horizon in whole path steps (at least one)
        self._informed_steps = [max(1, math.ceil(h / step_s - 1e-9)) for h in config.informed.horizons_s] \
            if config.informed.per_second > 0 else []
        steps_ahead = max(self._informed_steps, default=0)
        self._paths = LookaheadPaths(
            UnderlierPaths([u.symbol for u in und], [u.spot for u in und],
                           [JumpDiffusion(u.vol, u.jumps_per_day, u.jump_mean, u.jump_std) for u in und],
                           seed=config.seed),
            step_s, steps_ahead, clock.now_ns())
        tick_ticks = {u.symbol: _underlier_tick_in_book_ticks(u.symbol, u.underlier_tick) for u in und}
        self._chain = ChainModel(self._options, {u.symbol: Smile(u.vol, u.smile_skew, u.smile_curvature)
                                                 for u in und}, config.rate) if self._options else None
        self.fair: dict[str, float] = {}
        self._fair = np.zeros(len(self._options))
        self._delta = np.zeros(len(self._options))
        self._fair_ahead: dict[int, np.ndarray] = {}         # steps ahead -> every option's value then

        self.option_makers = [OptionMarketMaker(v, self._options,
                                                by_name[v.name].quote_width if v.name in by_name else 1.0,
                                                by_name[v.name].quoter_reaction_ms if v.name in by_name else 5.0,
                                                config.levels, config.quote_size_min, config.quote_size_max, self._ids)
                              for v in option_venues]
        self.stock_makers = [StockMarketMaker(v, [s for s in self._paths.symbols if v.lists(s)], tick_ticks,
                                              config.levels, self._ids) for v in equity_venues]
        self._add_takers(venue_configs, step_s)
        self.option_flicker = QuoteFlicker([(m, i) for m in self.option_makers for i in m.listed],
                                           self._ids, clock)
        self.stock_cancels = QuoteFlicker([(m, s) for m in self.stock_makers for s in m.symbols], self._ids, clock,
                                          touch_only=True)
        stock_fit = config.participants.stock
        self._stock_cancel_rate = (stock_fit.cancels_per_second or 0.0) if stock_fit else 0.0
        self._running = False

    def _add_takers(self, venue_configs: list[VenueConfig] | None, step_s: float) -> None:
        """Uninformed takers on the option books and on the underlier books (the LOBSTER fit when
        there is one), and one informed taker per horizon on the option books."""
        config = self._config
        option_books = [(m.venue, self._options[i].symbol) for m in self.option_makers for i in m.listed]
        stock_books = [(m.venue, s) for m in self.stock_makers for s in m.symbols]
        stock_fit = config.participants.stock
        self.option_takers = UninformedTaker(option_books, config.takers_per_second, OPTION_TAKER_SIZE, self._ids)
        self.stock_takers = UninformedTaker(
            stock_books, stock_fit.marketable_per_second if stock_fit else config.takers_per_second,
            LognormalSize(stock_fit.size_log_mean, stock_fit.size_log_std, ROUND_LOT, STOCK_TAKER_LOTS_MAX)
            if stock_fit else STOCK_TAKER_SIZE, self._ids)
        informed, taker_fee = config.informed, _taker_fee(venue_configs)
        self.informed = [InformedTaker([(m.venue, i) for m in self.option_makers for i in m.listed], self._options,
                                       informed.per_second, steps * step_s, informed.min_edge,
                                       UniformSize(1, informed.size_max),
                                       lambda steps=steps: self._fair_ahead.get(steps), taker_fee, self._ids,
                                       self._clock)
                         for steps in self._informed_steps]

    @property
    def _width(self) -> dict[str, float]:
        """Each option venue's width multiplier (read by tests/unit/test_sim_market.py)."""
        return {m.venue.name: m.width for m in self.option_makers}

    @property
    def _quoted(self) -> dict[tuple[str, int], tuple[float, float, list[str]]]:
        """(venue, option index) -> the maker's (bid, ask, order ids) there (read by tests/unit/test_sim_market.py)."""
        return {(m.venue.name, i): q for m in self.option_makers for i, q in m.quoted.items()}

    @property
    def spot(self) -> dict[str, float]:
        return {s: float(x) for s, x in zip(self._paths.symbols, self._paths.current)}

    # ---- life cycle

    def start(self) -> None:
        """Quote every book now, then keep the market moving on the clock."""
        self._running = True
        self._quote_stocks()
        self._reprice()
        for maker in self.option_makers:
            maker.requote(self._fair, self._delta, self._rng)
        self._clock.call_later(_ms(self._config.path_step_ms), self._step)
        self._schedule(self.option_takers.rate, self.option_takers.act, OPTION_TAKER_STREAM)
        self._schedule(self.stock_takers.rate, self.stock_takers.act, STOCK_TAKER_STREAM)
        for position, taker in enumerate(self.informed):
            self._schedule(taker.rate, taker.act, INFORMED_STREAM + position)
        self._schedule(self._config.flickers_per_second * len(self.option_flicker.books), self.option_flicker.act,
                       OPTION_FLICKER_STREAM)
        self._schedule(self._stock_cancel_rate * len(self.stock_cancels.books), self.stock_cancels.act,
                       STOCK_CANCEL_STREAM)

    def stop(self) -> None:
        self._running = False
        self.option_flicker.running = self.stock_cancels.running = False

    def _schedule(self, rate: float, action: Callable[[np.random.Generator], None], stream: int) -> None:
        """Poisson arrivals at ``rate`` per second, each calling ``action``; times and actions draw
        from the stream's own Generator."""
        if rate <= 0 or not self._running:
            return
        rng = np.random.default_rng([self._config.seed, stream])

        def fire() -> None:
            if self._running:
                action(rng)
                self._clock.call_later(int(rng.exponential(1.0 / rate) * NANOS_PER_SECOND), fire)
        self._clock.call_later(int(rng.exponential(1.0 / rate) * NANOS_PER_SECOND), fire)

    # ---- the underlier moves: the stock maker follows at once, option quoters after their reaction time

    def _step(self) -> None:
        if not self._running:
            return
        self._paths.step()
        self._quote_stocks()
        self._reprice()
        for maker in self.option_makers:
            delay = self._rng.exponential(maker.reaction_ms)
            self._clock.call_later(_ms(delay), lambda m=maker: self._running and m.requote(self._fair, self._delta,
                                                                                          self._rng))
        self._clock.call_later(_ms(self._config.path_step_ms), self._step)

    def _reprice(self) -> None:
        if self._chain is None:
            return
        now = self._clock.now_ns()
        self._fair, self._delta, _ = self._chain.value(self.spot, now)
        self.fair = dict(zip(self._chain.symbols, self._fair.tolist()))
        for steps in set(self._informed_steps):
            ahead = {s: float(x) for s, x in zip(self._paths.symbols, self._paths.ahead(steps))}
            self._fair_ahead[steps] = self._chain.value(ahead, now + _ms(steps * self._config.path_step_ms))[0]

    def _quote_stocks(self) -> None:
        spot = self.spot
        for maker in self.stock_makers:
            maker.quote(spot, self._rng)


def _taker_fee(venue_configs: list[VenueConfig] | None) -> Callable[[str, str, float], float]:
    """$ per contract a professional pays to take on a venue (0 where the venue has no schedule)."""
    fees = FeeSchedule.from_configs(venue_configs or [])

    def fee(venue: str, symbol: str, price: float) -> float:
        try:
            return fees.net_fee(venue, Liquidity.REMOVED, symbol=symbol, price=price, capacity="professional")
        except FeeError:
            return 0.0
    return fee
