"""Recorded FIX logs replayed through the engine on a simulated clock must reproduce the golden
outbound messages exactly — whatever the wall clock says (freezegun moves it far away)."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from freezegun import freeze_time

from router.app import load_settings
from router.cli import main
from router.fix.replay import parse_log, replay_log

HERE = Path(__file__).parent
CONFIG = HERE / "config" / "router.toml"
LOGS = sorted((HERE / "logs").glob("*.log"))


@pytest.mark.parametrize("log", LOGS, ids=[p.stem for p in LOGS])
@pytest.mark.parametrize("wall_clock", ["2031-05-05 12:00:00", "2019-01-01 00:00:00"])
def test_replay_matches_golden(log, wall_clock):
    golden = (HERE / "golden" / f"{log.stem}.out").read_text().splitlines()
    with freeze_time(wall_clock):
        assert replay_log(load_settings(CONFIG), log.read_text()) == golden


def test_golden_covers_the_lifecycle_and_the_rejects():
    text = (HERE / "golden" / "session1.out").read_text()
    for needle in ("150=0|39=0", "150=F|39=1", "150=F|39=2", "150=5|", "150=4|39=4", "150=I|", "35=3|",
                   "373=5", "103=1", "103=6", "35=9|", "102=1", "35=r|", "0.005-9"):
        assert needle in text, needle


def test_cli_check_passes_and_fails_on_a_difference(tmp_path):
    log = HERE / "logs" / "session1.log"
    golden = HERE / "golden" / "session1.out"
    runner = CliRunner()
    ok = runner.invoke(main, ["--config", str(CONFIG), "replay", str(log), "--check", str(golden)])
    assert ok.exit_code == 0, ok.output
    broken = tmp_path / "broken.out"
    broken.write_text(golden.read_text().replace("30=XPHL", "30=XCBO", 1))
    bad = runner.invoke(main, ["--config", str(CONFIG), "replay", str(log), "--check", str(broken)])
    assert bad.exit_code == 1 and "30=XCBO" in bad.output


def test_malformed_log_line_names_the_line():
    with pytest.raises(ValueError, match="log line 2"):
        parse_log("20261121-19:40:28.255000000 : 8=FIX.4.4\x019=5\x01\nnot a log line\n")
