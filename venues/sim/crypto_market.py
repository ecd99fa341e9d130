"""The simulated crypto option market: BTC options on Deribit- and OKX-style venues, and the
perpetual they are hedged with on its own venue, beside the US equity options market.

- The perpetual (``kind = "perpetual"``, ``market = "crypto"`` in config/router.toml) follows its
  own seeded jump-diffusion path, around the clock (no US session U-shape). A market maker rests
  a few levels of 1..5 BTC each side on the perpetual venue, one underlier tick apart around the
  path, re-quoted at every step.
- **Mark price.** Deribit and OKX each publish a mark price per option, computed from their own
  mark-volatility surface on the forward; it, not a fresh Black-Scholes price, is the fair value
  their quoting (and margining) centres on (seed 002: a Black-Scholes re-price "doesn't match the
  market" and left a paper market maker always buying). Here each crypto option venue's mark is
  Black-76 on the perpetual's price with the venue's mark smile: the true smile (router.market.
  simulation.Smile, from the underlier's ``vol``, ``smile_skew``, ``smile_curvature``) shifted by
  the venue's ``mark_vol_offset`` (config/venues.toml; half a vol point either way by default, so
  the two venues' marks differ a little, as Deribit's and OKX's do). No discounting (the
  premium is paid in BTC, the perpetual is the forward), and the USD value is divided by the
  perpetual's price: the mark is in BTC, the venues' quote currency
  (premium_usd = premium_btc x underlier). Expiry is at 08:00 UTC.
- Each venue publishes its marks as ``MarkPrice`` events (router/domain/events.py) to
  ``mark_sink`` after its market-data latency, at every step; the router keeps them in its books
  (``MarketBooks.apply_mark``; ``book.mark(venue)``).
- One market maker per crypto option venue (the option market maker of participants.py) quotes every option it lists, ``levels`` deep, around
  that venue's mark with seed 002's delta-bucket widths (router/market/quoting.py) on the BTC
  tick ladder (0.0001 up to 0.005, 0.0005 above), after its reaction latency.
- Background takers (Poisson, ``takers_per_second`` per book, as on the US books) send an IOC
  at a random crypto book's far touch: 1..5 contracts of an option, 1..2 BTC of the perpetual.

``us_market_view`` gives the US background flow (venues/sim/background.py) its own part: the
US venues, chains and underliers only, so it neither quotes crypto books nor moves their paths,
and the US market's seeded paths are the same as without a crypto market. Build with::

    background = BackgroundFlow(clock, *us_market_view(list(venues.values()), securities, market, venue_configs))
    crypto = build_crypto_flow(clock, venues, securities, market, venue_configs, mark_sink)
"""
from __future__ import annotations

from datetime import date
from typing import Callable

import numpy as np

from router.clock import Clock
from router.config import MarketConfig, UnderlierConfig, VenueConfig
from router.domain.enums import Side
from router.domain.events import MarkPrice
from router.domain.instruments import Instrument
from router.market.paths import JumpDiffusion, UnderlierPaths
from router.market.pricing import black76
from router.market.securities import SecurityMaster, years_between
from router.market.simulation import MIN_VOL, Smile

from .matching import from_ticks, to_ticks
from .participants import OptionMarketMaker, OrderIds, stock_ladder
from .venue import PRICE_TICK, SimVenue

CRYPTO = "crypto"
PATH_SEED_OFFSET = 1_000_003        # the crypto paths draw from their own stream, not the US one
OUTSIDE_US_SESSION_S = -1.0         # paths.intraday_multiplier is 1 outside the session: crypto never closes
PERP_SIZE = (1, 5)                  # BTC a perpetual level shows
OPTION_SIZE = (1, 20)               # contracts (BTC) an option level shows
OPTION_TAKE = (1, 5)                # contracts a background taker takes
PERP_TAKE = (1, 2)                  # BTC a background taker takes


def us_market_view(venues: list[SimVenue], securities: SecurityMaster, market: MarketConfig,
                   venue_configs: list[VenueConfig]) -> tuple[list[SimVenue], SecurityMaster, MarketConfig,
                                                              list[VenueConfig]]:
    """BackgroundFlow's arguments after the clock, without anything of the crypto market."""
    crypto_venues = {v.name for v in venue_configs if v.market == CRYPTO}
    underliers = [u for u in market.underliers if u.market != CRYPTO]
    symbols = {u.symbol for u in underliers}
    return ([v for v in venues if v.name not in crypto_venues],
            SecurityMaster([i for i in securities if i.underlying in symbols]),
            market.model_copy(update={"underliers": underliers}),
            [v for v in venue_configs if v.name not in crypto_venues])


