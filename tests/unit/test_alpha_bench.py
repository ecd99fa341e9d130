"""bench/alpha_calibration.py --quick on the real data in ../shared/data: the figures its last line
reports, held back from the fit (later hours of the LOBSTER AMZN day)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
LAST_LINE = re.compile(r"calibration_error=(?P<ece>[\d.]+) auc=(?P<auc>[\d.]+) brier=(?P<brier>[\d.]+)")

pytestmark = pytest.mark.skipif(not (DATA / "LOBSTER_AMZN_2012-06-21_34200000_57600000_message_1.csv").exists(),
                                reason="../shared/data (the LOBSTER AMZN sample) is not here")


def run_quick(*args: str) -> tuple[str, dict[str, float]]:
    result = subprocess.run([sys.executable, str(REPO / "bench" / "alpha_calibration.py"), "--quick", *args],
                            capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    match = LAST_LINE.fullmatch(last)
    assert match, last
    return result.stdout, {k: float(v) for k, v in match.groupdict().items()}


def test_the_default_60_s_model_is_calibrated_on_held_back_hours():
    out, figures = run_quick()
    assert "LOBSTER AMZN standard (horizon 60 s)" in out and "Binance BTCUSDT hawk" in out
    assert figures["ece"] <= 0.05
    assert figures["brier"] < 0.25                   # better than saying 0.5 every time
    assert figures["auc"] >= 0.6                     # short of the issue's 0.75 target at 60 s (bench docstring)


def test_the_hawk_10_s_model_meets_the_issue_target():
    _, figures = run_quick("--variant", "hawk")
    assert figures["ece"] <= 0.05 and figures["auc"] >= 0.75
