"""One underlier tick: reprice a 2,000-option chain and its quotes on 4 venues, and recompute
the limits of N working orders tied to the underlier, for N = 1k, 10k, 100k.

The chain goes through the simulated market's own code (ChainModel: smile + BSM for every
option; quote_prices: delta-bucket widths on the tick grid, once per venue). The orders go
through algos.limits.primary_limits: a mix of price+delta (PrcDe, PrcDeX, PrcDeT) and volatility
limits (Vol, VolPrc), the latter needing a BSM price per order. Medians of repeated ticks.

    python bench/tick_reprice.py [--repeat 30]

Last line: chain=2000 venues=4 orders_1k_ms=… orders_10k_ms=… orders_100k_ms=… chain_ms=…
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from algos.limits import LimitInputs, primary_limits  # noqa: E402
from router.clock import datetime_to_ns  # noqa: E402
from router.domain.enums import LimitType  # noqa: E402
from router.domain.instruments import Instrument, InstrumentKind, PutCall, format_osi  # noqa: E402
from router.market.quoting import quote_prices  # noqa: E402
from router.market.simulation import ChainModel, Smile  # noqa: E402

VENUE_WIDTHS = (1.10, 1.00, 0.95, 0.90)
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)
EXPIRIES = [date(2026, 12, 18), date(2027, 1, 15), date(2027, 2, 19), date(2027, 3, 19), date(2027, 6, 18),
            date(2027, 9, 17), date(2027, 12, 17), date(2028, 1, 21), date(2028, 6, 16), date(2028, 12, 15)]


def build_chain() -> list[Instrument]:
    strikes = np.arange(100.0, 300.0, 2.0)                     # 100 strikes x 10 expiries x 2 = 2,000
    return [Instrument(format_osi("AAPL", e, pc, float(k)), InstrumentKind.OPTION, "AAPL", e, pc, float(k),
                       underlying_kind=InstrumentKind.EQUITY)
            for e in EXPIRIES for k in strikes for pc in (PutCall.CALL, PutCall.PUT)]


def tied_orders(n: int, chain: ChainModel, fair: np.ndarray, delta: np.ndarray, rng: np.random.Generator
                ) -> LimitInputs:
    pick = rng.integers(0, len(chain.options), n)
    kinds = np.array([LimitType.PRC_DE, LimitType.PRC_DE_X, LimitType.PRC_DE_T, LimitType.VOL, LimitType.VOL_PRC])
    years = chain.years(datetime_to_ns(NOW))
    return LimitInputs.of(limit_type=kinds[rng.integers(0, len(kinds), n)], is_buy=rng.random(n) < 0.5,
                          price=fair[pick], ref_underlier=np.full(n, 200.0), delta=delta[pick],
                          gamma=np.full(n, 0.02), theta=np.full(n, -15.0), elapsed_years=np.full(n, 1e-4),
                          vol_limit=rng.uniform(0.15, 0.45, n),
                          strike=np.array([chain.options[i].strike for i in pick]), years=years[pick],
                          is_call=np.array([chain.options[i].is_call for i in pick]), offset=np.full(n, 0.01),
                          rate=np.full(n, 0.04))


def median_ms(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    rng = np.random.default_rng(5)
    chain = ChainModel(build_chain(), {"AAPL": Smile(0.28, -0.25, 0.4)}, rate=0.04)
    now_ns = datetime_to_ns(NOW)
    spots = iter(200.0 + np.cumsum(rng.normal(0, 0.05, 100_000)))

    def reprice_chain():
        fair, delta, _ = chain.value({"AAPL": next(spots)}, now_ns)
        return [quote_prices(fair, delta, width_multiplier=w) for w in VENUE_WIDTHS]

    chain_ms = median_ms(reprice_chain, args.repeat)
    fair, delta, _ = chain.value({"AAPL": 200.0}, now_ns)
    figures = {}
    for n, label in ((1_000, "1k"), (10_000, "10k"), (100_000, "100k")):
        orders = tied_orders(n, chain, fair, delta, rng)
        figures[label] = median_ms(lambda: primary_limits(orders, next(spots)), args.repeat)
        print(f"{n:>7} tied orders: {figures[label]:8.2f} ms  ({figures[label] * 1000 / n:.2f} us/order)")
    print(f"chain of {len(chain.options)} options on {len(VENUE_WIDTHS)} venues: {chain_ms:.2f} ms per tick")
    print(f"chain={len(chain.options)} venues={len(VENUE_WIDTHS)} orders_1k_ms={figures['1k']:.2f} "
          f"orders_10k_ms={figures['10k']:.2f} orders_100k_ms={figures['100k']:.2f} chain_ms={chain_ms:.2f}")


if __name__ == "__main__":
    main()
