"""The fault hook: unarmed it does nothing; armed, the n-th visit of its point kills the process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from router import faults


def run_with(spec: str, code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env={**os.environ, faults.ENVIRONMENT: spec},
                          capture_output=True, text=True, timeout=60)


def test_unarmed_points_do_nothing():
    for point in faults.POINTS:
        faults.reached(point)


def test_the_nth_visit_of_the_armed_point_kills_with_sigkill():
    code = ("from router import faults\n"
            "for i in range(5):\n"
            "    faults.reached('journal_committed')\n"
            "    faults.reached('fill')\n"
            "    print(i, flush=True)\n")
    result = run_with("fill:3", code)
    assert result.returncode == -signal.SIGKILL
    assert result.stdout.split() == ["0", "1"]


def test_an_unknown_point_is_refused_at_import():
    result = run_with("nowhere", "import router.faults")
    assert result.returncode != 0 and "unknown fault point 'nowhere'" in result.stderr


@pytest.mark.parametrize("point", faults.POINTS)
def test_every_point_is_in_the_engine(point):
    from pathlib import Path
    sources = "".join(p.read_text() for p in Path(faults.__file__).parent.joinpath("engine").glob("*.py"))
    assert f'faults.reached("{point}")' in sources
