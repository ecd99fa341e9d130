"""The alpha-probability model (router/models/alpha.py) fitted on the first 60% of each real
dataset in ../shared/data and scored on the rest (held back, later in time):

- LOBSTER AMZN 2012-06-21 (Nasdaq, 09:30-16:00): fitted 09:31-13:24, scored 13:24-16:00, every
  variant (standard 60 s, hawk 10 s, eagle 600 s, falcon 60 s);
- Binance USD-M BTCUSDT, 2024-08-08 23:54-00:00 (5.7 minutes): fitted on the first 3.4 minutes,
  scored on the last 2.3; hawk (10 s) only: longer horizons leave too few independent samples.

The simulated market is skipped: its mid is a random walk of our own making, so a fit there would
only measure the simulator.

Per dataset and variant: calibration by 10 buckets, Brier, AUC, ECE of the take probability over
every price point from bid to ask; the AUC at the far touch alone (the price a take pays); and the
fill-conditioned markout model the making side uses. Last line: the LOBSTER figures of
``--variant`` (default: standard, the model of the Static and Relative alpha types).

    python bench/alpha_calibration.py [--quick] [--variant hawk]

Measured (full run, 20 s on 2 cores), held back, take over bid to ask: LOBSTER standard 60 s
ECE 0.012 AUC 0.641 Brier 0.2355; hawk 10 s ECE 0.031 AUC 0.822 Brier 0.1722; falcon 60 s ECE 0.016
AUC 0.648; eagle 600 s ECE 0.023 AUC 0.543; Binance hawk 10 s ECE 0.115 AUC 0.614. The issue's
target (ECE <= 0.05, AUC >= 0.75) is met at 10 s only: over a minute and more, AMZN's mid moves
several half-spreads, so the edge of a price point inside the spread says little, and the L1
signals (imbalance, flow, return) add nothing measurable out of sample (a constant volatility does
as well as a measured one). Most of any AUC here is the price point's place in the spread; the far
touch alone (what a take pays) scores lower. The fill-conditioned markout (making) is near chance
on LOBSTER (AUC 0.48-0.54): its fills' markouts are about as often good as bad whatever the book.
Binance's 5.7 minutes give 2.3 minutes to score on: too short for its calibration to mean much.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from router.models.alpha import VARIANTS, AlphaFit, fit_files  # noqa: E402
from router.models.alpha_features import tape_from_files  # noqa: E402

DATA = REPO.parent / "shared" / "data"
LOBSTER = DATA / "LOBSTER_AMZN_2012-06-21_34200000_57600000_message_1.csv"
LOBSTER_BOOK = DATA / "LOBSTER_AMZN_2012-06-21_34200000_57600000_orderbook_1.csv"
BINANCE = DATA / "binance_usdm_btcusdt_20240808.gz"


def show(dataset: str, fit: AlphaFit) -> None:
    model = fit.model
    print(f"\n{dataset} {model.variant} (horizon {model.horizon_s:g} s): fitted on {fit.train_rows} rows, "
          f"held back {fit.take.rows} rows over the last {fit.test_span_s:.0f} s")
    print(f"  {'forecast':<9} {'rows':>7} {'mean forecast':>14} {'observed':>9}")
    for bucket in fit.take.buckets:
        if bucket.count:
            print(f"  {bucket.low:.1f}-{bucket.high:.1f}   {bucket.count:>7} {bucket.mean_predicted:>14.3f} "
                  f"{bucket.observed:>9.3f}")
    for name, score in (("take, bid to ask", fit.take), ("take, far touch", fit.take_far_touch),
                        ("filled (making)", fit.filled)):
        print(f"  {name:<17} brier={score.brier:.4f} auc={score.auc:.3f} calibration_error={score.calibration_error:.3f}"
              f" positive_rate={score.positive_rate:.3f} rows={score.rows}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a fifth of the samples, two variants (CI: < 60 s)")
    parser.add_argument("--variant", default="standard", choices=sorted(VARIANTS),
                        help="whose LOBSTER figures the last line gives")
    args = parser.parse_args()
    if not LOBSTER.exists():
        sys.exit(f"{LOBSTER} is not here: the bench needs ../shared/data")
    started = time.perf_counter()
    sparse = 5 if args.quick else 1
    variants = sorted({"standard", args.variant} if args.quick else VARIANTS)
    tape = tape_from_files(LOBSTER, LOBSTER_BOOK)
    fits = {v: fit_files(LOBSTER, LOBSTER_BOOK, v, sparse=sparse, tape=tape) for v in variants}
    for variant, fit in fits.items():
        show("LOBSTER AMZN", fit)
    if BINANCE.exists():
        show("Binance BTCUSDT", fit_files(BINANCE, variant="hawk", sparse=sparse))
    print(f"\n{time.perf_counter() - started:.1f} s")
    headline = fits[args.variant].take
    print(f"calibration_error={headline.calibration_error:.4f} auc={headline.auc:.4f} brier={headline.brier:.4f}")


if __name__ == "__main__":
    main()
