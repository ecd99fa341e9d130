"""Facilitation (5094=6 Facilitate): the client's order (agency) and the firm's contra order
(initiator) go together into one venue's price-improvement auction (Cboe Rule 5.37 AIM;
venues/sim/auction.py), after an optional sweep of better-priced displayed liquidity ("sweep all
available liquidity or create space to facilitate").

Steps, for a client buy (a sell mirrors it):
1. The stop price S: the client's limit (Price 44 with 5106/5126 applied), or the NBBO offer for
   a market order; with ``firm_share = "minimize"`` never worse for the client than the offer.
   A stop below the NBBO bid is refused ("outside the NBBO"); so is one above the offer when the
   pre-sweep is off.
2. The alpha gate (``alpha_gate``): the shipped alpha model (router/models/alpha.py) gives the
   chance that the firm's side (selling at S) has a positive markout over its horizon. Below
   ``min_firm_probability`` the firm declines: the order is canceled with the model's figure (we
   chose cancel over working it as a plain sweep: the client asked for a facilitation, and can
   route the order again). A model that cannot score now (no two-sided book) leaves the gate open.
3. The pre-sweep (``pre_sweep``): IOC children take what is displayed at prices better than S
   (below it), so that S is at or inside the NBBO.
4. The auction, on one venue: among the venues the order may use that run auctions and list the
   option, the one whose own quote is tightest (then the best own contra price, the most size
   shown there, the name): the market makers quoting tightest there are the likeliest to improve.
   ``firm_share``:
   - ``maximize``: stop at S and auto-match every better response up to ``auto_match_ticks``
     ticks better than S (never past the NBBO bid): the firm keeps its 40% (50% against one
     responder) at the final price and everything responders do not cover;
   - ``minimize``: stop at the NBBO offer (the client's limit if that is better), single price
     (no auto-match): responders take all they improve on, the firm only the rest at the stop.
5. After the auction any unfilled client balance is canceled with the auction's text. The
   per-auction report (``auction_text``) is the Text of the client's final ExecutionReport: the
   client's price improvement against the NBBO ($/contract and total), the firm's share and the
   responders' share.

The firm's fills (role FIRM) book to the ``firm_account`` and never move the client's CumQty
(router/engine/accounting.py). Auctions start through the algo context (``auction_venue``,
``start_auction``: router/engine/auctions.py).
"""
from __future__ import annotations

import math

import numpy as np

from router.config import FacilitationSettings
from router.domain.enums import ChildRole, LimitType, OrdType
from router.domain.orders import ChildOrder

from .base import Algo

_EPS = 1e-9
_STATIC_TYPES = (None, LimitType.PRC, LimitType.MARKET)


def auction_text(result, multiplier: float) -> str:
    """The client's per-auction report: price improvement vs the NBBO, the firm's and the responders' shares."""
    qty = max(result.qty, 1)
    return (f"auction {result.auction_id} on {result.venue}: {result.qty} @ {result.avg_price:.4f} vs NBBO "
            f"{result.nbbo_price:g} (stop {result.stop_price:g}): price improvement "
            f"${result.improvement * multiplier:.2f}/contract, ${result.improvement_usd:.2f} total; "
            f"firm {result.initiator_qty} ({100.0 * result.initiator_qty / qty:.0f}%), responders "
            f"{result.responder_qty} ({100.0 * result.responder_qty / qty:.0f}%, {result.responders} responses)")


