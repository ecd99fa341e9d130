"""Queue models scored against the truth of order IDs: LOBSTER message files, and Databento MBO
files (``.dbn``, ``.dbn.zst``, router/market/feeds/dbn_mbo.py).

Each order entered at the touch (a submission at the best price of its side) is followed by its
order ID to its true outcome: its first execution, or its owner's cancel. Beside it, every queue
model (router/models/queue.py) runs on what a level-2 feed would show of the same level: the
trades at the price and the level's size, both without the order itself. A model predicts the
order filled when the trades at the price have used up its estimated queue ahead.

Probabilities: at the order's entry and every ``step_s`` while it rests unfilled (for its first
``max_age_s``: an order still resting after that is a different question), a checkpoint
records each model's queue ahead and the book around it. A fill-probability model (a logistic
regression on the log queue ahead, the log size behind, the traded volume at that touch in the
last 30 s, the spread) is fitted per queue model on the
checkpoints before ``split_ns`` and scored on the later ones (held back). A checkpoint's label is
whether the order's first fill came within ``horizon_s``. An order its owner canceled before the
horizon ended, unfilled, is censored: its checkpoint is left out, not counted a miss (that drops
the orders most likely to be canceled, whose fill chance is low, so the observed fill rate on the
kept ones is higher than an unconditional one would be; the scores are conditional on no cancel).
A file of the top N levels says nothing of a level once it is below them: an order whose price is
no longer the best of its side stops being followed there, censored the same way.

Time to fill: at each held-back checkpoint of an order that did fill, a model's expected time to
fill is its queue ahead (plus one lot) over the volume traded at that touch in the last 30 s;
its error is the gap to the true time of the first fill. The median error, and the share of those
checkpoints with any recent trades to make the forecast from (the coverage).
"""
from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from router.market.feeds.dbn_mbo import MboEvents
from router.market.feeds.errors import BookError
from router.market.feeds.lobster import (LobsterBook, LobsterEvent, LobsterEventType, LobsterLevels, LobsterMessages,
                                         LobsterReplay)

from .queue import MODELS, QueueState, filled_qty, queue_model
from .scoring import Bucket, Logistic, brier, auc, calibration, fit_logistic

NS = 1_000_000_000
TRADE_WINDOW_NS = 30 * NS
TICK = 100                   # LOBSTER prices are dollars x 10,000: a cent is 100
DBN_TICK = 10_000_000        # Databento prices are 1e-9 units: a cent (the spread feature's unit, not the contract's tick)


@dataclass
class TouchOrder:
    order_id: int
    direction: int
    price: int
    entry_ns: int
    remaining: int
    states: dict[str, QueueState]
    predicted_fill_ns: dict[str, int | None]
    fill_ns: int | None = None
    end_ns: int | None = None            # deleted (or canceled to zero) at, or lost from view
    lost: bool = False                   # its price left the top of the book: its fate is not in the file
    next_checkpoint_ns: int = 0


@dataclass
class Checkpoint:
    order: TouchOrder
    ts_ns: int
    fronts: dict[str, float]
    behind: dict[str, float]
    traded_30s: int
    spread_ticks: float


@dataclass
class ModelScore:
    name: str
    brier: float
    auc: float
    calibration_error: float
    buckets: list[Bucket]
    ttf_median_err_s: float
    ttf_coverage: float


@dataclass
class ValidationResult:
    orders: int
    filled: int
    censored: int
    train_checkpoints: int
    test_checkpoints: int
    test_fill_rate: float
    horizon_s: float
    scores: dict[str, ModelScore] = field(default_factory=dict)
    fits: dict[str, Logistic] = field(default_factory=dict)     # each model's fill-probability fit (train part)

    @property
    def default(self) -> str:
        return min(self.scores.values(), key=lambda s: s.brier).name


