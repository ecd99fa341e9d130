"""The venue adapter template (protocol v2): every venue, simulated, remote or FIX, takes child
commands and sends reports back through the sink it was built with (on the engine thread, or
posted to it from the adapter's own thread). Every report names the child; every refusal carries
the venue's reason."""
from __future__ import annotations

from typing import Protocol

from router.domain.events import CancelChild, ReplaceChild, StartAuction, SubmitChild, SubmitPackage


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


class ComplexVenueAdapter(VenueAdapter, Protocol):
    """A venue with a complex order book and a price-improvement auction (today the simulated venue,
    venues/sim/venue_complex.py; the FIX and remote adapters do not offer them yet). CancelChild,
    ReplaceChild and reconcile apply to package children as to any other."""

    def submit_package(self, order: SubmitPackage) -> None:
        """Send a package (up to 6 option legs and 1 stock leg) to the venue's complex order book.
        Back come ChildAccepted and then, per fill, one PackageFilled (package units at the net
        price) followed by one PackageLegFilled per leg (leg index, symbol, side, qty, price; the
        ratio-weighted leg prices sum exactly to the net price, each inside its leg's NBBO). An IOC
        or FOK remainder ends with ChildCanceled. A refused package (more than 6 option legs, a
        ratio of zero, an instrument twice, a stock leg on a non-equity underlier, legs on
        different underliers where the venue does not allow it, a net price off the COB's grid)
        gets ChildRejected with the reason. A replace's qty counts units of the ratio-reduced
        package, its price is the net price."""

    def start_auction(self, order: StartAuction) -> None:
        """Start a price-improvement auction pairing the agency child with the initiating child.
        Back come ChildAccepted for both (or ChildRejected for both, "auction refused: <reason>",
        for a stop price outside the NBBO, a qty below the venue's minimum, a bad auto-match
        limit); after the exposure period the agency child's ChildFilled (one per allocation), the
        initiator's ChildFilled for its share and ChildCanceled for any part responders took, and
        one AuctionResult (price improvement vs the NBBO, the initiator's and the responders'
        shares, each allocation). Neither child can be canceled or replaced meanwhile
        (ChildCancelRejected / ChildReplaceRejected with the reason)."""
