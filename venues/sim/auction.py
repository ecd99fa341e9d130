"""A price-improvement auction for one option, after Cboe Rule 5.37 (Automated Improvement
Mechanism, AIM; BOX's PIP works the same way). Pure: the venue (venues/sim/venue.py) runs the
exposure period on its clock and reports; this module validates, collects responses and
allocates. Prices are integer ticks of the venue's book (0.01: responses may improve in pennies
whatever the class's tick, as on Cboe).

Start (Rule 5.37(a)-(b)): an agency order is paired with an initiating order that stops it in
full at the stop price, which must be at or inside the NBBO (for an agency buy, at most the
national best offer and at least the national best bid); an agency order below the venue's
minimum size is refused. The initiator chooses a single price (it trades only at the stop
price) or auto-match: it matches every better response, price level by price level, up to its
auto-match limit.

Responses (Rule 5.37(c)): on the initiator's side, at the stop price or better for the agency
order, any size; a responder's newer response replaces its earlier one.

Allocation at the end of the exposure period (Rule 5.37(e)), best price first for the agency:
  1. At each price better than every price the initiator trades at, the responders there fill
     what is left of the agency order, pro-rata by size (matching.pro_rata_shares: shares
     rounded down, the rest in time priority). Pro-rata, not size-then-time, because it is
     Cboe's allocation for the responders (the class's pro-rata algorithm) and because a
     size-first rule would let one large response take everything.
  2. The final price is the first level the initiator trades at: the stop price, or with
     auto-match the best response at or inside its limit. There the initiator is guaranteed
     the greater of one contract and 40% of the agency order (``guarantee_pct``), or 50%
     (``single_responder_pct``) when exactly one responder is at that price, capped at what is
     left; the responders at that price share the rest pro-rata, and the initiator takes any
     part they do not cover. With no responses the initiator fills the whole order at the stop.
Worked example (an agency buy of 100 stopped at 1.05 against an NBBO of 1.00 x 1.05, with
auto-match down to 1.02): responses A 100 @ 1.03, B 50 @ 1.03, C 10 @ 1.04 -> the final price
is 1.03; the initiator takes 40, A and B split 60 pro-rata 40 and 20; C's 1.04 is worse and
gets nothing; the client buys 100 @ 1.03, 0.02 better than the offer.

Not modelled: resting book interest joining the allocation, an auction ended early by an
incoming order or a moving NBBO, and Rule 5.37's small-order (< 50 contracts) one-tick
improvement requirement.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from router.domain.enums import Side

from .matching import pro_rata_shares

INITIATOR = "initiator"
EXPOSURE_NS = 100_000_000           # 100 ms


class AuctionError(ValueError):
    """An auction or a response the venue refuses, with the reason."""


@dataclass(frozen=True, slots=True)
class AuctionRules:
    exposure_ns: int = EXPOSURE_NS
    min_qty: int = 1
    guarantee_pct: float = 0.40
    single_responder_pct: float = 0.50

    def __post_init__(self) -> None:
        if self.exposure_ns <= 0:
            raise AuctionError(f"exposure period must be positive, got {self.exposure_ns} ns")
        if self.min_qty < 1:
            raise AuctionError(f"auction minimum qty must be at least 1, got {self.min_qty}")
        for name in ("guarantee_pct", "single_responder_pct"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise AuctionError(f"{name} must be within 0..1, got {getattr(self, name)}")


@dataclass(frozen=True, slots=True)
class Response:
    owner: str
    price_ticks: int
    qty: int
    seq: int                            # arrival order, for time priority


@dataclass(frozen=True, slots=True)
class Allocation:
    owner: str                          # INITIATOR or a responder
    qty: int
    price_ticks: int


@dataclass(frozen=True, slots=True)
class AuctionOutcome:
    allocations: tuple[Allocation, ...]
    final_price_ticks: int
    avg_price_ticks: float
    initiator_qty: int
    responder_qty: int
    responses: int


@dataclass(slots=True)
class Auction:
    auction_id: str
    symbol: str
    agency_side: Side
    qty: int
    stop_ticks: int
    nbbo: tuple[int | None, int | None]          # (bid, ask) ticks when it started
    rules: AuctionRules = field(default_factory=AuctionRules)
    auto_match_ticks: int | None = None
    responses: dict[str, Response] = field(default_factory=dict)
    _seq: int = 0

    def __post_init__(self) -> None:
        if self.qty < self.rules.min_qty:
            raise AuctionError(f"agency qty {self.qty} is below the auction minimum of {self.rules.min_qty}")
        bid, ask = self.nbbo
        contra = ask if self.agency_side.is_buy else bid
        if contra is None:
            raise AuctionError(f"{self.symbol.strip()} has no NBBO {'offer' if self.agency_side.is_buy else 'bid'} "
                               "to stop the agency order against")
        low, high = (bid if bid is not None else 1), (ask if ask is not None else self.stop_ticks)
        if not low <= self.stop_ticks <= high:
            raise AuctionError(f"stop price {self.stop_ticks} ticks is outside the NBBO {bid} x {ask} ticks")
        if self.auto_match_ticks is not None:
            limit = self.auto_match_ticks
            if not self._at_or_better(limit, self.stop_ticks) or not low <= limit <= high:
                raise AuctionError(f"auto-match limit {limit} ticks must be at or better than the stop price "
                                   f"{self.stop_ticks} for the agency order and inside the NBBO {bid} x {ask}")

    @property
    def nbbo_contra(self) -> int:
        """The NBBO on the agency's contra side at the start: the offer for an agency buy."""
        return self.nbbo[1] if self.agency_side.is_buy else self.nbbo[0]

    def _at_or_better(self, price: int, than: int) -> bool:
        """Whether ``price`` is at or better than ``than`` for the agency order."""
        return price <= than if self.agency_side.is_buy else price >= than

    def respond(self, owner: str, price_ticks: int, qty: int) -> None:
        if owner == INITIATOR:
            raise AuctionError(f"{INITIATOR!r} is the initiating order's name, not a responder")
        if qty <= 0:
            raise AuctionError(f"response qty must be positive, got {qty}")
        if price_ticks <= 0:
            raise AuctionError(f"response price must be positive, got {price_ticks} ticks")
        if not self._at_or_better(price_ticks, self.stop_ticks):
            raise AuctionError(f"response {price_ticks} ticks is worse for the agency order than the stop price "
                               f"{self.stop_ticks} ticks")
        self._seq += 1
        self.responses[owner] = Response(owner, price_ticks, qty, self._seq)

    def _initiator_at(self, price: int) -> bool:
        """The initiator trades at the stop price, and with auto-match at every price from the stop
        to its limit (the limit at or better than ``price`` for the agency order)."""
        if price == self.stop_ticks:
            return True
        return self.auto_match_ticks is not None and self._at_or_better(self.auto_match_ticks, price)

    def allocate(self) -> AuctionOutcome:
        responses = sorted(self.responses.values(), key=lambda r: r.seq)
        prices = sorted({r.price_ticks for r in responses} | {self.stop_ticks},
                        reverse=not self.agency_side.is_buy)          # best for the agency first
        left, allocations = self.qty, []
        final = self.stop_ticks
        for price in prices:
            here = [r for r in responses if r.price_ticks == price]
            if self._initiator_at(price):
                final = price
                pct = self.rules.single_responder_pct if len(here) == 1 else self.rules.guarantee_pct
                guaranteed = min(left, max(1, int(pct * self.qty))) if here else left
                shares = pro_rata_shares(left - guaranteed, [min(r.qty, self.qty) for r in here]) if here else []
                allocations += [Allocation(r.owner, s, price) for r, s in zip(here, shares) if s]
                allocations.append(Allocation(INITIATOR, left - sum(shares), price))
                left = 0
                break
            shares = pro_rata_shares(left, [min(r.qty, self.qty) for r in here])
            allocations += [Allocation(r.owner, s, price) for r, s in zip(here, shares) if s]
            left -= sum(shares)
            final = price
            if not left:
                break
        initiator = sum(a.qty for a in allocations if a.owner == INITIATOR)
        avg = sum(a.qty * a.price_ticks for a in allocations) / self.qty
        return AuctionOutcome(tuple(allocations), final, avg, initiator, self.qty - initiator, len(responses))

    def improvement_ticks(self, avg_price_ticks: float) -> float:
        """The agency's price improvement per share against the NBBO at the start, in ticks."""
        contra = self.nbbo_contra
        return contra - avg_price_ticks if self.agency_side.is_buy else avg_price_ticks - contra
