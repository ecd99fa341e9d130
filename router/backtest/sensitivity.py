"""How the verdict moves with the market: the backtest again over a grid of informed-taker rates
([market.informed] per_second) and venue latencies (every venue's latencies times a factor)."""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from router.app import Settings
from router.tca.report import TextTable

from .suite import BacktestConfig, run_backtest

INFORMED_RATES = (0.0, 1.0, 3.0)      # arrivals per option book per second, each horizon (config: 1.0)
LATENCY_FACTORS = (1.0, 10.0)         # x every venue's order-entry and market-data latency


def sensitivity(settings: Settings, config: BacktestConfig, informed: tuple[float, ...] = INFORMED_RATES,
                latency: tuple[float, ...] = LATENCY_FACTORS,
                progress: Callable[[float], None] | None = None, captures: dict | None = None) -> TextTable:
    rows = []
    for rate in informed:
        for factor in latency:
            setup = replace(config.setup, informed_per_second=rate, latency_x=factor)
            outcome = run_backtest(settings, replace(config, setup=setup), progress, captures)
            v = outcome.verdict
            pooled = {q.contender: q for q in outcome.rows if q.market == v.best.market}
            rows.append((f"{rate:g}", f"{factor:g}x", f"{v.best.contender} {v.saving * 100:+.0f}%")
                        + tuple(f"{pooled[c].cost.value:.2f} ({pooled[c].fill_rate.value * 100:.0f}%)"
                                for c in config.contenders))
    return TextTable("Sensitivity: informed takers and venue latency",
                     ("informed /s", "latency", "best, saving vs naive")
                     + tuple(f"{c} $/ct (fill)" for c in config.contenders), rows,
                     f"{config.parents} parents, seed {config.seed}, markets {', '.join(config.markets)}, "
                     "each row a full run of every contender; best: the cheapest filling >= 90%")