class FacilitationAlgo(Algo):
    name = "facilitation"

    def __init__(self, ctx, settings: FacilitationSettings | None = None) -> None:
        super().__init__(ctx, settings or FacilitationSettings())
        self._phase = "new"            # new -> sweep -> auction -> done
        self._auction: dict = {}       # id, agency, initiator, stop

    @classmethod
    def order_problem(cls, params, instrument) -> str | None:
        if instrument is not None and not instrument.is_option:
            return f"facilitation (SROrderHandling 5094=6) trades options; {instrument.symbol.strip()} is not one"
        if params.limit_type not in _STATIC_TYPES:
            return (f"SRLimitType (5098) {params.limit_type.name} is not supported by facilitation (5094=6): "
                    "its stop is the order's static price")
        return None

    # ------------------------------------------------------------------ durable state

    def save_state(self) -> dict:
        return {"phase": self._phase, "auction": self._auction}

    def load_state(self, state: dict) -> None:
        self._phase = state.get("phase", "new")
        self._auction = dict(state.get("auction", {}))

    def resume(self) -> None:
        if self._phase == "new":
            self.start()
        elif self._phase == "sweep" and not self.ctx.open_children():
            self._after_sweep()
        elif self._phase == "auction" and not self._auction_open():
            self._await_result()         # its result may have been lost with the restart

    # ------------------------------------------------------------------ the steps

    def start(self) -> None:
        ctx, parent = self.ctx, self.ctx.parent
        nbbo = ctx.book().nbbo()
        buy = parent.side.is_buy
        far, near = (nbbo.ask, nbbo.bid) if buy else (nbbo.bid, nbbo.ask)
        if far is None:
            return self._stop(f"no NBBO {'offer' if buy else 'bid'} to stop the order against")
        if self.ctx.auction_venue() is None:
            return self._stop(f"no venue with a price-improvement auction lists {parent.symbol.strip()}"
                              + (" among SRExchanges (5082)" if parent.algo.exchanges else ""))
        stop = self._stop_price(far)
        if near is not None and self._better(stop, near):
            return self._stop(f"stop price {stop:g} (Price 44) is outside the NBBO {_q(nbbo.bid)} x {_q(nbbo.ask)}")
        if self._better(far, stop) and not self.settings.pre_sweep:
            return self._stop(f"stop price {stop:g} (Price 44) is outside the NBBO {_q(nbbo.bid)} x {_q(nbbo.ask)} "
                              "and the pre-sweep is off")
        if (declined := self._alpha_declines(stop)) is not None:
            return self.ctx.finish(f"facilitation declined: {declined}")
        self._auction = {"stop": stop}
        self._phase = "sweep"
        if self.settings.pre_sweep and self._better(far, stop):
            limit = stop - self.ctx.instrument().tick_rule.tick_at(stop) / 2 if buy else \
                stop + self.ctx.instrument().tick_rule.tick_at(stop) / 2
            if ctx.take(parent.leaves_qty, limit, venues=parent.algo.exchanges):
                return                   # on_child_done goes on once they are back
        self._after_sweep()

    def _stop_price(self, far: float) -> float:
        parent = self.ctx.parent
        limit = parent.static_limit if parent.ord_type is OrdType.LIMIT else None
        if limit is None:
            return far
        if self.settings.firm_share == "minimize":
            return limit if self._better(limit, far) else far
        return limit

    def _better(self, price: float, than: float) -> bool:
        """Whether ``price`` is strictly better than ``than`` for the client."""
        return price < than - _EPS if self.ctx.parent.side.is_buy else price > than + _EPS

    def _alpha_declines(self, stop: float) -> str | None:
        """Why the alpha model says the firm should not take the other side at ``stop``, or None."""
        if not self.settings.alpha_gate:
            return None
        ctx = self.ctx
        ctx.follow_alpha()
        state, has = ctx.alpha_state([ctx.parent.symbol])
        if state is None or not has.all():
            return None
        firm_sign = -1.0 if ctx.parent.side.is_buy else 1.0
        model = ctx.alpha_model(self.settings.alpha_variant)
        p = float(np.asarray(model.take_probability(state, np.array([firm_sign]), np.array([[stop]])))[0, 0])
        if math.isnan(p) or p >= self.settings.min_firm_probability:
            return None
        side = "sell" if firm_sign < 0 else "buy"
        return (f"the alpha model ({self.settings.alpha_variant}, {model.horizon_s:g} s) gives the firm's {side} at "
                f"{stop:g} a {p:.0%} chance of a positive markout, below the {self.settings.min_firm_probability:.0%} "
                "threshold")

    def _after_sweep(self) -> None:
        ctx, parent = self.ctx, self.ctx.parent
        if not parent.is_working or parent.pending is not None:
            return
        balance = parent.leaves_qty
        if balance <= 0:
            self._phase = "done"
            return
        stop = self._auction["stop"]
        nbbo = ctx.book().nbbo()
        far = nbbo.ask if parent.side.is_buy else nbbo.bid
        if far is not None and self._better(far, stop):
            return self._stop(f"the pre-sweep left {far:g} displayed better than the stop {stop:g}: the stop is "
                              f"outside the NBBO {_q(nbbo.bid)} x {_q(nbbo.ask)}")
        venue = self.ctx.auction_venue()
        if venue is None:
            return self._stop(f"no venue with a price-improvement auction lists {parent.symbol.strip()}")
        started = self.ctx.start_auction(venue, balance, stop, self._auto_match_limit(stop, nbbo))
        if isinstance(started, str):
            return self._stop(started)
        auction_id, agency, initiator = started
        self._auction.update(id=auction_id, agency=agency, initiator=initiator, venue=venue)
        self._phase = "auction"

    def _auto_match_limit(self, stop: float, nbbo) -> float | None:
        ticks = self.settings.auto_match_ticks
        if self.settings.firm_share == "minimize" or ticks == 0:
            return None
        buy = self.ctx.parent.side.is_buy
        limit = self.ctx.instrument().tick_rule.step(stop, -ticks if buy else ticks)
        near = nbbo.bid if buy else nbbo.ask
        if near is not None and self._better(limit, near):
            limit = near                 # AIM: the auto-match limit stays inside the NBBO
        return None if abs(limit - stop) < _EPS else limit

    # ------------------------------------------------------------------ events

    def on_child_done(self, child: ChildOrder) -> None:
        if self._phase == "sweep" and not self.ctx.open_children():
            self._after_sweep()
        elif self._phase == "auction" and not self._auction_open():
            self._await_result()

    def on_child_rejected(self, child: ChildOrder, reason: str) -> None:
        if self._phase == "auction" and child.child_id == self._auction.get("agency") and child.status.is_done:
            self._phase = "done"
            self._stop(f"{child.venue} refused the auction: {reason}")

    def on_auction_result(self, result) -> None:
        if result.auction_id != self._auction.get("id"):
            return
        self._phase = "done"
        self.ctx.cancel_timer("result")
        text = auction_text(result, self.ctx.instrument().multiplier)
        parent = self.ctx.parent
        self.ctx.finish(f"{text}; balance {parent.leaves_qty} canceled after the auction")

    def on_timer(self, name: str) -> None:
        if name == "result" and self._phase == "auction":
            self._phase = "done"
            self._stop(f"auction {self._auction.get('id')}: no result from {self._auction.get('venue')}; "
                       "balance canceled")

    # ------------------------------------------------------------------ helpers

    def _auction_open(self) -> bool:
        ids = {self._auction.get("agency"), self._auction.get("initiator")}
        return any(c.child_id in ids for c in self.ctx.open_children(None))

    def _await_result(self) -> None:
        """Both children are done: the AuctionResult is on its way; give up on it after a while."""
        self.ctx.set_timer("result", self.ctx.now_ns() + int(self.settings.result_timeout_ms * 1e6))

    def _stop(self, why: str) -> None:
        self._phase = "done"
        self.ctx.finish(f"facilitation: {why}")


def _q(price: float | None) -> str:
    return "-" if price is None else f"{price:g}"
