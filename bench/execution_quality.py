"""Execution quality: what the router's algos cost per contract against the naive limit orders
(seed 000: about $5.2), on the same seeded flow and the same simulated markets.

    .venv/bin/python bench/execution_quality.py [--quick] [--parents N] [--seed S] [--market us|crypto|both]
                                                [--sensitivity] [--report DIR]

Each contender (naive, sweep, volatility PostWith, alpha taking, alpha making, alpha taking+making)
works the same parents (router/backtest/flow.py) on a fresh router with the simulated venues, the
background market and its informed takers on; the crypto perpetual replays the Binance capture
when ../shared/data has it. Prints the quality table (router/backtest/metrics.py), then, with
--sensitivity, the verdict over informed-taker rates and venue latencies. Last line: key=value.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from router.app import load_settings  # noqa: E402
from router.backtest.contenders import CONTENDERS  # noqa: E402
from router.backtest.suite import MARKETS, BacktestConfig, run_backtest  # noqa: E402

QUICK_PARENTS, FULL_PARENTS = 100, 600     # quick: about 2 minutes on 2 cores; full: about 12


def config_from(args) -> BacktestConfig:
    parents = args.parents if args.parents is not None else (QUICK_PARENTS if args.quick else FULL_PARENTS)
    contenders = tuple(args.contenders.split(",")) if args.contenders else CONTENDERS
    return BacktestConfig(parents=parents, seed=args.seed, markets=MARKETS[args.market], contenders=contenders,
                          duration_s=args.duration, naive_wait_s=args.duration / 2)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_PARENTS} parents (CI; about 2 minutes)")
    parser.add_argument("--parents", type=int, default=None, help=f"parents over all markets ({FULL_PARENTS})")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--market", choices=sorted(MARKETS), default="both")
    parser.add_argument("--duration", type=int, default=30, help="SROrderDuration of every parent, s (naive "
                        "crosses at half of it)")
    parser.add_argument("--contenders", default=None, help=f"comma-separated, naive first (default: all of "
                        f"{','.join(CONTENDERS)})")
    parser.add_argument("--sensitivity", action="store_true", help="also the informed-taker x latency grid")
    parser.add_argument("--report", type=Path, default=None, help="write index.html and PNG plots here")
    args = parser.parse_args(argv)
    from router.backtest.report import quality_table, summary_text, write_report
    from router.tca.report import rich_table
    from rich.console import Console

    console = Console(width=200)
    settings = load_settings()
    config = config_from(args)
    started = time.perf_counter()
    outcome = run_backtest(settings, config)
    console.print(rich_table(quality_table(outcome.rows)))
    console.print(summary_text(outcome), highlight=False)
    extra = []
    if args.sensitivity:
        from router.backtest.sensitivity import sensitivity
        grid = sensitivity(settings, config)
        console.print(rich_table(grid))
        extra.append(grid)
    if args.report is not None:
        console.print(f"report: {write_report(outcome, args.report, extra)}", highlight=False)
    console.print(f"wall {time.perf_counter() - started:.1f} s", highlight=False)
    line = outcome.verdict.line()
    print(line)
    return line


if __name__ == "__main__":
    main()
