"""The execution-quality backtest (router/backtest, bench/execution_quality.py) and its naive
baseline (algos/naive.py), on the simulated clock."""
from __future__ import annotations

import re
from datetime import date

import pytest

from algos.naive import NaiveParams
from algos.registry import choose_algo, select_algo
from router.app import load_settings
from router.backtest.flow import CRYPTO, US, FlowSpec, make_flow
from router.backtest.metrics import quality
from router.backtest.run import Backtest, MarketSetup, ParentResult, market_settings
from router.backtest.suite import BacktestConfig, run_backtest
from router.config import AlgoSettings, NaiveSettings
from router.domain.commands import AlgoParams, ClientRequest, InstrumentSpec, NewOrder
from router.domain.enums import ChildRole, ExecType, Liquidity, OrdType, Side, TimeInForce
from router.market.securities import SecurityMaster
from tests.harness import CALL, SESSION, Harness

SETTINGS = load_settings()


# ------------------------------------------------------------------------------------ the flow

def _options():
    return SecurityMaster.from_chains(SETTINGS.router.market.underliers, date(2026, 11, 20)).options()


SPOTS = {"AAPL": 200.0, "SPY": 600.0, "BTCUSDT": 90000.0}


def test_the_flow_is_the_same_for_a_seed_and_differs_for_another():
    spec = FlowSpec(parents=200, window_s=300.0, displayed=30.0)
    first = make_flow(US, _options(), SPOTS, spec, seed=3)
    assert first == make_flow(US, _options(), SPOTS, spec, seed=3)
    assert first != make_flow(US, _options(), SPOTS, spec, seed=4)


def test_the_flow_mixes_sides_moneyness_expiries_and_sizes_up_to_a_few_levels():
    options = {o.symbol: o for o in _options()}
    flow = make_flow(US, list(options.values()), SPOTS, FlowSpec(parents=400, window_s=600.0, displayed=30.0), 1)
    assert {p.side for p in flow} == {Side.BUY, Side.SELL}
    assert {p.moneyness for p in flow} == {"ATM", "OTM"}
    assert len({options[p.symbol].expiry for p in flow}) >= 2
    assert min(p.qty for p in flow) == 1 and 30 < max(p.qty for p in flow) <= 91
    assert [p.arrival_s for p in flow] == sorted(p.arrival_s for p in flow)
    assert all(0 <= p.arrival_s < 600.0 for p in flow)
    for p in flow:            # OTM: calls above the ATM strike, puts below
        option = options[p.symbol]
        if p.moneyness == "OTM":
            assert (option.strike > SPOTS[option.underlying]) == option.is_call


def test_the_crypto_flow_trades_only_btc_options():
    flow = make_flow(CRYPTO, _options(), SPOTS, FlowSpec(parents=50, window_s=100.0, displayed=10.0), 1)
    assert flow and all(p.symbol.startswith("BTC-") for p in flow)


def test_bad_flow_terms_are_errors_naming_the_field():
    with pytest.raises(ValueError, match="market"):
        make_flow("eu", _options(), SPOTS, FlowSpec(parents=1, window_s=1.0), 1)
    with pytest.raises(ValueError, match="window_s"):
        make_flow(US, _options(), SPOTS, FlowSpec(parents=1, window_s=0.0), 1)


# ------------------------------------------------------------------------------------ the naive algo

def test_no_fix_tag_selects_naive_but_its_params_do():
    assert choose_algo(AlgoParams()) == "sweep"
    assert choose_algo(NaiveParams()) == "sweep"          # choose_algo reads tags only
    assert select_algo(NaiveParams()) == "naive"
    assert select_algo(AlgoParams()) == "sweep"


def _naive_harness(cross_after_s: float = 5.0) -> Harness:
    h = Harness(algo_settings=AlgoSettings(naive=NaiveSettings(cross_after_s=cross_after_s)))
    h.quote("XNAS", "AAPL", bids=[(199.99, 50_000)], asks=[(200.01, 50_000)], owner="smm")
    h.quote("XCBO", CALL, bids=[(5.00, 10)], asks=[(5.20, 10)])
    return h


def _send_naive(h: Harness, side: Side = Side.BUY, qty: int = 5) -> None:
    cmd = NewOrder(cl_ord_id="N1", instrument=InstrumentSpec(symbol=CALL), side=side, qty=qty, ord_type=OrdType.LIMIT,
                   price=6.00 if side.is_buy else 4.00, time_in_force=TimeInForce.DAY, transact_time=h.now(),
                   algo=NaiveParams())
    h.engine.dispatch(ClientRequest(SESSION, "CLIENT1", "D", None, cmd))
    h.settle()


