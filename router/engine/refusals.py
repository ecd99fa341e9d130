"""Venue refusals per parent: so an order a venue will not take is not sent there again and again.

A venue that rejects a child of a parent (a price off its grid, a size above its maximum, a
symbol it does not list, a post-only order that would take, its session down) is left out of
that parent's next plans for a back-off that doubles with each refusal in a row from that venue
(``BACKOFF_START_NS`` up to ``BACKOFF_MAX_NS``), and is forgiven by its next accept. Some
reasons are races that the next attempt clears (the book moved under a post-only order), others
are not; the back-off serves both without parsing each venue's text. A parent whose children are
refused ``MAX_STREAK`` times in a row with no accept in between, on whatever venues, is ended by
the engine with the last venue's reason (engine.py): the client learns why instead of waiting.
Per role, so a refused hedge does not count against the option order's own work. Not saved:
after a restart every venue starts with a clean slate.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from router.domain.enums import ChildRole

BACKOFF_START_NS = 50_000_000        # 50 ms after a venue's first refusal
BACKOFF_MAX_NS = 10_000_000_000      # 10 s at most
MAX_STREAK = 6                       # refusals in a row that end the parent (one per option venue we list)


@dataclass
class _Refusals:
    by_venue: dict[str, tuple[int, int]] = field(default_factory=dict)   # venue -> (refusals in a row, until ns)
    streak: int = 0
    last: tuple[str, str] = ("", "")                                     # (venue, reason)


class VenueRefusals:
    def __init__(self) -> None:
        self._of: dict[tuple[str, ChildRole], _Refusals] = {}

    def refused(self, parent_id: str, role: ChildRole, venue: str, reason: str, now_ns: int) -> int:
        """Record a refusal; the parent's refusals in a row for this role."""
        r = self._of.setdefault((parent_id, role), _Refusals())
        count = r.by_venue.get(venue, (0, 0))[0] + 1
        r.by_venue[venue] = (count, now_ns + min(BACKOFF_START_NS << (count - 1), BACKOFF_MAX_NS))
        r.streak += 1
        r.last = (venue, reason)
        return r.streak

    def accepted(self, parent_id: str, role: ChildRole, venue: str) -> None:
        r = self._of.get((parent_id, role))
        if r is not None:
            r.by_venue.pop(venue, None)
            r.streak = 0

    def backing_off(self, parent_id: str, role: ChildRole, now_ns: int) -> frozenset[str]:
        """Venues this parent's children of ``role`` should not be sent to now."""
        r = self._of.get((parent_id, role))
        if r is None:
            return frozenset()
        return frozenset(v for v, (_, until) in r.by_venue.items() if until > now_ns)

    def next_retry_ns(self, parent_id: str, role: ChildRole) -> int | None:
        """When the first venue backing off from this parent is allowed again."""
        r = self._of.get((parent_id, role))
        return min((until for _, until in r.by_venue.values()), default=None) if r is not None else None

    def last(self, parent_id: str, role: ChildRole) -> tuple[str, str]:
        r = self._of.get((parent_id, role))
        return r.last if r is not None else ("", "")

    def forget(self, parent_id: str) -> None:
        for role in ChildRole:
            self._of.pop((parent_id, role), None)
