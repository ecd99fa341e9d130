"""Facilitation (5094=6, algos/facilitation.py) through the simulated venues' price-improvement
auction (Cboe Rule 5.37 AIM), the whole router on a simulated clock (tests/harness.py).

The configured market's own auction responders are switched off in each test and replaced by
scripted ones, so every allocation is known in advance."""
from __future__ import annotations

import pytest

from router.config import AlgoSettings, FacilitationSettings
from router.domain.enums import ChildRole, ExecType, LimitType, OrderHandling, OrdStatus, Side
from router.server import restore_from_store
from router.store.store import Store
from tests.harness import CALL, Harness

FAC = OrderHandling.FACILITATE
MS = 1_000_000


def harness(responses=(), *, venue: str = "XCBO", persistence=None, start=None, **settings) -> Harness:
    """NBBO 4.90 x 5.00 (XCBO, tightest) with BATO 4.85 x 5.05; ``responses``: (owner, price,
    qty) each answered 10 ms into every auction on ``venue``."""
    algos = AlgoSettings(facilitation=FacilitationSettings(**settings))
    h = Harness(algo_settings=algos, persistence=persistence, **({"start": start} if start else {}))
    for v in h.venues.values():
        v.auction_listeners.clear()
    h.quote("XCBO", CALL, bids=[(4.90, 10)], asks=[(5.00, 10)])
    h.quote("BATO", CALL, bids=[(4.85, 10)], asks=[(5.05, 10)])
    answer(h, venue, responses)
    return h


def answer(h: Harness, venue: str, responses) -> None:
    sim = h.venues[venue]

    def respond(notice):
        for owner, price, qty in responses:
            h.clock.call_later(10 * MS, lambda o=owner, p=price, q=qty: sim.respond(notice.auction_id, o, p, q))
    sim.auction_listeners.append(respond)


def fills(h: Harness, cl_ord_id: str = "C1"):
    return [r for r in h.reports(cl_ord_id) if r.exec_type is ExecType.TRADE]


def firm_position(h: Harness, order_id: str = "P1", account: str = "FIRM"):
    return h.engine.positions.position(account, order_id, CALL)


# ---- the acceptance scenario

def test_facilitation_gives_the_firm_at_least_40_percent_and_the_client_improvement():
    h = harness([("mmA", 4.97, 100), ("mmB", 4.98, 20)])
    h.new("C1", Side.BUY, 50, 5.00, order_handling=FAC)
    h.settle(1.0)

    (result, text) = h.engine.auctions.results["P1.1A"]
    assert result.venue == "XCBO" and result.nbbo_price == pytest.approx(5.00)
    # auto-match down to 4.90 (3 nickel ticks, kept inside the bid): the firm matches mmA at 4.97
    assert result.initiator_qty >= 0.4 * result.qty and result.initiator_qty + result.responder_qty == 50
    assert result.improvement > 0 and result.avg_price < 5.00
    parent = h.engine.parents["P1"]
    assert parent.status is OrdStatus.FILLED and parent.cum_qty == 50       # the firm's fills are not the client's
    assert [(f.last_mkt, f.last_px) for f in fills(h)] == [("XCBO", 4.97)] * len(fills(h))
    assert sum(f.last_qty for f in fills(h)) == 50
    final = h.reports("C1")[-1]
    assert final.exec_type is ExecType.DONE_FOR_DAY and final.ord_status is OrdStatus.FILLED
    assert final.text == text
    assert "price improvement $3.00/contract, $150.00 total" in text
    assert f"firm {result.initiator_qty} (" in text and f"responders {result.responder_qty} (" in text
    firm = firm_position(h)
    assert firm is not None and firm.qty == -result.initiator_qty           # the firm sold to the client
    client = h.engine.positions.position("CLIENT1", "P1", CALL)
    assert client.qty == 50
    initiator = h.engine.orders.children["P1.2"]
    assert initiator.role is ChildRole.FIRM and initiator.side is Side.SELL


def test_with_no_responders_the_firm_takes_all_at_the_stop():
    h = harness()
    h.new("C1", Side.BUY, 40, 5.00, order_handling=FAC)
    h.settle(1.0)
    result, text = h.engine.auctions.results["P1.1A"]
    assert (result.initiator_qty, result.responder_qty, result.avg_price) == (40, 0, pytest.approx(5.00))
    assert [(f.last_qty, f.last_px) for f in fills(h)] == [(40, 5.00)]
    assert "firm 40 (100%), responders 0 (0%, 0 responses)" in h.reports("C1")[-1].text
    assert firm_position(h).qty == -40


