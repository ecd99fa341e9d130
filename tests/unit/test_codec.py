"""FIX <-> commands without sockets: what each tag becomes, and which rule rejects what."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from datetime import date, datetime, timezone

import pytest
import quickfix as fix

from router.domain.enums import (ChildRole, CxlRejResponseTo, ExecType, HedgeMode, LimitType, Liquidity, OrderHandling,
                                 OrdStatus, ShortSaleFlag, Side, SRTimeInForce, StartType, TimeInForce)
from router.domain.events import CancelRejectReport, ExecReport, MassCancelReportOut
from router.fix.codec import decode, encode, format_utc, parse_utc, split_fields

NOW = "20261120-15:00:00.000"
DICTIONARY = Path(__file__).resolve().parents[2] / "fix_specs" / "FIX44.xml"


def wire(msg_type: str, body: list[tuple[int, str]]) -> str:
    """The message as QuickFIX reads it off the socket, body rendered the way the acceptor does."""
    text = "".join(f"{tag}={value}\x01" for tag, value in [(35, msg_type), (49, "ROUTER"), (56, "CLIENT"), (34, 1),
                                                            (52, NOW), *body])
    head = f"8=FIX.4.4\x019={len(text)}\x01"
    return f"{head}{text}10={sum((head + text).encode()) % 256:03d}\x01"


@pytest.fixture(scope="module")
def dictionary() -> fix.DataDictionary:
    return fix.DataDictionary(str(DICTIONARY))


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


@pytest.mark.parametrize("qty", ["INF", "-inf", "1e400"])
def test_an_infinite_quantity_is_a_reject_not_a_crash(qty):
    request = decode("D", [(11, "C1"), (55, "AAPL  261218C00200000"), (54, "1"), (60, NOW), (38, qty), (40, "1")],
                     "S", "ACC", 2)
    assert request.command is None and request.reject_text
    assert request.reject_fields["qty"] == 0


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
                        last_qty=4, last_px=5.05, last_mkt="XCBO", liquidity=Liquidity.REMOVED)
    msg_type, body = encode(report)
    tags = dict(body)
    assert msg_type == "8" and tags[150] == "F" and tags[39] == "1" and tags[32] == "4" and tags[31] == "5.05"
    assert tags[30] == "XCBO" and tags[151] == "6" and tags[14] == "4" and tags[6] == "5.05" and tags[851] == "2"


def fill(**changes) -> ExecReport:
    report = ExecReport(session="S", order_id="P1", cl_ord_id="C1", exec_id="P1-3", exec_type=ExecType.TRADE,
                        ord_status=OrdStatus.PARTIALLY_FILLED, symbol="AAPL  261218C00200000", side=Side.BUY,
                        order_qty=10, cum_qty=4, leaves_qty=6, avg_px=5.05, transact_ns=0, price=5.1, last_qty=4,
                        last_px=5.05, last_mkt="XCBO", liquidity=Liquidity.ADDED)
    return replace(report, **changes)


def test_liquidity_enum_becomes_851():
    assert dict(encode(fill(liquidity=Liquidity.ADDED))[1])[851] == "1"
    assert dict(encode(fill(liquidity=Liquidity.REMOVED))[1])[851] == "2"
    assert 851 not in dict(encode(fill(liquidity=None))[1])


def test_hedge_execution_is_encoded_like_a_fill():
    hedge = fill(cl_ord_id="HEDGE-7", symbol="AAPL", role=ChildRole.HEDGE)
    work = fill(cl_ord_id="HEDGE-7", symbol="AAPL", role=ChildRole.WORK)
    assert encode(hedge) == encode(work)
    assert dict(encode(hedge)[1])[11] == "HEDGE-7" and dict(encode(hedge)[1])[55] == "AAPL"


@pytest.mark.parametrize("response_to,wire_value", [(CxlRejResponseTo.CANCEL, "1"), (CxlRejResponseTo.REPLACE, "2")])
def test_cancel_reject_response_to(response_to, wire_value):
    report = CancelRejectReport(session="S", order_id="P1", cl_ord_id="C2", orig_cl_ord_id="C1",
                                ord_status=OrdStatus.NEW, response_to=response_to, reason=99, text="no", transact_ns=0)
    msg_type, body = encode(report)
    assert msg_type == "9" and f"\x01434={wire_value}\x01" in wire(msg_type, body)


def mass_cancel_report(*affected: str) -> MassCancelReportOut:
    return MassCancelReportOut(session="S", cl_ord_id="MC1", order_id="M1", request_type="7", response="7",
                               affected=affected, transact_ns=0)


def test_mass_cancel_report_lists_order_ids_in_affected_order_id_535():
    msg_type, body = encode(mass_cancel_report("P1", "P2"))
    assert msg_type == "r"
    assert body[body.index((534, "2")):] == [(534, "2"), (535, "P1"), (535, "P2")]
    assert (533, "2") in body and all(tag != 41 for tag, _ in body)


def test_mass_cancel_report_is_valid_for_quickfix_and_reads_back_as_a_group(dictionary):
    message = fix.Message(wire(*encode(mass_cancel_report("P1", "P2"))), dictionary, True)
    dictionary.validate(message)
    entries = []
    for number in (1, 2):
        group = fix.Group(534, 41)
        message.getGroup(number, group)
        entries.append(group.getField(535))
    assert message.groupCount(534) == 2 and entries == ["P1", "P2"]


@pytest.mark.parametrize("msg_type,head", [("D", [(11, "C1")]), ("G", [(11, "C2"), (41, "C1")])])
def test_dictionary_allows_expire_time_and_date_on_orders_and_replaces(dictionary, msg_type, head):
    body = [*head, (55, "AAPL"), (54, "1"), (60, NOW), (38, "10"), (40, "2"), (44, "5.1"), (59, "6"),
            (126, "20261120-18:30:00.000"), (432, "20261218")]
    dictionary.validate(fix.Message(wire(msg_type, body), dictionary, True))


def test_mass_cancel_report_without_affected_orders_has_no_group():
    tags = [tag for tag, _ in encode(mass_cancel_report())[1]]
    assert 534 not in tags and 535 not in tags and (533 in tags)


# ---- the new custom tags

def test_new_algo_tags_become_typed_params():
    algo = new_order((5108, "200.5"), (5110, "0.45"), (5112, "0.02"), (5114, "-0.1"), (5072, "Y"), (5074, "195"),
                     (5076, "205"), (5078, "0.05"), (5152, "V25"), (5010, "HEDGE-1"), (5172, "2"), (5090, "1"),
                     (5056, "12"), (5104, "3"), (5046, "250"), (5048, "3")).command.algo
    assert (algo.order_ref_uprc, algo.order_ref_delta, algo.order_ref_gamma, algo.order_ref_theta) == \
        (200.5, 0.45, 0.02, -0.1)
    assert algo.cxl_uprc_range is True and (algo.min_ubid, algo.max_uask, algo.min_option_px) == (195.0, 205.0, 0.05)
    assert algo.auto_hedge is HedgeMode.ALPHA_VWAP_25PCT and algo.alt_auto_hedge_id == "HEDGE-1"
    assert algo.short_sale_flag is ShortSaleFlag.SHORT and algo.start_type is StartType.WAIT_TRIGGER
    assert (algo.slice_count, algo.take_reach) == (12, 3) and algo.extra == {}
    assert (algo.max_exposure_size, algo.num_make_exchanges) == (250, 3)


def test_cxl_uprc_range_n_is_false():
    assert new_order((5072, "N")).command.algo.cxl_uprc_range is False


@pytest.mark.parametrize("tag,value", [(5072, "X"), (5152, "Q"), (5172, "9"), (5090, "7"), (5056, "1.5"),
                                       (5074, "abc")])
def test_unusable_custom_value_is_rejected_naming_the_tag(tag, value):
    request = new_order((tag, value))
    assert request.command is None and f"tag {tag}" in request.reject_text


@pytest.mark.parametrize("limit_type", ["9", "10", "11", "12", "13"])
def test_vol_limit_types_need_order_vol_limit(limit_type):
    request = new_order((5098, limit_type))
    assert request.command is None and request.sr_reject_code == 8
    assert "OrderVolLimit (5116) required for LimitType (5098)" in request.reject_text
    assert new_order((5098, limit_type), (5116, "0.25")).command.algo.vol_limit == 0.25


@pytest.mark.parametrize("limit_type,named", [("2", "PRC"), ("14", "REL_MID"), (None, "absent")])
def test_order_vol_limit_must_be_zero_for_other_limit_types(limit_type, named):
    extra = [(5116, "0.25")] + ([(5098, limit_type)] if limit_type else [])
    request = new_order(*extra)
    assert request.command is None and request.sr_reject_code == 8 and request.reject_reason == 99
    assert "OrderVolLimit (5116) must be 0 unless LimitType (5098) is Vol" in request.reject_text
    assert request.reject_text.endswith(f"LimitType is {named}")


def test_order_vol_limit_zero_or_with_market_is_accepted():
    assert new_order((5116, "0"), (5098, "2")).command is not None
    assert new_order((5116, "0.25"), (5098, "0")).command is not None     # the reference: ignored for Market


def test_auto_hedge_needs_the_hedge_cl_ord_id():
    request = new_order((5152, "X"))
    assert request.command is None and request.sr_reject_code == 162
    assert request.reject_text.startswith("SRAutoHedge (5152) X requires SRAltAutoHedgeId (5010)")
    assert new_order((5152, "X"), (5010, "H1")).command.algo.auto_hedge is HedgeMode.FAST_CRX
    assert new_order((5152, "N")).command.algo.auto_hedge is HedgeMode.NO_HEDGE


def test_min_ubid_above_max_uask_is_rejected():
    request = new_order((5074, "205"), (5076, "195"))
    assert request.command is None and request.sr_reject_code == 11
    assert request.reject_text == "SRMinUBid (5074) 205.0 is above SRMaxUAsk (5076) 195.0"
    assert new_order((5074, "200"), (5076, "200")).command is not None
    assert new_order((5074, "205")).command is not None


def test_multileg_orders_check_the_same_rules():
    legs = [(600, "AAPL  261218C00200000"), (624, "1"), (623, "1"), (600, "AAPL  261218C00205000"), (624, "2"),
            (623, "1")]
    request = decode("AB", [(11, "M1"), (38, "1"), (40, "2"), (44, "1.0"), (60, NOW), (5152, "X"), *legs],
                     "S", "ACC", 2)
    assert request.command is None and "SRAltAutoHedgeId (5010)" in request.reject_text


# ---- GTD: ExpireTime (126) and ExpireDate (432)

def test_gtd_expire_time_and_date_are_decoded():
    command = new_order((59, "6"), (126, "20261120-18:30:00.250"), (432, "20261218")).command
    assert command.time_in_force is TimeInForce.GTD
    assert command.expire_time == datetime(2026, 11, 20, 18, 30, 0, 250000, tzinfo=timezone.utc)
    assert command.expire_date == date(2026, 12, 18)
    plain = new_order().command
    assert plain.expire_time is None and plain.expire_date is None


def test_replace_to_gtd_carries_expire_time_and_date():
    request = decode("G", [(11, "R2"), (41, "R1"), (55, "X"), (54, "1"), (60, NOW), (38, "5"), (40, "2"),
                           (44, "5.2"), (59, "6"), (126, "20261120-18:30:00"), (432, "20261218")], "S", "ACC", 3)
    command = request.command
    assert command.time_in_force is TimeInForce.GTD and command.expire_date == date(2026, 12, 18)
    assert command.expire_time == datetime(2026, 11, 20, 18, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("tag,value,name", [(126, "20261120 18:30", "ExpireTime (126)"),
                                            (432, "2026-12-18", "ExpireDate (432)"),
                                            (432, "20261332", "ExpireDate (432)")])
def test_unusable_expiry_is_rejected_naming_the_tag(tag, value, name):
    request = new_order((59, "6"), (tag, value))
    assert request.command is None and request.reject_text == f"{name} has unusable value {value!r}"


# ---- the hot path: one AlgoParams per tag set, fast splitting, rules still rejected

def test_orders_with_the_same_custom_tags_share_one_algo_params():
    first = new_order((5094, "1"), (5096, "0"), (5999, "x")).command.algo
    assert new_order((5094, "1"), (5096, "0"), (5999, "x")).command.algo is first
    other = new_order((5094, "1"), (5096, "0"), (5999, "y")).command.algo
    assert other is not first and other.extra == {5999: "y"}
    assert first.model_fields_set == {"order_handling", "balance_handling", "extra"}


def test_split_fields_keeps_order_and_repeats():
    raw = wire("D", [(11, "C1"), (5082, "XCBO,ARCO"), (58, "a=b"), (11, "C2")])
    pairs = split_fields(raw)
    assert pairs[0] == (8, "FIX.4.4") and pairs[2] == (35, "D")
    assert (58, "a=b") in pairs and [v for t, v in pairs if t == 11] == ["C1", "C2"] and pairs[-1][0] == 10


@pytest.mark.parametrize("tag,value", [(5116, "inf"), (5126, "nan"), (5074, "-inf")])
def test_a_non_finite_custom_number_is_rejected_naming_the_tag(tag, value):
    request = new_order((tag, value))
    assert request.command is None and request.reject_text == f"tag {tag} has unusable value {value!r}"


@pytest.mark.parametrize("extra,needle", [((5080, "0"), "MaxChildOrders (5080) 0 must be at least 1"),
                                          ((5048, "0"), "SRNumMakeExchanges (5048) 0 must be at least 1"),
                                          ((5046, "-5"), "SRMaxExposureSize (5046) -5 must be at least 1"),
                                          ((5044, "-2"), "ActiveOrderSize (5044) -2 must be at least 1"),
                                          ((11, "X" * 65), "ClOrdID (11) must be 1-64 characters, got 65")])
def test_field_rules_are_rejects_naming_the_tag(extra, needle):
    request = new_order(extra)
    assert request.command is None and request.reject_text == needle and request.sr_reject_code == 12


def test_format_price_spells_out_small_and_large_prices():
    from router.fix.codec import format_price
    assert [format_price(v) for v in (0.0, -0.0, 50.0, 5.050000000000001, 1e-05, 1.5e16, 12345.678)] == \
        ["0", "0", "50", "5.05", "0.00001", "15000000000000000", "12345.678"]


@pytest.mark.parametrize("side,ratio,text", [("1", "abc", "LegRatioQty (623) 'abc'"), ("1", "1.5", "LegRatioQty (623)"),
                                             ("1", "1e400", "LegRatioQty (623)"), ("7", "1", "LegSide (624) '7'")])
def test_a_bad_leg_side_or_ratio_is_a_reject_naming_the_tag(side, ratio, text):
    legs = [(600, "AAPL  261218C00200000"), (624, side), (623, ratio), (600, "AAPL  261218C00205000"), (624, "2"),
            (623, "1")]
    request = decode("AB", [(11, "M1"), (38, "1"), (40, "2"), (44, "1.0"), (60, NOW), (5094, "8"), *legs], "S", "ACC", 2)
    assert request.command is None and text in request.reject_text