class _Tracker:
    def __init__(self, models: Iterable[str], step_ns: int, max_age_ns: int, tick: int = TICK) -> None:
        self.models = {name: queue_model(name) for name in models}
        self.tick = tick
        self.step_ns = step_ns
        self.max_age_ns = max_age_ns
        self.levels: dict[tuple[int, int], int] = {}            # (direction, price) -> visible size
        self.at_level: dict[tuple[int, int], list[TouchOrder]] = {}
        self.orders: dict[int, TouchOrder] = {}
        self.all_orders: list[TouchOrder] = []
        self.checkpoints: list[Checkpoint] = []
        self.trades: dict[int, deque] = {1: deque(), -1: deque()}   # (ts, size) of executions per side
        self._due: list[tuple[int, int]] = []                       # (next checkpoint ns, order id)
        self.book: LobsterLevels | None = None

    def on(self, event: LobsterEvent, book_after: LobsterLevels, trusted: bool = True) -> None:
        """One message and the book after it; ``trusted``: the size of the message's price level is
        fully known (always, with an orderbook file)."""
        self._checkpoints_until(event.ts_ns)
        key = (event.direction, event.price)
        kind = event.type
        if kind is LobsterEventType.EXECUTE:
            window = self.trades[event.direction]
            window.append((event.ts_ns, event.size))
        own = self.orders.get(event.order_id)
        if key in self.levels and kind in (LobsterEventType.SUBMIT, LobsterEventType.CANCEL,
                                          LobsterEventType.DELETE, LobsterEventType.EXECUTE):
            before = self.levels[key]
            after = before + event.size if kind is LobsterEventType.SUBMIT else before - event.size
            self.levels[key] = max(after, 0)
            for order in self.at_level.get(key, ()):
                if order is own or order.end_ns is not None:
                    continue
                self._observe(order, event, before, after)
        if own is not None:
            self._own_event(own, event, before if key in self.levels else 0)
        elif kind is LobsterEventType.SUBMIT and trusted and self._at_touch(event, book_after):
            self._track(event, book_after)
        self.book = book_after
        self._lose_out_of_view(book_after, event.ts_ns)

    def _lose_out_of_view(self, book: LobsterLevels, ts_ns: int) -> None:
        """A file of the top N levels shows nothing of a level below them: once an order's price is
        not the best of its side, what happens to it is unknown. Its following ends there."""
        for key in [k for k, orders in self.at_level.items() if orders]:
            direction, price = key
            best = book.best_bid if direction == 1 else book.best_ask
            if best is not None and best[0] == price:
                continue
            for order in self.at_level.pop(key):
                if order.end_ns is None:
                    order.end_ns, order.lost = ts_ns, True
                    self.orders.pop(order.order_id, None)
            self.levels.pop(key, None)

    def _at_touch(self, event: LobsterEvent, book: LobsterLevels) -> bool:
        best = book.best_bid if event.direction == 1 else book.best_ask
        return best is not None and best[0] == event.price

    def _track(self, event: LobsterEvent, book: LobsterLevels) -> None:
        key = (event.direction, event.price)
        best = book.best_bid if event.direction == 1 else book.best_ask
        self.levels[key] = best[1]                               # the row after the submission: it is in it
        ahead = best[1] - event.size
        order = TouchOrder(event.order_id, event.direction, event.price, event.ts_ns, event.size,
                           {name: model.new(ahead) for name, model in self.models.items()},
                           {name: None for name in self.models}, next_checkpoint_ns=event.ts_ns)
        self.orders[event.order_id] = order
        self.all_orders.append(order)
        self.at_level.setdefault(key, []).append(order)
        self.book = book
        self._checkpoint(order, event.ts_ns)

    def _observe(self, order: TouchOrder, event: LobsterEvent, before: int, after: int) -> None:
        """Another order's event at this order's level, as a level-2 feed shows it."""
        others_before, others_after = before - order.remaining, after - order.remaining
        for name, model in self.models.items():
            state = order.states[name]
            if event.type is LobsterEventType.EXECUTE:
                model.trade(state, event.size)
            model.depth(state, others_before, others_after)
            if order.predicted_fill_ns[name] is None and filled_qty(state) > 0:
                order.predicted_fill_ns[name] = event.ts_ns

    def _own_event(self, order: TouchOrder, event: LobsterEvent, level_before: int) -> None:
        if event.type is LobsterEventType.EXECUTE:
            if order.fill_ns is None:
                order.fill_ns = event.ts_ns
            others = level_before - order.remaining
            for name, model in self.models.items():          # a level-2 feed shows this trade too
                state = order.states[name]
                model.trade(state, event.size)
                model.depth(state, others, others)
                if order.predicted_fill_ns[name] is None and filled_qty(state) > 0:
                    order.predicted_fill_ns[name] = event.ts_ns
            order.remaining -= event.size
        elif event.type in (LobsterEventType.CANCEL, LobsterEventType.DELETE):
            order.remaining = 0 if event.type is LobsterEventType.DELETE else order.remaining - event.size
        if order.remaining <= 0:
            order.end_ns = event.ts_ns
            self.orders.pop(order.order_id, None)
            level = self.at_level.get((order.direction, order.price))
            if level is not None and order in level:
                level.remove(order)

    def _checkpoints_until(self, ts_ns: int) -> None:
        while self._due and self._due[0][0] <= ts_ns:
            due_ns, order_id = heapq.heappop(self._due)
            order = self.orders.get(order_id)
            if order is None or order.fill_ns is not None or order.next_checkpoint_ns != due_ns:
                continue
            self._checkpoint(order, due_ns)

    def _checkpoint(self, order: TouchOrder, ts_ns: int) -> None:
        if self.book is not None:
            window = self.trades[order.direction]
            while window and window[0][0] < ts_ns - TRADE_WINDOW_NS:
                window.popleft()
            bid, ask = self.book.best_bid, self.book.best_ask
            spread = (ask[0] - bid[0]) / self.tick if bid is not None and ask is not None else float("nan")
            level = self.levels.get((order.direction, order.price), 0)
            others = level - order.remaining
            self.checkpoints.append(Checkpoint(
                order, ts_ns, {n: s.front for n, s in order.states.items()},
                {n: max(others - max(s.front, 0.0), 0.0) for n, s in order.states.items()},
                sum(size for _, size in window), spread))
        order.next_checkpoint_ns = ts_ns + self.step_ns
        if order.next_checkpoint_ns - order.entry_ns <= self.max_age_ns:
            heapq.heappush(self._due, (order.next_checkpoint_ns, order.order_id))


