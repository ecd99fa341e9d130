"""The market around our executions, for transaction cost analysis (router/tca).

Each fill gets a ``FillMark``: the NBBO of its symbol when the fill was applied, and the mid
1 s, 10 s, 60 s and 600 s later, taken by engine timers. Each parent gets a ``ParentMark``: the
time-weighted mid of its symbol over its working life (qwap), from its arrival until it is done.

The qwap is accumulated on book updates, per symbol rather than per parent: a symbol that some
working parent follows keeps a running integral of its mid over time (and of the time it had a
two-sided quote); a parent takes a snapshot of both when it starts, and its qwap is the
difference at its end. A book update costs one dict lookup and a multiply-add however many
parents follow the symbol, and the mid is exact for a piecewise-constant quote, where a
sampling timer would miss quotes shorter than its period and cost a journal entry per sample.

Marks are projected rows like fills: the batch that changes one carries it in its state record
(router/store/journal.py), so a rebuild from the journal reproduces them. Horizon timers and
running integrals live in memory: after a restart, horizons still pending stay empty and a
restored parent keeps the qwap last stored (at its last fill), its ``end_ns`` empty.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from router.clock import NANOS_PER_SECOND, Clock
from router.domain.orders import Fill, ParentOrder
from router.market.books import MarketBooks, Nbbo

from .batch import UnitOfWork
from .timers import Timers

HORIZONS_S = (1, 10, 60, 600)
HORIZON_COLUMNS = {1: "mid_1s", 10: "mid_10s", 60: "mid_60s", 600: "mid_600s"}


@dataclass(slots=True)
class FillMark:
    """The market at and after one fill, keyed like the fill (venue, exec_id)."""
    venue: str
    exec_id: str
    parent_id: str
    symbol: str
    ts_ns: int
    bid: float | None
    ask: float | None
    mid: float | None
    mid_1s: float | None = None
    mid_10s: float | None = None
    mid_60s: float | None = None
    mid_600s: float | None = None


@dataclass(slots=True)
class ParentMark:
    """A parent's time-weighted mid over its working life: ``mid_seconds`` / ``quoted_seconds``
    (the time its symbol had a two-sided quote). ``end_ns`` is None while it works."""
    order_id: str
    symbol: str
    start_ns: int
    end_ns: int | None = None
    mid_seconds: float = 0.0
    quoted_seconds: float = 0.0
    qwap: float | None = None


@dataclass(slots=True)
class _MidPath:
    """One symbol's running integral of its mid over time, since it was first followed."""
    last_ns: int
    mid: float | None
    integral: float = 0.0          # mid x seconds
    quoted: float = 0.0            # seconds with a two-sided quote
    followers: int = 0

    def advance(self, now_ns: int) -> None:
        if now_ns > self.last_ns:
            if self.mid is not None:
                seconds = (now_ns - self.last_ns) / NANOS_PER_SECOND
                self.integral += self.mid * seconds
                self.quoted += seconds
            self.last_ns = now_ns


@dataclass(slots=True)
class _Following:
    mark: ParentMark
    path: _MidPath
    integral_at_start: float
    quoted_at_start: float

    def update(self) -> None:
        mark = self.mark
        mark.mid_seconds = self.path.integral - self.integral_at_start
        mark.quoted_seconds = self.path.quoted - self.quoted_at_start
        mark.qwap = mark.mid_seconds / mark.quoted_seconds if mark.quoted_seconds > 0 else None


class Marks:
    def __init__(self, clock: Clock, timers: Timers, work: UnitOfWork, books: MarketBooks) -> None:
        self._clock = clock
        self._timers = timers
        self._work = work
        self._books = books
        self._paths: dict[str, _MidPath] = {}
        self._following: dict[str, _Following] = {}
        self._ignored: set[str] = set()
        self._due: dict[tuple[int, int], list[FillMark]] = {}     # (at_ns, horizon) -> marks to take then
        work.before_commit.append(self.end_of_batch)

    # ---- fills

    def on_fill(self, fill: Fill) -> FillMark:
        nbbo = self._books.nbbo(fill.symbol)
        now = self._clock.now_ns()
        mark = FillMark(fill.venue, fill.exec_id, fill.parent_id, fill.symbol, fill.ts_ns, nbbo.bid, nbbo.ask,
                        nbbo.mid)
        self._keep(mark)
        for horizon in HORIZONS_S:
            # fills applied at the same time share one timer per horizon
            key = (now + horizon * NANOS_PER_SECOND, horizon)
            waiting = self._due.get(key)
            if waiting is None:
                waiting = self._due[key] = []
                self._timers.call_at(key[0], lambda key=key: self._take(key))
            waiting.append(mark)
        following = self._following.get(fill.parent_id)
        if following is not None:           # the qwap so far rides with the fill's batch
            following.path.advance(now)
            following.update()
            self._keep(following.mark)
        return mark

    def _take(self, key: tuple[int, int]) -> None:
        marks = self._due.pop(key, ())
        horizon = key[1]
        column = HORIZON_COLUMNS[horizon]
        for mark in marks:
            setattr(mark, column, self._books.nbbo(mark.symbol).mid)
            self._keep(mark)
        self._work.journal_add("timer", None, {"marks": len(marks), "horizon_s": horizon})

    # ---- qwap

    def follows(self, symbol: str) -> bool:
        return symbol in self._paths

    def on_book(self, symbol: str, nbbo: Nbbo) -> None:
        path = self._paths[symbol]
        path.advance(self._clock.now_ns())
        path.mid = nbbo.mid

    def ignore(self, order_ids: Iterable[str]) -> None:
        """Parents restored after a restart: their qwap began before it, so it is not begun again."""
        self._ignored.update(order_ids)

    def end_of_batch(self) -> None:
        """Begin the qwap of parents the batch created, end it for those it finished."""
        now = None
        for parent in self._work.parents.values():
            following = self._following.get(parent.order_id)
            if following is None and (parent.status.is_done or parent.is_package
                                      or parent.order_id in self._ignored):
                continue
            now = self._clock.now_ns() if now is None else now
            if following is None:
                self._begin(parent, now)
            elif parent.status.is_done:
                self._end(following, now)

    def _begin(self, parent: ParentOrder, now: int) -> None:
        path = self._paths.get(parent.symbol)
        if path is None:
            path = self._paths[parent.symbol] = _MidPath(now, self._books.nbbo(parent.symbol).mid)
        path.advance(now)
        path.followers += 1
        mark = ParentMark(parent.order_id, parent.symbol, parent.created_ns)
        self._following[parent.order_id] = _Following(mark, path, path.integral, path.quoted)
        self._keep(mark)

    def _end(self, following: _Following, now: int) -> None:
        path = following.path
        path.advance(now)
        following.update()
        following.mark.end_ns = now
        self._keep(following.mark)
        del self._following[following.mark.order_id]
        path.followers -= 1
        if path.followers == 0:
            del self._paths[following.mark.symbol]

    def _keep(self, mark: FillMark | ParentMark) -> None:
        key = (mark.venue, mark.exec_id) if type(mark) is FillMark else mark.order_id
        self._work.marks[key] = mark