def _working(h: Harness):
    return [c for c in h.children("P1") if c.role is ChildRole.WORK and c.is_open]


def test_naive_joins_the_bid_to_buy_and_the_offer_to_sell():
    h = _naive_harness()
    _send_naive(h)
    assert h.engine.orders.parents["P1"].algo_name == "naive"
    [child] = _working(h)
    assert child.post_only and child.price == pytest.approx(5.00) and child.qty == 5
    h2 = _naive_harness()
    _send_naive(h2, Side.SELL)
    [child] = _working(h2)
    assert child.price == pytest.approx(5.20)


def test_naive_reprices_to_the_touch_each_time_it_moves():
    h = _naive_harness()
    _send_naive(h)
    h.requote("XCBO", CALL, bids=[(5.05, 10)], asks=[(5.20, 10)])
    h.settle()
    [child] = _working(h)
    assert child.price == pytest.approx(5.05)
    h.requote("XCBO", CALL, bids=[(4.95, 10)], asks=[(5.20, 10)])     # the touch falls away: it follows
    h.settle()
    [child] = _working(h)
    assert child.price == pytest.approx(4.95)


def test_naive_crosses_the_spread_after_its_wait_and_not_before():
    h = _naive_harness(cross_after_s=5.0)
    _send_naive(h)
    h.settle(4.5)
    assert not [r for r in h.reports("N1") if r.exec_type is ExecType.TRADE]
    h.settle(1.0)
    trades = [r for r in h.reports("N1") if r.exec_type is ExecType.TRADE]
    assert sum(r.last_qty for r in trades) == 5
    assert all(r.last_px == pytest.approx(5.20) and r.liquidity is Liquidity.REMOVED for r in trades)
    assert h.engine.orders.parents["P1"].status.is_done


# ------------------------------------------------------------------------------------ runs and metrics

US_ONLY = market_settings(SETTINGS, US, MarketSetup())


def test_market_settings_keep_one_market_and_scale_latency_and_informed_takers():
    base = {v.name: v for v in SETTINGS.venues}
    crypto = market_settings(SETTINGS, CRYPTO, MarketSetup(informed_per_second=3.0, latency_x=10.0, replay=False))
    assert {u.market for u in crypto.router.market.underliers} == {"crypto"}
    assert {v.market for v in crypto.venues} == {"crypto"} and all(v.replay is None for v in crypto.venues)
    assert crypto.router.market.informed.per_second == 3.0
    for venue in crypto.venues:
        assert venue.latency_ms == pytest.approx(10 * base[venue.name].latency_ms)
        assert venue.market_data_latency_ms == pytest.approx(10 * base[venue.name].market_data_latency_ms)
    assert {v.market for v in US_ONLY.venues} == {"us_equity_options"}
    assert US_ONLY.router.market.informed == SETTINGS.router.market.informed


def test_a_sweep_contender_on_a_tiny_flow_fills_everything_at_a_cost_of_about_the_half_spread():
    backtest = Backtest(US_ONLY, US, seed=7)
    flow = backtest.flow_for(FlowSpec(parents=3, window_s=3.0, duration_s=10, displayed=5.0), seed=2)
    results = backtest.run("sweep", flow)
    assert [r.spec for r in results] == flow
    assert all(r.counted and r.filled == r.spec.qty for r in results)
    q = quality("sweep", US, results)
    assert q.fill_rate.value == 1.0 and q.passive_share == 0.0
    assert 0.5 < q.half_spread_frac.value < 3.0          # a taker pays about the half-spread, plus fees
    assert q.cost.low <= q.cost.value <= q.cost.high


def test_unfilled_contracts_are_charged_crossing_the_spread_at_the_end():
    from router.backtest.flow import ParentSpec
    spec = ParentSpec(0, US, CALL, Side.BUY, 4, 0.0, 10, "ATM")
    result = ParentResult(spec, arrival_mid=5.10, half_spread=10.0, dollars_per_point=100.0)
    result.filled, result.fill_cost = 1, 5.0
    result.end_charge = 3 * ((5.20 - 5.10) * 100.0 + 0.45)
    q = quality("naive", US, [result])
    assert q.cost.value == pytest.approx((5.0 + 3 * 10.45) / 4)
    assert q.fill_rate.value == pytest.approx(0.25)
    assert q.half_spread_frac.value == pytest.approx(q.cost.value / 10.0)


