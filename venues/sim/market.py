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
from router.market.securities import SecurityMaster
from router.models.latency import LatencyProfile, VenueLatency, intervals_from_fix_log
from venues.fees import FeeSchedule

from .background import BackgroundFlow
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


def build_venues(clock: Clock, securities: SecurityMaster, venue_configs: list[VenueConfig],
                 report_sink: Callable[[VenueReport], None],
                 book_sink: Callable[[BookUpdate | TradePrint], None],
                 latency: VenueLatency | None = None) -> dict[str, SimVenue]:
    fees = FeeSchedule.from_configs(venue_configs)
    latency = latency or venue_latency(venue_configs)
    underliers = {u.symbol for u in securities.underliers()}
    options = {o.symbol for o in securities.options()}
    return {v.name: SimVenue(v.name, clock, fees, latency.expected_entry_ns(v.name),
                             int(v.market_data_latency_ms * 1_000_000), report_sink, book_sink,
                             symbols=underliers if v.kind == "equity" else options, allocation=v.allocation,
                             min_allocation=v.min_allocation, self_match=v.self_match, latency=latency)
            for v in venue_configs}


def build_sim_market(clock: Clock, securities: SecurityMaster, market: MarketConfig, venue_configs: list[VenueConfig],
                     report_sink: Callable[[VenueReport], None],
                     book_sink: Callable[[BookUpdate | TradePrint], None]) -> SimMarket:
    """The venues and their background flow, not yet started (``market.background.start()``)."""
    venues = build_venues(clock, securities, venue_configs, report_sink, book_sink,
                          venue_latency(venue_configs, seed=market.seed))
    return SimMarket(venues, BackgroundFlow(clock, list(venues.values()), securities, market, venue_configs))
