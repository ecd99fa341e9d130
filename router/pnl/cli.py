"""`router pnl`: the PnL attribution of a store's trading day, per parent and in total."""
from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

import click
from rich.console import Console

console = Console(width=None if sys.stdout.isatty() else 200)


@click.command(help="PnL attribution of a trading day's fills, per parent (a facilitation's firm book apart) and in "
                    "total: spread capture against the mid at each fill, inventory mark-to-market to each symbol's "
                    "end mark less theta, theta (the model's, over the time held), the auto-hedge's PnL, and fees "
                    "and rebates; they add up to the total. The day is the session (from one close to the next) "
                    "of the store's last fill, unless --day or --since says.")
@click.option("--store", "store_url", help="SQLAlchemy URL (default: the configured store).")
@click.option("--since", help="Fills since then instead of a session: an ISO time (UTC unless it says) such as "
                              "2026-11-20T15:00:00Z, or a duration back from now such as 30m, 2h, 1d.")
@click.option("--day", "day_text", metavar="YYYY-MM-DD", help="The session that closes on this date.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a PNG of the cumulative PnL by component over the day here.")
@click.pass_obj
def pnl(config_path: Path, store_url: str | None, since: str | None, day_text: str | None,
        plot_path: Path | None) -> None:
    from router.app import load_settings
    from router.clock import ns_to_datetime
    from router.engine.tif import SessionCalendar
    from router.market.securities import SecurityMaster
    from router.store.cli import _open
    from router.tca.load import parse_since
    from router.tca.report import rich_table

    from .attribution import attribute
    from .load import last_fill_ns, load_pnl, trading_day
    from .report import cumulative_plot, pnl_table

    if since is not None and day_text is not None:
        raise click.UsageError("--since and --day exclude each other")
    settings = load_settings(config_path)
    calendar = SessionCalendar.from_config(settings.router.engine)
    try:
        since_ns = None if since is None else parse_since(since, time.time_ns())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    try:
        day = None if day_text is None else date.fromisoformat(day_text)
    except ValueError:
        raise click.BadParameter(f"--day {day_text!r}: expected a date such as 2026-11-20", param_hint="--day") \
            from None
    market = settings.router.market
    with _open(config_path, store_url) as store:
        if since_ns is not None:
            start_ns, end_ns, what = since_ns, None, f"since {since}"
        elif day is not None:
            end_ns = calendar.close_ns_on(day)
            start_ns, what = calendar.previous_close_ns(end_ns - 1), f"in the session closing on {day}"
        else:
            last = last_fill_ns(store)
            if last is None:
                console.print("no fills in the store", highlight=False)
                return
            start_ns, end_ns = trading_day(calendar, last)
            what = "in the session of the last fill"
        # the chains as listed on that day (the generated expiries follow the date)
        listed_on = ns_to_datetime(start_ns if end_ns is None else end_ns - 1).date()
        securities = SecurityMaster.from_chains(market.underliers, listed_on)
        day_data = load_pnl(store, securities, market, start_ns, end_ns)
    if not len(day_data.fills):
        console.print(f"no fills {what}", highlight=False)
        return
    result = attribute(day_data.fills)
    console.print(rich_table(pnl_table(day_data, result)))
    if plot_path is not None:
        console.print(f"wrote {cumulative_plot(result, plot_path)}", highlight=False)
