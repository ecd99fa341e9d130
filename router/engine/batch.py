"""The unit of work: what one batch of inbox events changed, and what it will send.

Store then send: ``flush`` persists the batch's journal entries and the rows it touched in one
commit, and only then releases its reports to clients and its commands to venues.
"""
from __future__ import annotations

import gc
import json
import logging
from dataclasses import fields
from typing import Callable, Iterable, Protocol

from router import faults
from router.clock import Clock
from router.domain.events import ClientReport, JournalEntry, SubmitChild, VenueCommand
from router.domain.orders import ChildOrder, Fill, ParentOrder

log = logging.getLogger(__name__)


REPORTS_RELEASED = "reports_released_seq"      # meta key: see UnitOfWork._flush


class Persistence(Protocol):
    """What the engine needs from the store (router.store.Store implements it)."""

    def commit_batch(self, journal: list[JournalEntry], parents: Iterable[ParentOrder], children: Iterable[ChildOrder],
                     fills: Iterable[Fill], meta: dict[str, str] | None = None,
                     positions: Iterable[object] = (), reports: Iterable[ClientReport] = (),
                     marks: Iterable[object] = ()) -> None: ...


def _text(payload: object) -> str:
    return payload if isinstance(payload, str) else json.dumps(payload, default=str, separators=(",", ":"))


def five_field_record(cls: type) -> Callable[..., object]:
    """A constructor for a frozen slots dataclass of five fields (JournalEntry, ReplaceChild) that
    sets its slots directly: the dataclass's own __init__ goes through object.__setattr__ once
    per field, more than a microsecond per record, and a big batch makes one per replace."""
    set_a, set_b, set_c, set_d, set_e = (getattr(cls, f.name).__set__ for f in fields(cls))
    new = object.__new__

    def make(a, b, c, d, e):
        record = new(cls)
        set_a(record, a)
        set_b(record, b)
        set_c(record, c)
        set_d(record, d)
        set_e(record, e)
        return record
    return make


_entry = five_field_record(JournalEntry)


class _WatchedChildren(dict):
    """A batch's touched children that also appends each child written to ``changed`` (the
    watch of ``UnitOfWork.watch_children``); a plain dict is used while nothing watches."""
    __slots__ = ("changed",)

    def __init__(self, changed: list, items=()) -> None:
        super().__init__(items)
        self.changed = changed

    def __setitem__(self, key: str, child: ChildOrder) -> None:
        dict.__setitem__(self, key, child)
        self.changed.append(child)


