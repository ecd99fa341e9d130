"""The venue adapter template (protocol v2): every venue, simulated, remote or FIX, takes child
commands and sends reports back through the sink it was built with (on the engine thread, or
posted to it from the adapter's own thread). Every report names the child; every refusal carries
the venue's reason."""
from __future__ import annotations

from typing import Protocol

from router.domain.events import CancelChild, ReplaceChild, SubmitChild


class VenueAdapter(Protocol):
    name: str

    def submit(self, order: SubmitChild) -> None:
        """Send a child order. Back come ChildAccepted and then any ChildFilled; an IOC or FOK
        remainder ends with ChildCanceled. A refused order (unlisted symbol, a post-only order
        that would take, a bad qty or price) gets ChildRejected with the reason instead."""

    def replace(self, order: ReplaceChild) -> None:
        """Change a resting child's total qty (filled included) and/or price. Back comes
        ChildReplaced with the new total qty and price, then any ChildFilled if the new price
        crosses; or ChildReplaceRejected with the reason (unknown or finished order, qty not
        above what has filled, a post-only order that would now take)."""

    def cancel(self, order: CancelChild) -> None:
        """Pull a resting child. Back comes ChildCanceled, or ChildCancelRejected when the venue
        no longer has it (its final fill or cancel is then already on its way)."""

    def reconcile(self, child_id: str) -> None:
        """Report everything the venue knows of a child the router thinks is open (after a restart,
        a timeout or a lost connection), since the router may have missed any of it: ChildAccepted,
        then every ChildFilled again under its original exec ID (the router counts a venue and
        exec ID once), then its state — ChildReplaced with the total qty and price while it rests,
        its ChildCanceled once canceled, nothing more once filled. A child the venue refused gets
        its ChildRejected again; one it never had, ChildCanceled("unknown at venue")."""
