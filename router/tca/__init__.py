"""Transaction cost analysis: metrics over plain columns (inputs.py, metrics.py) that run on a
store (load.py) or a backtest's results, rich tables (report.py), PNG plots and an HTML page."""
from .inputs import HORIZONS_S, FillColumns, ParentColumns, TcaInput
from .metrics import (AlgoSummary, FillMetrics, HedgeSummary, ParentMetrics, algo_summary, fill_metrics,
                      hedge_summary, parent_metrics, time_weighted_mid)

__all__ = ["HORIZONS_S", "AlgoSummary", "FillColumns", "FillMetrics", "HedgeSummary", "ParentColumns",
           "ParentMetrics", "TcaInput", "algo_summary", "fill_metrics", "hedge_summary", "parent_metrics",
           "time_weighted_mid"]
