"""The simulated participants (venues/sim/participants.py), their orchestration
(venues/sim/background.py) and their calibration (venues/sim/calibration.py)."""
from __future__ import annotations

import math
import tomllib
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from router.clock import NANOS_PER_SECOND, SimClock, datetime_to_ns
from router.config import FlowConfig, MarketConfig, ParticipantsConfig, load_router_config, load_venues
from router.domain.enums import Side
from router.market.paths import JumpDiffusion, UnderlierPaths
from router.market.securities import SecurityMaster
from venues.fees import FeeSchedule
from venues.sim.background import STOCK_TAKER_SIZE
from venues.sim.calibration import calibrate_binance, calibrate_lobster
from venues.sim.market import build_sim_market
from venues.sim.participants import (InformedTaker, LognormalSize, LookaheadPaths, OrderIds, UniformSize,
                                     informed_side)
from venues.sim.venue import SimVenue

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "router.toml"
DATA = ROOT.parent / "shared" / "data"
LOBSTER = DATA / "LOBSTER_AMZN_2012-06-21_34200000_57600000_message_1.csv"
BINANCE = DATA / "binance_usdm_btcusdt_20240808.gz"
START = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)


def settings() -> tuple[MarketConfig, list]:
    router = load_router_config(CONFIG)
    return router.market, load_venues(CONFIG.parent / router.venues)


def market_with(**informed) -> MarketConfig:
    market, _ = settings()
    return market.model_copy(update={"informed": market.informed.model_copy(update=informed)})


def run_market(market: MarketConfig, seconds: float, venues=("XISX", "XNAS"), probe=None):
    """The simulated market on some venues for ``seconds``; ``probe(clock, flow)`` is set up before it starts."""
    _, venue_configs = settings()
    clock = SimClock.at(START)
    securities = SecurityMaster.from_chains(market.underliers, START.date())
    sim = build_sim_market(clock, securities, market, [v for v in venue_configs if v.name in venues],
                           lambda report: None, lambda event: None)
    if probe is not None:
        probe(clock, sim.background)
    sim.background.start()
    clock.advance(int(seconds * NANOS_PER_SECOND))
    sim.background.stop()
    return clock, sim


def books(sim) -> list:
    return [(name, symbol, venue.snapshot(symbol)) for name, venue in sim.venues.items()
            for symbol in sorted(venue._books)]


# ---- determinism and the random streams

# Without our orders inside the spread an informed taker seldom finds an edge against the market
# makers' quotes alone; these tests look often so that they see enough informed orders.
BUSY = 20.0


def test_same_seed_same_participants_and_another_seed_differs():
    market = market_with(per_second=BUSY, horizons_s=[30.0])
    _, a = run_market(market, 45)
    _, b = run_market(market, 45)
    _, c = run_market(market.model_copy(update={"seed": market.seed + 1}), 45)
    assert books(a) == books(b)
    assert list(a.background.informed[0].recent) == list(b.background.informed[0].recent)
    assert a.background.informed[0].orders > 0
    assert books(a) != books(c)


def test_informed_takers_leave_the_other_participants_draws_alone():
    _, on = run_market(market_with(per_second=BUSY), 60)
    _, off = run_market(market_with(per_second=0.0), 60)
    assert sum(t.orders for t in on.background.informed) > 0 and not off.background.informed
    assert on.background.option_takers.arrivals == off.background.option_takers.arrivals
    assert on.background.stock_takers.arrivals == off.background.stock_takers.arrivals
    assert on.background.spot == off.background.spot          # and the path is the same


def test_looking_ahead_does_not_change_the_path():
    def paths():
        return UnderlierPaths(["A", "B"], [100.0, 50.0], [JumpDiffusion(0.3, 5.0, -0.01, 0.02)] * 2, seed=3)
    start = datetime_to_ns(START)
    plain, ahead = LookaheadPaths(paths(), 0.5, 0, start), LookaheadPaths(paths(), 0.5, 4, start)
    seen = []
    for _ in range(20):
        seen.append(ahead.ahead(4).copy())
        assert np.array_equal(plain.step(), ahead.step())
    later = [ahead.current.copy()]
    for _ in range(3):
        later.append(ahead.step().copy())
    assert np.array_equal(seen[-1], later[3])                 # what it saw 4 steps ahead came true
    with pytest.raises(ValueError):
        ahead.ahead(5)


# ---- the informed taker

def one_option_venue(value: float, fee_per_contract: float = 0.50):
    market, _ = settings()
    clock = SimClock.at(START)
    option = SecurityMaster.from_chains(market.underliers, START.date()).options()[0]
    venue = SimVenue("X", clock, FeeSchedule([]), 0, 0, lambda r: None, lambda e: None, symbols={option.symbol})
    venue.place("mm", "b", option.symbol, Side.BUY, 10, 1.00)
    venue.place("mm", "a", option.symbol, Side.SELL, 10, 1.10)
    taker = InformedTaker([(venue, 0)], [option], 1.0, 10.0, 0.0, UniformSize(3, 3), lambda: np.array([value]),
                          lambda venue, symbol, price: fee_per_contract, OrderIds(), clock)
    taker.act(np.random.default_rng(0))
    book = venue.book(option.symbol)
    return taker, book.best_bid(), book.best_ask()


