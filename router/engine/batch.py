"""The unit of work: what one batch of inbox events changed, and what it will send.

Store then send: ``flush`` persists the batch's journal entries and the rows it touched in one
commit, and only then releases its reports to clients and its commands to venues.
"""
from __future__ import annotations

import json
import logging
from typing import Callable, Iterable, Protocol

from router.clock import Clock
from router.domain.events import ClientReport, JournalEntry, VenueCommand
from router.domain.orders import ChildOrder, Fill, ParentOrder

log = logging.getLogger(__name__)


class Persistence(Protocol):
    """What the engine needs from the store (router.store.Store implements it)."""

    def commit_batch(self, journal: list[JournalEntry], parents: Iterable[ParentOrder], children: Iterable[ChildOrder],
                     fills: Iterable[Fill], meta: dict[str, str] | None = None) -> None: ...


class UnitOfWork:
    def __init__(self, clock: Clock, persistence: Persistence | None, send: Callable[[ClientReport], None],
                 to_venue: Callable[[VenueCommand], None], later: Callable[[int, Callable[[], None]], object]) -> None:
        self._clock = clock
        self._later = later           # a delayed command is released as an engine event of its own
        self._persistence = persistence
        self._send = send
        self._to_venue = to_venue
        self.journal_seq = 0
        self.meta: dict[str, str] = {}
        self.before_commit: list[Callable[[], None]] = []   # run at the end of every batch, before it is stored
        self._reset()

    def _reset(self) -> None:
        self.journal: list[JournalEntry] = []
        self.parents: dict[str, ParentOrder] = {}
        self.children: dict[str, ChildOrder] = {}
        self.fills: list[Fill] = []
        self.client_out: list[ClientReport] = []
        self.venue_out: list[tuple[int, VenueCommand]] = []

    # ---- recording

    def journal_add(self, kind: str, session: str | None, payload: object) -> None:
        self.journal_seq += 1
        text = payload if isinstance(payload, str) else json.dumps(payload, default=str, separators=(",", ":"))
        self.journal.append(JournalEntry(self.journal_seq, self._clock.now_ns(), kind, session, text))

    def touch(self, parent: ParentOrder) -> None:
        self.parents[parent.order_id] = parent

    def touch_child(self, child: ChildOrder) -> None:
        self.children[child.child_id] = child

    def report(self, report: ClientReport) -> None:
        self.client_out.append(report)

    def command(self, command: VenueCommand, delay_ns: int = 0) -> None:
        self.venue_out.append((delay_ns, command))

    # ---- release

    def flush(self) -> None:
        for hook in self.before_commit:
            hook()
        if self._persistence is not None and (self.journal or self.parents or self.children):
            self._persistence.commit_batch(self.journal, list(self.parents.values()), list(self.children.values()),
                                           self.fills, dict(self.meta))
        client_out, venue_out = self.client_out, self.venue_out
        self._reset()
        for report in client_out:
            try:
                self._send(report)
            except Exception:
                log.exception("could not deliver %r", report)
        for delay_ns, command in venue_out:
            if delay_ns > 0:
                self._later(delay_ns, lambda c=command: self._to_venue(c))
            else:
                self._to_venue(command)
