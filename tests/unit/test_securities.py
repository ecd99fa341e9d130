from datetime import date

import pytest

from router.config import UnderlierConfig
from router.domain.commands import InstrumentSpec
from router.domain.instruments import ALL_PENNY, PENNY_PILOT, InstrumentKind, OsiError, PutCall, format_osi, parse_osi
from router.market.securities import SecurityMaster, chain_strikes, third_fridays


def test_third_fridays():
    assert third_fridays(date(2026, 11, 21), 3) == [date(2026, 12, 18), date(2027, 1, 15), date(2027, 2, 19)]
    assert third_fridays(date(2026, 11, 19), 1) == [date(2026, 11, 20)]


def test_generated_chain_around_spot_for_equity_future_and_perpetual():
    underliers = [
        UnderlierConfig(symbol="AAPL", spot=201.3, vol=0.3, monthly_expiries=2, strike_step=5, strikes_each_side=3),
        UnderlierConfig(symbol="ESZ6", kind="future", spot=6000, vol=0.15, expiries=[date(2026, 12, 18)],
                        strikes=[5900, 6000, 6100], future_expiry=date(2026, 12, 18), settlement="cash",
                        exercise="european", tick="all_penny", multiplier=50, underlier_tick=0.25),
        UnderlierConfig(symbol="BTCP", kind="perpetual", spot=60000, vol=0.6, expiries=[date(2026, 12, 25)],
                        strikes=[60000], multiplier=1),
    ]
    master = SecurityMaster.from_chains(underliers, date(2026, 11, 21))
    aapl = [i for i in master.options() if i.underlying == "AAPL"]
    assert len(aapl) == 2 * 7 * 2 and {i.strike for i in aapl} == {185, 190, 195, 200, 205, 210, 215}
    es = master.get(format_osi("ESZ6", date(2026, 12, 18), PutCall.CALL, 6000))
    assert es.on_future and es.multiplier == 50 and es.tick_rule is ALL_PENNY and es.settlement.value == "cash"
    assert master.get("ESZ6").kind is InstrumentKind.FUTURE and master.get("ESZ6").tick_rule.tick_at(6000) == 0.25
    assert master.get("BTCP").kind is InstrumentKind.PERPETUAL and master.get("BTCP").expiry is None
    assert aapl[0].tick_rule is PENNY_PILOT and aapl[0].exercise.value == "american"


def test_resolve_by_osi_or_by_parts():
    master = SecurityMaster.from_chains([UnderlierConfig(symbol="AAPL", spot=200, vol=0.3,
                                                         expiries=[date(2026, 12, 18)], strikes=[200])])
    osi = "AAPL  261218C00200000"
    assert master.resolve(InstrumentSpec(symbol=osi)).symbol == osi
    parts = InstrumentSpec(symbol="AAPL", maturity_date="20261218", strike=200.0, put_call="C")
    assert master.resolve(parts).symbol == osi
    assert master.resolve(InstrumentSpec(symbol="AAPL", maturity_date="20261218", strike=201.0, put_call="C")) is None


def test_penny_pilot_ticks_and_osi_round_trip():
    assert PENNY_PILOT.tick_at(2.99) == 0.01 and PENNY_PILOT.tick_at(3.00) == 0.05
    assert PENNY_PILOT.is_on_tick(3.05) and not PENNY_PILOT.is_on_tick(3.02) and ALL_PENNY.is_on_tick(3.02)
    assert PENNY_PILOT.round_passive(3.07, is_buy=True) == 3.05 and PENNY_PILOT.round_passive(3.07, is_buy=False) == 3.10
    assert parse_osi("SPY   261218P00590500") == ("SPY", date(2026, 12, 18), PutCall.PUT, 590.5)
    with pytest.raises(OsiError, match="21 characters"):
        parse_osi("AAPL 261218C200")


def test_a_chain_needs_expiries_and_strikes():
    with pytest.raises(ValueError, match="expiries"):
        UnderlierConfig(symbol="X", spot=1, vol=0.1, strikes=[1])
    assert chain_strikes(101, 5, 1) == [95, 100, 105]
