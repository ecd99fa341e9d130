"""The whole backtest: every contender on the same flow and the same market seed, per market, a
fresh router each time; the quality table and the verdict against naive."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable

from router.app import Settings
from router.config import NaiveSettings

from .contenders import CONTENDERS, Tuning
from .flow import CRYPTO, US, FlowSpec, ParentSpec
from .metrics import Quality, Verdict, quality, verdict
from .run import HORIZONS_S, Backtest, MarketSetup, ParentResult, market_settings

ALL = "all"
MARKETS = {"us": (US,), "crypto": (CRYPTO,), "both": (US, CRYPTO)}
# A level's typical displayed size (config quote_size_min..max on the US books; 1..20 on the crypto ones)
DISPLAYED = {US: 30.0, CRYPTO: 10.0}
# The Binance capture lasts 5.7 minutes; after it the replayed perpetual stops and the crypto books
# thin out. 30 s warm-up + 200 s of arrivals + 30 s duration + 60 s markouts stay inside it.
CRYPTO_MAX_WINDOW_S = 200.0


@dataclass(frozen=True)
class BacktestConfig:
    parents: int = 300               # over all markets, split evenly
    seed: int = 7                    # the market's and the flow's
    markets: tuple[str, ...] = (US, CRYPTO)
    contenders: tuple[str, ...] = CONTENDERS
    duration_s: int = 30             # SROrderDuration of every parent
    naive_wait_s: float = 15.0       # naive crosses the spread this long after arrival
    arrivals_per_s: float = 0.5      # parents arriving per second, per market
    tuning: Tuning = Tuning()
    setup: MarketSetup = field(default_factory=MarketSetup)

    def flow_spec(self, market: str) -> FlowSpec:
        per_market = self.parents // len(self.markets) + (1 if self.markets.index(market) < self.parents %
                                                          len(self.markets) else 0)
        window = max(per_market / self.arrivals_per_s, 1.0)
        if market == CRYPTO:      # arrivals come faster rather than outlive the capture
            window = min(window, CRYPTO_MAX_WINDOW_S)
        return FlowSpec(per_market, window, self.duration_s, DISPLAYED[market])

    def simulated_seconds(self) -> float:
        """Simulated seconds of the whole run (every contender, every market), for a progress bar."""
        per_market = [self.flow_spec(m).window_s + self.duration_s + max(HORIZONS_S) + 1 for m in self.markets]
        return sum(per_market) * len(self.contenders)


@dataclass
class Outcome:
    config: BacktestConfig
    results: dict[tuple[str, str], list[ParentResult]]     # (contender, market) -> per parent
    rows: list[Quality]                                     # per contender and market, then "all"
    verdict: Verdict
    replayed: bool                                          # the crypto perpetual came from the capture
    flows: dict[str, list[ParentSpec]]
    walls: dict[tuple[str, str], float] = field(default_factory=dict)    # wall seconds per run (not compared)


def run_backtest(settings: Settings, config: BacktestConfig, progress: Callable[[float], None] | None = None,
                 captures: dict | None = None) -> Outcome:
    unknown = [c for c in config.contenders if c not in CONTENDERS]
    if unknown or "naive" not in config.contenders:
        raise ValueError(f"contenders must include naive and be among {', '.join(CONTENDERS)}; got "
                         f"{', '.join(config.contenders)}")
    results: dict[tuple[str, str], list[ParentResult]] = {}
    flows: dict[str, list[ParentSpec]] = {}
    replayed = False
    algos = settings.router.algos.model_copy(update={"naive": NaiveSettings(cross_after_s=config.naive_wait_s)})
    settings = replace(settings, router=settings.router.model_copy(update={"algos": algos}))
    walls: dict[tuple[str, str], float] = {}
    for market in config.markets:
        per_market = market_settings(settings, market, config.setup)
        if market == CRYPTO and captures is None:
            captures = _load_captures(per_market)
        for contender in config.contenders:
            started = time.perf_counter()
            backtest = Backtest(per_market, market, config.seed, captures if market == CRYPTO else None)
            if market not in flows:           # the chain is the same in every fresh system
                flows[market] = backtest.flow_for(config.flow_spec(market), config.seed)
            replayed |= market == CRYPTO and backtest.replayed
            results[(contender, market)] = backtest.run(contender, flows[market], config.tuning, progress)
            walls[(contender, market)] = time.perf_counter() - started
    rows = [quality(c, m, results[(c, m)], config.seed) for m in config.markets for c in config.contenders]
    if len(config.markets) > 1:
        rows += [quality(c, ALL, [r for m in config.markets for r in results[(c, m)]], config.seed)
                 for c in config.contenders]
    pooled = [q for q in rows if q.market == (ALL if len(config.markets) > 1 else config.markets[0])]
    return Outcome(config, results, rows, verdict(pooled), replayed, flows, walls)


def _load_captures(per_market: Settings) -> dict | None:
    """The replayed perpetual's events, read once for every contender (None: not replayed)."""
    from venues.sim.replay_perpetual import load_capture
    captures = {v.name: load_capture(v.replay) for v in per_market.venues if v.replay}
    return captures or None
