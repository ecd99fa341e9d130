"""The TCA's tables as plain headers and rows of text, rendered by rich (the terminal) and by
html.py (the static report): one place decides what is shown and how numbers are written."""
from __future__ import annotations

import math
from dataclasses import dataclass

from rich.table import Table

from .inputs import HORIZONS_S, TcaInput
from .metrics import (AlgoSummary, HedgeSummary, algo_summary, fill_metrics, hedge_summary, parent_metrics)


@dataclass(frozen=True)
class TextTable:
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    note: str = ""


@dataclass(frozen=True)
class TcaReport:
    algos: list[AlgoSummary]
    hedges: list[HedgeSummary]
    tables: list[TextTable]


def money(value: float, places: int = 2) -> str:
    return "-" if math.isnan(value) else f"{value:+.{places}f}"


def ratio(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}"


def percent(value: float) -> str:
    return "-" if math.isnan(value) else f"{100 * value:.0f}%"


def seconds(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def _horizon(h: int) -> str:
    return f"{h}s" if h < 60 else f"{h // 60}m"


def cost_table(algos: list[AlgoSummary]) -> TextTable:
    return TextTable(
        "Option cost per algo ($ per contract; cost = shortfall vs arrival mid + fees)",
        ("algo", "parents", "contracts", "cost mean", "cost median", "cost / half-spread", "shortfall", "fees",
         "effective spread", "realised spread 1m", "PnL vs qwap", "fill rate", "time to fill (s)", "passive"),
        [(a.algo, str(a.parents), f"{a.contracts:g}", money(a.cost_mean), money(a.cost_median),
          ratio(a.cost_half_spread), money(a.shortfall), money(a.fees_per_contract), money(a.effective_spread),
          money(a.realised_spread), money(a.pnl_vs_qwap), percent(a.fill_rate), seconds(a.time_to_fill_median_s),
          percent(a.passive_share)) for a in algos],
        note="Median time to fill over the parents filled completely; fill rate: contracts filled within the "
             "order's duration over those ordered.")


def markout_table(algos: list[AlgoSummary]) -> TextTable:
    headers = ["algo", "passive share"] + [f"{kind} {_horizon(h)}" for kind in ("all", "passive", "aggressive")
                                   for h in HORIZONS_S]
    rows = []
    for a in algos:
        values = [money(m[h]) for m in (a.markouts, a.markouts_passive, a.markouts_aggressive) for h in HORIZONS_S]
        rows.append((a.algo, percent(a.passive_share), *values))
    return TextTable("Markouts vs mid ($ per contract, + = the market moved our way after the fill)",
                     tuple(headers), rows,
                     note="side x (mid at the horizon - mid at the fill) x multiplier; passive fills added "
                          "liquidity: a negative markout there is adverse selection.")


def hedge_table(hedges: list[HedgeSummary]) -> TextTable:
    return TextTable(
        "Auto-hedge fills (in the underlier, $ per share; not in the option cost)",
        ("algo", "fills", "shares", "slippage vs mid", "fees", *(f"markout {_horizon(h)}" for h in HORIZONS_S)),
        [(h.algo, str(h.fills), f"{h.shares:g}", money(h.slippage_per_share, 4), money(h.fees_per_share, 4),
          *(money(h.markouts[x], 4) for x in HORIZONS_S)) for h in hedges])


def build_report(data: TcaInput) -> TcaReport:
    fills = fill_metrics(data)
    parents = parent_metrics(data, fills)
    algos = algo_summary(data, fills, parents)
    hedges = hedge_summary(data, fills)
    tables = [cost_table(algos), markout_table(algos)]
    if hedges:
        tables.append(hedge_table(hedges))
    return TcaReport(algos, hedges, tables)


def rich_table(table: TextTable) -> Table:
    rendered = Table(title=table.title, caption=table.note or None)
    for index, header in enumerate(table.headers):
        rendered.add_column(header, justify="left" if index == 0 else "right")
    for row in table.rows:
        rendered.add_row(*row)
    return rendered
