"""bench/replay_speed.py --quick runs to the end and its last line is the key=value summary."""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CAPTURE = ROOT.parent / "shared" / "data" / "binance_usdm_btcusdt_20240808.gz"
LAST_LINE = re.compile(r"ours_events_per_s=(\d+) hftbacktest_events_per_s=(\d+) ratio=(\d+\.\d+) "
                       r"fill_times_agree=(True|False)")


@pytest.mark.skipif(importlib.util.find_spec("hftbacktest") is None,
                    reason="hftbacktest is not installed (pip install hftbacktest): the bench has no peer to run")
@pytest.mark.skipif(not CAPTURE.exists(), reason=f"{CAPTURE} is absent (../shared/data is not in this checkout)")
def test_the_quick_bench_prints_its_summary_last():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "replay_speed.py"), "--quick"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    match = LAST_LINE.fullmatch(last)
    assert match, last
    ours, theirs, ratio = int(match[1]), int(match[2]), float(match[3])
    assert ours > 0 and theirs > 0 and ratio == pytest.approx(ours / theirs, abs=0.01)
