"""bench/fix_roundtrip.py --quick: the benchmark still runs end to end against the router and
bare QuickFIX, every order is marketable, and its last line keeps the keys in the issue's order."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KEYS = ["router_orders_per_s", "bare_orders_per_s", "ratio", "router_p50_us", "router_p99_us", "bare_p50_us",
        "bare_p99_us", "live_p50_us", "live_p99_us"]


def test_quick_benchmark_prints_the_figures_in_order():
    done = subprocess.run([sys.executable, str(REPO / "bench" / "fix_roundtrip.py"), "--quick"], cwd=REPO,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    figures = dict(pair.split("=") for pair in lines[-1].split())
    assert list(figures)[:len(KEYS)] == KEYS
    assert all(float(value) > 0 for value in figures.values())
    live = next(line for line in lines if "router live window 1" in line)
    filled, sent = live.split("fills ")[1].split()[0].split("/")
    assert int(filled) >= int(sent) // 2          # marketable: most fill before the next order's New
