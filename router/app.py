"""Wiring: assemble clock, market, venues, background flow and engine from configuration.
The same assembly serves ``router serve``, ``router demo``, replays and the tests; only the
clock, the report sink, the persistence and where the venues run differ: in this process, on the
engine's clock (dispatching synchronously into the engine, so a simulated run is deterministic),
or in `router exchange`, reached through an ``ExchangeLink``."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from router.clock import Clock, ns_to_datetime
from router.config import (Accounts, AlgoSettings, EngineConfig, MarketConfig, RouterConfig, VenueConfig, load_accounts,
                           load_router_config, load_venues, resolve)
from router.domain.events import ClientReport
from router.engine import Engine, Persistence
from router.market.books import MarketBooks
from router.market.securities import SecurityMaster
from router.models.fill_probability import FillProbability
from venues.base import VenueAdapter
from venues.fees import FeeSchedule
from venues.fix_venue import FixVenueLink
from venues.remote import ExchangeLink, RemoteVenue
from venues.sim.background import BackgroundFlow
from venues.sim.crypto_market import CryptoFlow, build_crypto_flow, us_market_view
from venues.sim.market import build_venues, listed_symbols, replay_venues, venue_latency
from venues.sim.replay_events import ReplayEvents
from venues.sim.replay_perpetual import prepare_replays
from venues.sim.wire import decode as decode_frame
from venues.sor import SmartOrderRouter

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "router.toml"


@dataclass
class Settings:
    router: RouterConfig
    venues: list[VenueConfig]
    accounts: Accounts
    config_path: Path

    @property
    def sessions_path(self) -> Path:
        return resolve(self.config_path, self.router.sessions)

    def store_url(self, state_dir: Path | None = None) -> str:
        url = self.router.store.url
        if state_dir is not None:
            return f"sqlite:///{(state_dir / 'router.db').resolve()}"
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url[len(prefix):].startswith("/") and url != "sqlite:///:memory:":
            return prefix + str(resolve(self.config_path, url[len(prefix):]).resolve())
        return url


def load_settings(config_path: Path = DEFAULT_CONFIG) -> Settings:
    router_cfg = load_router_config(config_path)
    return Settings(router_cfg, load_venues(resolve(config_path, router_cfg.venues)),
                    load_accounts(resolve(config_path, router_cfg.accounts)), config_path)


@dataclass
class System:
    clock: Clock
    engine: Engine
    securities: SecurityMaster
    venues: dict[str, VenueAdapter]      # SimVenue in process, RemoteVenue with an exchange
    background: BackgroundFlow | None    # None: the market runs in the exchange
    exchange: ExchangeLink | FixVenueLink | None = None
    crypto: CryptoFlow | None = None     # the crypto option venues' market makers and marks, in process


def build_system(*, clock: Clock, market: MarketConfig, venue_configs: list[VenueConfig], accounts: Accounts,
                 engine_config: EngineConfig, send: Callable[[ClientReport], None],
                 persistence: Persistence | None = None, background: bool = True,
                 algo_settings: AlgoSettings | None = None,
                 exchange: ExchangeLink | FixVenueLink | None = None,
                 captures: dict[str, ReplayEvents] | None = None) -> System:
    """With ``exchange``, the venues are that exchange's (``background`` is then the exchange's
    business), reached over its native link or over FIX (a ``FixVenueLink``: a session per venue),
    and the link is started here; without, they are simulated in process. A venue with ``replay``
    is a ReplayVenue on that capture (venues/sim/replay_perpetual.py), in process or in the
    exchange (started with the same config): either way the router takes the capture's terms
    (spot, lot size, fees per lot); ``captures`` gives its events already read, by venue."""
    replays = []
    if any(v.replay for v in venue_configs):
        market, venue_configs, replays = prepare_replays(clock, market, venue_configs, captures)
    securities = SecurityMaster.from_chains(market.underliers, ns_to_datetime(clock.now_ns()).date())
    fees = FeeSchedule.from_configs(venue_configs)
    latency = venue_latency(venue_configs, seed=market.seed)      # the SOR plans with the venues' own model
    books = MarketBooks()
    underliers = {u.symbol for u in securities.underliers()}
    sor = SmartOrderRouter(fees, latency.expected_entry_by_venue(), venue_kinds={v.name: v.kind for v in venue_configs},
                           underliers=underliers, fill_model=FillProbability.load(),
                           listings={v.name: listed_symbols(v, securities) for v in venue_configs})
    engine_ref: list[Engine] = []

    def to_engine(event) -> None:
        engine_ref[0].dispatch(event)

    over_fix = isinstance(exchange, FixVenueLink)
    if exchange is None:
        venues: dict = build_venues(clock, securities, venue_configs, to_engine, to_engine, latency,
                                    responder_seed=market.seed)
        for venue in venues.values():
            venue.package_sink = to_engine          # complex order book updates, for the Seeker
        venues.update(replay_venues(clock, venue_configs, replays, to_engine, to_engine, latency))
    elif over_fix:
        venues = {v.name: exchange.adapter(v.name) for v in venue_configs}
    else:
        venues = {v.name: RemoteVenue(v.name, exchange) for v in venue_configs}
    engine = Engine(clock=clock, securities=securities, books=books, sor=sor, venues=venues, accounts=accounts,
                    config=engine_config, send=send, persistence=persistence, algo_settings=algo_settings,
                    rate=market.rate, fallback_vols={u.symbol: u.vol for u in market.underliers},
                    market_decode=None if exchange is None or over_fix else decode_frame)
    engine_ref.append(engine)
    if over_fix:
        children = engine.orders.children

        def describe(child_id: str):
            child = children.get(child_id)
            return None if child is None else (child.symbol, child.side)
        exchange.start(engine.post, engine.market, symbols=[i.symbol for i in securities], describe=describe)
        return System(clock, engine, securities, venues, None, exchange)
    if exchange is not None:
        engine.after_release.append(exchange.flush)
        exchange.start(engine.post, engine.market)
        return System(clock, engine, securities, venues, None, exchange)
    flow = BackgroundFlow(clock, *us_market_view(list(venues.values()), securities, market, venue_configs))
    # the crypto venues' marks go straight into the books (book.mark(venue)): the in-process market
    # runs on the engine's clock, so on the engine thread; over an exchange link they do not cross yet
    crypto = build_crypto_flow(clock, venues, securities, market, venue_configs, mark_sink=to_engine,
                               spot_sources={r.symbol: venues[r.venue].mid for r in replays})
    if background:
        flow.start()
        if crypto is not None:
            crypto.start()
    return System(clock, engine, securities, venues, flow, crypto=crypto)
