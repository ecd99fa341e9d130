"""The execution-quality backtest (issue 11): the same seeded parent flow, on the same simulated
markets, worked by the naive baseline and by each of the router's algos; cost per contract
against the arrival mid, fill rate and markouts, with bootstrap intervals.

Floor: the top (like router/cli.py): it assembles whole routers (router.app) and reads their reports.
"""
from .contenders import CONTENDERS, Tuning
from .flow import FlowSpec, ParentSpec, make_flow
from .metrics import Quality, Verdict, quality, verdict
from .run import Backtest, MarketSetup, ParentResult
from .suite import BacktestConfig, Outcome, run_backtest

__all__ = ["CONTENDERS", "Backtest", "BacktestConfig", "FlowSpec", "MarketSetup", "Outcome", "ParentResult",
           "ParentSpec", "Quality", "Tuning", "Verdict", "make_flow", "quality", "run_backtest", "verdict"]
