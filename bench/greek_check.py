"""Per-child cost of the day $delta/vega limit check (router/risk/greek_limits.py) with N working
parents on the account: the full scan of every parent against the running per-account aggregate
(router/risk/day_book.py), in the same run. Medians of 2,000 checks.

    .venv/bin/python bench/greek_check.py [--parents 200,2000]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from router.config import AccountConfig, AccountLimits, Accounts  # noqa: E402
from router.domain.enums import BalanceHandling, Side, TimeInForce  # noqa: E402
from router.domain.orders import ChildOrder  # noqa: E402
from router.risk.greek_limits import DayGreekLimits  # noqa: E402
from tests.harness import CALL, Harness  # noqa: E402


def measure(n: int, checks: int = 2000) -> dict[str, float]:
    limits = AccountLimits(max_order_qty=1_000, max_order_notional=1e9, max_open_orders=n + 10)
    accounts = Accounts(default_limits=limits, accounts={"CLIENT1": AccountConfig(name="CLIENT1", limits=limits)})
    h = Harness(accounts=accounts)
    h.requote("XNAS", "AAPL", bids=[(199.99, 50_000)], asks=[(200.01, 50_000)], owner="smm")
    h.quote("XCBO", CALL, bids=[(4.80, 50)], asks=[(5.20, 50)])
    for i in range(n):
        h.new(f"R{i}", Side.BUY, 1, 4.00, balance_handling=BalanceHandling.POST_LIMIT)
    h.new("B1", Side.BUY, 10, 4.00, balance_handling=BalanceHandling.POST_LIMIT, max_sym_day_ddelta_ln=1e12)
    h.settle(0.5)
    (check,) = [c for c in h.engine.children._checks if isinstance(c, DayGreekLimits)]
    parent = next(p for p in h.engine.parents.values() if p.cl_ord_id == "B1")
    child = ChildOrder("probe", parent.order_id, "XCBO", CALL, Side.BUY, 1, 4.0, TimeInForce.DAY, h.clock.now_ns())
    out = {}
    for label, watch in (("scan", None), ("running", check._watch)):
        check._watch = watch
        check(parent, child, 0, "AAPL", 100)                # builds the aggregate once
        times = []
        for _ in range(checks):
            start = time.perf_counter()
            check(parent, child, 0, "AAPL", 100)
            times.append(time.perf_counter() - start)
        out[label] = statistics.median(times) * 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parents", default="200,2000")
    args = parser.parse_args()
    last = {}
    for n in (int(x) for x in args.parents.split(",")):
        out = measure(n)
        print(f"{n + 1:>6} parents: scan {out['scan']:8.1f} us   running aggregate {out['running']:6.1f} us")
        last = {"parents": n + 1, "scan_us": round(out["scan"], 1), "running_us": round(out["running"], 1),
                "ratio": round(out["scan"] / out["running"], 1)}
    print(" ".join(f"{k}={v}" for k, v in last.items()))


if __name__ == "__main__":
    main()
