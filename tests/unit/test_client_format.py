"""Prices on the wire, from `router client` and in ExecutionReports: exact, without exponents or
truncation (BTC options trade above $10,000)."""
from __future__ import annotations

import pytest

from router.domain.enums import ExecType, OrdStatus, Side
from router.domain.events import ExecReport
from router.fix.client import new_order_fields
from router.fix.codec import encode, format_price

PRICES = [(12345.5, "12345.5"), (0.0005, "0.0005"), (100000, "100000"), (123456.5, "123456.5"),
          (5.1, "5.1"), (0.00001, "0.00001"), (0.0, "0"), (-2.35, "-2.35")]


@pytest.mark.parametrize("price,text", PRICES)
def test_format_price(price, text):
    assert format_price(price) == text


def test_float_noise_of_an_average_is_dropped():
    assert format_price(5.050000000000001) == "5.05"
    assert format_price(0.1 + 0.2) == "0.3"


@pytest.mark.parametrize("price,text", PRICES[:4])
def test_client_order_price(price, text):
    fields = dict(new_order_fields("C1", "1", 1, "BTC-261225-100000-C", price))
    assert fields[44] == text


def test_client_market_order_has_no_price():
    fields = dict(new_order_fields("C1", "1", 1, "AAPL", None))
    assert 44 not in fields and fields[40] == "1"


@pytest.mark.parametrize("price,text", PRICES[:4])
def test_execution_report_prices(price, text):
    report = ExecReport(session="S", order_id="P1", cl_ord_id="C1", exec_id="P1-1", exec_type=ExecType.TRADE,
                        ord_status=OrdStatus.FILLED, symbol="BTC-261225-100000-C", side=Side.BUY, order_qty=1,
                        cum_qty=1, leaves_qty=0, avg_px=price, transact_ns=0, price=price, last_qty=1, last_px=price)
    tags = dict(encode(report)[1])
    assert (tags[44], tags[31], tags[6]) == (text, text, text)
