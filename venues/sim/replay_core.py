"""The numeric core of the replay venue (venues/sim/replay.py): a recorded level-2 book advanced
over pre-parsed event arrays, and the router's own orders matched against it through a queue
model, compiled with numba. The venue and bench/replay_speed.py both run this code; nothing
else matches a replayed book.

Events (``ReplayEvents``, venues/sim/replay_events.py) are four columns: time, kind, price in
ticks, quantity in lots. Kinds: a bid or ask level set to a new size (0 removes it), a trade
with its aggressor side, and a clear of the whole book (before a snapshot).

Book: arrays per side indexed by level, the rank of the price among every price the recording
ever shows (``ReplayEvents.prices``; a capture quotes a few tens of thousands of prices spread
over millions of ticks), with the recorded size and what our marketable orders took from it
(``taken``). A level's taken size is subtracted from what the
next marketable order sees, for as long as the level lives: when the recording sets the level
to 0 (or clears the book) its taken size resets. So the router can never take the same
recorded size twice, and the level's later growth is new size it may take.

Our resting orders (a few slots) follow router/models/queue.py exactly (the unit tests check
this kernel against those classes): ``front`` is the queue ahead, set to the visible size at
the price when the order arrives; a trade at the price lowers it (risk-averse and
probabilistic), and a size change at the price moves it by the model's rule
(``min(front, new)`` for risk-averse; the hftbacktest probabilistic split with
``f(x) = x ** n`` or ``log(1 + x)``, trades since the last size change netted out).

Fills of resting orders come only from recorded trades:
- a trade through the order's price (a sell below a resting buy, a buy above a resting sell)
  fills it, best price first, then time priority;
- a trade at the order's price fills the whole lots past the front (``front < 0``), after
  which the order is at the front (``front = 0``);
- whatever our orders get from one recorded trade adds up to at most that trade's size
  (seed 002: fills that come too easily make fake profits).
A recorded book that moves through our price without a trade fills nothing: a touch alone is
no fill, and neither is a quote. Two known differences from hftbacktest 2.4 (bench/replay_speed.py
shows how often they separate the two): its exchange models also fill a resting order when the
opposite best reaches its price, and it rounds a fractional overflow past the front to whole lots
(0.9 lot fills 1) where router/models/queue.py, and so this core, floors it (0.9 fills nothing).
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np

BID, ASK, BUY_TRADE, SELL_TRADE, CLEAR = 0, 1, 2, 3, 4
RISK_AVERSE, POWER, LOG = 0, 1, 2
BUY, SELL = 1, -1

# indices in the int64 state vector
NEXT, BEST_BID, BEST_ASK, SEQ, GROUP_START, GROUP_END, GROUP_TS = range(7)
STATE_LEN = 7
NO_TIME = np.iinfo(np.int64).min


@nb.njit(cache=True)
def behind_probability(kind: int, n: float, front: float, back: float) -> float:
    """router/models/queue.py ProbabilisticQueue.behind_probability, for f = x ** n or log1p."""
    b = max(back, 0.0)
    f = max(front, 0.0)
    if kind == LOG:
        fb, ff = math.log1p(b), math.log1p(f)
    else:
        fb, ff = b ** n, f ** n
    total = fb + ff
    if total == 0.0 or not math.isfinite(total):
        return 1.0
    return fb / total


@nb.njit(cache=True)
def queue_depth(kind: int, n: float, front: float, traded: float, prev_qty: float,
                new_qty: float) -> float:
    """The new queue ahead after the level's size went from ``prev_qty`` to ``new_qty``."""
    if kind == RISK_AVERSE:
        return min(front, new_qty)
    change = prev_qty - new_qty - traded
    if change < 0.0:
        return min(front, new_qty)
    back = prev_qty - front
    p = behind_probability(kind, n, front, back)
    estimate = front - (1.0 - p) * change + min(back - p * change, 0.0)
    return min(estimate, new_qty)


@nb.njit(cache=True)
def lots_past_front(front: float) -> int:
    """router/models/queue.py filled_qty with a lot of 1."""
    if round(front) < 0:
        return int(math.floor(-front))
    return 0


@nb.njit(cache=True)
def _set_level(levels, taken, st, best_slot, is_bid, i, qty):
    """Set level i; keep the best index in st[best_slot]; return the previous size."""
    prev = levels[i]
    levels[i] = qty
    if qty == 0:
        taken[i] = 0
    best = st[best_slot]
    if is_bid:
        if qty > 0 and i > best:
            st[best_slot] = i
        elif qty == 0 and i == best:
            j = i - 1
            while j >= 0 and levels[j] == 0:
                j -= 1
            st[best_slot] = j
    else:
        if qty > 0 and i < best:
            st[best_slot] = i
        elif qty == 0 and i == best:
            j = i + 1
            while j < levels.shape[0] and levels[j] == 0:
                j += 1
            st[best_slot] = j
    return prev


@nb.njit(cache=True)
def _ahead(a, b, o_tick, o_seq, side):
    """Whether resting order a has priority over b (same side)."""
    if o_tick[a] != o_tick[b]:
        return (o_tick[a] - o_tick[b]) * side > 0
    return o_seq[a] < o_seq[b]


