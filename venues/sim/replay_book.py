"""The replayed book and the router's orders in it: the state the numba core (replay_core.py)
works on, held in numpy arrays, with the few operations the replay venue needs. Prices are
ticks and sizes lots throughout; the venue converts at its edge. The book's arrays are indexed
by level (the rank of a price among the recording's prices): a price the recording never shows
has no level and no size, but our orders may still rest there."""
from __future__ import annotations

import numpy as np

from router.models.queue import ProbabilisticQueue, RiskAverseQueue, queue_model

from . import replay_core as core
from .replay_events import ReplayEvents

FILL_BUFFER = 4096


def model_code(name: str) -> tuple[int, float]:
    """(kind, n) of a router/models/queue.py model name for the core."""
    model = queue_model(name)                 # refuses unknown names with the list of known ones
    if isinstance(model, RiskAverseQueue):
        return core.RISK_AVERSE, 0.0
    assert isinstance(model, ProbabilisticQueue)
    if model.name == "log":
        return core.LOG, 0.0
    return core.POWER, float(model.name.removeprefix("power"))


class ReplayBook:
    def __init__(self, events: ReplayEvents, queue: str = "risk_averse", slots: int = 8) -> None:
        self.events = events
        self.queue_name = queue
        self._kind, self._n = model_code(queue)
        self.prices = events.prices
        size = int(self.prices.shape[0])
        self.bids = np.zeros(size, np.int64)
        self.asks = np.zeros(size, np.int64)
        self.bids_taken = np.zeros(size, np.int64)
        self.asks_taken = np.zeros(size, np.int64)
        self.st = np.zeros(core.STATE_LEN, np.int64)
        self.st[core.BEST_BID] = -1
        self.st[core.BEST_ASK] = size
        self._allocate(slots)
        self._ids: dict[str, int] = {}              # resting order id -> slot
        self._slot_ids: list[str | None] = [None] * slots

    def _allocate(self, slots: int) -> None:
        old = getattr(self, "o_live", None)
        arrays = {"o_live": np.int8, "o_side": np.int8, "o_tick": np.int64, "o_leaves": np.int64,
                  "o_seq": np.int64, "o_front": np.float64, "o_traded": np.float64}
        for name, dtype in arrays.items():
            fresh = np.zeros(slots, dtype)
            if old is not None:
                fresh[:old.shape[0]] = getattr(self, name)
            setattr(self, name, fresh)
        self.f_slot = np.zeros(FILL_BUFFER + slots, np.int64)
        self.f_qty = np.zeros(FILL_BUFFER + slots, np.int64)
        self.f_tick = np.zeros(FILL_BUFFER + slots, np.int64)

    # ---- the recording

    def next_ts(self) -> int | None:
        i = int(self.st[core.NEXT])
        return int(self.events.ts[i]) if i < len(self.events) else None

    @property
    def applied(self) -> int:
        """Recorded events applied so far."""
        return int(self.st[core.NEXT])

    def run(self, horizon: int, every_group: bool) -> tuple[list[tuple[str, int, int]], tuple[int, int, int] | None]:
        """Apply recorded events up to ``horizon`` (replay_core.run); returns our fills as
        (order id, lots, tick) and the last group applied as (start, end, time), or None."""
        e = self.events
        count = core.run(e.ts, e.kind, e.tick, e.level, e.qty, self.bids, self.asks, self.bids_taken,
                         self.asks_taken, self.st, self.o_live, self.o_side, self.o_tick, self.o_leaves,
                         self.o_seq, self.o_front, self.o_traded, self._kind, self._n, horizon, every_group,
                         self.f_slot, self.f_qty, self.f_tick)
        if self.st[core.GROUP_TS] == core.NO_TIME:
            return [], None
        fills = []
        for k in range(count):
            slot = int(self.f_slot[k])
            order_id = self._slot_ids[slot]
            fills.append((order_id, int(self.f_qty[k]), int(self.f_tick[k])))
            if not self.o_live[slot]:
                self._free(order_id)
        group = (int(self.st[core.GROUP_START]), int(self.st[core.GROUP_END]), int(self.st[core.GROUP_TS]))
        return fills, group

    # ---- what a marketable order sees: the recorded size less what the router took

    def _opposite(self, is_buy: bool) -> tuple[np.ndarray, np.ndarray, int, int]:
        """(levels, taken, best index, step away from the touch) of the side a buy/sell takes from."""
        if is_buy:
            return self.asks, self.asks_taken, int(self.st[core.BEST_ASK]), 1
        return self.bids, self.bids_taken, int(self.st[core.BEST_BID]), -1

    def _limit(self, is_buy: bool, tick: int) -> int:
        """The last level a buy (asks, upwards) or sell (bids, downwards) limited at ``tick`` may take."""
        if is_buy:
            return int(np.searchsorted(self.prices, tick, side="right")) - 1
        return int(np.searchsorted(self.prices, tick, side="left"))

    def would_take(self, is_buy: bool, tick: int) -> bool:
        levels, taken, best, step = self._opposite(is_buy)
        first = core.first_available(levels, taken, best, step)
        return 0 <= first < levels.shape[0] and (first - self._limit(is_buy, tick)) * step <= 0

    def take(self, is_buy: bool, tick: int, qty: int, fok: bool) -> list[tuple[int, int]]:
        """Take up to ``qty`` lots at ``tick`` or better; (tick, lots) per level taken."""
        levels, taken, best, step = self._opposite(is_buy)
        out_i = np.zeros(min(qty, levels.shape[0]) + 1, np.int64)        # each level gives at least a lot
        out_qty = np.zeros_like(out_i)
        count = core.take(levels, taken, best, step, self._limit(is_buy, tick), qty, fok, out_i, out_qty)
        return [(int(self.prices[out_i[k]]), int(out_qty[k])) for k in range(count)]

    def visible(self, is_buy: bool, tick: int) -> int:
        """The recorded size at ``tick`` on the buy or sell side, less what the router took."""
        levels, taken = (self.bids, self.bids_taken) if is_buy else (self.asks, self.asks_taken)
        i = int(np.searchsorted(self.prices, tick))
        if i == self.prices.shape[0] or self.prices[i] != tick:
            return 0
        return max(int(levels[i] - taken[i]), 0)

    def levels(self, is_buy: bool, count: int) -> list[tuple[int, int]]:
        """The best ``count`` levels of a side as the venue shows them: the recording less what
        the router took, plus the router's own resting orders."""
        levels, taken = (self.bids, self.bids_taken) if is_buy else (self.asks, self.asks_taken)
        own: dict[int, int] = {}
        side = core.BUY if is_buy else core.SELL
        for slot in np.flatnonzero(self.o_live):
            if self.o_side[slot] == side:
                own[int(self.o_tick[slot])] = own.get(int(self.o_tick[slot]), 0) + int(self.o_leaves[slot])
        out_i = np.zeros(count, np.int64)
        out_qty = np.zeros(count, np.int64)
        best = int(self.st[core.BEST_BID if is_buy else core.BEST_ASK])
        found = core.top_levels(levels, taken, best, -1 if is_buy else 1, out_i, out_qty)
        merged = {int(self.prices[out_i[k]]): int(out_qty[k]) for k in range(found)}
        for tick, qty in own.items():
            merged[tick] = merged.get(tick, 0) + qty
        return sorted(merged.items(), reverse=is_buy)[:count]

    # ---- the router's resting orders

    def rest(self, order_id: str, is_buy: bool, tick: int, qty: int) -> None:
        """Join the back of the queue at ``tick``: the queue ahead is the size visible there."""
        if order_id in self._ids:
            raise ValueError(f"order {order_id} already rests")
        free = np.flatnonzero(self.o_live == 0)
        if free.size == 0:
            grown = self.o_live.shape[0] * 2
            self._slot_ids.extend([None] * (grown - self.o_live.shape[0]))
            self._allocate(grown)
            free = np.flatnonzero(self.o_live == 0)
        slot = int(free[0])
        self.st[core.SEQ] += 1
        self.o_live[slot] = 1
        self.o_side[slot] = core.BUY if is_buy else core.SELL
        self.o_tick[slot] = tick
        self.o_leaves[slot] = qty
        self.o_seq[slot] = self.st[core.SEQ]
        self.o_front[slot] = float(self.visible(is_buy, tick))
        self.o_traded[slot] = 0.0
        self._ids[order_id] = slot
        self._slot_ids[slot] = order_id

    def cancel(self, order_id: str) -> int:
        """Pull a resting order; returns its leaves (0 if it was not resting)."""
        slot = self._ids.get(order_id)
        if slot is None:
            return 0
        leaves = int(self.o_leaves[slot])
        self.o_live[slot] = 0
        self._free(order_id)
        return leaves

    def reduce(self, order_id: str, leaves: int) -> None:
        """A smaller size at the same price keeps the order's place in the queue."""
        self.o_leaves[self._ids[order_id]] = leaves

    def _free(self, order_id: str) -> None:
        slot = self._ids.pop(order_id)
        self._slot_ids[slot] = None

    def resting(self, order_id: str) -> tuple[bool, int, int] | None:
        """(is buy, tick, leaves) of a resting order."""
        slot = self._ids.get(order_id)
        if slot is None:
            return None
        return bool(self.o_side[slot] == core.BUY), int(self.o_tick[slot]), int(self.o_leaves[slot])

    def resting_ids(self) -> list[str]:
        return list(self._ids)

    def queue_ahead(self, order_id: str) -> float | None:
        slot = self._ids.get(order_id)
        return None if slot is None else float(self.o_front[slot])

    def best(self, is_buy: bool) -> tuple[int, int] | None:
        """The recorded best bid (``is_buy``) or ask as (tick, lots), before the router's takes."""
        i = int(self.st[core.BEST_BID if is_buy else core.BEST_ASK])
        levels = self.bids if is_buy else self.asks
        if not 0 <= i < levels.shape[0]:
            return None
        return int(self.prices[i]), int(levels[i])
