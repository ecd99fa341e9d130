"""Working orders over a real TCP FIX session with the simulated market running: a tied
volatility order (PrcDe, PostLimit, ActiveTaker) with an auto-hedge (5152 FastCrx) reported
under SRAltAutoHedgeId 5010, its OrderStatusRequest answer, and a hedge tag without 5010.

The market is the seeded background flow of `router serve`, so prices are read from the
router's own books and the orders are priced through the offer to fill at once."""
from __future__ import annotations

import math
import time

import pytest

from router.fix.client import is_final_report, new_order_fields
from tests.integration.conftest import CALL, LiveRouter

UNDERLIER = "AAPL"
PUT = "AAPL  261218P00195000"
# volatility algo: ActiveTaker, PostLimit, PrcDe; 5110 goes with each order
TIED_TAKER = [(5094, "1"), (5096, "4"), (5098, "3")]


def field(message, tag: int) -> str | None:
    value = message.get(tag)
    return value.decode() if value is not None else None


@pytest.fixture
def live_market(tmp_path):
    router = LiveRouter(tmp_path, background=True).start()
    yield router
    router.stop()


def quoted(router: LiveRouter, *symbols: str, timeout: float = 5.0):
    """The router's NBBO of each symbol, once the simulated market has quoted both sides."""
    deadline = time.monotonic() + timeout
    books = router.server.engine.books
    while time.monotonic() < deadline:
        got: list = []
        router.on_engine(lambda got=got: got.extend(books.nbbo(s) for s in symbols))
        if all(n.bid is not None and n.ask is not None for n in got):
            return got
        time.sleep(0.05)
    raise AssertionError(f"no two-sided market in {symbols} after {timeout}s")


def hedged_taker(client, cl_ord_id: str, symbol: str, ask: float, delta: str, hedge_id: str | None,
                 qty: int = 10) -> None:
    extra = [*TIED_TAKER, (5110, delta), (5152, "X")]
    if hedge_id is not None:
        extra.append((5010, hedge_id))
    # about 0.50 through the offer, marketable however the simulated quotes move in the next
    # moments; a multiple of 0.05 is on the tick ladder at any price
    price = math.ceil((ask + 0.50) * 20 - 1e-9) / 20
    client.send("D", new_order_fields(cl_ord_id, "1", qty, symbol, price, extra=extra))


def until_final(client, cl_ord_id: str, timeout: float = 10.0):
    messages = client.until(lambda m: field(m, 11) == cl_ord_id and is_final_report(m), timeout)
    assert messages and field(messages[-1], 11) == cl_ord_id and is_final_report(messages[-1]), \
        f"{cl_ord_id} did not end within {timeout}s: {[m.encode() for m in messages]}"
    return messages


