"""The crypto chain beside the US one: Deribit-style expiries and names, resolution from FIX-style
specs, the BTC tick ladder, the quote currency, which venue lists what, the crypto option and
perpetual fees, and `router instruments`."""
from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner

from router.app import load_settings
from router.cli import main
from router.config import VenueConfig, VenueConfigError, load_venues
from router.domain.commands import InstrumentSpec
from router.domain.enums import Liquidity
from router.domain.instruments import CRYPTO_BTC, Exercise, InstrumentKind, PutCall, Settlement
from router.market.crypto import (CryptoSymbolError, deribit_expiries, format_deribit, fridays, last_fridays,
                                  parse_deribit)
from router.market.securities import SecurityMaster
from venues.fees import FeeSchedule, binance_usdm_perpetual
from venues.sim.market import listed_symbols

TODAY = date(2026, 11, 20)          # a Friday, as the unit tests' market starts


@pytest.fixture(scope="module")
def settings():
    return load_settings()


@pytest.fixture(scope="module")
def master(settings):
    return SecurityMaster.from_chains(settings.router.market.underliers, TODAY)


def crypto_options(master):
    return [i for i in master.options() if i.market == "crypto"]


def test_weeklies_are_fridays_and_monthlies_last_fridays_strictly_after_today():
    assert fridays(TODAY, 3) == [date(2026, 11, 27), date(2026, 12, 4), date(2026, 12, 11)]
    assert last_fridays(TODAY, 3) == [date(2026, 11, 27), date(2026, 12, 25), date(2027, 1, 29)]
    assert last_fridays(date(2026, 11, 27), 1) == [date(2026, 12, 25)]      # today's own expiry is gone
    assert fridays(date(2026, 11, 26), 1) == [date(2026, 11, 27)]
    # a weekly that is also the monthly is listed once
    assert deribit_expiries(TODAY, 2, 2) == [date(2026, 11, 27), date(2026, 12, 4), date(2026, 12, 25)]


def test_deribit_names_round_trip():
    assert format_deribit("BTC", date(2026, 12, 25), PutCall.CALL, 100000) == "BTC-25DEC26-100000-C"
    assert format_deribit("BTC", date(2026, 12, 4), PutCall.PUT, 90000.0) == "BTC-4DEC26-90000-P"   # day unpadded
    assert format_deribit("XRP_USDC", date(2023, 6, 30), PutCall.CALL, 0.625) == "XRP_USDC-30JUN23-0d625-C"
    for name in ("BTC-25DEC26-100000-C", "BTC-4DEC26-90000-P", "XRP_USDC-30JUN23-0d625-C"):
        assert format_deribit(*parse_deribit(name)) == name
    assert parse_deribit("BTC-4DEC26-90000-P") == ("BTC", date(2026, 12, 4), PutCall.PUT, 90000.0)
    for bad in ("BTC-31FEB26-90000-C", "BTC-25XYZ26-90000-C", "BTC-25DEC26-90000", "AAPL  261218C00200000"):
        with pytest.raises(CryptoSymbolError):
            parse_deribit(bad)


def test_the_btc_chain_from_the_default_config(master):
    options = crypto_options(master)
    assert {o.expiry for o in options} == {date(2026, 11, 27), date(2026, 12, 25)}    # 1 weekly, 2 monthlies
    assert sorted({o.strike for o in options}) == [87000.0 + 1000 * i for i in range(7)]
    assert len(options) == 2 * 7 * 2
    for option in options:
        assert option.symbol == format_deribit("BTC", option.expiry, option.put_call, option.strike)
        assert option.underlying == "BTCUSDT" and option.underlying_kind is InstrumentKind.PERPETUAL
        assert option.on_future                       # priced with Black-76 on the perpetual
        assert (option.multiplier, option.quote_currency, option.expiry_hour_utc) == (1, "BTC", 8)
        assert (option.settlement, option.exercise) == (Settlement.CASH, Exercise.EUROPEAN)
        assert option.tick_rule == CRYPTO_BTC
    perp = master.get("BTCUSDT")
    assert perp.kind is InstrumentKind.PERPETUAL and perp.market == "crypto" and perp.tick_rule.small_tick == 0.10


