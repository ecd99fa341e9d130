"""The price-improvement auction (venues/sim/auction.py, after Cboe Rule 5.37 AIM), one test per
rule with a worked example, driven on the pure core; the venue-level auction (latency, reports,
the simulated responders) is in tests/unit/test_sim_venue_complex.py. Prices are cents (ticks)."""
from __future__ import annotations

import pytest

from router.domain.enums import Side
from venues.sim.auction import INITIATOR, Auction, AuctionError, AuctionRules

BUY, SELL = Side.BUY, Side.SELL
CALL = "AAPL  261218C00200000"
NBBO = (100, 105)                      # 1.00 x 1.05


def auction(qty: int = 100, stop: int = 105, side: Side = BUY, auto: int | None = None, **rules) -> Auction:
    return Auction("A1", CALL, side, qty, stop, NBBO, AuctionRules(**rules), auto)


def shares(outcome) -> dict[str, tuple[int, int]]:
    return {a.owner: (a.qty, a.price_ticks) for a in outcome.allocations}


# ---- starting an auction (Rule 5.37(a)-(b))

@pytest.mark.parametrize("side, stop, message", [
    (BUY, 106, r"stop price 106 ticks is outside the NBBO 100 x 105"),     # worse than the offer
    (BUY, 99, r"stop price 99 ticks is outside the NBBO 100 x 105"),       # below the bid
    (SELL, 99, r"stop price 99 ticks is outside the NBBO 100 x 105"),      # worse than the bid
])
def test_a_stop_price_outside_the_nbbo_is_refused(side, stop, message) -> None:
    with pytest.raises(AuctionError, match=message):
        auction(stop=stop, side=side)


def test_an_agency_order_below_the_minimum_size_is_refused() -> None:
    with pytest.raises(AuctionError, match="agency qty 49 is below the auction minimum of 50"):
        auction(qty=49, min_qty=50)
    assert auction(qty=50, min_qty=50).qty == 50


def test_no_offer_to_stop_against_is_refused() -> None:
    with pytest.raises(AuctionError, match="no NBBO offer"):
        Auction("A1", CALL, BUY, 10, 105, (100, None))


def test_an_auto_match_limit_worse_than_the_stop_is_refused() -> None:
    with pytest.raises(AuctionError, match="auto-match limit 106 ticks must be at or better than the stop"):
        auction(stop=105, auto=106)
    with pytest.raises(AuctionError, match="inside the NBBO"):
        auction(stop=105, auto=99)


def test_bad_rules_are_refused() -> None:
    with pytest.raises(AuctionError, match="exposure period must be positive"):
        AuctionRules(exposure_ns=0)
    with pytest.raises(AuctionError, match="guarantee_pct must be within 0..1"):
        AuctionRules(guarantee_pct=1.5)


# ---- responses (Rule 5.37(c))

def test_a_response_worse_than_the_stop_is_refused_and_a_newer_one_replaces_the_older() -> None:
    run = auction()
    with pytest.raises(AuctionError, match="response 106 ticks is worse for the agency order than the stop price 105"):
        run.respond("mmA", 106, 10)
    with pytest.raises(AuctionError, match="response qty must be positive"):
        run.respond("mmA", 104, 0)
    run.respond("mmA", 104, 10)
    run.respond("mmA", 103, 20)
    assert [(r.price_ticks, r.qty) for r in run.responses.values()] == [(103, 20)]


# ---- allocation (Rule 5.37(e))

def test_no_responders_the_initiator_fills_everything_at_the_stop() -> None:
    # agency buy 100 stopped at 1.04 against a 1.05 offer: the client is improved by 0.01 by the firm alone
    outcome = auction(stop=104).allocate()
    assert shares(outcome) == {INITIATOR: (100, 104)}
    assert (outcome.initiator_qty, outcome.responder_qty, outcome.responses) == (100, 0, 0)
    assert auction(stop=104).improvement_ticks(outcome.avg_price_ticks) == 1


def test_one_responder_at_the_stop_the_initiator_takes_50_percent() -> None:
    # Rule 5.37(e): with a single other participant at the final price the initiator may take 50%
    run = auction(stop=104)
    run.respond("mmA", 104, 100)
    assert shares(run.allocate()) == {INITIATOR: (50, 104), "mmA": (50, 104)}


