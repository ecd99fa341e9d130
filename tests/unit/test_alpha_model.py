"""The alpha-probability model (router/models/alpha.py, alpha_features.py) on hand-made books."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from router.domain.enums import Side
from router.models.alpha import (AlphaModel, AlphaType, ProbabilityWindow, Variant, default_path,
                                 effective_probability_limit, features, fit_alpha, fit_monotone, load_alpha_model,
                                 markout_labels, price_points, variant_of, worst_price_meeting)
from router.models.alpha_features import NS, AlphaState, MarketTape, RecentMarket, binance_tape, lobster_tape, state_at
from router.models.cli import models
from router.models.fill_probability import FillProbability
from router.models.scoring import Logistic

S = NS


def hand_tape() -> MarketTape:
    """Books at 0 s (10.00/10.04, 300 x 100), 5 s (10.02/10.06, 100 x 100), 20 s (10.00/10.02,
    200 x 200); trades: a buy of 50 at 3 s, a sell of 30 at 12 s, a buy of 20 at 25 s."""
    return MarketTape(np.array([0, 5 * S, 20 * S]), np.array([10.00, 10.02, 10.00]), np.array([10.04, 10.06, 10.02]),
                      np.array([300.0, 100, 200]), np.array([100.0, 100, 200]), np.array([3 * S, 12 * S, 25 * S]),
                      np.array([10.04, 10.02, 10.02]), np.array([50.0, -30, 20]), 0.01, "hand")


def edge_only_model(horizon_s: float = 1.0, weight: float = 1.0) -> AlphaModel:
    """P = 1 / (1 + exp(-edge / (sigma_1s x sqrt(horizon)))): a model whose answers are known."""
    fit = Logistic(0.0, (weight,), (0.0,), (1.0,))
    return AlphaModel("test", horizon_s, ("edge_sigma",), fit, fit, "hand")


def one_state(bid=10.00, ask=10.04, bid_size=100.0, ask_size=100.0, sigma_1s=0.02, **extra) -> AlphaState:
    values = dict(bid=bid, ask=ask, bid_size=bid_size, ask_size=ask_size, spread_ticks=round((ask - bid) / 0.01),
                  imbalance=0.0, flow=0.0, ret=0.0, since_trade_s=1.0, sigma_1s=sigma_1s, bid_hit_30s=0.0,
                  ask_lifted_30s=0.0, tick=0.01)
    values.update(extra)
    return AlphaState(**{k: np.array([float(v)]) for k, v in values.items()})


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


# ---- features and labels ------------------------------------------------------------------

def test_state_features_of_a_hand_made_tape_are_exact():
    state = state_at(hand_tape(), [24 * S, 30 * S])
    assert len(state) == 2
    assert list(state.spread_ticks) == [2, 2] and list(state.imbalance) == [0, 0]
    # at 24 s: trades at 3 s (+50) and 12 s (-30) in the last 30 s; at 30 s also +20 at 25 s
    assert state.flow == pytest.approx([20 / 80, 40 / 100])
    assert list(state.ask_lifted_30s) == [50, 70] and list(state.bid_hit_30s) == [30, 30]
    assert state.since_trade_s == pytest.approx([12.0, 5.0])
    # 1 s mid changes since the tape began: +0.02 (4 -> 5 s) and -0.03 (19 -> 20 s), over 24 and 30 changes
    assert state.sigma_1s == pytest.approx([math.sqrt(0.0013 / 24), math.sqrt(0.0013 / 30)])
    # the mid 10 s back: 10.04 at 14 s, 10.01 at 20 s
    assert state.ret[0] == pytest.approx(-0.03 / (math.sqrt(0.0013 / 24) * math.sqrt(10)))
    assert state.ret[1] == pytest.approx(0.0)


def test_a_state_before_the_first_book_is_refused():
    tape = hand_tape()
    with pytest.raises(ValueError, match="hand: a state asked for before its first book"):
        state_at(tape, [-1])


def test_markout_labels_are_exact():
    tape = hand_tape()
    prices = np.array([[10.00, 10.02, 10.04]])
    # 10 s on, the mid is 10.04: buying at 10.04 breaks even, which is not a positive markout
    assert markout_labels(tape, [0], 1, prices, 0.0, 10.0).tolist() == [[True, True, False]]
    assert markout_labels(tape, [0], 1, prices, 0.05, 10.0).tolist() == [[False, False, False]]
    assert markout_labels(tape, [0], -1, prices, 0.0, 10.0).tolist() == [[False, False, False]]
    # 25 s on, the mid is 10.01
    assert markout_labels(tape, [0], Side.SELL, prices, 0.005, 25.0).tolist() == [[False, True, True]]
    assert markout_labels(tape, [0], -1, prices, 0.01, 25.0).tolist() == [[False, False, True]]


def test_features_sign_the_directional_ones_by_side():
    state = one_state(imbalance=0.5, flow=-0.25, ret=1.5, sigma_1s=0.01)
    buy = features(state, 1, [[10.00]], 0.0, 4.0)[0, 0]
    sell = features(state, -1, [[10.04]], 0.0, 4.0)[0, 0]
    names = ("edge_sigma", "imbalance", "flow", "ret", "log_spread", "log_since_trade")
    assert dict(zip(names, buy)) == pytest.approx({"edge_sigma": 0.02 / 0.02, "imbalance": 0.5, "flow": -0.25,
                                                   "ret": 1.5, "log_spread": math.log1p(4), "log_since_trade":
                                                   math.log1p(1.0)})
    assert dict(zip(names, sell)) == pytest.approx({"edge_sigma": 1.0, "imbalance": -0.5, "flow": 0.25, "ret": -1.5,
                                                    "log_spread": math.log1p(4), "log_since_trade": math.log1p(1.0)})


def test_price_points_run_from_bid_to_ask_by_tick():
    state = AlphaState.stack([one_state(10.00, 10.02), one_state(20.00, 20.04)])
    points = price_points(state)
    assert points.shape == (2, 5)
    assert points[0, :3] == pytest.approx([10.00, 10.01, 10.02]) and np.isnan(points[0, 3:]).all()
    assert points[1] == pytest.approx([20.00, 20.01, 20.02, 20.03, 20.04])
    capped = price_points(state, max_points=3)
    assert capped[1] == pytest.approx([20.00, 20.02, 20.04])


def test_the_live_state_is_the_fitted_one():
    tape, live = hand_tape(), RecentMarket(tick=0.01)
    events = sorted([(t, "book", i) for i, t in enumerate(tape.book_ns)] + [(t, "trade", i) for i, t in
                                                                           enumerate(tape.trade_ns)])
    for ts, kind, i in events:
        if kind == "book":
            live.on_book(ts, tape.bid[i], tape.ask[i], tape.bid_size[i], tape.ask_size[i])
        else:
            live.on_trade(ts, tape.trade_price[i], tape.trade_signed[i])
    now, replayed = live.state(30 * S), state_at(tape, [30 * S])
    for name in ("spread_ticks", "imbalance", "flow", "ret", "since_trade_s", "sigma_1s", "bid_hit_30s"):
        assert getattr(now, name) == pytest.approx(getattr(replayed, name)), name


def test_the_live_window_forgets_what_is_older_than_it_needs():
    live = RecentMarket(tick=0.01, keep_s=10.0)
    live.on_book(0, 10.0, 10.02, 1, 1)
    live.on_trade(1 * S, 10.02, 5)
    live.on_book(30 * S, 10.01, 10.03, 1, 1)
    tape = live.tape()                                      # the book at 0 was still in force 10 s ago
    assert list(tape.book_ns) == [0, 30 * S] and len(tape.trade_ns) == 0
    live.on_book(45 * S, 10.02, 10.04, 1, 1)
    assert list(live.tape().book_ns) == [30 * S, 45 * S]


# ---- probabilities ------------------------------------------------------------------------

def test_probabilities_of_a_hand_made_model_are_exact():
    model = edge_only_model()
    p = model.take_probability(one_state(), 1, price_points(one_state()))
    assert p[0] == pytest.approx([sigmoid(1), sigmoid(0.5), 0.5, sigmoid(-0.5), sigmoid(-1)])
    sell = model.take_probability(one_state(), -1, price_points(one_state()))
    assert sell[0] == pytest.approx(p[0][::-1])


def test_buying_lower_or_paying_less_fee_is_never_less_likely_to_pay():
    model, _ = load_alpha_model()                           # the shipped default, fitted on real data
    rng = np.random.default_rng(7)
    states = AlphaState.stack([one_state(100.00, 100.00 + 0.01 * rng.integers(1, 20), bid_size=rng.uniform(1, 500),
                                         ask_size=rng.uniform(1, 500), sigma_1s=rng.uniform(0.005, 0.05),
                                         imbalance=rng.uniform(-1, 1), flow=rng.uniform(-1, 1), ret=rng.normal(),
                                         since_trade_s=rng.uniform(0, 60)) for _ in range(50)])
    prices = price_points(states)
    buy = model.take_probability(states, 1, prices, fee=0.003)
    sell = model.take_probability(states, -1, prices, fee=0.003)
    finite = np.isfinite(prices)
    assert np.all(np.diff(buy, axis=1)[finite[:, 1:]] <= 1e-12)       # higher price, lower chance for a buy
    assert np.all(np.diff(sell, axis=1)[finite[:, 1:]] >= -1e-12)     # higher price, higher chance for a sell
    dearer = model.take_probability(states, 1, prices, fee=0.01)
    assert np.all(dearer[finite] < buy[finite])
    for name in ("filled_probability",):
        made = getattr(model, name)(states, 1, prices, fee=0.0)
        assert np.all(np.diff(made, axis=1)[finite[:, 1:]] <= 1e-12)


def test_a_model_whose_edge_weight_is_negative_is_refused():
    with pytest.raises(ValueError, match="edge_sigma must not be negative"):
        edge_only_model(weight=-0.1)


def test_the_constrained_fit_holds_the_edge_weight_at_zero():
    rng = np.random.default_rng(3)
    edge, other = rng.normal(size=4000), rng.normal(size=4000)
    y = (rng.uniform(size=4000) < 1 / (1 + np.exp(0.8 * edge - other))).astype(float)   # edge hurts here
    fit = fit_monotone(np.column_stack([edge, other]), y, ("edge_sigma", "flow"))
    assert fit.weights[0] == 0.0 and fit.weights[1] > 0.5
    free = fit_monotone(np.column_stack([-edge, other]), y, ("edge_sigma", "flow"))
    assert free.weights[0] > 0.5                             # where the data agree, the fit is left free


def test_vectorised_over_orders_sides_and_fees():
    model = edge_only_model()
    states = AlphaState.stack([one_state(), one_state(20.00, 20.02), one_state(5.00, 5.06)])
    prices = price_points(states)
    assert prices.shape == (3, 7)
    p = model.take_probability(states, np.array([1, -1, 1]), prices, fee=np.array([[0.0], [0.01], [0.0]]))
    assert p.shape == (3, 7)
    assert np.isnan(p[0, 5:]).all() and np.isfinite(p[2]).all()
    assert p[1, 0] == pytest.approx(sigmoid((-0.01 - 0.01) / 0.02))   # sell at the bid, 1 tick below mid, fee 0.01
    assert model.limit_price(states, np.array([1, -1, 1]), 0.5).shape == (3,)
    fill = FillProbability("risk_averse", 10.0, Logistic(0.0, (-0.5, 0.0, 0.4, -0.2), (0.0,) * 4, (1.0,) * 4), "", {})
    made = model.make_probability(states, np.array([1, -1, 1]), prices, fill_model=fill)
    assert made.shape == (3, 7)
    assert np.isfinite(made[0, :4]).all() and np.isnan(made[0, 4:]).all()    # a buy rests at 10.00 .. 10.03
    assert np.isnan(made[1, 0]) and np.isfinite(made[1, 1:3]).all() and np.isnan(made[1, 3:]).all()  # a sell above


def test_make_probability_is_fill_chance_times_markout_given_filled():
    model = edge_only_model()
    fill = FillProbability("risk_averse", 10.0, Logistic(0.3, (-0.5, 0.0, 0.4, -0.2), (0.0,) * 4, (1.0,) * 4),
                           "hand", {})
    state = one_state(bid_size=300.0, ask_size=80.0, bid_hit_30s=50.0, ask_lifted_30s=10.0)
    prices = price_points(state)                             # 10.00 .. 10.04
    made = model.make_probability(state, 1, prices, fee=-0.002, fill_model=fill)
    filled = model.filled_probability(state, 1, prices, fee=-0.002)
    # at the bid: 300 ahead; improving to 10.01: nobody ahead, the spread then 3 ticks; the ask is a take, not a post
    assert made[0, 0] == pytest.approx(fill.probability(300, 0, 50, 4)[()] * filled[0, 0])
    assert made[0, 1] == pytest.approx(fill.probability(0, 0, 50, 3)[()] * filled[0, 1])
    assert np.isnan(made[0, 4])
    sell = model.make_probability(state, -1, prices, fee=-0.002, fill_model=fill)
    assert sell[0, 4] == pytest.approx(fill.probability(80, 0, 10, 4)[()] *
                                       model.filled_probability(state, -1, prices, fee=-0.002)[0, 4])
    assert np.isnan(sell[0, 0])


# ---- the Probability limit's price --------------------------------------------------------

def test_the_worst_price_that_still_meets_the_limit():
    model, state = edge_only_model(), one_state()            # buy P: .73 .62 .5 .38 .27 at 10.00 .. 10.04
    assert model.limit_price(state, 1, 0.5)[0] == pytest.approx(10.02)
    assert model.limit_price(state, 1, 0.6)[0] == pytest.approx(10.01)
    assert model.limit_price(state, -1, 0.6)[0] == pytest.approx(10.03)
    assert model.limit_price(state, 1, 0.49, fee=0.01)[0] == pytest.approx(10.01)   # P .62 .5 .38 ... now
    assert np.isnan(model.limit_price(state, 1, 0.8)[0])
    assert model.limit_price(state, 1, 0.1)[0] == pytest.approx(10.04)


def test_worst_price_meeting_on_raw_arrays_with_a_limit_per_row():
    prices = np.array([[1.0, 1.1, 1.2], [2.0, 2.1, np.nan]])
    p = np.array([[0.9, 0.6, 0.3], [0.4, 0.7, 0.99]])
    assert worst_price_meeting(p, prices, [1, -1], [0.5, 0.5]) == pytest.approx([1.1, 2.1])
    assert worst_price_meeting(p, prices, 1, 0.95)[0] != worst_price_meeting(p, prices, 1, 0.95)[0]   # NaN


# ---- alpha types --------------------------------------------------------------------------

def test_static_and_the_variants_use_the_limit_given():
    for kind in (AlphaType.STATIC, AlphaType.HAWK, AlphaType.EAGLE, AlphaType.FALCON):
        assert effective_probability_limit(kind, 0.55, None, [0.9, 0.95]) == 0.55
    assert effective_probability_limit(1, 0.55) == 0.55                     # the tag's raw value


def test_relative_raises_the_limit_to_mean_plus_factor_std():
    recent = [0.2, 0.4, 0.6]                                              # mean 0.4, std 0.1633
    std = np.std(recent)
    assert effective_probability_limit(AlphaType.RELATIVE, 0.5, 1.0, recent) == pytest.approx(0.4 + std)
    assert effective_probability_limit(5, 0.7, 1.0, recent) == pytest.approx(0.7)
    assert effective_probability_limit(5, 0.05, -2.0, recent) == pytest.approx(0.4 - 2 * std)
    assert effective_probability_limit(5, 0.5, 2.0, [0.3]) == 0.5          # no spread from one value
    assert effective_probability_limit(5, 0.5, 2.0, [0.9, 1.0]) == 1.0     # a probability stays one


@pytest.mark.parametrize("leg, tag", [("take", "5132"), ("make", "5134")])
def test_relative_factor_outside_the_range_names_its_tag(leg, tag):
    for factor in (2.01, -3.0):
        with pytest.raises(ValueError, match=f"alpha factor {tag}=.* out of range -2 to 2"):
            effective_probability_limit(AlphaType.RELATIVE, 0.5, factor, [0.4, 0.5], leg=leg)
    with pytest.raises(ValueError, match=f"alpha factor {tag} is required"):
        effective_probability_limit(AlphaType.RELATIVE, 0.5, None, [0.4, 0.5], leg=leg)


def test_bad_probability_limit_or_alpha_type_names_the_tag():
    with pytest.raises(ValueError, match="5136"):
        effective_probability_limit(AlphaType.STATIC, None)
    with pytest.raises(ValueError, match="5138"):
        effective_probability_limit(AlphaType.STATIC, 1.5, leg="make")
    with pytest.raises(ValueError, match="5128=9"):
        effective_probability_limit(9, 0.5)
    with pytest.raises(ValueError, match="5130='x'"):
        variant_of("x", leg="make")


def test_each_alpha_type_is_scored_with_its_variant():
    assert [variant_of(t) for t in (1, 2, 3, 4, 5)] == ["standard", "hawk", "eagle", "falcon", "standard"]


def test_the_relative_window_keeps_the_last_minutes_on_the_clock():
    window = ProbabilityWindow(window_s=60.0)
    window.add(0, 0.2)
    window.add(30 * S, float("nan"))                                      # no price to score: not a value
    window.add(50 * S, 0.4)
    assert window.values(50 * S).tolist() == [0.2, 0.4]
    assert window.values(61 * S).tolist() == [0.4]


# ---- files --------------------------------------------------------------------------------

def test_save_and_load_round_trip(tmp_path):
    model = AlphaModel("hawk", 10.0, ("edge_sigma", "flow"), Logistic(0.1, (0.5, 0.2), (0.0, 0.1), (1.0, 2.0)),
                       Logistic(-0.1, (0.3, 0.1), (0.1, 0.0), (1.5, 1.0)), "hand", {"take": {"auc": 0.8}})
    path = tmp_path / "alpha_hawk.json"
    model.save(path)
    assert AlphaModel.load(path) == model
    loaded, line = load_alpha_model(path, "hawk")
    assert loaded == model and str(path) in line and "hawk" in line and "AUC 0.8" in line


@pytest.mark.parametrize("text", ["{", '{"variant": "x"}', json.dumps({"variant": "x", "horizon_s": 1, "features":
                                                                      ["edge_sigma", "moon"], "take": {}, "filled": {}})])
def test_a_broken_model_file_names_itself(tmp_path, text):
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=f"{path}: not an alpha model"):
        AlphaModel.load(path)
    with pytest.raises(ValueError, match="missing.json: not an alpha model"):
        AlphaModel.load(tmp_path / "missing.json")


def test_the_shipped_models_load_and_say_which():
    for variant, horizon in (("standard", 60.0), ("hawk", 10.0), ("eagle", 600.0), ("falcon", 60.0)):
        model, line = load_alpha_model(variant=variant)
        assert model.variant == variant and model.horizon_s == horizon
        assert str(default_path(variant)) in line and model.source.startswith("LOBSTER_AMZN")
        assert {"take", "filled"} <= set(model.held_back)
    assert default_path().name == "alpha.json"
    with pytest.raises(ValueError, match="unknown alpha variant 'owl'"):
        load_alpha_model(variant="owl")


# ---- fitting, the readers and the command -------------------------------------------------

def random_walk_tape(seconds: int = 900, seed: int = 11) -> MarketTape:
    """A mid that moves a tick either way each second, a 4-tick spread, a trade each second."""
    rng = np.random.default_rng(seed)
    times = np.arange(seconds, dtype=np.int64) * S
    mid = 50.0 + 0.01 * np.cumsum(rng.choice([-1, 0, 1], size=seconds))
    return MarketTape(times, mid - 0.02, mid + 0.02, rng.uniform(50, 150, seconds), rng.uniform(50, 150, seconds),
                      times + S // 2, mid + rng.choice([-0.02, 0.02], seconds), rng.choice([-10.0, 10.0], seconds),
                      0.01, "walk")


def test_a_fit_on_a_random_walk_learns_the_edge_and_scores_held_back():
    fit = fit_alpha(random_walk_tape(), Variant("t", 10.0, ("edge_sigma", "flow")), warmup_s=20.0)
    assert fit.model.take.weights[0] > 0.5                   # the edge is all there is to know in a random walk
    assert fit.take.auc > 0.65 and fit.take.calibration_error < 0.05
    assert fit.model.held_back["take"]["rows"] == fit.take.rows > 0
    assert fit.split_ns == int(0.6 * 899 * S)


def test_a_tape_too_short_for_the_horizon_is_refused():
    with pytest.raises(ValueError, match="walk: too few samples to fit and score with a 600 s horizon"):
        fit_alpha(random_walk_tape(), "eagle")


def test_lobster_tape_signs_trades_by_their_aggressor(tmp_path):
    messages, book = tmp_path / "m.csv", tmp_path / "b.csv"
    messages.write_text("Time,Type,OrderId,Size,Price,Direction\n34200.0,1,1,100,100000,1\n"
                        "34201.0,4,1,40,100000,1\n34202.0,1,2,10,100200,-1\n")
    book.write_text("BestAsk,BestAskVolume,BestBid,BestBidVolume\n100300,50,100000,100\n100300,50,100000,60\n"
                    "100200,10,100000,60\n")
    tape = lobster_tape(messages, book)
    assert tape.bid.tolist() == [10.0, 10.0, 10.0] and tape.ask.tolist() == [10.03, 10.03, 10.02]
    assert tape.trade_signed.tolist() == [-40.0]             # a buy limit order executed: a seller took
    assert tape.bid_size.tolist() == [100, 60, 60]


def binance_lines(seconds: int = 300, seed: int = 5) -> list[str]:
    rng = np.random.default_rng(seed)
    mid, lines = 6_000_000, []                               # ticks of 0.1
    for i in range(seconds * 2):
        ts = 1_723_161_255_000_000_000 + i * S // 2
        mid += int(rng.choice([-1, 0, 1]))
        ticker = {"e": "bookTicker", "E": i, "T": i, "u": i + 1, "b": f"{(mid - 2) / 10:.1f}", "B": "1.000",
                  "a": f"{(mid + 2) / 10:.1f}", "A": f"{rng.integers(1, 5)}.000"}
        trade = {"e": "trade", "E": i, "T": i, "t": i, "p": f"{(mid + 2) / 10:.1f}", "q": "0.010",
                 "m": bool(rng.integers(0, 2))}
        lines += [f"{ts} {json.dumps({'stream': 'btcusdt@bookTicker', 'data': ticker})}",
                  f"{ts + 1000} {json.dumps({'stream': 'btcusdt@trade', 'data': trade})}"]
    return lines


def test_binance_tape_reads_tickers_and_trades(tmp_path):
    path = tmp_path / "capture.txt"
    path.write_text("\n".join(binance_lines(seconds=2)) + "\n")
    tape = binance_tape(path)
    assert len(tape.book_ns) == 4 and tape.tick == pytest.approx(0.1)
    assert tape.ask[0] - tape.bid[0] == pytest.approx(0.4)
    assert np.abs(tape.trade_signed) == pytest.approx([0.01] * 4)


def test_fit_alpha_command_writes_a_model_the_router_loads(tmp_path):
    capture, out = tmp_path / "capture.txt", tmp_path / "alpha_hawk.json"
    capture.write_text("\n".join(binance_lines()) + "\n")
    result = CliRunner().invoke(models, ["fit-alpha", str(capture), "--variant", "hawk", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"saved {out}: hawk, horizon 10 s" in result.output
    model, line = load_alpha_model(out, "hawk")
    assert model.source == "capture.txt" and model.horizon_s == 10.0 and "AUC" in line


def test_fit_alpha_command_explains_a_missing_orderbook_file(tmp_path):
    messages = tmp_path / "m.csv"
    messages.write_text("Time,Type,OrderId,Size,Price,Direction\n34200.0,1,1,100,100000,1\n")
    result = CliRunner().invoke(models, ["fit-alpha", str(messages)])
    assert result.exit_code != 0 and "needs its orderbook file" in result.output
