"""The backtest's tables (router/tca's TextTable: rich in the terminal, HTML in the report) and
its PNG plots: cost per contract by contender, markout curves."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from router.tca.html import write_html
from router.tca.report import TextTable

from .metrics import Estimate, Quality
from .run import HORIZONS_S
from .suite import Outcome


def _ci(estimate: Estimate, places: int = 2, pct: bool = False) -> str:
    if math.isnan(estimate.value):
        return "-"
    scale, unit = (100.0, "%") if pct else (1.0, "")
    return (f"{estimate.value * scale:.{places}f}{unit} "
            f"[{estimate.low * scale:.{places}f}, {estimate.high * scale:.{places}f}]")


def quality_table(rows: list[Quality], title: str = "Execution quality") -> TextTable:
    headers = ("market", "contender", "parents", "contracts", "mean $/ct [95% CI]", "median $/ct",
               "cost / half-spread", "fill rate", "passive", "fees $/ct") + tuple(f"markout {h}s $/ct"
                                                                                 for h in HORIZONS_S)
    body = []
    for q in rows:
        body.append((q.market, q.contender, str(q.parents), str(q.contracts), _ci(q.cost), f"{q.median_cost:.2f}",
                     _ci(q.half_spread_frac), _ci(q.fill_rate, 1, pct=True),
                     "-" if math.isnan(q.passive_share) else f"{q.passive_share * 100:.0f}%",
                     "-" if math.isnan(q.fees_per_contract) else f"{q.fees_per_contract:.2f}")
                    + tuple(_ci(q.markouts[h]) for h in HORIZONS_S))
    note = ("cost = side x (fill - arrival mid) x multiplier + fees, per contract ordered; contracts unfilled at "
            "the end of the order's duration are charged crossing the spread then (far touch + taker fee). "
            "Brackets: 95% bootstrap intervals over parents. Markouts: side x (mid later - mid at the fill), "
            "positive = in our favour, negative = adverse selection.")
    return TextTable(title, headers, body, note)


def summary_text(outcome: Outcome) -> str:
    v = outcome.verdict
    config = outcome.config
    pooled = [q for q in outcome.rows if q.market == v.best.market and q.contender != "naive"]
    cheapest = min(pooled, key=lambda q: q.cost.value) if pooled else v.best
    perp = "replayed from the Binance capture" if outcome.replayed else "simulated"
    if v.naive.parents == 0:
        return (f"No parent was counted ({v.naive.excluded} excluded: no two-sided market at arrival, or rejected); "
                f"run more parents.")
    return (f"{sum(len(f) for f in outcome.flows.values())} parents ({', '.join(config.markets)}), seed {config.seed}, "
            f"duration {config.duration_s} s, crypto perpetual {perp}. Best: {v.best.contender} at "
            f"${v.best.cost.value:.2f}/ct vs naive ${v.naive.cost.value:.2f}/ct "
            f"(saving {v.saving * 100:.0f}%), fill rate {v.best.fill_rate.value * 100:.0f}%, "
            f"{v.best.half_spread_frac.value * 100:.0f}% of the half-spread. Cheapest at any fill rate: "
            f"{cheapest.contender} at ${cheapest.cost.value:.2f}/ct, fill rate {cheapest.fill_rate.value * 100:.0f}%.")


def write_plots(outcome: Outcome, directory: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    config = outcome.config
    for market in config.markets:
        figure, axis = plt.subplots(figsize=(8, 4))
        data = []
        for contender in config.contenders:
            counted = [r for r in outcome.results[(contender, market)] if r.counted]
            data.append(np.array([(r.fill_cost + r.end_charge) / r.spec.qty for r in counted], float))
        axis.boxplot(data, showfliers=False)
        axis.set_xticks(range(1, len(config.contenders) + 1), config.contenders, rotation=20)
        axis.set_ylabel("$ per contract")
        axis.set_title(f"Cost per contract by parent, {market}")
        paths.append(_save(figure, directory / f"cost_{market}.png"))
        figure, axis = plt.subplots(figsize=(8, 4))
        for q in (q for q in outcome.rows if q.market == market):
            axis.plot(HORIZONS_S, [q.markouts[h].value for h in HORIZONS_S], marker="o", label=q.contender)
        axis.set_xscale("log")
        axis.set_xlabel("seconds after the fill")
        axis.set_ylabel("markout $ per contract")
        axis.set_title(f"Markouts, {market}")
        axis.legend(fontsize=8)
        paths.append(_save(figure, directory / f"markouts_{market}.png"))
    return paths


def _save(figure, path: Path) -> Path:
    import matplotlib.pyplot as plt
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def write_report(outcome: Outcome, directory: Path, extra: list[TextTable] = ()) -> Path:
    images = write_plots(outcome, directory)
    return write_html(directory, "Execution quality backtest", [quality_table(outcome.rows), *extra], images,
                      summary_text(outcome))