def test_three_responders_at_the_stop_the_initiator_takes_40_percent_and_they_split_the_rest_pro_rata() -> None:
    # agency buy 100 @ 1.04: A 100, B 50, C 30 at 1.04 -> initiator 40; 60 pro-rata over 180:
    # A 60*100/180 = 33, B 16, C 10 (rounded down: 59), the one left over goes to A (time priority)
    run = auction(stop=104)
    for name, qty in (("A", 100), ("B", 50), ("C", 30)):
        run.respond(name, 104, qty)
    outcome = run.allocate()
    assert shares(outcome) == {INITIATOR: (40, 104), "A": (34, 104), "B": (16, 104), "C": (10, 104)}
    assert (outcome.initiator_qty, outcome.responder_qty, outcome.responses) == (40, 60, 3)


def test_the_initiator_takes_what_the_responders_at_the_final_price_do_not_cover() -> None:
    run = auction(stop=104)
    run.respond("A", 104, 5)
    run.respond("B", 104, 5)
    assert shares(run.allocate()) == {INITIATOR: (90, 104), "A": (5, 104), "B": (5, 104)}


def test_the_guarantee_is_at_least_one_contract_and_rounds_down() -> None:
    run = auction(qty=2, stop=104)
    for name in ("A", "B"):
        run.respond(name, 104, 10)
    assert shares(run.allocate())[INITIATOR] == (1, 104)           # 40% of 2 is 0.8: one contract
    run = auction(qty=7, stop=104)
    for name in ("A", "B"):
        run.respond(name, 104, 10)
    assert shares(run.allocate())[INITIATOR] == (2, 104)           # 40% of 7 is 2.8: two


def test_a_client_is_improved_when_responders_improve_on_a_single_price_initiator() -> None:
    # single price at 1.05 (the offer): responders at 1.03 and 1.04 beat it and take the whole order,
    # better price first; the initiator, not matching, gets nothing
    run = auction(stop=105)
    run.respond("A", 104, 80)
    run.respond("B", 103, 60)
    outcome = run.allocate()
    assert shares(outcome) == {"B": (60, 103), "A": (40, 104)}
    assert outcome.initiator_qty == 0 and outcome.final_price_ticks == 104
    assert run.improvement_ticks(outcome.avg_price_ticks) == pytest.approx(105 - (60 * 103 + 40 * 104) / 100)


def test_auto_match_the_rulebook_worked_example() -> None:
    # agency buy 100 stopped at 1.05, auto-match down to 1.02; A 100 @ 1.03, B 50 @ 1.03, C 10 @ 1.04:
    # the initiator matches the best response, 1.03, and takes 40 there; A and B split 60 pro-rata (40, 20)
    run = auction(stop=105, auto=102)
    run.respond("A", 103, 100)
    run.respond("B", 103, 50)
    run.respond("C", 104, 10)
    outcome = run.allocate()
    assert shares(outcome) == {INITIATOR: (40, 103), "A": (40, 103), "B": (20, 103)}
    assert outcome.final_price_ticks == 103 and outcome.avg_price_ticks == 103
    assert run.improvement_ticks(outcome.avg_price_ticks) == 2


def test_auto_match_stops_at_its_limit_responses_beyond_it_fill_first_at_their_price() -> None:
    # auto-match down to 1.03 only: B's 1.01 is beyond it and trades first, in full, at 1.01
    run = auction(stop=105, auto=103)
    run.respond("B", 101, 30)
    run.respond("A", 103, 100)
    outcome = shares(run.allocate())
    assert outcome["B"] == (30, 101)
    # at 1.03 A is alone: the initiator's guarantee is 50% of the agency order (50 of the 70 left)
    assert outcome[INITIATOR] == (50, 103) and outcome["A"] == (20, 103)


def test_an_agency_sell_mirrors_the_buy() -> None:
    run = auction(stop=100, side=SELL, auto=102)
    run.respond("A", 102, 100)
    run.respond("B", 101, 100)
    outcome = run.allocate()
    assert shares(outcome) == {INITIATOR: (50, 102), "A": (50, 102)}
    assert run.nbbo_contra == 100 and run.improvement_ticks(outcome.avg_price_ticks) == 2