class MarkSurface:
    """One venue's marks for a chain, vectorised: Black-76 on the perpetual with the true smile
    plus ``vol_offset``, divided by the perpetual's price (module docstring)."""

    def __init__(self, options: list[Instrument], smiles: dict[str, Smile], vol_offset: float) -> None:
        self.options = options
        self.underlyings = sorted({o.underlying for o in options})
        self._und_index = np.array([self.underlyings.index(o.underlying) for o in options], dtype=int)
        self._strike = np.array([o.strike for o in options], dtype=float)
        self._is_call = np.array([o.is_call for o in options], dtype=bool)
        self._smiles = [smiles[u] for u in self.underlyings]
        self._vol_offset = vol_offset
        self._expiries: list[tuple[date, int]] = [(o.expiry, o.expiry_hour_utc) for o in options]
        self._years: tuple[int, np.ndarray] | None = None

    def years(self, now_ns: int) -> np.ndarray:
        second = now_ns // 1_000_000_000      # time to expiry moves slowly: once per simulated second
        if self._years is None or self._years[0] != second:
            self._years = (second, np.maximum(np.array([years_between(now_ns, e, h) for e, h in self._expiries]), 1e-6))
        return self._years[1]

    def value(self, spots: dict[str, float], now_ns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(mark in the coin, mark vol, Black-76 delta, underlier price) per option."""
        forward = np.array([spots[u] for u in self.underlyings])[self._und_index]
        k = np.log(self._strike / forward)
        vol = np.empty(len(self.options))
        for u, smile in enumerate(self._smiles):
            at = self._und_index == u
            vol[at] = smile.vol(k[at])
        vol = np.maximum(vol + self._vol_offset, MIN_VOL)
        greeks = black76(forward, self._strike, self.years(now_ns), vol, self._is_call, 0.0)
        return greeks.price / forward, vol, greeks.delta, forward


class CryptoFlow:
    def __init__(self, clock: Clock, venues: list[SimVenue], securities: SecurityMaster, market: MarketConfig,
                 venue_configs: list[VenueConfig], mark_sink: Callable[[MarkPrice], None] | None = None,
                 spot_sources: dict[str, Callable[[], float | None]] | None = None) -> None:
        """``spot_sources``: an underlier whose price is not simulated but read (the replayed
        perpetual's mid, venues/sim/replay_perpetual.py); its marks follow that price, and the
        simulated perpetual maker and takers stay off venues that are not SimVenues."""
        self._spot_sources = dict(spot_sources or {})
        self._clock = clock
        self._market = market
        self._rng = np.random.default_rng(market.seed + PATH_SEED_OFFSET)
        self._mark_sink = mark_sink
        configs = {v.name: v for v in venue_configs if v.market == CRYPTO}
        self.underliers: list[UnderlierConfig] = [u for u in market.underliers if u.market == CRYPTO]
        und = self.underliers
        self._paths = UnderlierPaths([u.symbol for u in und], [u.spot for u in und],
                                     [JumpDiffusion(u.vol, u.jumps_per_day, u.jump_mean, u.jump_std) for u in und],
                                     seed=market.seed + PATH_SEED_OFFSET)
        self.options = [o for o in securities.options() if o.market == CRYPTO]
        smiles = {u.symbol: Smile(u.vol, u.smile_skew, u.smile_curvature) for u in und}
        self._tick_ticks = {u.symbol: to_ticks(u.underlier_tick, PRICE_TICK) for u in und}
        self._lots_per_btc = {u.symbol: max(1, round(1 / u.lot_size)) for u in und}     # a lot-sized perp's qty counts lots
        self.perp_venues = [v for v in venues if v.name in configs and configs[v.name].kind == "equity"
                            and isinstance(v, SimVenue)]
        option_venues = [v for v in venues if v.name in configs and configs[v.name].kind == "option"]
        self.surfaces = {v.name: MarkSurface(self.options, smiles, configs[v.name].mark_vol_offset)
                         for v in option_venues}
        ids = OrderIds()
        self.makers = [OptionMarketMaker(v, self.options, configs[v.name].quote_width,
                                         configs[v.name].quoter_reaction_ms, market.levels, *OPTION_SIZE, ids, owner="cmm")
                       for v in option_venues]
        self._md_latency_ns = {v.name: int(configs[v.name].market_data_latency_ms * 1_000_000) for v in option_venues}
        self._perp_quoted: dict[tuple[str, str], list[str]] = {}
        self.taker_books = ([(m.venue, m.options[i].symbol, OPTION_TAKE) for m in self.makers for i in m.listed]
                            + [(v, u.symbol, PERP_TAKE) for v in self.perp_venues for u in und if v.lists(u.symbol)])
        self.taken = 0
        self.marks: dict[str, dict[str, MarkPrice]] = {v.name: {} for v in option_venues}
        self._values: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._seq = 0
        self._running = False

    @property
    def spot(self) -> dict[str, float]:
        spots = {s: float(x) for s, x in zip(self._paths.symbols, self._paths.spots)}
        for symbol, source in self._spot_sources.items():
            price = source()
            if price is not None:
                spots[symbol] = price
        return spots

    def start(self) -> None:
        self._running = True
        self._quote_perpetuals()
        self._mark()
        for maker in self.makers:
            maker.requote(*self._values[maker.venue.name], self._rng)
        self._clock.call_later(int(self._market.path_step_ms * 1_000_000), self._step)
        self._schedule_taker()

    def stop(self) -> None:
        self._running = False

    def _step(self) -> None:
        if not self._running:
            return
        self._paths.step(self._market.path_step_ms / 1000.0, OUTSIDE_US_SESSION_S)
        self._quote_perpetuals()
        self._mark()
        for maker in self.makers:
            delay_ns = int(self._rng.exponential(maker.reaction_ms) * 1_000_000)
            self._clock.call_later(delay_ns, lambda m=maker: self._running and m.requote(
                *self._values[m.venue.name], self._rng))
        self._clock.call_later(int(self._market.path_step_ms * 1_000_000), self._step)

    def _schedule_taker(self) -> None:
        rate = self._market.takers_per_second * len(self.taker_books)
        if rate <= 0 or not self._running:
            return
        self._clock.call_later(int(self._rng.exponential(1.0 / rate) * 1e9), self._take)

    def _take(self) -> None:
        if not self._running:
            return
        venue, symbol, (low, high) = self.taker_books[int(self._rng.integers(len(self.taker_books)))]
        side = Side.BUY if self._rng.random() < 0.5 else Side.SELL
        qty = int(self._rng.integers(low, high + 1)) * self._lots_per_btc.get(symbol, 1)
        book = venue.book(symbol)
        far = book.best_ask() if side.is_buy else book.best_bid()
        if far is not None:
            self._seq += 1
            self.taken += 1
            venue.place("ctaker", f"ctk{self._seq}", symbol, side, qty, from_ticks(far[0], venue.price_tick),
                        ioc=True, capacity="professional")
        self._schedule_taker()

    def _mark(self) -> None:
        """Every venue's marks at the current perpetual price; published after its market-data latency."""
        now, spots = self._clock.now_ns(), self.spot
        for venue, surface in self.surfaces.items():
            mark, vol, delta, forward = surface.value(spots, now)
            self._values[venue] = (mark, delta)
            marks = {o.symbol: MarkPrice(venue, o.symbol, float(m), float(v), float(f))
                     for o, m, v, f in zip(self.options, mark, vol, forward)}
            self.marks[venue] = marks
            if self._mark_sink is not None:
                self._clock.call_later(self._md_latency_ns[venue],
                                       lambda batch=tuple(marks.values()): self._publish(batch))

    def _publish(self, batch: tuple[MarkPrice, ...]) -> None:
        for mark in batch:
            self._mark_sink(mark)

    def _quote_perpetuals(self) -> None:
        spots = self.spot
        for venue in self.perp_venues:
            for symbol, spot in spots.items():
                if not venue.lists(symbol):
                    continue
                for order_id in self._perp_quoted.pop((venue.name, symbol), ()):
                    venue.pull(order_id, symbol)
                bids, asks = stock_ladder(spot, self._tick_ticks[symbol], self._market.levels)
                sizes = self._rng.integers(PERP_SIZE[0], PERP_SIZE[1] + 1, size=(2, self._market.levels))
                placed = []
                for side, prices, side_sizes in ((Side.BUY, bids, sizes[0]), (Side.SELL, asks, sizes[1])):
                    for price_ticks, qty in zip(prices, side_sizes):
                        self._seq += 1
                        order_id = f"pmm{self._seq}"
                        lots = int(qty) * self._lots_per_btc[symbol]
                        if venue.place("pmm", order_id, symbol, side, lots, from_ticks(price_ticks, PRICE_TICK),
                                       capacity="market_maker").rested_qty:
                            placed.append(order_id)
                self._perp_quoted[(venue.name, symbol)] = placed


def build_crypto_flow(clock: Clock, venues: dict[str, SimVenue], securities: SecurityMaster, market: MarketConfig,
                      venue_configs: list[VenueConfig],
                      mark_sink: Callable[[MarkPrice], None] | None = None,
                      spot_sources: dict[str, Callable[[], float | None]] | None = None) -> CryptoFlow | None:
    """The crypto market's flow, not yet started; None when the config has no crypto underlier."""
    if not any(u.market == CRYPTO for u in market.underliers):
        return None
    return CryptoFlow(clock, list(venues.values()), securities, market, venue_configs, mark_sink, spot_sources)
