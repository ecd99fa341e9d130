"""`router tca`: the TCA of a store's parents as tables, and optionally PNG plots and an HTML page."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from rich.console import Console

console = Console(width=None if sys.stdout.isatty() else 200)


@click.command(help="Transaction cost analysis of the store's parents, per algo: cost per contract against the "
                    "arrival mid (fees included), as a fraction of the half-spread, effective and realised spread, "
                    "markouts at 1 s, 10 s, 1 min and 10 min (passive and aggressive fills apart), PnL against the "
                    "time-weighted mid (qwap), fill rate and time to fill; auto-hedge fills apart.")
@click.option("--store", "store_url", help="SQLAlchemy URL (default: the configured store).")
@click.option("--since", help="Only parents that arrived since then: an ISO time (UTC unless it says) such as "
                              "2026-11-20T15:00:00Z, or a duration back from now such as 30m, 2h, 1d.")
@click.option("--plots", "plots_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write markout, cost and fill-rate PNGs and an index.html with the tables into this directory.")
@click.pass_obj
def tca(config_path: Path, store_url: str | None, since: str | None, plots_dir: Path | None) -> None:
    from router.store.cli import _open

    from .html import write_html
    from .load import load_tca, parse_since
    from .report import build_report, rich_table

    try:
        since_ns = None if since is None else parse_since(since, time.time_ns())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    with _open(config_path, store_url) as store:
        data = load_tca(store, since_ns)
    if not len(data.parents):
        console.print("no parents in the store" + (f" since {since}" if since else ""), highlight=False)
        return
    report = build_report(data)
    for table in report.tables:
        console.print(rich_table(table))
    if plots_dir is not None:
        from .plots import write_plots

        images = write_plots(data, report.algos, plots_dir)
        page = write_html(plots_dir, "Transaction cost analysis", report.tables, images,
                          summary=f"{len(data.parents)} parents, {len(data.fills)} fills"
                                  + (f", since {since}" if since else ""))
        console.print(f"wrote {', '.join(p.name for p in images)} and {page}", highlight=False)
