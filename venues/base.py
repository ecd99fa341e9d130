"""The venue adapter template: every venue, simulated or FIX, takes child commands and sends
reports back through the sink it was built with (on the engine thread)."""
from __future__ import annotations

from typing import Callable, Protocol

from router.domain.events import BookUpdate, CancelChild, SubmitChild, VenueReport

ReportSink = Callable[[VenueReport], None]
BookSink = Callable[[BookUpdate], None]


class VenueAdapter(Protocol):
    name: str

    def submit(self, order: SubmitChild) -> None:
        """Send a child order. Acks, fills and rejects come back through the report sink."""

    def cancel(self, order: CancelChild) -> None:
        """Pull a child order back. A ChildCanceled (or a final fill) comes back."""

    def reconcile(self, child_id: str) -> None:
        """After a restart: report the venue's current view of a child the router thinks is open.
        A venue that does not know it reports it canceled."""
