"""Throughput of the simulated venue's matching engine on 200k random submits and cancels.

Run: python bench/matching.py   (no peer: no other Python book is installed to compare with)
"""
from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable without installing

from router.domain.enums import Side  # noqa: E402
from venues.sim.matching import OrderBook  # noqa: E402

OPS = 200_000
MID_TICKS = 1_000


def make_ops(rng: random.Random) -> list[tuple]:
    """60% submits around a fixed mid (some marketable, 10% IOC), 40% cancels of recent ids,
    some of which have already traded away."""
    ops: list[tuple] = []
    submitted = 0
    for _ in range(OPS):
        if submitted and rng.random() < 0.4:
            ops.append(("cancel", f"o{rng.randrange(max(0, submitted - 500), submitted)}"))
            continue
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        offset = rng.randint(-2, 15)
        price = MID_TICKS - offset if side.is_buy else MID_TICKS + offset
        ops.append(("submit", f"o{submitted}", side, rng.randint(1, 50), price,
                    rng.random() < 0.1))
        submitted += 1
    return ops


def run(ops: list[tuple]) -> tuple[float, int, int]:
    book = OrderBook()
    trades = 0
    start = time.perf_counter()
    for op in ops:
        if op[0] == "submit":
            _, order_id, side, qty, price, ioc = op
            trades += len(book.submit(order_id, "bench", side, qty, price, ioc).trades)
        else:
            book.cancel(op[1])
    return time.perf_counter() - start, trades, len(book)


def main() -> None:
    ops = make_ops(random.Random(7))
    seconds, trades, resting = min(run(ops) for _ in range(3))
    print(f"matching engine: {OPS} ops in {seconds:.3f} s (best of 3)")
    print(f"ops={OPS} ops_per_s={OPS / seconds:.0f} trades={trades} resting={resting} "
          f"seconds={seconds:.3f}")


if __name__ == "__main__":
    main()