@pytest.mark.parametrize("symbol,delta,hedge_side,shares", [
    (CALL, "0.55", "2", 550),      # long calls: long delta, the hedge sells
    (PUT, "-0.35", "1", 350),      # long puts: short delta, the hedge buys
])
def test_a_hedged_tied_order_fills_and_its_hedge_is_reported_under_5010_before_the_parent_ends(
        live_market, symbol, delta, hedge_side, shares):
    option, underlier = quoted(live_market, symbol, UNDERLIER)
    with live_market.client() as client:
        started = time.monotonic()
        hedged_taker(client, "V1", symbol, option.ask, delta, "HEDGE1")
        messages = until_final(client, "V1")
        assert time.monotonic() - started < 5.0

    parent = [m for m in messages if field(m, 11) == "V1"]
    hedge = [m for m in messages if field(m, 11) == "HEDGE1"]
    assert all(field(m, 35) == "8" for m in messages)
    assert (field(parent[0], 150), field(parent[0], 39)) == ("0", "0")

    # the option parent fills; while its hedge works it says Partially Filled with LeavesQty 0
    fills = [m for m in parent if field(m, 150) == "F"]
    assert fills and sum(int(field(m, 32)) for m in fills) == 10
    assert field(fills[-1], 14) == "10" and field(fills[-1], 151) == "0" and field(fills[-1], 39) == "1"
    assert all(field(m, 39) not in ("2", "4", "8", "C") for m in parent[:-1]), "the parent ended early"

    # the hedge: the underlier, against the option's delta, under its own ClOrdID and OrderID <parent>H
    assert hedge, "no hedge ExecutionReport under 5010"
    order_id = field(parent[0], 37)
    for report in hedge:
        assert (field(report, 55), field(report, 54), field(report, 37)) == (UNDERLIER, hedge_side, f"{order_id}H")
    hedge_fills = [m for m in hedge if field(m, 150) == "F"]
    assert hedge_fills and all(int(field(m, 32)) > 0 and field(m, 30) == "XNAS" for m in hedge_fills)
    assert sum(int(field(m, 32)) for m in hedge_fills) == shares         # 10 x delta x 100, exact
    assert all(field(m, 39) == "1" for m in hedge[:-1])
    closing = hedge[-1]
    assert (field(closing, 150), field(closing, 39)) == ("3", "2")
    assert int(field(closing, 14)) == shares and field(closing, 151) == "0"
    assert float(field(closing, 6)) == pytest.approx(underlier.mid, abs=1.0)

    # order: option fill, then hedge fills, then the hedge's close, and only then the parent's end
    index = {id(m): i for i, m in enumerate(messages)}
    assert index[id(fills[0])] < index[id(hedge_fills[0])]
    assert index[id(closing)] < index[id(parent[-1])] == len(messages) - 1
    final = parent[-1]
    assert (field(final, 150), field(final, 39), field(final, 14), field(final, 151)) == ("3", "2", "10", "0")

    got = []
    live_market.on_engine(lambda: got.append(live_market.server.engine.positions.position("CLIENT1", order_id,
                                                                                          UNDERLIER)))
    position = got[0]
    assert position is not None and position.qty == shares * (1 if hedge_side == "1" else -1)


def test_order_status_of_a_hedged_parent_has_a_hedge_line_under_5010(live_market):
    call, _ = quoted(live_market, CALL, UNDERLIER)
    with live_market.client() as client:
        hedged_taker(client, "S1", CALL, call.ask, "0.55", "S1HEDGE")
        order_id = field(until_final(client, "S1")[0], 37)
        client.send("H", [(11, "S1"), (55, CALL), (54, "1")])
        answer = client.until(lambda m: field(m, 11) == "S1HEDGE" and field(m, 150) == "I", timeout=5.0)
    status = [m for m in answer if field(m, 150) == "I"]
    parent = [m for m in status if field(m, 11) == "S1"]
    hedge = [m for m in status if field(m, 11) == "S1HEDGE"]
    assert len(parent) == 1 and len(hedge) == 1, [m.encode() for m in answer]
    assert (field(parent[0], 37), field(parent[0], 55), field(parent[0], 39), field(parent[0], 14),
            field(parent[0], 151)) == (order_id, CALL, "2", "10", "0")
    assert (field(hedge[0], 37), field(hedge[0], 55), field(hedge[0], 54), field(hedge[0], 39),
            field(hedge[0], 14), field(hedge[0], 151)) == (f"{order_id}H", UNDERLIER, "2", "2", "550", "0")
    assert float(field(hedge[0], 6)) > 0


def test_auto_hedge_without_alt_auto_hedge_id_is_rejected_naming_5010(live_market):
    call, _ = quoted(live_market, CALL, UNDERLIER)
    with live_market.client() as client:
        hedged_taker(client, "N1", CALL, call.ask, "0.55", None)
        reject = until_final(client, "N1", timeout=5.0)[-1]
    assert (field(reject, 35), field(reject, 150), field(reject, 39)) == ("8", "8", "8")
    assert field(reject, 103) is not None and "5010" in field(reject, 58)
    assert field(reject, 14) == "0"
