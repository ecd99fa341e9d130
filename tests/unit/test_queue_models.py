"""Queue position models, with worked numbers."""
from __future__ import annotations

import math

import pytest

from router.models.queue import (MODELS, RiskAverseQueue, filled_qty, log_queue, power_queue, queue_model)


def test_risk_averse_moves_only_on_trades_and_never_stands_behind_the_level():
    model = RiskAverseQueue()
    state = model.new(100)
    model.depth(state, 100, 60)        # 40 canceled: assumed behind us...
    assert state.front == 60           # ...but the level is now smaller than our queue ahead
    model.trade(state, 50)
    assert state.front == 10 and filled_qty(state) == 0
    model.trade(state, 15)             # the trade reaches past the front: 5 of ours fill
    assert filled_qty(state) == 5


def test_the_proportional_split_of_a_cancel():
    # 100 ahead, 100 behind (level 200); 40 canceled: p = 100 / (100 + 100) = 0.5 is the chance it
    # was behind, so 20 came off the front: 100 - 0.5 * 40 + min(100 - 0.5 * 40, 0) = 80.
    model = power_queue(1.0)
    state = model.new(100)
    model.depth(state, 200, 160)
    assert state.front == pytest.approx(80.0)


def test_a_higher_power_puts_cancels_behind_a_front_order():
    # 20 ahead, 180 behind: with n = 2, p = 180^2 / (180^2 + 20^2) = 0.9878; a 50 cancel takes
    # 0.61 off the front
    model = power_queue(2.0)
    state = model.new(20)
    model.depth(state, 200, 150)
    p = 180 ** 2 / (180 ** 2 + 20 ** 2)
    assert state.front == pytest.approx(20 - (1 - p) * 50)


def test_the_log_model():
    model = log_queue()
    state = model.new(30)
    model.depth(state, 100, 90)
    p = math.log1p(70) / (math.log1p(70) + math.log1p(30))
    assert state.front == pytest.approx(30 - (1 - p) * 10)


def test_a_cancel_larger_than_the_queue_behind_eats_into_the_front():
    # 10 ahead, 5 behind, 12 canceled: at least 7 of them were ahead
    model = power_queue(1.0)
    state = model.new(10)
    model.depth(state, 15, 3)
    p = 5 / 15
    assert state.front == pytest.approx(min(10 - (1 - p) * 12 + min(5 - p * 12, 0), 3))
    assert state.front <= 3


def test_trades_are_not_counted_again_in_the_size_change_after_them():
    model = power_queue(1.0)
    state = model.new(50)
    model.trade(state, 20)             # the feed shows the trade, then the level at 80 - 20 = 60
    model.depth(state, 80, 60)
    assert state.front == 30           # the 20 traded once, and no cancel


def test_growth_of_the_level_leaves_the_queue_ahead():
    for name in MODELS:
        model = queue_model(name)
        state = model.new(40)
        model.depth(state, 40, 90)
        assert state.front == 40, name


def test_unknown_models_and_bad_powers_are_refused():
    with pytest.raises(ValueError, match="unknown queue model 'fifo'"):
        queue_model("fifo")
    with pytest.raises(ValueError, match="n > 0"):
        power_queue(0)
