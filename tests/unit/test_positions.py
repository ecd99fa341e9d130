"""The positions ledger: average-cost PnL, marks, option risk and the per-parent view of an
option leg beside its hedge."""
from __future__ import annotations

import math

import pytest

from router.domain.enums import ChildRole, Liquidity, Side
from router.domain.orders import Fill
from router.positions import PositionLedger, SymbolRisk

CALL = "AAPL  261218C00200000"
STOCK = "AAPL"


def option_greeks(symbol: str) -> SymbolRisk | None:
    return SymbolRisk(delta=0.55, vega=0.20, underlier_price=200.0) if symbol == CALL else None


def test_average_price_and_realised_pnl_through_a_flip():
    ledger = PositionLedger()
    ledger.apply_fill("ACC", "P1", CALL, Side.BUY, 10, 5.00, 100)
    flipped = ledger.apply_fill("ACC", "P1", CALL, Side.SELL, 15, 6.00, 100)
    assert flipped.qty == -5
    assert flipped.avg_price == pytest.approx(6.00)               # the short opened at the flip price
    assert flipped.realised_pnl == pytest.approx((6.00 - 5.00) * 10 * 100)
    flat = ledger.apply_fill("ACC", "P1", CALL, Side.BUY, 5, 5.50, 100)
    assert flat.qty == 0 and flat.avg_price == 0.0
    assert flat.realised_pnl == pytest.approx(1000 + (6.00 - 5.50) * 5 * 100)
    assert flat.unrealised_pnl == 0.0


def test_adding_moves_the_average_and_reducing_does_not():
    ledger = PositionLedger()
    ledger.apply_fill("ACC", "P1", STOCK, Side.BUY, 100, 10.0, 1)
    added = ledger.apply_fill("ACC", "P1", STOCK, Side.BUY, 300, 12.0, 1)
    assert added.avg_price == pytest.approx(11.5)
    reduced = ledger.apply_fill("ACC", "P1", STOCK, Side.SELL_SHORT, 100, 13.0, 1)
    assert reduced.qty == 300 and reduced.avg_price == pytest.approx(11.5)
    assert reduced.realised_pnl == pytest.approx(150.0)


def test_unrealised_pnl_from_a_mark():
    ledger = PositionLedger()
    ledger.apply_fill("ACC", "P1", CALL, Side.BUY, 10, 5.00, 100)
    ledger.apply_fill("ACC", "P2", CALL, Side.SELL, 4, 5.20, 100)
    ledger.mark(CALL, 5.40)
    assert ledger.position("ACC", "P1", CALL).unrealised_pnl == pytest.approx(0.40 * 10 * 100)
    assert ledger.position("ACC", "P2", CALL).unrealised_pnl == pytest.approx(-0.20 * 4 * 100)


def test_a_new_position_is_marked_at_its_entry_price_until_a_mark_arrives():
    ledger = PositionLedger()
    opened = ledger.apply_fill("ACC", "P1", STOCK, Side.SELL, 5500, 200.0, 1)
    assert opened.mark == 200.0 and opened.unrealised_pnl == 0.0      # not -(0 - 200) x 5500
    assert ledger.apply_fill("ACC", "P1", STOCK, Side.SELL, 100, 201.0, 1).mark == 201.0
    ledger.mark(STOCK, 199.0)
    after = ledger.apply_fill("ACC", "P1", STOCK, Side.SELL, 100, 205.0, 1)
    assert after.mark == 199.0                                         # a market mark is not moved by fills


def test_a_mark_given_before_the_first_fill_is_used():
    ledger = PositionLedger()
    ledger.mark(STOCK, 199.0)
    assert ledger.apply_fill("ACC", "P1", STOCK, Side.BUY, 100, 200.0, 1).unrealised_pnl == pytest.approx(-100.0)


