"""FIX session conformance: QuickFIX's FIX.4.4 acceptor scripts against a server.

Each test starts the server under test in a subprocess with a fresh sessions
file and store, waits until its port accepts connections, runs one script and
stops the server. Scripts that expect an application message echoed back are
left out: the 13 that expect a NewOrderSingle (35=D) echo, since a router acks
orders with an ExecutionReport, and 21_RepeatingGroupSpecifierWithValueOfZero,
which expects its SecurityDefinition (35=d) echoed.

CONFORMANCE_TARGET selects the server:
    router (default)  python -m router serve --sessions CFG --state-dir DIR
    bare              bench/bare_acceptor.py --sessions CFG
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .runner import SOH, ConformanceFailure, compare, complete, load_patterns, parse_script, run_script

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(__file__).resolve().parents[3] / "shared" / "conformance"
SCRIPTS = SHARED / "quickfix-at" / "fix44"
FIELDS_FMT = SHARED / "quickfix-at" / "fields.fmt"

PROJECT_DICTIONARY = REPO / "fix_specs" / "FIX44.xml"
STOCK_DICTIONARY = Path("/tmp/FIX44.stock.xml")

HOST = "127.0.0.1"
READY_TIMEOUT = 30.0

if not SCRIPTS.is_dir():
    pytest.skip(f"conformance scripts not found at {SCRIPTS}", allow_module_level=True)

ALL_SCRIPTS = [parse_script(p) for p in sorted(SCRIPTS.glob("*.def"))]
APPLICABLE = [s for s in ALL_SCRIPTS if not s.expects_echo()]
PATTERNS = load_patterns(FIELDS_FMT)


def dictionary_path() -> Path:
    return PROJECT_DICTIONARY if PROJECT_DICTIONARY.exists() else STOCK_DICTIONARY


def write_sessions_cfg(path: Path, port: int, store_dir: Path) -> None:
    """QuickFIX settings for the session the scripts talk to (ISLD <- TW44).

    QuickFIX defaults that the scripts rely on, left implicit:
    CheckLatency=Y / MaxLatency=120 (1d, 2o), ValidateUserDefinedFields=Y
    (14a: 5000=HI rejected as an invalid tag), PersistMessages=Y (8: resends).
    """
    store_dir = store_dir.resolve()
    path.write_text(
        "[DEFAULT]\n"
        "ConnectionType=acceptor\n"
        f"SocketAcceptPort={port}\n"
        f"FileStorePath={store_dir / 'store'}\n"
        f"FileLogPath={store_dir / 'log'}\n"
        "StartTime=00:00:00\n"
        "EndTime=00:00:00\n"
        "UseDataDictionary=Y\n"
        f"DataDictionary={dictionary_path().resolve()}\n"
        # Scripts that reconnect (2i, 2k, 2o) log on again with MsgSeqNum=1.
        "ResetOnLogon=Y\n"
        # Expected SendingTimes (and BodyLengths) have milliseconds.
        "TimestampPrecision=3\n"
        "\n"
        "[SESSION]\n"
        "BeginString=FIX.4.4\n"
        "SenderCompID=ISLD\n"
        "TargetCompID=TW44\n"
    )


def server_command(cfg: Path, state_dir: Path) -> list[str]:
    target = os.environ.get("CONFORMANCE_TARGET", "router")
    if target == "router":
        # Session-layer scripts: no market needed, and spawning the venues' process would add
        # seconds to each of the 45 runs.
        return [sys.executable, "-m", "router", "serve", "--in-process-market", "--quiet-market",
                "--sessions", str(cfg), "--state-dir", str(state_dir)]
    if target == "bare":
        return [sys.executable, str(REPO / "bench" / "bare_acceptor.py"), "--sessions", str(cfg)]
    raise pytest.UsageError(f"CONFORMANCE_TARGET must be 'router' or 'bare', not {target!r}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_until_listening(port: int, proc: subprocess.Popen, output: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode} before listening:\n"
                        f"{output.read_text(errors='replace')[-3000:]}")
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"server did not listen on port {port} within {READY_TIMEOUT:g} s:\n"
                f"{output.read_text(errors='replace')[-3000:]}")


@pytest.fixture
def server_port(tmp_path: Path):
    """Start the server under test on a free port; yield the port.

    Contract for the server: it takes the argv of server_command(), listens on
    the cfg's SocketAcceptPort within READY_TIMEOUT (readiness = the port
    accepts a TCP connection; a bare connect-and-close probe must be harmless),
    and exits within 5 s of SIGTERM (else it is killed). Its stdout/stderr go
    to server.out next to the cfg.
    """
    port = free_port()
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    cfg = tmp_path / "sessions.cfg"
    write_sessions_cfg(cfg, port, state_dir)
    output = tmp_path / "server.out"
    with output.open("wb") as out:
        proc = subprocess.Popen(server_command(cfg, state_dir), cwd=REPO,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_listening(port, proc, output)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_script_selection():
    """Guards the selection rule against changes in the shared scripts."""
    excluded = sorted(s.name for s in ALL_SCRIPTS if s not in APPLICABLE)
    assert len(ALL_SCRIPTS) == 59
    assert excluded == [
        "14e_IncorrectEnumValue", "15_HeaderAndBodyFieldsOrderedDifferently",
        "19a_PossResendMessageThatHAsAlreadyBeenSent",
        "19b_PossResendMessageThatHasNotBeenSent", "20_SimultaneousResendRequest",
        "21_RepeatingGroupSpecifierWithValueOfZero", "2d_GarbledMessage",
        "2f_PossDupOrigSendingTimeTooHigh", "2g_PossDupNoOrigSendingTime",
        "2m_BodyLengthValueNotCorrect", "3b_InvalidChecksum", "3c_GarbledMessage",
        "8_AdminAndApplicationMessages", "8_OnlyApplicationMessages",
    ]


def fix(text: str) -> str:
    return text.replace("|", SOH)


def test_runner_adds_length_and_checksum_only_when_missing():
    assert complete(fix("8=FIX.4.4|35=0|34=2|")) == fix("8=FIX.4.4|9=10|35=0|34=2|10=166|")
    # 1d_InvalidLogonLengthInvalid: wrong BodyLength kept, CheckSum added
    assert complete(fix("8=FIX.4.4|9=40|35=0|")) == fix("8=FIX.4.4|9=40|35=0|10=210|")
    # 3b_InvalidChecksum: given CheckSum kept
    assert complete(fix("8=FIX.4.4|35=0|10=256|")) == fix("8=FIX.4.4|9=5|35=0|10=256|")
    # 2t_FirstThreeFieldsOutOfOrder: not starting with 8= -> verbatim
    assert complete(fix("35=0|8=FIX.4.4|10=121|")) == fix("35=0|8=FIX.4.4|10=121|")


def test_runner_compares_exactly_except_fields_fmt_patterns():
    expected = fix("8=FIX.4.4|9=5|35=0|52=00000000-00:00:00.000|10=0|")
    assert compare(expected, fix("8=FIX.4.4|9=5|35=0|52=20240102-03:04:05.678|10=123|"), PATTERNS) is None
    assert "tag 9" in compare(expected, fix("8=FIX.4.4|9=6|35=0|52=20240102-03:04:05|10=123|"), PATTERNS)
    assert "expected tag 52, got tag 34" in compare(expected, fix("8=FIX.4.4|9=5|35=0|34=1|"), PATTERNS)
    longer = fix("8=FIX.4.4|9=5|35=0|52=20240102-03:04:05|10=123|58=x|")
    assert "unexpected: 58" in compare(expected, longer, PATTERNS)


@pytest.mark.parametrize("script", APPLICABLE, ids=lambda s: s.name)
def test_conformance(script, server_port, tmp_path):
    try:
        run_script(script, HOST, server_port, PATTERNS)
    except ConformanceFailure as failure:
        reason = str(failure)
    else:
        return
    # The step, the diff and the transcript say it all; no traceback needed.
    pytest.fail(f"{reason}\n  server output and QuickFIX logs: {tmp_path}", pytrace=False)
