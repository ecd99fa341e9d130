"""Fee models (venues/fees.py) with worked numbers from the schedules cited in
config/venues.toml, and the validation of [venues.X.fees] tables (router/config.py)."""
from __future__ import annotations

import pytest

from router.app import load_settings
from router.config import VenueConfig, VenueConfigError, load_venues
from router.domain.enums import Liquidity
from venues.fees import (CryptoOptionFees, FeeError, FeeSchedule, deribit_btc_options, okx_btc_options,
                         underlier_of)

ADDED, REMOVED = Liquidity.ADDED, Liquidity.REMOVED
CALL = "AAPL  261218C00200000"


@pytest.fixture(scope="module")
def default() -> FeeSchedule:
    return FeeSchedule.from_configs(load_settings().venues)


def venue(name: str, **values) -> VenueConfig:
    return VenueConfig(name=name, latency_ms=0.1, **values)


def test_default_config_has_six_option_venues_with_different_models(default):
    venues = load_settings().venues
    options = [v.name for v in venues if v.kind == "option"]
    assert len(options) >= 6
    models = {default.model(v).model for v in options}
    assert {"maker_taker", "taker_maker", "flat"} <= models
    assert default.model("XNAS").model == "per_share"


def test_maker_taker_cboe_bzx_by_account_type_and_class(default):
    # Cboe BZX Options standard rates (Dec 2024): penny Customer remove $0.45, our PY tier add
    # ($0.35); Professional remove $0.50, our PA tier add ($0.42); non-penny Customer remove $0.85.
    assert default.fee("BATO", 10, REMOVED, symbol=CALL) == pytest.approx(4.50)          # customer, the default
    assert default.fee("BATO", 10, ADDED, symbol=CALL) == pytest.approx(-3.50)
    assert default.fee("BATO", 10, REMOVED, symbol=CALL, capacity="professional") == pytest.approx(5.00)
    assert default.fee("BATO", 100, ADDED, symbol=CALL, capacity="professional") == pytest.approx(-42.00)
    assert default.fee("BATO", 10, REMOVED, symbol=CALL, capacity="broker_dealer") == pytest.approx(4.80)
    # the same table with AAPL outside the penny program: Customer non-penny remove $0.85, add ($1.05)
    raw = load_settings().venues
    bato = next(v for v in raw if v.name == "BATO")
    table = bato.fees.model_dump() | {"non_penny_underliers": ["AAPL"]}
    schedule = FeeSchedule.from_configs([venue("BATO", fees=table)])
    assert schedule.fee("BATO", 10, REMOVED, symbol=CALL, capacity="customer") == pytest.approx(8.50)
    assert schedule.fee("BATO", 10, ADDED, symbol=CALL, capacity="customer") == pytest.approx(-10.50)
    assert schedule.fee("BATO", 10, REMOVED, symbol="SPY   261218C00500000", capacity="customer") == pytest.approx(4.50)


def test_taker_maker_box_is_inverted(default):
    # BOX Options (non-PIP): penny Public Customer remove ($0.05) / add $0.25; non-customers
    # remove $0.10 / add $0.40; non-penny non-customer remove ($0.30) / add $0.80.
    assert default.fee("XBOX", 10, REMOVED, symbol=CALL, capacity="professional") == pytest.approx(1.00)
    assert default.fee("XBOX", 10, ADDED, symbol=CALL, capacity="professional") == pytest.approx(4.00)
    assert default.fee("XBOX", 20, REMOVED, symbol=CALL) == pytest.approx(-1.00)             # customer rebate
    assert default.fee("XBOX", 20, ADDED, symbol=CALL) == pytest.approx(5.00)
    assert default.taker("XBOX") < default.maker("XBOX")
    xbox = next(v for v in load_settings().venues if v.name == "XBOX")
    table = xbox.fees.model_dump() | {"non_penny_underliers": ["AAPL"]}
    schedule = FeeSchedule.from_configs([venue("XBOX", fees=table)])
    assert schedule.fee("XBOX", 10, REMOVED, symbol=CALL, capacity="broker_dealer") == pytest.approx(-3.00)
    assert schedule.fee("XBOX", 10, ADDED, symbol=CALL, capacity="broker_dealer") == pytest.approx(8.00)


