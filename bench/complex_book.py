"""Throughput of the complex order book (venues/sim/complex_book.py) on 100k random package
submits and cancels.

Run: python bench/complex_book.py   (no peer: no other Python complex book is installed to compare with)
An event is one package submit or cancel. Ten packages on one underlier share six strikes: 2-leg
verticals (which also trade the implied route through the leg books), 1x2 ratio spreads and
butterflies (package against package only). The leg books hold a two-sided market maker quote
that is refreshed when a leg trade takes it, so the leg-price check and the implied route run on
every submit. 60% submits around each package's fair net price (some marketable, some through the
implied price, 20% IOC), 40% cancels of recent ids. Last line: key=value pairs.
"""
from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable without installing

from router.domain.enums import Side  # noqa: E402
from venues.sim.complex_book import ComplexBook, PackageError  # noqa: E402
from venues.sim.complex_package import LegSpec  # noqa: E402
from venues.sim.matching import OrderBook  # noqa: E402

OPS = 100_000
STRIKES = [f"AAPL  261218C00{200 + 5 * i:03d}000" for i in range(6)]
FAIR = {s: 600 - 80 * i for i, s in enumerate(STRIKES)}      # ticks
HALF_SPREAD = 10
BUY, SELL = Side.BUY, Side.SELL


def packages() -> list[tuple]:
    verticals = [((STRIKES[i], BUY, 1), (STRIKES[i + 1], SELL, 1)) for i in range(5)]
    ratios = [((STRIKES[i], BUY, 1), (STRIKES[i + 2], SELL, 2)) for i in range(2)]
    flies = [((STRIKES[i], BUY, 1), (STRIKES[i + 1], SELL, 2), (STRIKES[i + 2], BUY, 1)) for i in range(3)]
    return verticals + ratios + flies


def fair_net(legs: tuple) -> int:
    return sum((1 if side is BUY else -1) * ratio * FAIR[symbol] for symbol, side, ratio in legs)


def make_ops(rng: random.Random) -> list[tuple]:
    ops: list[tuple] = []
    submitted = 0
    shapes = packages()
    for _ in range(OPS):
        if submitted and rng.random() < 0.4:
            ops.append(("cancel", f"p{rng.randrange(max(0, submitted - 300), submitted)}"))
            continue
        legs = shapes[rng.randrange(len(shapes))]
        side = BUY if rng.random() < 0.5 else SELL
        offset = rng.randint(-25, 12)        # below -20 a vertical reaches the implied price
        price = fair_net(legs) - offset if side is BUY else fair_net(legs) + offset
        ops.append(("submit", f"p{submitted}", legs, side, rng.randint(1, 20), price, rng.random() < 0.2))
        submitted += 1
    return ops


class Legs:
    """Leg books with one market maker quote each side, put back whenever a leg trade takes it."""

    def __init__(self) -> None:
        self.books = {s: OrderBook() for s in STRIKES}
        self._ids = 0
        for symbol in STRIKES:
            self.refresh(symbol)

    def refresh(self, symbol: str) -> None:
        book = self.books[symbol]
        for side, price, best in ((BUY, FAIR[symbol] - HALF_SPREAD, book.best_bid()),
                                  (SELL, FAIR[symbol] + HALF_SPREAD, book.best_ask())):
            if best is None:
                self._ids += 1
                book.submit(f"mm{self._ids}", "mm", side, 100, price)

    def nbbo(self, symbol: str) -> tuple[int | None, int | None]:
        book = self.books[symbol]
        bid, ask = book.best_bid(), book.best_ask()
        return (bid[0] if bid else None), (ask[0] if ask else None)


def run(ops: list[tuple]) -> tuple[float, int, int, int]:
    legs = Legs()
    cob = ComplexBook(legs.nbbo, lambda s: LegSpec(s, False, "AAPL"), legs.books.get)
    normal = {shape: cob.package(shape) for shape in packages()}
    fills = leg_trades = 0
    start = time.perf_counter()
    for op in ops:
        if op[0] == "submit":
            _, order_id, shape, side, qty, price, ioc = op
            try:
                result = cob.submit(order_id, "bench", normal[shape], side, qty, price, ioc=ioc)
            except PackageError:
                continue
            fills += len(result.fills)
            if result.leg_results:
                leg_trades += len(result.leg_results)
                for symbol, _, _ in result.leg_results:
                    legs.refresh(symbol)
        else:
            cob.cancel(op[1])
    return time.perf_counter() - start, fills, leg_trades, len(cob)


def main() -> None:
    ops = make_ops(random.Random(7))
    seconds, fills, leg_trades, resting = min(run(ops) for _ in range(3))
    print(f"complex book: {OPS} events in {seconds:.3f} s (best of 3), {fills} package fills, "
          f"{leg_trades} implied leg executions, {resting} resting")
    print(f"events={OPS} cob_events_per_s={OPS / seconds:.0f} package_fills={fills} implied_leg_trades={leg_trades}")


if __name__ == "__main__":
    main()
