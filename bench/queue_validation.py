"""The queue models against the truth of LOBSTER's order IDs (router/models/queue_validation.py),
on the AMZN sample in ../shared/data: what `router models validate-queue` prints.

    python bench/queue_validation.py [--horizon 10]

Last line: default=MODEL MODEL_brier=... MODEL_auc=... MODEL_ttf_median_err_s=... per model.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from router.models.cli import print_result  # noqa: E402
from router.models.queue_validation import report_lines, validate  # noqa: E402

DATA = REPO.parent / "shared" / "data"
STEM = "LOBSTER_AMZN_2012-06-21_34200000_57600000_"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--horizon", type=float, default=10.0)
    args = parser.parse_args()
    messages, orderbook = DATA / f"{STEM}message_1.csv", DATA / f"{STEM}orderbook_1.csv"
    if not messages.exists():
        sys.exit(f"{messages} is not here: the bench needs ../shared/data")
    started = time.perf_counter()
    result = validate(messages, orderbook, horizon_s=args.horizon)
    print_result(result)
    print(f"{time.perf_counter() - started:.1f} s")
    print(report_lines(result)[-1])


if __name__ == "__main__":
    main()