def test_informed_taker_buys_ahead_of_a_rise_and_sells_ahead_of_a_fall():
    taker, bid, ask = one_option_venue(1.30)
    assert taker.recent[-1].side is Side.BUY and taker.recent[-1].price == 1.10 and ask == (110, 7)
    taker, bid, ask = one_option_venue(0.80)
    assert taker.recent[-1].side is Side.SELL and taker.recent[-1].price == 1.00 and bid == (100, 7)


def test_informed_taker_needs_an_edge_beyond_its_fee():
    # the fee is $0.50 a contract, $0.005 a share on a 100 multiplier
    for value in (1.05, 1.104, 0.996):
        taker, bid, ask = one_option_venue(value)
        assert taker.orders == 0 and bid == (100, 10) and ask == (110, 10)
    taker, _, ask = one_option_venue(1.106)
    assert taker.orders == 1 and ask == (110, 7)
    assert informed_side(1.00, 1.10, 1.20, 0.0) is Side.BUY
    assert informed_side(1.00, 1.10, 0.90, 0.0) is Side.SELL
    assert informed_side(1.00, None, 0.90, 0.0) is Side.SELL and informed_side(None, None, 0.9, 0.0) is None


def test_informed_orders_are_on_the_side_of_the_value_the_path_later_gives():
    market = market_with(per_second=BUSY, horizons_s=[30.0])
    step_ns = int(market.path_step_ms * 1_000_000)
    fair_at_step: dict[int, np.ndarray] = {}

    def probe(clock, flow):
        start = clock.now_ns()

        def record(step: int) -> None:
            fair_at_step[step] = flow._fair.copy()
            clock.call_later(step_ns, lambda: record(step + 1))
        clock.call_later(1, lambda: record(0))                 # just after each step has repriced
        probe.start = start
    clock, sim = run_market(market, 150, probe=probe)
    flow = sim.background
    symbols = [o.symbol for o in flow._options]
    steps_ahead = round(30.0 / (market.path_step_ms / 1000))
    checked = 0
    for order in flow.informed[0].recent:
        step = (order.at_ns - probe.start) // step_ns
        if step + steps_ahead not in fair_at_step:
            continue
        later = fair_at_step[step + steps_ahead][symbols.index(order.symbol)]
        assert order.value_ahead == pytest.approx(later, abs=1e-12)        # it saw the path's future
        assert (later > order.price) if order.side.is_buy else (later < order.price)
        checked += 1
    assert checked >= 50


# ---- uninformed rates and sizes

def test_uninformed_arrivals_match_their_rates():
    market, _ = settings()
    seconds = 300
    _, sim = run_market(market, seconds)
    flow = sim.background
    for taker, per_book in ((flow.option_takers, market.takers_per_second),
                            (flow.stock_takers, market.participants.stock.marketable_per_second)):
        expected = per_book * len(taker.books) * seconds
        assert abs(taker.arrivals - expected) < 4 * math.sqrt(expected), (taker.arrivals, expected)
    expected = market.participants.stock.cancels_per_second * len(flow.stock_cancels.books) * seconds
    assert abs(flow.stock_cancels.arrivals - expected) < 4 * math.sqrt(expected)
    assert flow.stock_cancels.pulled > 0.5 * flow.stock_cancels.arrivals


def test_lognormal_sizes_follow_their_fit():
    rng = np.random.default_rng(11)
    sizes = LognormalSize(5.0, 0.5)
    draws = np.array([sizes.draw(rng) for _ in range(20_000)])
    logs = np.log(draws)
    assert abs(logs.mean() - 5.0) < 4 * 0.5 / math.sqrt(len(draws))
    assert abs(logs.std() - 0.5) < 0.02
    lots = LognormalSize(math.log(100), 1.4, lot=100, lots_max=20)
    draws = [lots.draw(rng) for _ in range(5_000)]
    assert all(d % 100 == 0 and 100 <= d <= 2000 for d in draws) and max(draws) == 2000
    assert UniformSize(1, 5, 100).draw(rng) in (100, 200, 300, 400, 500)


# ---- calibration

FRAGMENT = """Time,Type,OrderId,Size,Price,Direction
34200.000000000,1,1,100,1000000,1
34200.500000000,1,2,50,1001000,-1
34201.000000000,4,2,30,1001000,-1
34201.000000000,4,3,20,1001000,-1
34202.000000000,2,1,40,1000000,1
34203.000000000,4,1,10,1000000,1
34204.000000000,3,1,50,1000000,1
34205.000000000,5,0,7,1000500,1
34206.000000000,1,5,5,1001000,-1
34207.000000000,4,5,5,1001000,-1
34210.000000000,1,4,10,1000000,1
"""


