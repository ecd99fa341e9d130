"""The TCA's PNG plots (matplotlib, Agg: no display needed): markout curves per algo, the
distribution of cost per contract, and the fill rate against time since arrival."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import numpy as np  # noqa: E402

from .inputs import HORIZONS_S, WORK, TcaInput  # noqa: E402
from .metrics import AlgoSummary, ParentMetrics, parent_metrics  # noqa: E402

MARKOUTS_PNG = "markouts.png"
COST_PNG = "cost_per_contract.png"
FILL_RATE_PNG = "fill_rate.png"


def _save(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def markout_curves(algos: list[AlgoSummary], path: Path) -> Path:
    figure, axes = plt.subplots(figsize=(7, 4))
    for algo in algos:
        line, = axes.plot(HORIZONS_S, [algo.markouts[h] for h in HORIZONS_S], marker="o", label=algo.algo)
        passive = [algo.markouts_passive[h] for h in HORIZONS_S]
        if not np.isnan(passive).all():
            axes.plot(HORIZONS_S, passive, linestyle="--", color=line.get_color(), label=f"{algo.algo} (passive)")
    axes.axhline(0.0, color="grey", linewidth=0.8)
    axes.set_xscale("log")
    axes.set_xticks(HORIZONS_S, [f"{h}s" for h in HORIZONS_S])
    axes.set(xlabel="horizon after the fill", ylabel="$ per contract", title="Markouts vs mid")
    axes.legend(fontsize="small")
    return _save(figure, path)


def cost_distribution(data: TcaInput, parents: ParentMetrics, path: Path) -> Path:
    figure, axes = plt.subplots(figsize=(7, 4))
    for algo in sorted(set(data.parents.algo)):
        costs = parents.cost[(data.parents.algo == algo) & ~np.isnan(parents.cost)]
        if len(costs):
            axes.hist(costs, bins=min(30, max(5, len(costs) // 3)), alpha=0.5, label=f"{algo} ({len(costs)})")
    axes.axvline(0.0, color="grey", linewidth=0.8)
    axes.set(xlabel="cost per contract, $ (fees included)", ylabel="parents", title="Cost per contract")
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize="small")
    return _save(figure, path)


def fill_rate_curve(data: TcaInput) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per algo: seconds since arrival (sorted) and the share of its ordered contracts filled by then."""
    parents, fills = data.parents, data.fills
    work = fills.role == WORK
    curves = {}
    for algo in sorted(set(parents.algo)):
        mine = work & (parents.algo[fills.parent] == algo)
        elapsed = (fills.ts_ns[mine] - parents.created_ns[fills.parent[mine]]) / 1e9
        order = np.argsort(elapsed, kind="stable")
        ordered = parents.qty[parents.algo == algo].sum()
        curves[str(algo)] = (elapsed[order], np.cumsum(fills.qty[mine][order]) / ordered)
    return curves


def fill_rate_plot(data: TcaInput, path: Path) -> Path:
    figure, axes = plt.subplots(figsize=(7, 4))
    for algo, (elapsed, rate) in fill_rate_curve(data).items():
        axes.step(np.concatenate(([0.0], elapsed)), np.concatenate(([0.0], rate)), where="post", label=algo)
    axes.set(xlabel="seconds since arrival", ylabel="share of ordered contracts filled", ylim=(0, 1.05),
             title="Fill rate against time")
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize="small")
    return _save(figure, path)


def write_plots(data: TcaInput, algos: list[AlgoSummary], directory: Path,
                parents: ParentMetrics | None = None) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    parents = parents or parent_metrics(data)
    return [markout_curves(algos, directory / MARKOUTS_PNG), cost_distribution(data, parents, directory / COST_PNG),
            fill_rate_plot(data, directory / FILL_RATE_PNG)]