def test_option_share_delta_dollar_delta_and_vega():
    ledger = PositionLedger(greeks=option_greeks)
    position = ledger.apply_fill("ACC", "P1", CALL, Side.BUY, 10, 5.00, 100)
    assert position.share_delta == pytest.approx(0.55 * 10 * 100)
    assert position.dollar_delta == pytest.approx(550 * 200.0)
    assert position.vega == pytest.approx(0.20 * 10 * 100)


def test_a_delta_one_position_is_priced_at_its_own_mark():
    ledger = PositionLedger(greeks=option_greeks)
    ledger.apply_fill("ACC", "P1", STOCK, Side.SELL, 550, 200.0, 1)
    ledger.mark(STOCK, 210.0)
    position = ledger.position("ACC", "P1", STOCK)
    assert position.share_delta == -550 and position.dollar_delta == pytest.approx(-550 * 210.0)
    assert position.vega == 0.0


def test_per_parent_totals_put_the_option_beside_its_hedge():
    ledger = PositionLedger(greeks=option_greeks)
    ledger.apply_fill("ACC", "P1", CALL, Side.BUY, 10, 5.00, 100)
    ledger.apply_fill("ACC", "P1", STOCK, Side.SELL, 550, 200.0, 1)
    ledger.apply_fill("ACC", "P2", CALL, Side.BUY, 2, 5.00, 100)
    ledger.apply_fill("OTHER", "P3", CALL, Side.SELL, 1, 5.00, 100)
    ledger.mark(STOCK, 200.0)
    by_parent = ledger.totals("parent")
    assert by_parent["P1"].share_delta == pytest.approx(0.0)
    assert by_parent["P1"].dollar_delta == pytest.approx(0.0)
    assert by_parent["P1"].vega == pytest.approx(200.0)
    assert by_parent["P2"].share_delta == pytest.approx(110.0)
    by_account = ledger.totals("account")
    assert by_account["ACC"].share_delta == pytest.approx(110.0)
    assert by_account["OTHER"].share_delta == pytest.approx(-55.0)
    by_symbol = ledger.totals("symbol")
    assert by_symbol[CALL].vega == pytest.approx(0.20 * 11 * 100)
    assert ledger.net_qty(CALL) == 11 and ledger.net_qty(STOCK) == -550 and ledger.net_qty("MSFT") == 0


def test_unknown_greeks_stay_unknown_in_totals():
    ledger = PositionLedger(greeks=lambda s: SymbolRisk(math.nan, math.nan, math.nan))
    ledger.apply_fill("ACC", "P1", CALL, Side.BUY, 1, 5.00, 100)
    assert math.isnan(ledger.totals("parent")["P1"].share_delta)


def test_without_greeks_risk_is_unknown_until_given():
    ledger = PositionLedger()
    ledger.apply_fill("ACC", "P1", CALL, Side.BUY, 1, 5.00, 100)
    assert math.isnan(ledger.position("ACC", "P1", CALL).share_delta)
    ledger.set_risk(CALL, SymbolRisk(0.5, 0.1, 200.0))
    assert ledger.position("ACC", "P1", CALL).share_delta == pytest.approx(50.0)


def test_a_symbol_marked_before_its_first_fill_still_gets_its_greeks():
    ledger = PositionLedger(greeks=option_greeks)
    ledger.mark(CALL, 5.10)
    assert ledger.apply_fill("ACC", "P1", CALL, Side.BUY, 1, 5.00, 100).share_delta == pytest.approx(55.0)


def test_refresh_risk_asks_the_provider_again():
    deltas = {CALL: 0.50}
    ledger = PositionLedger(greeks=lambda s: SymbolRisk(deltas[s], 0.1, 200.0) if s in deltas else None)
    ledger.apply_fill("ACC", "P1", CALL, Side.BUY, 1, 5.00, 100)
    deltas[CALL] = 0.60
    assert ledger.position("ACC", "P1", CALL).share_delta == pytest.approx(50.0)
    ledger.refresh_risk()
    assert ledger.position("ACC", "P1", CALL).share_delta == pytest.approx(60.0)


