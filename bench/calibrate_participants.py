"""Fit the simulated participants on ../shared/data and print the fit (venues/sim/calibration.py).

    .venv/bin/python bench/calibrate_participants.py            # print the fit and how far the checked-in one is
    .venv/bin/python bench/calibrate_participants.py --write    # rewrite config/participants.toml

The LOBSTER AMZN fit drives the simulated underlier books (their takers and touch cancels); the
Binance BTCUSDT fit is the flow of a crypto perpetual's book. Last line: key=value pairs.
"""
from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from venues.sim.calibration import FlowCalibration, calibrate_binance, calibrate_lobster  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
LOBSTER = DATA / "LOBSTER_AMZN_2012-06-21_34200000_57600000_message_1.csv"
BINANCE = DATA / "binance_usdm_btcusdt_20240808.gz"
TARGET = ROOT / "config" / "participants.toml"

HEADER = """\
# The simulated participants' flow, fitted on recorded data by venues/sim/calibration.py.
# Written by `.venv/bin/python bench/calibrate_participants.py --write` from ../shared/data
# (the files named in each table's `source`); do not edit by hand, re-run the command.
# config/router.toml points at this file ([market] participants); router/config.py FlowConfig
# says what each key means. Rates are per book per second; sizes are shares (stock) or BTC.
"""


def _toml_value(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def render(tables: dict[str, FlowCalibration]) -> str:
    lines = [HEADER]
    notes = {"stock": "LOBSTER AMZN 2012-06-21, level 1: the underlier books' takers and touch cancels",
             "perpetual": "Binance USD-M BTCUSDT 2024-08-08: L2 without order ids, so no cancel figures"}
    for name, fit in tables.items():
        lines.append(f"[{name}]   # {notes[name]}")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in fit.as_table().items())
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {TARGET.relative_to(ROOT)}")
    args = parser.parse_args()
    if not LOBSTER.exists() or not BINANCE.exists():
        sys.exit(f"the recorded data is not in {DATA}")
    tables = {"stock": calibrate_lobster(LOBSTER), "perpetual": calibrate_binance(BINANCE)}
    text = render(tables)
    print(text)
    checked_in = tomllib.loads(TARGET.read_text()) if TARGET.exists() else {}
    fresh = tomllib.loads(text)
    if args.write:
        TARGET.write_text(text)
        print(f"wrote {TARGET}")
    stock, perp = tables["stock"], tables["perpetual"]
    print(f"stock_marketable_per_s={stock.marketable_per_second:.4f} stock_cancels_per_s={stock.cancels_per_second:.4f} "
          f"stock_cancel_hazard_per_s={stock.cancel_hazard_per_second:.4f} stock_size_median={stock.size_median:g} "
          f"perp_marketable_per_s={perp.marketable_per_second:.3f} perp_size_median={perp.size_median:g} "
          f"checked_in_matches={checked_in == fresh}")


if __name__ == "__main__":
    main()