def test_flat_cboe_options_classic(default):
    # Cboe Options (C1): Customer $0.00; Market-Maker $0.23; Professional $0.47 penny, add or remove.
    assert default.fee("XCBO", 10, REMOVED, symbol=CALL, capacity="professional") == pytest.approx(4.70)
    assert default.fee("XCBO", 10, ADDED, symbol=CALL, capacity="professional") == pytest.approx(4.70)
    assert default.fee("XCBO", 10, REMOVED, symbol=CALL) == 0.0                               # customer
    assert default.fee("XCBO", 10, ADDED, symbol=CALL, capacity="market_maker") == pytest.approx(2.30)
    flat = FeeSchedule.from_configs([venue("FLT", fees={"model": "flat", "rate": 0.30})])
    assert flat.fee("FLT", 7, ADDED, capacity="broker_dealer") == pytest.approx(2.10)


def test_crypto_deribit_percent_of_underlying_capped_at_premium():
    deribit = FeeSchedule([deribit_btc_options("DRBT")])
    # 0.03% of a $60,000 underlier is $18 per 1-BTC contract; 12.5% of a $3,000 premium is $375
    assert deribit.fee("DRBT", 2, REMOVED, price=3000.0, underlier_price=60_000.0) == pytest.approx(36.0)
    # a $100 option: 12.5% of the premium, $12.50, is less than $18
    assert deribit.fee("DRBT", 1, ADDED, price=100.0, underlier_price=60_000.0) == pytest.approx(12.5)
    # Deribit's own example, in BTC: an option at 0.0001 BTC pays 0.0000125 BTC, not 0.0003 BTC
    assert deribit.net_fee("DRBT", REMOVED, price=0.0001, underlier_price=1.0) == pytest.approx(0.0000125)
    with pytest.raises(FeeError, match="DRBT.*underlier_price"):
        deribit.fee("DRBT", 1, REMOVED, price=100.0)


def test_crypto_okx_maker_taker_and_seven_percent_cap():
    okx = FeeSchedule([okx_btc_options("OKX")])
    # OKX's FAQ: 100 contracts of 0.01 BTC at 0.05 BTC: taker min(0.03% x 0.01 x 100, 7% x 0.05 x
    # 0.01 x 100) = 0.0003 BTC; maker 0.0002 BTC (premium in BTC, so the underlier is 1 BTC)
    assert okx.fee("OKX", 100, REMOVED, price=0.05, underlier_price=1.0) == pytest.approx(0.0003)
    assert okx.fee("OKX", 100, ADDED, price=0.05, underlier_price=1.0) == pytest.approx(0.0002)
    # deep out of the money at 0.001 BTC: 7% x 0.001 x 0.01 x 100 = 0.00007 BTC
    assert okx.fee("OKX", 100, REMOVED, price=0.001, underlier_price=1.0) == pytest.approx(0.00007)
    rebate = FeeSchedule([CryptoOptionFees("RB", -0.02, 0.06, 12.5)])
    assert rebate.net_fee("RB", ADDED, price=100.0, underlier_price=60_000.0) == pytest.approx(-12.0)


def test_crypto_venue_from_config():
    schedule = FeeSchedule.from_configs([venue("DRBT", fees={
        "model": "crypto", "maker_pct_of_underlying": 0.03, "taker_pct_of_underlying": 0.03,
        "cap_pct_of_premium": 12.5})])
    assert schedule.fee("DRBT", 1, REMOVED, price=3000.0, underlier_price=60_000.0) == pytest.approx(18.0)
    assert schedule.taker("DRBT") == 0.0          # no per-unit $ without prices


def test_per_share_nasdaq(default):
    # Nasdaq Rule 7018 magnitudes: $0.0030 to remove, ($0.0020) to add displayed liquidity
    assert default.fee("XNAS", 300, REMOVED, symbol="AAPL") == pytest.approx(0.90)
    assert default.fee("XNAS", 300, ADDED, symbol="AAPL", capacity="customer") == pytest.approx(-0.60)


def test_shorthand_keys_still_load():
    mt = venue("OPT", maker_fee=-0.25, taker_fee=0.50)
    inverted = venue("INV", maker_fee=0.20, taker_fee=-0.10)
    equity = venue("EQ", kind="equity", maker_fee=-0.002, taker_fee=0.003)
    schedule = FeeSchedule.from_configs([mt, inverted, equity])
    assert (mt.fees.model, inverted.fees.model, equity.fees.model) == ("maker_taker", "taker_maker", "per_share")
    assert schedule.fee("OPT", 4, REMOVED, capacity="customer") == pytest.approx(2.00)
    assert schedule.fee("OPT", 4, ADDED, symbol=CALL, price=5.0) == pytest.approx(-1.00)
    assert schedule.fee("INV", 10, REMOVED) == pytest.approx(-1.00)
    assert (schedule.taker("EQ"), schedule.maker("EQ")) == (0.003, -0.002)


