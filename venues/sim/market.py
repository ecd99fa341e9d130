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

from .auction_responders import AuctionResponders
from .background import BackgroundFlow
from .crypto_market import CryptoFlow, build_crypto_flow, us_market_view
from .replay import ReplayVenue
from .replay_perpetual import PerpetualReplay
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
    venues: dict[str, SimVenue | ReplayVenue]     # a venue with ``replay`` is a ReplayVenue on its capture
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
                 latency: VenueLatency | None = None, responder_seed: int | None = 0) -> dict[str, SimVenue]:
    """The configured venues. With ``responder_seed`` (None: none), simulated market makers answer
    auctions and package orders on the option venues (venues/sim/auction_responders.py); they stay
    idle, drawing nothing, until the router starts an auction or rests a package."""
    fees = FeeSchedule.from_configs(venue_configs)
    latency = latency or venue_latency(venue_configs)
    tick_rules = {i.symbol: i.tick_rule for i in securities}
    instruments = {i.symbol: i for i in securities}
    venues = {v.name: SimVenue(v.name, clock, fees, latency.expected_entry_ns(v.name),
                               int(v.market_data_latency_ms * 1_000_000), report_sink, book_sink,
                               symbols=listed_symbols(v, securities), allocation=v.allocation,
                               min_allocation=v.min_allocation, self_match=v.self_match, latency=latency,
                               tick_rules=tick_rules, max_order_qty=v.max_order_qty, instruments=instruments,
                               **_crypto_venue_terms(v))
              for v in venue_configs}
    wire_nbbo(list(venues.values()))
    if responder_seed is not None:
        AuctionResponders(clock, [venues[v.name] for v in venue_configs if v.kind == "option"], responder_seed)
    return venues


def wire_nbbo(venues: list[SimVenue]) -> None:
    """Each venue's complex-order and auction checks use the NBBO over every venue on its price
    grid that lists the symbol (the stock legs' NBBO comes from the equity venues)."""
    for venue in venues:
        peers = [v for v in venues if abs(v.price_tick - venue.price_tick) < 1e-12]
        venue.nbbo_source = lambda symbol, peers=peers: _nbbo(peers, symbol)


def _nbbo(venues: list[SimVenue], symbol: str) -> tuple[int | None, int | None]:
    bids, asks = [], []
    for venue in venues:
        if venue.lists(symbol):
            bid, ask = venue.own_bbo(symbol)
            if bid is not None:
                bids.append(bid)
            if ask is not None:
                asks.append(ask)
    return max(bids, default=None), min(asks, default=None)


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


def replay_venues(clock: Clock, venue_configs: list[VenueConfig], replays: list[PerpetualReplay],
                  report_sink: Callable[[VenueReport], None], book_sink: Callable[[BookUpdate | TradePrint], None],
                  latency: VenueLatency) -> dict[str, ReplayVenue]:
    """A ReplayVenue per prepared capture (venues/sim/replay_perpetual.py prepare_replays), with
    its venue's fees, latency and market-data latency."""
    fees = FeeSchedule.from_configs(venue_configs)
    configs = {v.name: v for v in venue_configs}
    return {r.venue: ReplayVenue(r.venue, clock, fees, r.events, latency.expected_entry_ns(r.venue),
                                 int(configs[r.venue].market_data_latency_ms * 1_000_000), report_sink, book_sink,
                                 symbol=r.symbol, latency=latency)
            for r in replays}


def build_sim_market(clock: Clock, securities: SecurityMaster, market: MarketConfig, venue_configs: list[VenueConfig],
                     report_sink: Callable[[VenueReport], None],
                     book_sink: Callable[[BookUpdate | TradePrint], None],
                     replays: list[PerpetualReplay] = ()) -> SimMarket:
    """The venues and their background flow, not yet started (``market.start()``). A venue with
    ``replay`` needs its capture in ``replays`` (prepare_replays, which also gives the market and
    securities the capture's terms): it is then a ReplayVenue, and the crypto marks follow its mid."""
    prepared = {r.venue for r in replays}
    unprepared = [v.name for v in venue_configs if v.replay is not None and v.name not in prepared]
    if unprepared:
        raise ValueError(f"venues.{unprepared[0]}.replay is set but its capture was not prepared "
                         f"(venues/sim/replay_perpetual.py prepare_replays)")
    latency = venue_latency(venue_configs, seed=market.seed)
    venues: dict = build_venues(clock, securities, [v for v in venue_configs if v.name not in prepared],
                                report_sink, book_sink, latency, responder_seed=market.seed)
    venues.update(replay_venues(clock, venue_configs, list(replays), report_sink, book_sink, latency))
    venues = {v.name: venues[v.name] for v in venue_configs}         # the configured order
    background = BackgroundFlow(clock, *us_market_view(list(venues.values()), securities, market, venue_configs))
    return SimMarket(venues, background, build_crypto_flow(clock, venues, securities, market, venue_configs,
                                                           mark_sink=book_sink,
                                                           spot_sources={r.symbol: venues[r.venue].mid for r in replays}))