def test_the_us_chains_are_unchanged_by_the_crypto_entry(settings, master):
    us_only = [u for u in settings.router.market.underliers if u.market != "crypto"]
    alone = list(SecurityMaster.from_chains(us_only, TODAY))
    assert [i for i in master if i.market != "crypto"] == alone
    call = master.get("AAPL  261218C00200000")
    assert (call.quote_currency, call.expiry_hour_utc, call.market, call.multiplier) == ("USD", 20, "us_equity_options", 100)


def test_resolve_from_fix_style_specs_for_both_markets(master):
    name = "BTC-25DEC26-90000-C"
    assert master.resolve(InstrumentSpec(symbol=name)).symbol == name                        # Symbol(55) alone
    for root in ("BTC", "BTCUSDT"):                                                    # root + 200/202/201
        spec = InstrumentSpec(symbol=root, maturity_date="20261225", strike=90000.0, put_call="C")
        assert master.resolve(spec).symbol == name
    put = InstrumentSpec(symbol="BTC", maturity_date="20261127", strike=87000.0, put_call="P")
    assert master.resolve(put).symbol == "BTC-27NOV26-87000-P"
    osi = InstrumentSpec(symbol="AAPL", maturity_date="20261218", strike=200.0, put_call="C")
    assert master.resolve(osi).symbol == "AAPL  261218C00200000"
    assert master.resolve(InstrumentSpec(symbol="BTC", maturity_date="20261225", strike=90500.0, put_call="C")) is None
    assert master.resolve(InstrumentSpec(symbol="BTC", maturity_date="2026-12", strike=90000.0, put_call="C")) is None


def test_btc_tick_ladder_at_the_boundary():
    # Deribit: 0.0001 up to 0.0050, 0.0005 above: ... 0.0048, 0.0049, 0.0050, 0.0055, 0.0060
    for on in (0.0001, 0.0049, 0.0050, 0.0055, 0.0060, 0.0125):
        assert CRYPTO_BTC.is_on_tick(on), on
    for off in (0.00005, 0.0051, 0.0052, 0.0057):
        assert not CRYPTO_BTC.is_on_tick(off), off
    assert CRYPTO_BTC.step(0.0050, 1) == 0.0055 and CRYPTO_BTC.step(0.0050, -1) == 0.0049
    assert CRYPTO_BTC.step(0.0049, 1) == 0.0050 and CRYPTO_BTC.step(0.0055, -2) == 0.0049
    assert CRYPTO_BTC.round_passive(0.0053, is_buy=True) == 0.0050
    assert CRYPTO_BTC.round_passive(0.0053, is_buy=False) == 0.0055
    assert CRYPTO_BTC.ticks_between(0.0048, 0.0060) == pytest.approx(4)


def test_premium_currency_and_usd_conversion(master):
    btc_call = master.get("BTC-25DEC26-90000-C")
    assert btc_call.coin_quoted and btc_call.premium_usd(0.0125, 90000.0) == pytest.approx(1125.0)
    us_call = master.get("AAPL  261218C00200000")
    assert not us_call.coin_quoted and us_call.premium_usd(5.10, 200.0) == 5.10


def test_each_venue_lists_only_its_own_market(settings, master):
    listing = {v.name: listed_symbols(v, master) for v in settings.venues}
    crypto = {o.symbol for o in crypto_options(master)}
    us_options = {o.symbol for o in master.options()} - crypto
    assert listing["DRBT"] == crypto and listing["OKXO"] == crypto
    assert listing["BNPF"] == {"BTCUSDT"}
    assert listing["XNAS"] == {"AAPL", "SPY"}
    for venue in settings.venues:
        if venue.market == "us_equity_options" and venue.kind == "option":
            assert listing[venue.name] == us_options, venue.name