class UnitOfWork:
    def __init__(self, clock: Clock, persistence: Persistence | None, send: Callable[[ClientReport], None],
                 to_venue: Callable[[VenueCommand], None], later: Callable[[int, Callable[[], None]], object]) -> None:
        self._clock = clock
        self._later = later           # a delayed command is released as an engine event of its own
        self._persistence = persistence
        self._send = send
        self._to_venue = to_venue
        self.journal_seq = 0
        self._released_seq = 0        # the last batch whose client reports all went out
        self._recorded_released = 0   # ... as the store last heard of it
        self.before_commit: list[Callable[[], None]] = []   # run at the end of every batch, before it is stored
        self._changed_children: list[ChildOrder] | None = None   # see watch_children
        self._reset()

    def _reset(self) -> None:
        self.journal: list[JournalEntry | tuple] = []      # a tuple: an entry deferred by journal_defer
        self.parents: dict[str, ParentOrder] = {}
        changed = self._changed_children
        self.children: dict[str, ChildOrder] = {} if changed is None else _WatchedChildren(changed)
        self.fills: list[Fill] = []
        self.positions: dict[tuple[str, str, str], object] = {}     # router.positions.Position by key
        self.meta: dict[str, str] = {}                              # counters this batch changed
        self.marks: dict[object, object] = {}                       # TCA marks (marks.py) by key
        self.client_out: list[ClientReport] = []
        self.venue_out: list[tuple[int, VenueCommand]] = []

    # ---- recording

    def journal_add(self, kind: str, session: str | None, payload: object) -> None:
        self.journal_seq += 1
        self.journal.append(JournalEntry(self.journal_seq, self._clock.now_ns(), kind, session, _text(payload)))

    def journal_defer(self, kind: str, session: str | None, make_payload: Callable[..., object], args: tuple) -> None:
        """``journal_add(kind, session, make_payload(*args))`` for the hot path: the entry takes its
        sequence number and time now, and is built (payload and JSON) only when the batch is
        stored, so a batch that is not stored (no persistence) never pays for it."""
        self.journal_seq += 1
        self.journal.append((self.journal_seq, self._clock.now_ns(), kind, session, make_payload, args))

    def touch(self, parent: ParentOrder) -> None:
        self.parents[parent.order_id] = parent

    def touch_child(self, child: ChildOrder) -> None:
        self.children[child.child_id] = child

    def report(self, report: ClientReport) -> None:
        self.client_out.append(report)

    def command(self, command: VenueCommand, delay_ns: int = 0) -> None:
        self.venue_out.append((delay_ns, command))

    def watch_children(self, on_changed: Callable[[list[ChildOrder]], None]) -> list[ChildOrder]:
        """From now on every child touched is appended to the list returned (a child touched
        twice, twice); at the end of each batch ``on_changed`` gets the list's children and the
        list is emptied. The holder may drain it sooner (the day greek limits do, per check)."""
        if self._changed_children is None:
            changed = self._changed_children = []
            self.children = _WatchedChildren(changed, self.children)

            def drain() -> None:
                if changed:
                    on_changed(changed)
                    changed.clear()
            self.before_commit.append(drain)
        return self._changed_children

    # ---- release

    def flush(self) -> None:
        # The collector waits until the batch is out. A batch that reprices thousands of orders
        # allocates enough (commands, journal entries, saved states) to set off several full
        # collections, each walking everything the batch has made so far, so their cost grew
        # faster than the batch; paused, it runs once, after the commands are released.
        collecting = gc.isenabled()
        if collecting:
            gc.disable()
        try:
            self._flush()
        finally:
            if collecting:
                gc.enable()

    def _flush(self) -> None:
        for hook in self.before_commit:
            try:
                hook()
            except Exception:       # an algo's market callback failing must not stop the batch
                log.exception("end-of-batch step %r failed", hook)
                self.journal_add("engine_error", None, {"step": getattr(hook, "__name__", repr(hook))})
        stored_seq = 0
        if self._persistence is not None and (self.journal or self.parents or self.children or self.meta or self.marks
                                              or self.client_out or self._released_seq > self._recorded_released):
            if self._released_seq > self._recorded_released:
                self.meta[REPORTS_RELEASED] = str(self._released_seq)
            if not self.journal:            # the batch's state rides on its last journal entry
                self.journal_add("state", None, "")
            journal = [e if type(e) is not tuple else _entry(e[0], e[1], e[2], e[3], _text(e[4](*e[5])))
                       for e in self.journal]
            self._persistence.commit_batch(journal, list(self.parents.values()), list(self.children.values()),
                                           self.fills, dict(self.meta), list(self.positions.values()),
                                           self.client_out, marks=list(self.marks.values()))
            self._recorded_released = self._released_seq
            stored_seq = journal[-1].seq
            faults.reached("journal_committed")
        client_out, venue_out = self.client_out, self.venue_out
        self._reset()
        for report in client_out:
            try:
                self._send(report)
            except Exception:
                log.exception("could not deliver %r", report)
        if stored_seq and client_out:
            self._released_seq = stored_seq     # recorded with the next batch
        for delay_ns, command in venue_out:
            if delay_ns > 0:
                self._later(delay_ns, lambda c=command: self._to_venue(c))
            else:
                try:
                    self._to_venue(command)
                except Exception:
                    log.exception("venue adapter failed on %r", command)
                if type(command) is SubmitChild:
                    faults.reached("child_sent")