def test_calibration_on_a_hand_written_lobster_fragment(tmp_path):
    path = tmp_path / "fragment_message_1.csv"
    path.write_text(FRAGMENT)
    fit = calibrate_lobster(path)
    assert fit.duration_s == 10.0
    # marketable orders: the two rows at 34201 (one order sweeping two resting ones, 50 shares),
    # 10 at 34203, 7 hidden at 34205, 5 at 34207
    assert fit.marketable_orders == 4 and fit.marketable_per_second == 0.4
    sizes = np.log([50, 10, 7, 5])
    assert fit.size_log_mean == pytest.approx(sizes.mean()) and fit.size_log_std == pytest.approx(sizes.std())
    assert fit.size_median == 8.5
    assert fit.submits_per_second == 0.4                      # orders 1, 2, 5, 4
    assert fit.cancels_per_second == 0.2                      # the partial cancel and the delete
    # exposure: order 1 for 4 s (deleted), order 2 0.5 s (censored at its last event), order 5
    # 1 s (executed in full), order 4 nothing: one delete in 5.5 order-seconds
    assert fit.cancel_hazard_per_second == pytest.approx(1 / 5.5)
    assert fit.cancel_fraction == 0.5                         # of orders 1 and 5, whose ends are seen


def binance_trade(receive_ns: int, trade_ms: int, trade_id: int, qty: str, buyer_is_maker: bool) -> str:
    return (f'{receive_ns} {{"stream":"btcusdt@trade","data":{{"e":"trade","E":{trade_ms},"T":{trade_ms},'
            f'"s":"BTCUSDT","t":{trade_id},"p":"61800.30","q":"{qty}","X":"MARKET",'
            f'"m":{"true" if buyer_is_maker else "false"}}}}}')


def test_calibration_on_a_hand_written_binance_fragment(tmp_path):
    path = tmp_path / "capture.txt"
    # a buy sweeping two makers at one trade time is one order (0.010 BTC); a sell at the same
    # time is another; then a buy; 4 s from the first trade to the last
    path.write_text("\n".join([binance_trade(1_000_000_000, 100, 1, "0.004", False),
                               binance_trade(1_000_000_100, 100, 2, "0.006", False),
                               binance_trade(1_000_000_200, 100, 3, "0.500", True),
                               binance_trade(5_000_000_000, 4100, 4, "0.020", False)]) + "\n")
    fit = calibrate_binance(path)
    assert fit.duration_s == 4.0 and fit.marketable_orders == 3 and fit.marketable_per_second == 0.75
    sizes = np.log([0.010, 0.500, 0.020])
    assert fit.size_log_mean == pytest.approx(sizes.mean()) and fit.size_log_std == pytest.approx(sizes.std())
    assert fit.size_median == pytest.approx(0.020)
    assert fit.cancels_per_second is None and "cancels_per_second" not in fit.as_table()   # L2: not observable


@pytest.mark.skipif(not (LOBSTER.exists() and BINANCE.exists()), reason=f"the recorded data is not in {DATA}")
def test_checked_in_participants_are_the_fit_of_the_recorded_data():
    checked_in = tomllib.loads((ROOT / "config" / "participants.toml").read_text())
    stock, perpetual = calibrate_lobster(LOBSTER), calibrate_binance(BINANCE)
    assert checked_in == {"stock": stock.as_table(), "perpetual": perpetual.as_table()}
    assert stock.marketable_orders > 5000 and 0.1 < stock.marketable_per_second < 1.0
    assert stock.size_median == 100.0                         # AMZN's round lot is the typical marketable order
    assert perpetual.marketable_orders > 1000 and perpetual.marketable_per_second > stock.marketable_per_second


def test_the_market_uses_the_checked_in_participants():
    market, _ = settings()
    checked_in = tomllib.loads((ROOT / "config" / "participants.toml").read_text())
    assert market.participants == ParticipantsConfig(**checked_in)
    _, sim = run_market(market, 1)
    stock = sim.background.stock_takers
    assert stock.per_book_rate == checked_in["stock"]["marketable_per_second"]
    assert stock.sizes == LognormalSize(checked_in["stock"]["size_log_mean"], checked_in["stock"]["size_log_std"],
                                        100, 20)
    plain = market.model_copy(update={"participants": ParticipantsConfig()})
    _, sim = run_market(plain, 1)
    assert sim.background.stock_takers.sizes == STOCK_TAKER_SIZE
    assert sim.background.stock_takers.per_book_rate == market.takers_per_second
    assert isinstance(market.participants.stock, FlowConfig)
