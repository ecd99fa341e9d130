"""Several sessions, logon passwords, a restart in the middle of an order, and the CLI faces."""
from __future__ import annotations


import pytest
from click.testing import CliRunner

from router.cli import main
from router.fix.client import FixClient, fix_time, is_final_report, new_order_fields
from tests.integration.conftest import CALL, LiveRouter, write_sessions

SWEEP = [(5094, "1"), (5096, "0"), (5100, "0"), (5102, "0")]


def field(message, tag: int) -> str | None:
    value = message.get(tag)
    return value.decode() if value is not None else None


def test_two_sessions_are_isolated(tmp_path):
    router = LiveRouter(tmp_path, targets=("CLIENT1", "CLIENT2")).start()
    try:
        with router.client("CLIENT1") as one, router.client("CLIENT2") as two:
            one.send("D", new_order_fields("SAME", "1", 5, CALL, 3.00, extra=SWEEP))
            two.send("D", new_order_fields("SAME", "1", 5, CALL, 3.00, extra=SWEEP))
            assert field(one.expect("8"), 39) == "0"
            assert field(two.expect("8"), 39) == "0", "ClOrdIDs are scoped by session"
            two.send("q", [(11, "MC"), (530, "7"), (60, fix_time())])
            assert field(two.expect("r"), 533) == "1"
            one.send("H", [(11, "SAME"), (55, CALL), (54, "1")])
            assert field(one.expect("8"), 39) == "0", "a mass cancel touches only its own session"
    finally:
        router.stop()


def test_logon_password_from_accounts(tmp_path):
    router = LiveRouter(tmp_path, targets=("DESK1",))
    write_sessions(router.sessions, router.port, ("DESK1",))
    router.sessions.write_text(router.sessions.read_text().replace("TargetCompID=DESK1", "TargetCompID=DESK1\nAccount=DESK"))
    router.start()
    try:
        with pytest.raises(ConnectionError):
            FixClient("127.0.0.1", router.port, "DESK1", "ROUTER", password="wrong", timeout=3).connect()
        with FixClient("127.0.0.1", router.port, "DESK1", "ROUTER", password="desk-secret") as client:
            client.send("D", new_order_fields("D1", "1", 2000, CALL, 3.00, extra=SWEEP))
            report = client.expect("8")
            assert field(report, 39) == "0" and field(report, 1) == "DESK", "DESK's own limits allow 2000"
    finally:
        router.stop()


def test_restart_mid_order_over_fix(tmp_path):
    router = LiveRouter(tmp_path).start()
    router.quote("XCBO", CALL, asks=[(5.00, 10)])
    with router.client() as client:
        client.send("D", new_order_fields("RS1", "1", 30, CALL, 5.00, extra=SWEEP))
        got = client.until(lambda m: field(m, 150) == "F")
        assert field(got[-1], 14) == "10"
    router.stop()

    router.start()                                       # same state directory and store
    try:
        with router.client() as client:
            router.quote("BATO", CALL, asks=[(5.00, 50)])
            final = client.until(lambda m: field(m, 11) == "RS1" and is_final_report(m), timeout=5)[-1]
            assert (field(final, 39), field(final, 14), field(final, 151)) == ("2", "30", "0")
            client.send("D", new_order_fields("RS1", "1", 1, CALL, 5.00, extra=SWEEP))
            assert field(client.expect("8"), 103) == "6", "ClOrdIDs survive the restart"
        children = router.server.store.children("P1")
        assert len({c.child_id for c in children}) == len(children)
        assert sum(f.qty for f in router.server.store.fills("P1")) == 30
    finally:
        router.stop()


def test_cli_instruments_and_client(tmp_path):
    runner = CliRunner()
    listing = runner.invoke(main, ["instruments"])
    assert listing.exit_code == 0 and CALL in listing.output
    router = LiveRouter(tmp_path).start()
    try:
        router.quote("XCBO", CALL, asks=[(5.00, 10)])
        result = runner.invoke(main, ["client", "buy", "5", CALL, "--limit", "5.00", "--port", str(router.port),
                                      "--wait", "3"])
        assert result.exit_code == 0, result.output
        assert "XCBO" in result.output and "F" in result.output
    finally:
        router.stop()


def test_cli_client_sends_a_tied_auto_hedged_order(tmp_path):
    router = LiveRouter(tmp_path, background=False).start()
    try:
        router.quote("XNAS", "AAPL", asks=[(200.01, 5000)], bids=[(199.99, 5000)])
        router.quote("XCBO", CALL, asks=[(5.00, 10)])
        result = CliRunner().invoke(main, [
            "client", "buy", "5", CALL, "--limit", "5.20", "--algo", "volatility", "--limit-type", "prc_de",
            "--ref-delta", "0.5", "--auto-hedge", "fast_crx", "--hedge-id", "CLI-H", "--port", str(router.port),
            "--wait", "5"], terminal_width=250)
        assert result.exit_code == 0, result.output
        assert "CLI-H" in result.output and "AAPL" in result.output       # the hedge's reports, under 5010
        assert "filled;" in result.output and "auto-hedge" in result.output   # it waited for the closing report
    finally:
        router.stop()


def test_demo_runs_end_to_end_and_its_store_rebuilds_from_the_journal(tmp_path):
    result = CliRunner().invoke(main, ["demo", "--state-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for needle in ("Parents", "Children per venue", "Rejected", "Canceled", "D4R"):
        assert needle in result.output
    out = " ".join(result.output.split())                  # rich wraps long lines
    # the packages: a Legger vertical reported per leg (442=2 with LegRefID 654) and as a package (442=3)
    assert "D10 442=2 leg BUY200 buy AAPL 261218C00200000" in out and "D10 442=3 package Filled" in out
    assert "D10 442=2 leg SELL205 sell AAPL 261218C00205000" in out
    # the Seeker fills on the complex books when a market maker answers, or says it still rests there
    assert "D11 442=3 package Filled" in out or "no complex-book response filled it" in out
    # the facilitation's per-auction report
    assert "auction report: auction P10.1A on" in out and "price improvement $" in out and "firm " in out
    store = f"sqlite:///{tmp_path / 'router.db'}"
    pnl = CliRunner().invoke(main, ["pnl", "--store", store])
    assert pnl.exit_code == 0 and "2-leg package" in pnl.output and "P10 firm" in pnl.output, pnl.output
    check = CliRunner().invoke(main, ["store", "rebuild", "--check-only", "--store", store])
    assert check.exit_code == 0 and "projection matches the journal" in check.output, check.output
    for table in ("parents", "children", "fills", "positions"):
        assert table in check.output
    assert CliRunner().invoke(main, ["store", "check", "--store", store]).exit_code == 0