def test_a_sell_is_facilitated_by_a_firm_buy():
    h = harness([("mmA", 4.93, 100)])
    h.new("C1", Side.SELL, 20, 4.90, order_handling=FAC)
    h.settle(1.0)
    result, _ = h.engine.auctions.results["P1.1A"]
    assert result.avg_price > 4.90 and result.initiator_qty >= 8
    assert firm_position(h).qty == result.initiator_qty
    assert h.engine.parents["P1"].cum_qty == 20


# ---- maximise or minimise the firm's share

def test_maximize_auto_matches_and_keeps_the_firm_share():
    h = harness([("mmA", 4.98, 100)], firm_share="maximize")
    h.new("C1", Side.BUY, 50, 5.00, order_handling=FAC)
    h.settle(1.0)
    result, _ = h.engine.auctions.results["P1.1A"]
    # the firm matches mmA's 4.98: one responder there, so the firm keeps 50%
    assert (result.final_price, result.initiator_qty, result.responder_qty) == (pytest.approx(4.98), 25, 25)


def test_minimize_stops_at_the_nbbo_and_lets_responders_take_it_all():
    h = harness([("mmA", 4.98, 100)], firm_share="minimize")
    h.new("C1", Side.BUY, 50, 5.05, order_handling=FAC)       # a limit through the offer: stopped at the NBBO
    h.settle(1.0)
    result, text = h.engine.auctions.results["P1.1A"]
    assert result.stop_price == pytest.approx(5.00)
    assert (result.initiator_qty, result.responder_qty) == (0, 50)
    assert not h.engine.orders.children["P1.2"].cum_qty
    assert "firm 0 (0%), responders 50 (100%" in text
    assert firm_position(h) is None or firm_position(h).qty == 0


# ---- the pre-sweep

def test_the_pre_sweep_takes_better_priced_displayed_liquidity_first():
    h = harness()
    h.new("C1", Side.BUY, 50, 5.05, order_handling=FAC)       # maximize: stopped at the client's 5.05
    h.settle(1.0)
    children = h.children("P1")
    sweep = children[0]
    assert (sweep.role, sweep.venue, sweep.cum_qty, sweep.price) == (ChildRole.WORK, "XCBO", 10, pytest.approx(5.00))
    result, _ = h.engine.auctions.results[f"{children[1].child_id}A"]
    assert (result.qty, result.stop_price) == (40, pytest.approx(5.05))
    assert [(f.last_qty, f.last_px) for f in fills(h)] == [(10, 5.00), (40, 5.05)]
    assert h.engine.parents["P1"].cum_qty == 50


def test_without_the_pre_sweep_a_stop_through_the_offer_is_refused():
    h = harness(pre_sweep=False)
    h.new("C1", Side.BUY, 50, 5.05, order_handling=FAC)
    h.settle(1.0)
    final = h.reports("C1")[-1]
    assert final.ord_status is OrdStatus.CANCELED and not h.children("P1")
    assert final.text == "facilitation: stop price 5.05 (Price 44) is outside the NBBO 4.9 x 5 and the pre-sweep is off"


# ---- the alpha gate

def test_the_alpha_gate_declines_when_the_firm_side_would_lose():
    h = harness()
    h.new("C1", Side.BUY, 50, 4.90, order_handling=FAC)       # the firm would sell at the bid, below the mid
    h.settle(1.0)
    final = h.reports("C1")[-1]
    assert final.ord_status is OrdStatus.CANCELED and not h.children("P1") and not h.engine.auctions.results
    assert final.text.startswith("facilitation declined: the alpha model (standard, 60 s) gives the firm's sell at "
                                 "4.9 a ")
    assert "below the 40% threshold" in final.text