def test_fees_are_kept_apart_from_realised_pnl():
    ledger = PositionLedger()
    ledger.apply_fill("ACC", "P1", CALL, Side.BUY, 10, 5.00, 100, fee=4.4)
    position = ledger.apply_fill("ACC", "P1", CALL, Side.SELL, 10, 5.00, 100, fee=4.4)
    assert position.realised_pnl == 0.0 and position.fees == pytest.approx(8.8)


def test_many_symbols_are_marked_at_once():
    ledger = PositionLedger()
    symbols = [f"S{i}" for i in range(150)]       # past the initial array size
    for i, symbol in enumerate(symbols):
        ledger.apply_fill("ACC", f"P{i}", symbol, Side.BUY, 10, 1.0, 1)
    ledger.mark_many(symbols, [1.0 + i for i in range(150)])
    unrealised = [p.unrealised_pnl for p in ledger.positions()]
    assert unrealised == pytest.approx([10.0 * i for i in range(150)])
    assert ledger.totals("account")["ACC"].unrealised_pnl == pytest.approx(10.0 * sum(range(150)))


def fill(exec_id: str, parent_id: str, symbol: str, side: Side, qty: int, price: float, ts: int,
         role: ChildRole = ChildRole.WORK) -> Fill:
    return Fill(exec_id, parent_id, f"{parent_id}.1", "XCBO", qty, price, 0.1, Liquidity.REMOVED, ts, role, symbol, side)


def test_rebuild_from_fills_gives_the_same_positions_in_time_order_counting_each_fill_once():
    fills = [fill("E4", "P1", CALL, Side.BUY, 2, 6.00, 4),
             fill("E2", "P1", STOCK, Side.SELL, 550, 200.0, 2, ChildRole.HEDGE),
             fill("E3", "P1", CALL, Side.SELL, 4, 5.50, 3),
             fill("E1", "P1", CALL, Side.BUY, 10, 5.00, 1),
             fill("E3", "P1", CALL, Side.SELL, 4, 5.50, 3)]       # a duplicate in the journal
    ledger = PositionLedger(greeks=option_greeks)
    ledger.apply_fill("ACC", "P9", CALL, Side.BUY, 99, 1.0, 100)   # gone after the rebuild
    ledger.rebuild(fills, accounts={"P1": "ACC"}, multipliers={CALL: 100, STOCK: 1})
    option = ledger.position("ACC", "P1", CALL)
    assert option.qty == 8 and option.avg_price == pytest.approx(5.25)
    assert option.realised_pnl == pytest.approx(0.50 * 4 * 100)
    assert option.fees == pytest.approx(0.3)
    assert ledger.position("ACC", "P1", STOCK).qty == -550
    assert ledger.position("ACC", "P9", CALL) is None
    assert ledger.totals("parent")["P1"].share_delta == pytest.approx(0.55 * 800 - 550)


def test_rebuild_refuses_a_fill_without_symbol_or_side():
    bad = Fill("E1", "P1", "P1.1", "XCBO", 1, 5.0, 0.0, Liquidity.REMOVED, 1)
    with pytest.raises(ValueError, match="no symbol or side"):
        PositionLedger().rebuild([bad], accounts={"P1": "ACC"}, multipliers={})


def test_add_fill_returns_what_is_stored_of_the_position():
    ledger = PositionLedger()
    ledger.add_fill("ACC", "P1", CALL, Side.BUY, 10, 5.00, 100, fee=1.0)
    holding = ledger.add_fill("ACC", "P1", CALL, Side.SELL, 4, 6.00, 100, fee=0.5)
    position = ledger.position("ACC", "P1", CALL)
    assert holding == ("ACC", "P1", CALL, 6, 5.00, 100, 400.0, 1.5)
    assert (position.qty, position.avg_price, position.realised_pnl, position.fees) == holding[3:4] + holding[4:5] + \
        holding[6:8]
