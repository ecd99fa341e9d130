"""Throughput of the simulated venue's matching engine on 200k random submits and cancels, under
each allocation rule: price-time (FIFO) and pro-rata with the priority-customer overlay.

Run: python bench/matching.py   (no peer: no other Python book is installed to compare with)
An event is one submit or cancel. The same operations run through both books; under pro-rata
20% of the resting orders are priority customers and 10% are reserve orders, so the customer
pass, the pro-rata split and the refresh rounds all run. Last line: key=value pairs.
"""
from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable without installing

from router.domain.enums import Side  # noqa: E402
from venues.sim.matching import PRICE_TIME, PRO_RATA, OrderBook  # noqa: E402

OPS = 200_000
MID_TICKS = 1_000


def make_ops(rng: random.Random) -> list[tuple]:
    """60% submits around a fixed mid (some marketable, 10% IOC, 10% reserve, 20% customer),
    40% cancels of recent ids, some of which have already traded away."""
    ops: list[tuple] = []
    submitted = 0
    for _ in range(OPS):
        if submitted and rng.random() < 0.4:
            ops.append(("cancel", f"o{rng.randrange(max(0, submitted - 500), submitted)}"))
            continue
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        offset = rng.randint(-2, 15)
        price = MID_TICKS - offset if side.is_buy else MID_TICKS + offset
        capacity = "customer" if rng.random() < 0.2 else "market_maker"
        display_qty = rng.randint(1, 10) if rng.random() < 0.1 else None
        ops.append(("submit", f"o{submitted}", side, rng.randint(1, 50), price,
                    rng.random() < 0.1, capacity, display_qty))
        submitted += 1
    return ops


def run(ops: list[tuple], allocation: str) -> tuple[float, int, int]:
    book = OrderBook(allocation, min_allocation=2)
    trades = 0
    start = time.perf_counter()
    for op in ops:
        if op[0] == "submit":
            _, order_id, side, qty, price, ioc, capacity, display_qty = op
            trades += len(book.submit(order_id, "bench", side, qty, price, ioc, capacity=capacity,
                                      display_qty=display_qty).trades)
        else:
            book.cancel(op[1])
    return time.perf_counter() - start, trades, len(book)


def main() -> None:
    ops = make_ops(random.Random(7))
    figures = []
    for allocation in (PRICE_TIME, PRO_RATA):
        seconds, trades, resting = min(run(ops, allocation) for _ in range(3))
        print(f"{allocation}: {OPS} events in {seconds:.3f} s (best of 3), {trades} trades, {resting} resting")
        key = allocation.replace("-", "_")
        figures.append(f"{key}_events_per_s={OPS / seconds:.0f} {key}_trades={trades}")
    print(f"events={OPS} " + " ".join(figures))


if __name__ == "__main__":
    main()
