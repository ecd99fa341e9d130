"""PnL attribution of a trading day's fills (seed 002's components): attribution.py the numpy
core over plain columns, theta.py the model's theta at each option fill, load.py the columns from
a store, report.py the table and the plot, cli.py `router pnl`."""
from .attribution import COMPONENTS, PnlAttribution, PnlFills, attribute, cumulative_by_time

__all__ = ["COMPONENTS", "PnlAttribution", "PnlFills", "attribute", "cumulative_by_time"]
