"""SIGKILL the router at a fault point once (the short form; bench/faults.py runs 20 of each point
with seeded timing), restart it, finish the orders and check nothing was lost or sent twice."""
from __future__ import annotations

import pytest

from router import faults
from tests.faults.run import run_once


# Two points in the default suite (a kill right after the journal commit, and in a fill); the
# others (child sent, cancel/replace, hedge) run with -m slow and in bench/faults.py (20 runs each).
DEFAULT_POINTS = ("journal_committed", "fill")


@pytest.mark.parametrize("point", [p if p in DEFAULT_POINTS else pytest.param(p, marks=pytest.mark.slow)
                                   for p in faults.POINTS])
def test_recovery_after_a_kill_at(point, tmp_path):
    result = run_once(tmp_path, point, nth=1, seed=7)
    assert result.killed, result.problems
    assert not result.problems, "\n".join(result.problems)
