"""Which venues the router can reach now. A FIX venue's adapter posts ``VenueConnectivity`` at its
session's logout and logon; the SOR is told (``set_reachable``), so it routes around a venue that
is down. While no venue an order may trade on is reachable, the order is still acknowledged and
waits (an IOC is canceled), and its reports say why in Text."""
from __future__ import annotations

from collections.abc import Collection

from router.domain.events import VenueConnectivity
from venues.sor import SmartOrderRouter


class Connectivity:
    def __init__(self, venues: Collection[str], sor: SmartOrderRouter) -> None:
        self._venues = frozenset(venues)
        self._sor = sor
        self.down: set[str] = set()

    def apply(self, event: VenueConnectivity) -> None:
        self._sor.set_reachable(event.venue, event.up)
        if event.up:
            self.down.discard(event.venue)
        elif event.venue in self._venues:
            self.down.add(event.venue)

    def unreachable_text(self, symbol: str, venues: tuple[str, ...] = ()) -> str | None:
        """Why an order in ``symbol`` (on ``venues``; empty: any) cannot trade now, when it is that
        the venues that would take it are down; None while one of them is up."""
        if not self.down or self._sor.candidates(symbol, venues):
            return None
        return f"venues unreachable ({', '.join(sorted(self.down))}): waiting for a venue"

    def annotate(self, text: str | None, symbol: str, venues: tuple[str, ...] = ()) -> str | None:
        why = self.unreachable_text(symbol, venues)
        if why is None:
            return text
        return why if not text else f"{text}; {why}"
