"""Queue position of a resting order in a book we only see by price level.

When a venue's book comes from recorded level-2 data, our order is not in it: how much stands
ahead of it has to be estimated from what the feed shows, trades at the order's price and
changes of the level's visible size. Two families, as in hftbacktest's queue models
(https://hftbacktest.readthedocs.io/en/latest/order_fill.html):

- **risk-averse**: the queue ahead shrinks only by trades at the price; a drop in size is
  someone behind us canceling, unless the level is now smaller than our queue ahead.
- **probabilistic**: a drop in size ``chg`` not explained by trades is split between the orders
  ahead and behind: with ``front`` ahead, ``back = level - front`` behind and
  ``p = f(back) / (f(back) + f(front))`` the chance a cancel is behind us,
  ``front <- front - (1 - p) * chg + min(back - p * chg, 0)``, never above the new level size.
  ``f`` is a power ``x ** n`` (n = 1 the proportional split, larger n favours cancels far from
  the front) or ``log(1 + x)``. Sources: the quant.stackexchange question 3782 estimate and
  Rigtorp's "Estimating order queue position" (2013).

The order is filled by a trade at its price once the queue ahead is gone (``front`` below
zero: the overflow is our fill), or by a trade through its price. A touch alone is no fill.
All models share one state per order, so a replay venue, the SOR and the fill-probability
model can use any of them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Protocol


@dataclass
class QueueState:
    """One resting order's estimate: quantity ahead, and trades at the price since the level's
    size was last seen (they will show up in the next size change too, not to be counted twice)."""
    front: float
    traded_since_depth: float = 0.0


class QueueModel(Protocol):
    name: str

    def new(self, level_qty: float) -> QueueState: ...
    def trade(self, state: QueueState, qty: float) -> None: ...
    def depth(self, state: QueueState, prev_qty: float, new_qty: float) -> None: ...


class RiskAverseQueue:
    name = "risk_averse"

    def new(self, level_qty: float) -> QueueState:
        return QueueState(float(level_qty))

    def trade(self, state: QueueState, qty: float) -> None:
        state.front -= qty

    def depth(self, state: QueueState, prev_qty: float, new_qty: float) -> None:
        state.front = min(state.front, new_qty)


class ProbabilisticQueue:
    def __init__(self, name: str, f: Callable[[float], float]) -> None:
        self.name = name
        self._f = f

    def new(self, level_qty: float) -> QueueState:
        return QueueState(float(level_qty))

    def trade(self, state: QueueState, qty: float) -> None:
        state.front -= qty
        state.traded_since_depth += qty

    def depth(self, state: QueueState, prev_qty: float, new_qty: float) -> None:
        change = prev_qty - new_qty - state.traded_since_depth    # the trades are in the size change too
        state.traded_since_depth = 0.0
        if change < 0:                                            # the level grew: joiners are behind us
            state.front = min(state.front, new_qty)
            return
        front = state.front
        back = prev_qty - front
        p = self.behind_probability(front, back)
        estimate = front - (1.0 - p) * change + min(back - p * change, 0.0)
        state.front = min(estimate, new_qty)

    def behind_probability(self, front: float, back: float) -> float:
        """The chance that a cancel at the level is behind the order."""
        f_back, f_front = self._f(max(back, 0.0)), self._f(max(front, 0.0))
        total = f_back + f_front
        if total == 0.0 or not math.isfinite(total):
            return 1.0
        return f_back / total


def power_queue(n: float) -> ProbabilisticQueue:
    if n <= 0:
        raise ValueError(f"the power queue model needs n > 0, not {n}")
    return ProbabilisticQueue(f"power{n:g}", lambda x: x ** n)


def log_queue() -> ProbabilisticQueue:
    return ProbabilisticQueue("log", math.log1p)


def filled_qty(state: QueueState, lot: float = 1.0) -> float:
    """How much of the order the trades have reached: the whole lots past the front."""
    if round(state.front / lot) < 0:
        return math.floor(-state.front / lot) * lot
    return 0.0


MODELS: dict[str, Callable[[], QueueModel]] = {
    "risk_averse": RiskAverseQueue,
    "power1": lambda: power_queue(1.0),
    "power2": lambda: power_queue(2.0),
    "power3": lambda: power_queue(3.0),
    "log": log_queue,
}


def queue_model(name: str) -> QueueModel:
    try:
        return MODELS[name]()
    except KeyError:
        raise ValueError(f"unknown queue model {name!r}; models are {', '.join(MODELS)}") from None