def test_the_same_order_facilitates_with_the_gate_off_or_at_the_offer():
    off = harness(alpha_gate=False)
    off.new("C1", Side.BUY, 50, 4.90, order_handling=FAC)
    off.settle(1.0)
    assert off.engine.auctions.results["P1.1A"][0].stop_price == pytest.approx(4.90)
    at_offer = harness()
    at_offer.new("C1", Side.BUY, 50, 5.00, order_handling=FAC)
    at_offer.settle(1.0)
    assert "P1.1A" in at_offer.engine.auctions.results


# ---- bad input

def test_a_stop_outside_the_nbbo_is_refused_with_the_reason():
    h = harness(alpha_gate=False)
    h.new("C1", Side.BUY, 50, 4.80, order_handling=FAC)
    h.settle(1.0)
    final = h.reports("C1")[-1]
    assert final.ord_status is OrdStatus.CANCELED and not h.children("P1")
    assert final.text == "facilitation: stop price 4.8 (Price 44) is outside the NBBO 4.9 x 5"


class _NoAuctions:
    """A venue adapter without auctions (as the FIX and remote adapters are today)."""
    def __init__(self, venue) -> None:
        self._venue = venue

    def __getattr__(self, name):
        if name in ("start_auction", "submit_package"):
            raise AttributeError(name)
        return getattr(self._venue, name)


def test_an_option_with_no_auction_venue_is_refused():
    h = harness()
    for name in list(h.engine.venues):
        h.engine.venues[name] = _NoAuctions(h.engine.venues[name])
    h.new("C1", Side.BUY, 50, 5.00, order_handling=FAC)
    h.settle(1.0)
    final = h.reports("C1")[-1]
    assert final.ord_status is OrdStatus.CANCELED and not h.children("P1")
    assert final.text == f"facilitation: no venue with a price-improvement auction lists {CALL.strip()}"


def test_facilitation_of_a_stock_or_a_tied_limit_is_rejected_at_entry():
    h = harness()
    h.new("C1", Side.BUY, 100, 200.0, symbol="AAPL", order_handling=FAC)
    assert h.reports("C1")[-1].ord_status is OrdStatus.REJECTED
    assert "facilitation (SROrderHandling 5094=6) trades options; AAPL is not one" in h.reports("C1")[-1].text
    h.new("C2", Side.BUY, 10, 5.00, order_handling=FAC, limit_type=LimitType.PRC_DE)
    assert h.reports("C2")[-1].ord_status is OrdStatus.REJECTED
    assert "SRLimitType (5098) PRC_DE is not supported by facilitation" in h.reports("C2")[-1].text


def test_a_venue_refusing_the_auction_cancels_the_order_with_its_reason():
    h = harness()
    h.venues["XCBO"].auction_rules = type(h.venues["XCBO"].auction_rules)(min_qty=100)
    h.new("C1", Side.BUY, 50, 5.00, order_handling=FAC)
    h.settle(1.0)
    final = h.reports("C1")[-1]
    assert final.ord_status is OrdStatus.CANCELED and final.cum_qty == 0
    assert final.text == ("facilitation: XCBO refused the auction: auction refused: agency qty 50 is below the "
                          "auction minimum of 100")
    assert all(c.status.is_done for c in h.children("P1"))


def test_a_balance_beyond_the_auction_is_canceled_with_the_auction_text():
    h = harness()
    h.new("C1", Side.BUY, 50, 5.00, order_handling=FAC, active_size=30)   # ActiveOrderSize caps the agency order
    h.settle(1.0)
    result, text = h.engine.auctions.results["P1.1A"]
    assert result.qty == 30
    final = h.reports("C1")[-1]
    assert (final.ord_status, final.cum_qty) == (OrdStatus.CANCELED, 30)
    assert final.text == f"{text}; balance 20 canceled after the auction"


# ---- restart in the exposure period

def open_store(tmp_path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'router.db'}")
    store.migrate()
    return store


