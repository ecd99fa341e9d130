"""Price-improvement auctions for facilitation parents (algos/facilitation.py): which venue may
run one, the start (two children through the child order manager, one StartAuction), the watch
that keeps an auction from hanging, and the AuctionResult.

An auction's id is its agency child's id with "A" (P3.2 -> P3.2A), so a result finds its parent
after a restart without any state of its own. The result is journaled ("auction_result") and
kept in ``results``; its text (``algos.facilitation.auction_text``) reaches the client on the
parent's final ExecutionReport: through the algo, which cancels any balance with it, or, when
the auction filled the order, as one more report (DoneForDay, OrdStatus Filled: the shape of
"filled; auto-hedge done") after the fills.

Nothing hangs: both children are pending until the venue accepts them (the manager's timeout
covers that); after that an auction still open ``result_timeout_ms`` after its start has both
children reconciled with the venue, and again each period until they are done.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from algos.facilitation import auction_text
from router.config import FacilitationSettings
from router.domain.enums import ChildRole, ExecType, OrdStatus, Side
from router.domain.events import AuctionResult
from router.domain.orders import ChildOrder, ParentOrder

if TYPE_CHECKING:
    from .engine import Engine


def auction_id_of(agency_child_id: str) -> str:
    return f"{agency_child_id}A"


def agency_child_of(auction_id: str) -> str:
    return auction_id[:-1]


class Auctions:
    def __init__(self, engine: "Engine", settings: FacilitationSettings) -> None:
        self._engine = engine
        self.settings = settings
        self.results: dict[str, tuple[AuctionResult, str]] = {}     # auction id -> (result, the client's text)

    # ------------------------------------------------------------------ venues

    def venues_for(self, parent: ParentOrder) -> list[str]:
        """The parent's allowed venues that list its option and run auctions."""
        engine = self._engine
        return [v for v in engine.sor.candidates(parent.symbol, parent.algo.exchanges)
                if callable(getattr(engine.venues.get(v), "start_auction", None))]

    def choose_venue(self, parent: ParentOrder) -> str | None:
        """The auction venue whose own quote is tightest (then the best own contra price, the most
        size shown there, the name): its market makers are the likeliest to improve."""
        book = self._engine.books.book(parent.symbol)
        contra = Side.SELL if parent.side.is_buy else Side.BUY

        def rank(venue: str):
            bids, asks = book.levels(venue, Side.BUY), book.levels(venue, Side.SELL)
            spread = asks[0].price - bids[0].price if bids and asks else float("inf")
            levels = book.levels(venue, contra)
            price = levels[0].price if levels else None
            better = float("inf") if price is None else (price if parent.side.is_buy else -price)
            return spread, better, -(levels[0].qty if levels else 0), venue
        venues = self.venues_for(parent)
        return min(venues, key=rank) if venues else None

    # ------------------------------------------------------------------ starting and watching

    def start(self, parent: ParentOrder, venue: str, qty: int, stop: float,
              auto_match_limit: float | None) -> tuple[str, str, str] | str:
        engine = self._engine
        if venue not in self.venues_for(parent):
            return f"{venue} does not run price-improvement auctions for {parent.symbol.strip()}"
        made = engine.children.start_auction(parent, engine.securities.get(parent.symbol), venue, qty, stop,
                                             auto_match_limit, auction_id_of)
        if isinstance(made, str):
            return made
        agency, initiator = made
        auction_id = auction_id_of(agency.child_id)
        engine.work.journal_add("auction_start", parent.session, {
            "auction": auction_id, "venue": venue, "parent": parent.order_id, "agency": agency.child_id,
            "initiator": initiator.child_id, "qty": agency.qty, "stop": stop, "auto_match_limit": auto_match_limit,
            "firm_account": self.settings.firm_account})
        self.watch(agency, initiator)
        return auction_id, agency.child_id, initiator.child_id

    def watch(self, agency: ChildOrder, initiator: ChildOrder) -> None:
        """Reconcile both children while either is open past the timeout (and again each period)."""
        engine = self._engine
        period_ns = int(self.settings.result_timeout_ms * 1_000_000)

        def check() -> None:
            open_ = [c for c in (agency, initiator) if c.is_open]
            if not open_:
                return
            engine.work.journal_add("auction_timeout", None, {"auction": auction_id_of(agency.child_id),
                                                              "open": [c.child_id for c in open_]})
            for child in open_:
                engine.venues[child.venue].reconcile(child.child_id)
            engine.timers.call_later(period_ns, check)
        engine.timers.call_later(period_ns, check)

    def restored(self, children: list[ChildOrder]) -> None:
        """After a restart: watch every auction whose children are still open (restore.py)."""
        by_id = {c.child_id: c for c in children}
        for child in children:
            if child.role is not ChildRole.FIRM:
                continue
            agency_id = f"{child.parent_id}.{int(child.child_id.rsplit('.', 1)[1]) - 1}"
            agency = by_id.get(agency_id) or self._engine.orders.children.get(agency_id)
            if agency is not None:
                self.watch(agency, child)

    # ------------------------------------------------------------------ the result

    def on_result(self, result: AuctionResult) -> None:
        engine = self._engine
        payload = asdict(result)
        payload["agency_side"] = result.agency_side.value
        engine.work.journal_add("auction_result", None, payload)
        agency = engine.orders.children.get(agency_child_of(result.auction_id))
        parent = engine.orders.parents.get(agency.parent_id) if agency is not None else None
        if parent is None:
            return                       # not ours (journaled all the same)
        instrument = engine.securities.get(parent.symbol)
        text = auction_text(result, instrument.multiplier if instrument is not None else 100)
        self.results[result.auction_id] = (result, text)
        if engine.runtime.auction_result(parent.order_id, result):
            engine.lifecycle.settle(parent)
            return                       # the algo ends the balance with the text
        filled = parent.status is OrdStatus.FILLED
        engine.reports.send(parent, ExecType.DONE_FOR_DAY if filled else ExecType.ORDER_STATUS, text=text)