def expected_ttf_s(front: float, traded_30s: float, lot: float = 1.0) -> float:
    """Seconds until the trades at the touch, at their recent rate, reach past the queue ahead."""
    return (max(front, 0.0) + lot) / (traded_30s / (TRADE_WINDOW_NS / NS))


def _label(checkpoint: Checkpoint, horizon_ns: int, last_ns: int) -> int | None:
    """1: its first fill came within the horizon; 0: it rested unfilled through it; None: censored."""
    order, until = checkpoint.order, checkpoint.ts_ns + horizon_ns
    if order.fill_ns is not None and checkpoint.ts_ns < order.fill_ns <= until:
        return 1
    if order.end_ns is not None and order.end_ns <= until and (order.fill_ns is None or order.fill_ns > until):
        return None                       # its owner canceled it first
    if until > last_ns:
        return None                       # the file ends first
    return 0


def _features(checkpoints: list[Checkpoint], model: str) -> np.ndarray:
    return np.array([[math.log1p(max(c.fronts[model], 0.0)), math.log1p(c.behind[model]), math.log1p(c.traded_30s),
                      math.log1p(c.spread_ticks if math.isfinite(c.spread_ticks) else 0.0)]
                     for c in checkpoints])


def validate(message_path: str | Path, orderbook_path: str | Path | None = None, *, horizon_s: float = 10.0,
             step_s: float = 1.0, max_age_s: float = 60.0, split_fraction: float = 0.5,
             models: Iterable[str] = tuple(MODELS), max_messages: int | None = None) -> ValidationResult:
    """Follow every touch order of the file and score each queue model (module docstring).
    Without an orderbook file the book is rebuilt from the messages, and only orders whose level
    was created inside the file are followed: before that, the size ahead is not known."""
    is_dbn = str(message_path).endswith((".dbn", ".dbn.zst"))
    tracker = _Tracker(models, int(step_s * NS), int(max_age_s * NS), tick=DBN_TICK if is_dbn else TICK)
    first_ns = last_ns = None
    for count, (event, book, trusted) in enumerate(_events(message_path, orderbook_path)):
        if max_messages is not None and count >= max_messages:
            break
        first_ns = event.ts_ns if first_ns is None else first_ns
        last_ns = event.ts_ns
        tracker.on(event, book, trusted)
    if first_ns is None:
        raise ValueError(f"{message_path}: no messages")
    split_ns = first_ns + int((last_ns - first_ns) * split_fraction)
    horizon_ns = int(horizon_s * NS)
    labelled = [(c, label) for c in tracker.checkpoints if (label := _label(c, horizon_ns, last_ns)) is not None]
    train = [(c, y) for c, y in labelled if c.ts_ns + horizon_ns <= split_ns]
    test = [(c, y) for c, y in labelled if c.ts_ns >= split_ns]
    if not train or not test:
        raise ValueError(f"{message_path}: too few checkpoints to fit and score ({len(train)} before the split, "
                         f"{len(test)} after)")
    y_train = np.array([y for _, y in train])
    y_test = np.array([y for _, y in test])
    orders = tracker.all_orders
    result = ValidationResult(
        orders=len(orders), filled=sum(o.fill_ns is not None for o in orders),
        censored=sum(o.fill_ns is None and o.end_ns is not None for o in orders),
        train_checkpoints=len(train), test_checkpoints=len(test), test_fill_rate=float(y_test.mean()),
        horizon_s=horizon_s)
    filled_checkpoints = [c for c, _ in test if c.order.fill_ns is not None and c.order.fill_ns > c.ts_ns]
    for name in tracker.models:
        fitted = result.fits[name] = fit_logistic(_features([c for c, _ in train], name), y_train)
        p = fitted.predict(_features([c for c, _ in test], name))
        buckets, ece = calibration(p, y_test)
        errors = [abs(expected_ttf_s(c.fronts[name], c.traded_30s) - (c.order.fill_ns - c.ts_ns) / NS)
                  for c in filled_checkpoints if c.traded_30s > 0]
        result.scores[name] = ModelScore(name, brier(p, y_test), auc(p, y_test), ece, buckets,
                                         float(np.median(errors)) if errors else float("nan"),
                                         len(errors) / max(len(filled_checkpoints), 1))
    return result


