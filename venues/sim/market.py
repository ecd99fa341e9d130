"""The simulated venues and the background flow around them, assembled from configuration: the
same market in the router's own process (tests, `router demo`, `router replay`,
`router serve --in-process-market`) and in `router exchange`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from router.clock import Clock
from router.config import MarketConfig, VenueConfig
from router.domain.events import BookUpdate, TradePrint, VenueReport
from router.market.securities import SecurityMaster
from venues.fees import FeeSchedule

from .background import BackgroundFlow
from .venue import SimVenue


def venue_latency_ns(venue_configs: list[VenueConfig]) -> dict[str, int]:
    return {v.name: int(v.latency_ms * 1_000_000) for v in venue_configs}


@dataclass
class SimMarket:
    venues: dict[str, SimVenue]
    background: BackgroundFlow


def build_venues(clock: Clock, securities: SecurityMaster, venue_configs: list[VenueConfig],
                 report_sink: Callable[[VenueReport], None],
                 book_sink: Callable[[BookUpdate | TradePrint], None]) -> dict[str, SimVenue]:
    fees = FeeSchedule.from_configs(venue_configs)
    latency = venue_latency_ns(venue_configs)
    underliers = {u.symbol for u in securities.underliers()}
    options = {o.symbol for o in securities.options()}
    return {v.name: SimVenue(v.name, clock, fees, latency[v.name], int(v.market_data_latency_ms * 1_000_000),
                             report_sink, book_sink, symbols=underliers if v.kind == "equity" else options)
            for v in venue_configs}


def build_sim_market(clock: Clock, securities: SecurityMaster, market: MarketConfig, venue_configs: list[VenueConfig],
                     report_sink: Callable[[VenueReport], None],
                     book_sink: Callable[[BookUpdate | TradePrint], None]) -> SimMarket:
    """The venues and their background flow, not yet started (``market.background.start()``)."""
    venues = build_venues(clock, securities, venue_configs, report_sink, book_sink)
    return SimMarket(venues, BackgroundFlow(clock, list(venues.values()), securities, market, venue_configs))