def test_deribit_fee_worked_example(settings):
    fees = FeeSchedule.from_configs(settings.venues)
    # 0.03% of 1 BTC = 0.0003 BTC a contract (18 USD with BTC at 60000), below 12.5% of a 0.05 BTC premium
    per_contract = fees.net_fee("DRBT", Liquidity.REMOVED, price=0.05, underlier_price=1.0)
    assert per_contract == pytest.approx(0.0003)
    assert per_contract * 60000.0 == pytest.approx(18.0)
    assert fees.fee("DRBT", 10, Liquidity.ADDED, price=0.05, underlier_price=1.0) == pytest.approx(0.003)
    # a cheap option: the cap binds, 12.5% of 0.0010 BTC = 0.000125 BTC < 0.0003
    assert fees.net_fee("DRBT", Liquidity.REMOVED, price=0.0010, underlier_price=1.0) == pytest.approx(0.000125)


def test_okx_fee_maker_taker_and_its_seven_percent_cap(settings):
    fees = FeeSchedule.from_configs(settings.venues)
    assert fees.net_fee("OKXO", Liquidity.ADDED, price=0.05, underlier_price=1.0) == pytest.approx(0.0002)
    assert fees.net_fee("OKXO", Liquidity.REMOVED, price=0.05, underlier_price=1.0) == pytest.approx(0.0003)
    assert fees.net_fee("OKXO", Liquidity.REMOVED, price=0.0020, underlier_price=1.0) == pytest.approx(0.00014)


def test_perpetual_fee_is_a_percent_of_notional(settings):
    fees = FeeSchedule.from_configs(settings.venues)
    assert fees.model("BNPF").model == "pct_of_notional"
    # Binance USD-M VIP 0: taker 0.05%, maker 0.02% of notional, per 0.001-BTC lot at 60000 USDT:
    # 1,000 lots (1 BTC) pay 30 USDT taking, 2,000 lots 24 USDT making
    assert fees.fee("BNPF", 1000, Liquidity.REMOVED, price=60000.0) == pytest.approx(30.0)
    assert fees.fee("BNPF", 2000, Liquidity.ADDED, price=60000.0) == pytest.approx(24.0)
    assert fees.model("BNPF") == binance_usdm_perpetual("BNPF")        # config and preset agree


def test_a_notional_fee_belongs_on_an_underlier_venue(tmp_path):
    path = tmp_path / "venues.toml"
    path.write_text('[venues.XOPT]\nlatency_ms = 0.1\n[venues.XOPT.fees]\nmodel = "pct_of_notional"\n'
                    'maker_pct = 0.02\ntaker_pct = 0.05\n')
    with pytest.raises(VenueConfigError, match=r"venues\.XOPT: .*pct_of_notional is for equity venues"):
        load_venues(path)
    perp = VenueConfig(name="XPF", kind="equity", market="crypto", latency_ms=0.1,
                       fees={"model": "pct_of_notional", "maker_pct": 0.02, "taker_pct": 0.05})
    assert perp.fees.taker_pct == 0.05


def test_router_instruments_lists_the_crypto_chain_beside_the_us_one(settings):
    result = CliRunner().invoke(main, ["instruments"])
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.output.splitlines()]
    crypto = [r for r in rows if r[2] == "BTCUSDT" and r[1] == "option"]
    assert len(crypto) % 14 == 0 and crypto                  # 7 strikes x call/put per expiry
    for symbol, _kind, _und, venues, tick, multiplier, currency in crypto:
        _, expiry, _, _ = parse_deribit(symbol)
        assert expiry.weekday() == 4
        assert (venues, tick, multiplier, currency) == ("DRBT,OKXO", "0.0001/0.0005@0.005", "1", "BTC")
    assert ["BTCUSDT", "perpetual", "BTCUSDT", "BNPF", "0.1", "0.001", "USD"] in rows   # 0.001-BTC lots
    us_call = next(r for r in rows if r[0] == "AAPL  261218C00200000")
    us_option_venues = {v.name for v in settings.venues if v.kind == "option" and v.market == "us_equity_options"}
    assert set(us_call[3].split(",")) == us_option_venues and us_call[4:] == ["0.01/0.05@3", "100", "USD"]
