"""Following orders entered at the touch in LOBSTER data, and scoring the queue models on them."""
from __future__ import annotations

from pathlib import Path

import pytest

from router.market.feeds.lobster import LobsterEvent, LobsterEventType as T, LobsterLevels
from router.models.queue_validation import _label, _Tracker, validate
from router.models.scoring import auc, brier, calibration, fit_logistic

NS = 1_000_000_000
DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
MESSAGES = DATA / "LOBSTER_AMZN_2012-06-21_34200000_57600000_message_1.csv"
ORDERBOOK = DATA / "LOBSTER_AMZN_2012-06-21_34200000_57600000_orderbook_1.csv"
BID = 2_000_000


def book(bid_qty: int, bid: int = BID, ask: int = BID + 100, ask_qty: int = 100) -> LobsterLevels:
    return LobsterLevels(((ask, ask_qty),), ((bid, bid_qty),) if bid_qty else ())


def event(ts_s: float, kind: T, order_id: int, size: int, price: int = BID, direction: int = 1) -> LobsterEvent:
    return LobsterEvent(int(ts_s * NS), kind, order_id, size, price, direction)


def test_an_order_at_the_touch_is_followed_to_its_fill_and_the_models_see_only_the_level():
    tracker = _Tracker(["risk_averse", "power1"], step_ns=NS, max_age_ns=60 * NS)
    tracker.on(event(0, T.SUBMIT, 1, 30), book(30))          # 30 ahead, known from the orderbook row
    tracker.on(event(1, T.SUBMIT, 2, 10), book(40))          # ours: queue ahead 30
    tracker.on(event(1.5, T.SUBMIT, 3, 10), book(50))        # 10 behind ours
    ours = tracker.all_orders[1]
    assert ours.order_id == 2 and ours.states["risk_averse"].front == 30
    tracker.on(event(2, T.CANCEL, 1, 10), book(40))          # 10 of the order ahead canceled
    assert ours.states["risk_averse"].front == 30            # risk-averse: assumed behind us
    # proportional: p = 10 / (10 + 30) that it was behind, so 30 - 0.75 * 10 = 22.5 ahead
    assert ours.states["power1"].front == pytest.approx(22.5)
    tracker.on(event(3, T.EXECUTE, 1, 20), book(20))         # the order ahead trades away
    tracker.on(event(4, T.EXECUTE, 2, 4), book(16))          # then ours, partly
    assert ours.fill_ns == 4 * NS
    assert ours.predicted_fill_ns["power1"] == 4 * NS        # 2.5 ahead, a 4 lot trade: 1 of ours
    assert ours.predicted_fill_ns["risk_averse"] is None     # it still counts 6 ahead


def test_a_cancel_or_a_better_price_ends_the_following_censored():
    tracker = _Tracker(["risk_averse"], step_ns=NS, max_age_ns=60 * NS)
    tracker.on(event(0, T.SUBMIT, 1, 5), book(5))
    tracker.on(event(0.5, T.SUBMIT, 2, 5), book(10))
    tracker.on(event(2, T.DELETE, 1, 5), book(5))             # its owner gave up: censored
    first, second = tracker.all_orders
    assert first.end_ns == 2 * NS and not first.lost and first.fill_ns is None
    tracker.on(event(3, T.SUBMIT, 3, 1, price=BID + 50), book(1, bid=BID + 50))   # a better bid: ours out of view
    assert second.lost and second.end_ns == 3 * NS
    checkpoint = [c for c in tracker.checkpoints if c.order is second][0]
    assert _label(checkpoint, 10 * NS, last_ns=100 * NS) is None


def test_labels():
    tracker = _Tracker(["risk_averse"], step_ns=NS, max_age_ns=60 * NS)
    tracker.on(event(0, T.SUBMIT, 1, 5), book(5))
    tracker.on(event(5, T.EXECUTE, 1, 5), book(0))
    order = tracker.all_orders[0]
    at_entry = tracker.checkpoints[0]
    assert _label(at_entry, 10 * NS, last_ns=100 * NS) == 1
    assert _label(at_entry, 2 * NS, last_ns=100 * NS) == 0
    assert _label(at_entry, 2 * NS, last_ns=1 * NS) is None            # the file ends first
    assert order.fill_ns == 5 * NS


def test_scores():
    assert brier([1.0, 0.0], [1, 0]) == 0.0
    assert auc([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0]) == 1.0
    assert auc([0.5, 0.5], [1, 0]) == 0.5
    buckets, error = calibration([0.05, 0.05, 0.95, 0.95], [0, 0, 1, 1])
    assert error == pytest.approx(0.05) and buckets[0].count == 2
    fitted = fit_logistic([[0.0], [1.0], [2.0], [3.0]] * 20, [0, 0, 1, 1] * 20)
    assert fitted.predict([[3.0]])[0] > 0.9 > 0.1 > fitted.predict([[0.0]])[0]


@pytest.mark.skipif(not MESSAGES.exists(), reason="../shared/data (the LOBSTER AMZN sample) is not here")
def test_on_the_real_lobster_sample_the_fill_probability_ranks_orders():
    result = validate(MESSAGES, ORDERBOOK, horizon_s=10.0)
    assert result.orders > 20_000 and result.filled > 1_000 and result.test_checkpoints > 5_000
    for score in result.scores.values():
        assert score.auc > 0.65 and score.brier < 0.24 and score.calibration_error < 0.15, score
    assert result.default in result.scores
