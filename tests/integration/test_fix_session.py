"""Real TCP FIX sessions against the router: the order lifecycle and every bad input."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from router.fix.client import fix_time, is_final_report, new_order_fields
from tests.integration.conftest import CALL

SWEEP = [(5094, "1"), (5096, "0"), (5100, "0"), (5102, "0")]


def field(message, tag: int) -> str | None:
    value = message.get(tag)
    return value.decode() if value is not None else None


def until_final(client, cl_ord_id: str, timeout: float = 5.0):
    return client.until(lambda m: field(m, 11) == cl_ord_id and is_final_report(m), timeout)


def order(client, cl_ord_id: str, side: str, qty: int, price: float | None, symbol: str = CALL, extra=(), tif="0"):
    client.send("D", new_order_fields(cl_ord_id, side, qty, symbol, price, tif=tif, extra=[*SWEEP, *extra]))


def assert_router_still_trades(router, client, cl_ord_id: str = "OK1") -> None:
    router.quote("BATO", CALL, asks=[(6.00, 5)])
    order(client, cl_ord_id, "1", 5, 6.00)
    messages = until_final(client, cl_ord_id)
    assert field(messages[-1], 39) == "2", "the next valid order must fill"


def test_order_partial_and_full_fills(live_router):
    live_router.quote("XCBO", CALL, asks=[(5.00, 10)])
    live_router.quote("ARCO", CALL, asks=[(5.05, 10)])
    with live_router.client() as client:
        order(client, "A1", "1", 20, 5.05)
        messages = until_final(client, "A1")
    execs = [(field(m, 150), field(m, 39)) for m in messages if field(m, 35) == "8"]
    assert execs[0] == ("0", "0")
    fills = [m for m in messages if field(m, 150) == "F"]
    assert [field(m, 39) for m in fills] == ["1", "2"]
    assert {field(m, 30) for m in fills} == {"XCBO", "ARCO"}
    last = messages[-1]
    assert field(last, 14) == "20" and field(last, 151) == "0"
    assert float(field(last, 6)) == pytest.approx((10 * 5.00 + 10 * 5.05) / 20)
    assert field(last, 37) == "P1" and field(last, 17)


def test_cancel_replace_status_and_mass_cancel(live_router):
    with live_router.client() as client:
        order(client, "R1", "1", 10, 4.00)
        client.until(lambda m: field(m, 150) == "0")
        client.send("G", [(11, "R2"), (41, "R1"), (55, CALL), (54, "1"), (60, fix_time()), (38, "15"), (40, "2"),
                          (44, "4.10")])
        replaced = client.until(lambda m: field(m, 150) == "5")[-1]
        assert (field(replaced, 11), field(replaced, 41), field(replaced, 38), field(replaced, 44)) == \
            ("R2", "R1", "15", "4.1")
        client.send("H", [(11, "R2"), (55, CALL), (54, "1")])
        status = client.until(lambda m: field(m, 150) == "I")[-1]
        assert field(status, 39) == "0" and field(status, 151) == "15"
        client.send("F", [(11, "R3"), (41, "R2"), (55, CALL), (54, "1"), (60, fix_time())])
        canceled = until_final(client, "R3")[-1]
        assert (field(canceled, 150), field(canceled, 39), field(canceled, 41)) == ("4", "4", "R2")

        order(client, "M1", "1", 5, 3.00)
        order(client, "M2", "2", 5, 9.00)
        client.until(lambda m: field(m, 11) == "M2" and field(m, 150) == "0")
        client.send("q", [(11, "MC1"), (530, "7"), (60, fix_time())])
        report = client.expect("r")
        assert field(report, 531) == "7" and field(report, 533) == "2"


def test_unknown_tag_is_a_session_reject(live_router):
    with live_router.client() as client:
        order(client, "B1", "1", 5, 5.00, extra=[(9999, "x")])
        reject = client.expect("3")
        assert field(reject, 373) == "0"
        assert_router_still_trades(live_router, client)


def test_out_of_range_custom_enum_is_a_session_reject(live_router):
    with live_router.client() as client:
        client.send("D", new_order_fields("B1", "1", 5, CALL, 5.00, extra=[(5094, "99")]))
        reject = client.expect("3")
        assert field(reject, 373) == "5" and field(reject, 371) == "5094"
        assert_router_still_trades(live_router, client)


@pytest.mark.parametrize("qty,price,ord_type,needle", [
    (0, 5.00, "2", "OrderQty 0 must be positive"),
    (-5, 5.00, "2", "OrderQty -5 must be positive"),
    (5, None, "2", "requires Price"),
])
def test_bad_quantity_or_missing_price_is_a_business_reject(live_router, qty, price, ord_type, needle):
    with live_router.client() as client:
        fields = [(11, "B1"), (55, CALL), (54, "1"), (60, fix_time()), (38, str(qty)), (40, ord_type)]
        if price is not None:
            fields.append((44, f"{price:g}"))
        client.send("D", fields)
        reject = until_final(client, "B1")[-1]
        assert (field(reject, 35), field(reject, 150), field(reject, 39)) == ("8", "8", "8")
        assert field(reject, 103) is not None and needle in field(reject, 58)
        assert_router_still_trades(live_router, client)


def test_unknown_instrument_and_duplicate_cl_ord_id(live_router):
    with live_router.client() as client:
        order(client, "U1", "1", 5, 1.00, symbol="AAPL  261218C00999000")
        assert field(until_final(client, "U1")[-1], 103) == "1"
        order(client, "D1", "1", 5, 3.00)
        client.until(lambda m: field(m, 11) == "D1" and field(m, 150) == "0")
        order(client, "D1", "1", 5, 3.00)
        assert field(until_final(client, "D1")[-1], 103) == "6"
        assert_router_still_trades(live_router, client)


def test_cancel_or_replace_unknown_and_replace_below_cum(live_router):
    live_router.quote("XCBO", CALL, asks=[(5.00, 10)])
    with live_router.client() as client:
        client.send("F", [(11, "X1"), (41, "NOPE"), (55, CALL), (54, "1"), (60, fix_time())])
        assert field(client.expect("9"), 102) == "1"
        client.send("G", [(11, "X2"), (41, "NOPE"), (55, CALL), (54, "1"), (60, fix_time()), (38, "5"), (40, "2"),
                          (44, "5")])
        assert field(client.expect("9"), 102) == "1"
        order(client, "P1", "1", 30, 5.00)
        client.until(lambda m: field(m, 11) == "P1" and field(m, 150) == "F")
        client.send("G", [(11, "P2"), (41, "P1"), (55, CALL), (54, "1"), (60, fix_time()), (38, "5"), (40, "2"),
                          (44, "5")])
        reject = client.expect("9")
        assert field(reject, 434) == "2" and "below CumQty" in field(reject, 58)
        assert_router_still_trades(live_router, client)


def test_vol_limit_range_and_stale_transact_time(live_router):
    with live_router.client() as client:
        order(client, "V1", "1", 5, 5.00, extra=[(5098, "9"), (5116, "12.5")])
        reject = until_final(client, "V1")[-1]
        assert field(reject, 39) == "8" and "0.005-9" in field(reject, 58)
        stale = (datetime.now(timezone.utc) - timedelta(seconds=20)).strftime("%Y%m%d-%H:%M:%S.000")
        client.send("D", [(11, "S1"), (55, CALL), (54, "1"), (60, stale), (38, "5"), (40, "2"), (44, "5")])
        reject = until_final(client, "S1")[-1]
        assert field(reject, 39) == "8" and "old" in field(reject, 58)
        assert_router_still_trades(live_router, client)


def test_unsupported_message_gets_business_message_reject(live_router):
    with live_router.client() as client:
        client.send("8", [(37, "x"), (17, "x"), (150, "0"), (39, "0"), (55, "X"), (54, "1"), (151, "0"), (14, "0"),
                          (6, "0")])
        reject = client.expect("j")
        assert field(reject, 380) == "3" and field(reject, 372) == "8"
        assert_router_still_trades(live_router, client)


def test_a_multileg_order_without_side_is_legged_and_reported_per_leg_with_442_and_654(live_router):
    c200, c205 = "AAPL  261218C00200000", "AAPL  261218C00205000"
    live_router.quote("XCBO", c200, bids=[(5.00, 20)], asks=[(5.20, 20)])
    live_router.quote("XCBO", c205, bids=[(3.00, 20)], asks=[(3.10, 20)])
    with live_router.client() as client:
        # the reference's layout: no Side (54) on the package, the legs carry LegSide (624)
        client.send("AB", [(11, "ML1"), (38, "2"), (40, "2"), (44, "2.2"), (60, fix_time()), (5094, "8"),
                           (555, "2"), (600, c200), (654, "BUYLEG"), (624, "1"), (623, "1"),
                           (600, c205), (654, "SELLLEG"), (624, "2"), (623, "1")])
        messages = until_final(client, "ML1")
    reports = [m for m in messages if field(m, 35) == "8"]
    legs = [m for m in reports if field(m, 442) == "2"]
    package = [m for m in reports if field(m, 442) == "3"]
    assert field(package[0], 150) == "0" and field(package[0], 55) == "AAPL"
    assert field(package[-1], 39) == "2" and field(package[-1], 14) == "2"
    assert {field(m, 654) for m in legs} == {"BUYLEG", "SELLLEG"}
    assert {(field(m, 55), field(m, 54)) for m in legs} == {(c200, "1"), (c205, "2")}
    assert sum(int(field(m, 32)) for m in legs if field(m, 654) == "BUYLEG") == 2