def _events(message_path, orderbook_path):
    """(message, book after it, whether its level's size is fully known)."""
    if str(message_path).endswith((".dbn", ".dbn.zst")):
        yield from MboEvents(message_path)               # market by order: every level fully known
        return
    if orderbook_path is not None:
        for update in LobsterReplay(message_path, orderbook_path):
            yield update.event, update.book, True
        return
    book = LobsterBook(levels=100_000)                   # full depth: nothing falls off the bottom
    trusted: dict[tuple[int, int], bool] = {}
    for event in LobsterMessages(message_path):
        key = (event.direction, event.price)
        if key not in trusted:                           # known only if the file saw it from its first order
            trusted[key] = event.type is LobsterEventType.SUBMIT
        try:
            book.apply(event)
        except BookError:
            trusted[key] = False                         # an order from before the file's start
            continue
        yield event, LobsterLevels(tuple(book.asks), tuple(book.bids)), trusted[key]


def report_lines(result: ValidationResult) -> list[str]:
    """The figures as key=value, the default model first; the last line is the benchmark's."""
    parts = [f"default={result.default}"]
    for score in result.scores.values():
        parts += [f"{score.name}_brier={score.brier:.4f}", f"{score.name}_auc={score.auc:.3f}",
                  f"{score.name}_ttf_median_err_s={score.ttf_median_err_s:.2f}"]
    return [" ".join(parts)]
