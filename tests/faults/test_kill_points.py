"""SIGKILL the router at each fault point once (the short form; bench/faults.py runs 20 of each
with seeded timing), restart it, finish the orders and check nothing was lost or sent twice."""
from __future__ import annotations

import pytest

from router import faults
from tests.faults.run import run_once


@pytest.mark.parametrize("point", faults.POINTS)
def test_recovery_after_a_kill_at(point, tmp_path):
    result = run_once(tmp_path, point, nth=1, seed=7)
    assert result.killed, result.problems
    assert not result.problems, "\n".join(result.problems)
