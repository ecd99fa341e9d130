"""`router pnl`'s output: a table of the components per parent and in total (the TCA's TextTable,
rendered by rich), and a PNG of the cumulative PnL by component over the day (matplotlib, Agg)."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

from router.tca.report import TextTable, money  # noqa: E402

from .attribution import COMPONENTS, LABELS, PnlAttribution, cumulative_by_time  # noqa: E402
from .load import PnlDay  # noqa: E402

_COLUMNS = (*COMPONENTS, "total")


def pnl_table(day: PnlDay, result: PnlAttribution) -> TextTable:
    rows = []
    for index, info in enumerate(day.row_info):
        fills = int((result.fills.row == index).sum())
        rows.append((str(result.fills.rows[index]), info["cl_ord_id"], info["algo"], info["symbol"].strip(),
                     str(fills), *(money(float(result.per_row[c][index])) for c in _COLUMNS)))
    totals = result.totals
    rows.append(("total", "", "", "", str(len(result.fills)), *(money(totals[c]) for c in _COLUMNS)))
    notes = list(day.notes)
    if result.fills_without_mid:
        notes.append(f"{result.fills_without_mid} fills without a mid at the fill: their spread capture counted as 0")
    return TextTable("PnL attribution ($; each fill to its symbol's end mark)",
                     ("parent", "ClOrdID", "algo", "symbol", "fills", *(LABELS[c] for c in _COLUMNS)), rows,
                     note="; ".join(notes))


def _time(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).replace(tzinfo=None)


def cumulative_plot(result: PnlAttribution, path: Path) -> Path:
    """Each component's running sum over the fills in time order (each fill's PnL to the end mark)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    times, sums = cumulative_by_time(result)
    figure, axes = plt.subplots(figsize=(8, 4.5))
    when = [_time(int(t)) for t in times]
    for name in _COLUMNS:
        values = sums[name]
        axes.step(when, values, where="post", label=LABELS[name],
                  linewidth=2.2 if name == "total" else 1.2, color="black" if name == "total" else None)
    axes.axhline(0.0, color="grey", linewidth=0.8)
    axes.set(xlabel="fill time (UTC)", ylabel="$", title="Cumulative PnL by component")
    if len(times):
        axes.legend(fontsize="small")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path

