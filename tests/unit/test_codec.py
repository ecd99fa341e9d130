"""FIX <-> commands without sockets: what each tag becomes, and which rule rejects what."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from router.domain.enums import ExecType, LimitType, OrderHandling, OrdStatus, Side, SRTimeInForce
from router.domain.events import ExecReport
from router.fix.codec import decode, encode, format_utc, parse_utc

NOW = "20261120-15:00:00.000"


def new_order(*extra: tuple[int, str]):
    pairs = [(35, "D"), (11, "C1"), (55, "AAPL  261218C00200000"), (54, "1"), (60, NOW), (38, "10"), (40, "2"),
             (44, "5.10"), *extra]
    return decode("D", pairs, "S", "ACC", 2)


def test_algo_tags_become_typed_params():
    request = new_order((5094, "1"), (5098, "1"), (5082, "xcbo, ARCO"), (5080, "3"), (5044, "20"),
                        (5084, "2"), (5086, "30"), (5122, "[0.25:0.5,0.5:0.5]"), (5124, "D"), (5999, "kept"))
    algo = request.command.algo
    assert algo.order_handling is OrderHandling.ACTIVE_TAKER and algo.limit_type is LimitType.MARKET_ARRIVAL
    assert algo.exchanges == ("XCBO", "ARCO") and algo.max_child_orders == 3 and algo.active_size == 20
    assert algo.sr_time_in_force is SRTimeInForce.IOC and algo.order_duration_s == 30
    assert algo.ddiv_override == ((0.25, 0.5), (0.5, 0.5)) and algo.override_code == "D"
    assert algo.extra == {5999: "kept"}


def test_instrument_by_parts_and_cfi_code():
    request = decode("D", [(11, "C1"), (55, "AAPL"), (541, "20261218"), (202, "200"), (461, "OCXXXX"), (54, "2"),
                           (60, NOW), (38, "1"), (40, "1")], "S", "ACC", 2)
    spec = request.command.instrument
    assert (spec.symbol, spec.maturity_date, spec.strike, spec.put_call) == ("AAPL", "20261218", 200.0, "C")
    puts = decode("D", [(11, "C1"), (55, "AAPL"), (200, "202612"), (205, "18"), (202, "200"), (201, "0"), (54, "1"),
                        (60, NOW), (38, "1"), (40, "1")], "S", "ACC", 2)
    assert puts.command.instrument.maturity_date == "20261218" and puts.command.instrument.put_call == "P"


@pytest.mark.parametrize("extra,needle,sr_code", [
    ([(38, "2.5")], "whole number", 5),
    ([(5116, "12.5"), (5098, "9")], "OrderVolLimit 12.5 out of range 0.005-9", 8),
    ([(5122, "0.25"), ], "DDivOverride", 42),
    ([(5098, "9")], "OrderVolLimit (5116) required", 8),
])
def test_business_rule_rejects_carry_text_and_codes(extra, needle, sr_code):
    request = new_order(*extra)
    assert request.command is None and needle in request.reject_text and request.sr_reject_code == sr_code
    assert request.reject_fields["cl_ord_id"] == "C1"


def test_cancel_decode_failure_is_kept_for_a_cancel_reject():
    request = decode("G", [(11, "R2"), (41, "R1"), (55, "X"), (54, "1"), (60, NOW), (38, "-1"), (40, "2")],
                     "S", "ACC", 3)
    assert request.command is None and request.msg_type == "G" and "positive" in request.reject_text


def test_timestamps():
    assert parse_utc("20261120-15:00:01.5") == datetime(2026, 11, 20, 15, 0, 1, 500000, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        parse_utc("2026-11-20 15:00:01")
    assert format_utc(1_795_186_800_123_456_789) == "20261120-15:00:00.123"


def test_execution_report_fields_in_order():
    report = ExecReport(session="S", order_id="P1", cl_ord_id="C1", exec_id="P1-3", exec_type=ExecType.TRADE,
                        ord_status=OrdStatus.PARTIALLY_FILLED, symbol="AAPL  261218C00200000", side=Side.BUY,
                        order_qty=10, cum_qty=4, leaves_qty=6, avg_px=5.05, transact_ns=0, account="ACC", price=5.1,
                        last_qty=4, last_px=5.05, last_mkt="XCBO", liquidity="R")
    msg_type, body = encode(report)
    tags = dict(body)
    assert msg_type == "8" and tags[150] == "F" and tags[39] == "1" and tags[32] == "4" and tags[31] == "5.05"
    assert tags[30] == "XCBO" and tags[151] == "6" and tags[14] == "4" and tags[6] == "5.05" and tags[851] == "2"