@nb.njit(cache=True)
def _trade(side_hit, tick, qty, o_live, o_side, o_tick, o_leaves, o_seq, o_front, o_traded,
           kind, n, f_slot, f_qty, f_tick, nf):
    """A recorded trade of ``qty`` at ``tick`` that hit the ``side_hit`` side (BUY: a sell
    aggressor hit the bids). Returns the new fill count."""
    m = o_live.shape[0]
    count = 0
    for s in range(m):
        if o_live[s] and o_side[s] == side_hit and (o_tick[s] - tick) * side_hit >= 0:
            count += 1
    if count == 0:
        return nf
    slots = np.empty(count, np.int64)
    c = 0
    for s in range(m):
        if o_live[s] and o_side[s] == side_hit and (o_tick[s] - tick) * side_hit >= 0:
            # insertion sort: best price first (highest buy, lowest sell), then time priority
            j = c
            while j > 0 and _ahead(s, slots[j - 1], o_tick, o_seq, side_hit):
                slots[j] = slots[j - 1]
                j -= 1
            slots[j] = s
            c += 1
    cap = qty
    for k in range(count):
        s = slots[k]
        fill = 0
        if o_tick[s] == tick:
            o_front[s] -= qty
            o_traded[s] += qty
            past = lots_past_front(o_front[s])
            if past > 0:
                fill = min(past, o_leaves[s], cap)
                o_front[s] = 0.0            # the trades reached the order: what is left is at the front
        else:
            fill = min(o_leaves[s], cap)
        if fill > 0:
            cap -= fill
            o_leaves[s] -= fill
            if o_leaves[s] == 0:
                o_live[s] = 0
            f_slot[nf] = s
            f_qty[nf] = fill
            f_tick[nf] = o_tick[s]
            nf += 1
    return nf


@nb.njit(cache=True)
def run(ev_ts, ev_kind, ev_tick, ev_level, ev_qty, bids, asks, bids_taken, asks_taken, st,
        o_live, o_side, o_tick, o_leaves, o_seq, o_front, o_traded, kind, n, horizon,
        stop_every_group, f_slot, f_qty, f_tick):
    """Apply recorded events from st[NEXT] on, one timestamp group at a time, while the time is
    at most ``horizon``. Stops after a group in which our orders filled (or after every group
    with ``stop_every_group``), or when the fill buffer may not hold another event's fills.
    The last group applied is st[GROUP_START]:st[GROUP_END] at st[GROUP_TS] (NO_TIME if none).
    Returns the number of fills written to the f_* buffers."""
    total = ev_ts.shape[0]
    m = o_live.shape[0]
    room = f_slot.shape[0] - m
    i = st[NEXT]
    nf = 0
    st[GROUP_TS] = NO_TIME
    while i < total:
        t = ev_ts[i]
        if t > horizon:
            break
        st[GROUP_START] = i
        st[GROUP_TS] = t
        while i < total and ev_ts[i] == t and nf <= room:
            k = ev_kind[i]
            tick = ev_tick[i]
            q = ev_qty[i]
            if k == BID or k == ASK:
                is_bid = k == BID
                side = BUY if is_bid else SELL
                j = ev_level[i]
                if is_bid:
                    prev = _set_level(bids, bids_taken, st, BEST_BID, True, j, q)
                else:
                    prev = _set_level(asks, asks_taken, st, BEST_ASK, False, j, q)
                for s in range(m):
                    if o_live[s] and o_side[s] == side and o_tick[s] == tick:
                        o_front[s] = queue_depth(kind, n, o_front[s], o_traded[s], float(prev), float(q))
                        o_traded[s] = 0.0
            elif k == SELL_TRADE:
                nf = _trade(BUY, tick, q, o_live, o_side, o_tick, o_leaves, o_seq, o_front,
                            o_traded, kind, n, f_slot, f_qty, f_tick, nf)
            elif k == BUY_TRADE:
                nf = _trade(SELL, tick, q, o_live, o_side, o_tick, o_leaves, o_seq, o_front,
                            o_traded, kind, n, f_slot, f_qty, f_tick, nf)
            else:
                bids[:] = 0
                asks[:] = 0
                bids_taken[:] = 0
                asks_taken[:] = 0
                st[BEST_BID] = -1
                st[BEST_ASK] = asks.shape[0]
            i += 1
        st[GROUP_END] = i
        if nf > 0 or stop_every_group or nf > room:
            break
    st[NEXT] = i
    return nf


@nb.njit(cache=True)
def first_available(levels, taken, start, step):
    """The first level from index ``start`` in direction ``step`` with size left to take, or
    -1 / len when there is none."""
    i = start
    size = levels.shape[0]
    while 0 <= i < size:
        if levels[i] - taken[i] > 0:
            return i
        i += step
    return i


@nb.njit(cache=True)
def take(levels, taken, best, step, limit_i, qty, fok, out_i, out_qty):
    """A marketable order takes up to ``qty`` from the levels from ``best`` towards
    ``limit_i`` (inclusive). With ``fok`` it takes nothing unless it can take all. Writes
    (level index, qty) pairs to out_*; returns their count."""
    size = levels.shape[0]
    if fok:
        left = qty
        i = best
        while left > 0 and 0 <= i < size and (i - limit_i) * step <= 0:
            left -= max(levels[i] - taken[i], 0)
            i += step
        if left > 0:
            return 0
    left = qty
    c = 0
    i = best
    while left > 0 and 0 <= i < size and (i - limit_i) * step <= 0:
        avail = levels[i] - taken[i]
        if avail > 0:
            x = min(avail, left)
            taken[i] += x
            left -= x
            out_i[c] = i
            out_qty[c] = x
            c += 1
        i += step
    return c


@nb.njit(cache=True)
def top_levels(levels, taken, best, step, out_i, out_qty):
    """The first len(out_i) levels from ``best`` away from the touch with size left after the
    router's takes; returns how many were found."""
    c = 0
    i = best
    size = levels.shape[0]
    while c < out_i.shape[0] and 0 <= i < size:
        left = levels[i] - taken[i]
        if left > 0:
            out_i[c] = i
            out_qty[c] = left
            c += 1
        i += step
    return c