def test_ranking_figures_are_the_default_account_penny_rates(default):
    assert default.taker("XISX") == pytest.approx(0.37) and default.maker("BATO") == pytest.approx(-0.35)
    assert min(default.venues, key=default.maker) == "BATO"          # the biggest maker rebate
    assert min(default.venues, key=default.taker) == "XBOX"          # inverted: paid to take
    assert default.net_fee("ARCO", REMOVED, symbol=CALL) == pytest.approx(0.49)
    assert default.net_fee("ARCO", REMOVED, symbol=CALL, capacity="professional") == pytest.approx(0.50)


def test_unknown_capacity_and_venue(default):
    with pytest.raises(FeeError, match="capacity 'retail'"):
        default.fee("BATO", 1, REMOVED, capacity="retail")
    with pytest.raises(FeeError, match="NOPE"):
        default.fee("NOPE", 1, REMOVED)


def test_underlier_of_option_and_equity_symbols():
    assert underlier_of(CALL) == "AAPL"
    assert underlier_of("GOOGL1261218C00200000") == "GOOGL1"
    assert underlier_of("SPY") == "SPY"


def _write(tmp_path, text: str):
    path = tmp_path / "venues.toml"
    path.write_text(text)
    return path


def test_bad_model_name_names_the_key(tmp_path):
    path = _write(tmp_path, '[venues.XBAD]\nlatency_ms = 0.1\n[venues.XBAD.fees]\nmodel = "maker-taker"\n')
    with pytest.raises(VenueConfigError, match=r"venues\.XBAD\.fees\.model:.*'maker-taker'"):
        load_venues(path)


def test_negative_cap_names_the_key(tmp_path):
    path = _write(tmp_path, '[venues.DRBT]\nlatency_ms = 0.1\n[venues.DRBT.fees]\nmodel = "crypto"\n'
                            'maker_pct_of_underlying = 0.03\ntaker_pct_of_underlying = 0.03\ncap_pct_of_premium = -12.5\n')
    with pytest.raises(VenueConfigError, match=r"venues\.DRBT\.fees\.cap_pct_of_premium: Input should be greater than 0"):
        load_venues(path)


def test_missing_account_type_and_wrong_signs_name_the_key(tmp_path):
    rates = "{ penny = { maker = -0.40, taker = 0.50 } }"
    path = _write(tmp_path, f'[venues.XMT]\nlatency_ms = 0.1\n[venues.XMT.fees]\nmodel = "maker_taker"\n'
                            f'customer = {rates}\nprofessional = {rates}\nmarket_maker = {rates}\n')
    with pytest.raises(VenueConfigError, match=r"venues\.XMT\.fees\.broker_dealer: Field required"):
        load_venues(path)
    wrong = "{ penny = { maker = 0.50, taker = -0.40 } }"
    path = _write(tmp_path, f'[venues.XMT]\nlatency_ms = 0.1\n[venues.XMT.fees]\nmodel = "maker_taker"\n'
                            f'customer = {rates}\nprofessional = {wrong}\nmarket_maker = {rates}\nbroker_dealer = {rates}\n')
    with pytest.raises(VenueConfigError, match=r"venues\.XMT\.fees: professional\.penny: model 'maker_taker' needs maker <= taker"):
        load_venues(path)


def test_fees_table_and_shorthand_conflicts(tmp_path):
    path = _write(tmp_path, '[venues.XEQ]\nkind = "equity"\nlatency_ms = 0.1\n[venues.XEQ.fees]\nmodel = "flat"\nrate = 0.1\n')
    with pytest.raises(VenueConfigError, match=r"venues\.XEQ: .*per_share"):
        load_venues(path)
    path = _write(tmp_path, '[venues.XB]\nlatency_ms = 0.1\nmaker_fee = 0.0\ntaker_fee = 0.4\n'
                            '[venues.XB.fees]\nmodel = "flat"\nrate = 0.1\n')
    with pytest.raises(VenueConfigError, match=r"venues\.XB: .*not both"):
        load_venues(path)
    path = _write(tmp_path, '[venues.XN]\nlatency_ms = 0.1\ntaker_fee = 0.4\n')
    with pytest.raises(VenueConfigError, match=r"venues\.XN: .*both maker_fee and taker_fee"):
        load_venues(path)