def test_a_restart_in_the_exposure_period_neither_loses_nor_doubles_a_child(tmp_path):
    store = open_store(tmp_path)
    first = harness(persistence=store)
    first.new("C1", Side.BUY, 50, 5.00, order_handling=FAC)
    first.settle(0.03)                                   # accepted, 100 ms exposure running
    before = {c.child_id: c.role for c in first.children("P1")}
    assert before == {"P1.1": ChildRole.WORK, "P1.2": ChildRole.FIRM}
    assert all(c.is_open for c in first.children("P1"))
    store.close()

    store = open_store(tmp_path)
    second = harness(persistence=store, start=first.now())
    restored = restore_from_store(store)
    assert {c.child_id: c.role for c in restored.children} == before       # both children survive, with roles
    second.engine.restore(restored)
    second.settle(3.0)                                   # the new venue session does not know them
    assert {c.child_id for c in second.children("P1")} == set(before)      # nothing sent again
    assert all(c.status.is_done for c in second.children("P1"))
    parent = second.engine.parents["P1"]
    assert parent.closed and parent.status is OrdStatus.CANCELED and parent.cum_qty == 0
    assert "no result from XCBO" in second.reports("C1")[-1].text
    child_ids = [c.child_id for c in store.children("P1")]
    assert sorted(child_ids) == ["P1.1", "P1.2"]


def test_the_auction_and_the_firm_fills_are_journaled(tmp_path):
    store = open_store(tmp_path)
    h = harness([("mmA", 4.97, 100)], persistence=store)
    h.new("C1", Side.BUY, 50, 5.00, order_handling=FAC)
    h.settle(1.0)
    entries = {e.kind: e.payload for e in store.iter_journal()}
    assert {"auction_start", "auction_result", "firm_fill"} <= set(entries)
    assert '"initiator_qty":25' in entries["auction_result"] and '"account":"FIRM"' in entries["firm_fill"]
    fills_by_role = {f.role: f.qty for f in store.fills("P1") if f.role is ChildRole.FIRM}
    assert fills_by_role == {ChildRole.FIRM: 25}


class _Silent(_NoAuctions):
    """A venue that takes a StartAuction and never answers it, nor a reconcile (it counts them)."""
    def __init__(self, venue) -> None:
        super().__init__(venue)
        self.reconciled: list[str] = []

    def __getattr__(self, name):
        if name == "start_auction":
            return lambda order: None
        if name == "reconcile":
            return self.reconciled.append
        return getattr(self._venue, name)


def test_an_auction_the_venue_never_answers_is_reconciled_again_and_again():
    h = harness()
    silent = h.engine.venues["XCBO"] = _Silent(h.engine.venues["XCBO"])
    h.new("C1", Side.BUY, 50, 5.00, order_handling=FAC)
    h.settle(1.0)
    assert all(c.is_open for c in h.children("P1")) and not silent.reconciled
    h.settle(10.0)                                       # the pending timeout (2 s) asks the venue each period
    assert silent.reconciled.count("P1.1") >= 4 and silent.reconciled.count("P1.2") >= 4
    assert h.engine.parents["P1"].cum_qty == 0


def test_a_restart_while_the_venue_runs_the_auction_completes_it_exactly_once(tmp_path):
    store = open_store(tmp_path)
    first = harness([("mmA", 4.97, 100)], persistence=store)
    first.new("C1", Side.BUY, 50, 5.00, order_handling=FAC)
    first.settle(0.03)                                   # in the exposure period
    store.close()
    first.engine._handle_safely = lambda event: None     # the router process is gone; the exchange runs on
    first.engine.work.flush = lambda: None

    store = open_store(tmp_path)
    second = harness(persistence=store, start=first.now())
    xcbo = first.venues["XCBO"]
    xcbo._report_sink = second.engine.dispatch           # the exchange's session with the restarted router
    second.engine.venues["XCBO"] = xcbo
    second.engine.restore(restore_from_store(store))
    for _ in range(1000):                                # both clocks on, in 1 ms steps
        first.clock.advance(MS)
        second.clock.advance(MS)

    parent = second.engine.parents["P1"]
    assert parent.status is OrdStatus.FILLED and parent.cum_qty == 50
    agency, initiator = (second.engine.orders.children[c] for c in ("P1.1", "P1.2"))
    assert (agency.cum_qty, initiator.cum_qty) == (50, 25)              # every fill counted once
    assert sorted(c.child_id for c in store.children("P1")) == ["P1.1", "P1.2"]
    assert xcbo.submits["P1.1"] == 1 and xcbo.submits["P1.2"] == 1     # nothing sent twice
    assert second.engine.positions.position("FIRM", "P1", CALL).qty == -25
    final = second.reports("C1")[-1]
    assert final.exec_type is ExecType.DONE_FOR_DAY and "firm 25 (50%), responders 25 (50%" in final.text
