"""The simulated venues and the background flow around them, assembled from configuration: the
same market in the router's own process (tests, `router demo`, `router replay`,
`router serve --in-process-market`) and in `router exchange`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from router.clock import Clock
from router.config import MarketConfig, VenueConfig
from router.domain.events import BookUpdate, TradePrint, VenueReport
from router.domain.instruments import CRYPTO_BTC
from router.market.securities import SecurityMaster
from router.models.latency import LatencyProfile, VenueLatency, intervals_from_fix_log
from venues.fees import FeeSchedule

from .background import BackgroundFlow
from .crypto_market import CryptoFlow, build_crypto_flow, us_market_view
from .venue import SimVenue


def venue_latency(venue_configs: list[VenueConfig], seed: int = 0,
                  config_dir: Path | None = None) -> VenueLatency:
    """The latency model of every configured venue: the venues draw from it, the SOR plans with
    its medians (router/models/latency.py)."""
    profiles = {}
    for v in venue_configs:
        if v.latency_log:
            log = Path(v.latency_log)
            profiles[v.name] = LatencyProfile.recorded(intervals_from_fix_log(
                log if log.is_absolute() or config_dir is None else config_dir / log))
        else:
            profiles[v.name] = LatencyProfile.constant_ms(v.latency_ms, v.response_latency_ms, v.latency_jitter)
    return VenueLatency(profiles, seed)



@dataclass
class SimMarket:
    venues: dict[str, SimVenue]
    background: BackgroundFlow
    crypto: CryptoFlow | None = None        # the crypto option venues' makers and marks (venues/sim/crypto_market.py)

    def start(self) -> None:
        self.background.start()
        if self.crypto is not None:
            self.crypto.start()

    def stop(self) -> None:
        self.background.stop()
        if self.crypto is not None:
            self.crypto.stop()


def build_venues(clock: Clock, securities: SecurityMaster, venue_configs: list[VenueConfig],
                 report_sink: Callable[[VenueReport], None],
                 book_sink: Callable[[BookUpdate | TradePrint], None],
                 latency: VenueLatency | None = None) -> dict[str, SimVenue]:
    fees = FeeSchedule.from_configs(venue_configs)
    latency = latency or venue_latency(venue_configs)
    tick_rules = {i.symbol: i.tick_rule for i in securities}
    return {v.name: SimVenue(v.name, clock, fees, latency.expected_entry_ns(v.name),
                             int(v.market_data_latency_ms * 1_000_000), report_sink, book_sink,
                             symbols=listed_symbols(v, securities), allocation=v.allocation,
                             min_allocation=v.min_allocation, self_match=v.self_match, latency=latency,
                             tick_rules=tick_rules, max_order_qty=v.max_order_qty, **_crypto_venue_terms(v))
            for v in venue_configs}


def listed_symbols(venue: VenueConfig, securities: SecurityMaster) -> set[str]:
    """What a venue lists: of its own market (``market``), the underliers on an equity venue and
    the options on an option venue. So US venues never list a crypto option and crypto venues
    never an OSI one."""
    wanted = securities.underliers() if venue.kind == "equity" else securities.options()
    return {i.symbol for i in wanted if i.market == venue.market}


def _crypto_venue_terms(venue: VenueConfig) -> dict:
    """A crypto option venue quotes premiums in BTC on a 0.0001 grid and charges its percent of
    the underlying in BTC too: per contract of 1 BTC, the underlying is worth 1.0 in BTC."""
    if venue.market == "crypto" and venue.kind == "option":
        return {"price_tick": CRYPTO_BTC.small_tick, "fee_underlier_price": 1.0}
    return {}


def build_sim_market(clock: Clock, securities: SecurityMaster, market: MarketConfig, venue_configs: list[VenueConfig],
                     report_sink: Callable[[VenueReport], None],
                     book_sink: Callable[[BookUpdate | TradePrint], None]) -> SimMarket:
    """The venues and their background flow, not yet started (``market.start()``)."""
    venues = build_venues(clock, securities, venue_configs, report_sink, book_sink,
                          venue_latency(venue_configs, seed=market.seed))
    background = BackgroundFlow(clock, *us_market_view(list(venues.values()), securities, market, venue_configs))
    return SimMarket(venues, background, build_crypto_flow(clock, venues, securities, market, venue_configs,
                                                           mark_sink=book_sink))
