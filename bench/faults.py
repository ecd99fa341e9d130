"""Fault injection, the full run: SIGKILL the router at each fault point (router/faults.py) in
many runs with seeded timing and a seeded visit of the point, restart it, finish the orders and
check recovery (tests/faults/run.py says what is checked). The short form, one run per point,
is tests/faults/test_kill_points.py in the default suite.

    python bench/faults.py [--runs 20] [--seed 1] [--points journal_committed,fill]

Last line: runs=... killed=... recovered=... failed=... plus <point>_recovered=... per point.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from router import faults  # noqa: E402
from tests.faults.run import VISITS, RunResult, run_once  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="runs per fault point")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--points", default=",".join(faults.POINTS))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    totals = {"runs": 0, "killed": 0, "recovered": 0, "failed": 0, "poss_resend": 0}
    per_point: dict[str, int] = {}
    started = time.monotonic()
    for point in args.points.split(","):
        per_point[point] = 0
        for run in range(args.runs):
            nth, seed = rng.randint(1, VISITS[point]), rng.randrange(1 << 30)
            with tempfile.TemporaryDirectory(prefix=f"fault-{point}-") as work:
                try:
                    result = run_once(Path(work), point, nth, seed)
                except Exception as error:       # a run that cannot even start is a failed run, not the end
                    result = RunResult(point, nth, False, [f"{type(error).__name__}: {error}"], 0, 0, 0)
            totals["runs"] += 1
            totals["killed"] += result.killed
            totals["recovered"] += result.ok
            totals["failed"] += not result.ok
            totals["poss_resend"] += result.poss_resend
            per_point[point] += result.ok
            status = "recovered" if result.ok else "FAILED"
            print(f"{point:18} run {run + 1:>2} visit {nth:>2} seed {seed:>10}: {status}; {result.orders} orders, "
                  f"{result.fills} fills, {result.resent} resend requests, {result.poss_resend} reports resent "
                  f"from the journal", flush=True)
            for problem in result.problems:
                print(f"    {problem}", flush=True)
    print(f"{totals['runs']} runs in {time.monotonic() - started:.0f} s")
    print(" ".join(f"{k}={v}" for k, v in totals.items()) + " " +
          " ".join(f"{point}_recovered={count}" for point, count in per_point.items()))


if __name__ == "__main__":
    main()