TINY = BacktestConfig(parents=4, seed=5, markets=(US,), contenders=("naive", "alpha_making"), duration_s=8,
                      naive_wait_s=4.0)


@pytest.fixture(scope="module")
def tiny_outcome():
    return run_backtest(SETTINGS, TINY)


def test_two_runs_give_the_same_table_and_line(tiny_outcome):
    from router.backtest.report import quality_table
    second = run_backtest(SETTINGS, TINY)
    assert quality_table(tiny_outcome.rows).rows == quality_table(second.rows).rows
    assert tiny_outcome.verdict.line() == second.verdict.line()
    other = run_backtest(SETTINGS, BacktestConfig(**{**TINY.__dict__, "seed": 6}))
    assert quality_table(other.rows).rows != quality_table(tiny_outcome.rows).rows     # it depends on the seed


def test_the_report_is_a_page_with_the_table_and_its_plots(tiny_outcome, tmp_path):
    from router.backtest.report import write_report
    page = write_report(tiny_outcome, tmp_path).read_text()
    assert "<table>" in page and "alpha_making" in page and "naive" in page
    for name in ("cost_us.png", "markouts_us.png"):
        assert f'src="{name}"' in page and (tmp_path / name).stat().st_size > 1000


def test_the_bench_s_last_line_has_every_key(capsys):
    import bench.execution_quality as bench
    line = bench.main(["--parents", "2", "--market", "us", "--seed", "3", "--duration", "6",
                       "--contenders", "naive,sweep"])
    keys = dict(pair.split("=") for pair in line.split())
    assert list(keys) == ["naive_cost_per_contract", "best_cost_per_contract", "best_algo", "saving_vs_naive",
                          "best_fill_rate", "best_cost_half_spread_frac"]
    assert keys["best_algo"] == "sweep"
    assert all(re.fullmatch(r"-?\d+\.\d{4}", v) for k, v in keys.items() if k != "best_algo")
    assert capsys.readouterr().out.strip().splitlines()[-1] == line


def test_the_sensitivity_table_has_a_row_per_informed_rate_and_latency():
    from router.backtest.sensitivity import sensitivity
    table = sensitivity(SETTINGS, TINY, informed=(0.0, 2.0), latency=(1.0,))
    assert [row[:2] for row in table.rows] == [("0", "1x"), ("2", "1x")]
    assert table.headers[3:] == ("naive $/ct (fill)", "alpha_making $/ct (fill)")
    assert all(re.fullmatch(r"-?\d+\.\d\d \(\d+%\)", cell) for row in table.rows for cell in row[3:])


def test_crypto_arrivals_stay_inside_the_replayed_capture():
    config = BacktestConfig(parents=600, markets=(US, CRYPTO))
    assert config.flow_spec(US).window_s == 600.0
    assert config.flow_spec(CRYPTO).window_s == 200.0 and config.flow_spec(CRYPTO).parents == 300


def test_contenders_differ_only_in_their_tags_and_naive_is_house_params():
    from router.backtest.contenders import CONTENDERS, order_terms
    from router.domain.enums import LimitType
    options = {o.symbol: o for o in _options()}
    call, btc = options[CALL], next(o for o in options.values() if o.coin_quoted)
    terms = {c: order_terms(c, call, Side.BUY, 5.00, 5.20, 30) for c in CONTENDERS}
    assert isinstance(terms["naive"][1], NaiveParams) and select_algo(terms["naive"][1]) == "naive"
    assert {select_algo(params) for c, (_, params) in terms.items() if c != "naive"} == set(CONTENDERS) - {"naive"}
    assert all(params.order_duration_s == 30 for _, params in terms.values())
    assert terms["sweep"][0] == pytest.approx(6.20)     # protective: ask + 20% of the mid (6.22), on the 0.05 ladder
    assert terms["volatility"][0] == pytest.approx(5.10) and terms["volatility"][1].limit_type is LimitType.PRC_DE
    assert order_terms("volatility", btc, Side.SELL, 0.028, 0.030, 30)[1].limit_type is LimitType.PRC
    with pytest.raises(ValueError, match="unknown contender"):
        order_terms("twap", call, Side.BUY, 5.00, 5.20, 30)
