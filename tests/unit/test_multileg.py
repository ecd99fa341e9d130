"""Packages (NewOrderMultileg) worked by the Legger on the simulated venues, on a simulated clock."""
from __future__ import annotations

import pytest

from router.domain.commands import AlgoParams, ClientRequest, InstrumentSpec, MultilegLeg, NewMultilegOrder
from router.domain.enums import ChildRole, ExecType, HedgeMode, OrdStatus, OrderHandling, Side
from tests.harness import SESSION, Harness

C190, C195, C200, C205, C210 = (f"AAPL  261218C00{k}000" for k in (190, 195, 200, 205, 210))
P190, P195, P205, P210 = (f"AAPL  261218P00{k}000" for k in (190, 195, 205, 210))
LEGGER = {"order_handling": OrderHandling.LEGGER}


def leg(ref: str, symbol: str, side: Side, ratio: int = 1) -> MultilegLeg:
    return MultilegLeg(ref_id=ref, instrument=InstrumentSpec(symbol=symbol), side=side, ratio=ratio)


def send_package(h: Harness, cl_ord_id: str, legs, qty: int, price: float | None, *, replaces: str | None = None,
                 **algo) -> None:
    cmd = NewMultilegOrder(cl_ord_id=cl_ord_id, qty=qty, price=price, legs=tuple(legs), transact_time=h.now(),
                           algo=AlgoParams(**{**LEGGER, **algo}), replaces=replaces)
    h.engine.dispatch(ClientRequest(SESSION, "CLIENT1", "AC" if replaces else "AB", None, cmd))


def reports(h: Harness, cl_ord_id: str, kind: int | None = None):
    return [r for r in h.reports(cl_ord_id) if kind is None or r.multileg_reporting_type == kind]


def hit(h: Harness, child, qty: int = 1) -> None:
    """A seller (buyer) trades ``qty`` against our resting child, through whatever rests ahead of it."""
    book = h.venues[child.venue].book(child.symbol)
    ahead = sum(o.qty for o in book.resting(child.side) if o.owner != "router" and abs(o.price - child.price) < 1e-9)
    h.venues[child.venue].place("taker", f"hit{child.child_id}", child.symbol, Side.SELL if child.side.is_buy
                                else Side.BUY, ahead + qty, child.price)


def vertical(h: Harness) -> None:
    """C200 at 5.00 x 5.20, C205 at 3.00 x 3.10: the 200/205 call spread is 1.90 x 2.20."""
    h.quote("XCBO", C200, bids=[(5.00, 50)], asks=[(5.20, 50)])
    h.quote("XCBO", C205, bids=[(3.00, 50)], asks=[(3.10, 50)])


def test_a_marketable_vertical_spread_is_legged_and_reported_per_leg_and_per_package():
    h = Harness()
    vertical(h)
    send_package(h, "S1", [leg("L1", C200, Side.BUY), leg("L2", C205, Side.SELL)], 10, 2.20)
    h.settle(0.5)
    package = reports(h, "S1", 3)
    assert package[0].exec_type is ExecType.NEW and package[0].symbol == "AAPL"
    assert package[-1].ord_status is OrdStatus.FILLED and package[-1].cum_qty == 10
    assert package[-1].avg_px == pytest.approx(5.20 - 3.00)
    legs = reports(h, "S1", 2)
    by_leg = {r.leg_ref_id: r for r in legs}
    assert by_leg["L1"].symbol == C200 and by_leg["L1"].side is Side.BUY and by_leg["L1"].cum_qty == 10
    assert by_leg["L2"].symbol == C205 and by_leg["L2"].side is Side.SELL and by_leg["L2"].cum_qty == 10
    assert sum(r.last_qty for r in legs if r.leg_ref_id == "L1") == 10
    assert all(c.role is ChildRole.LEG for c in h.children("P1"))


def test_the_lead_leg_rests_at_the_price_the_package_limit_allows_and_completion_follows_its_fill():
    h = Harness()
    vertical(h)
    # limit 2.00: with C205 sold at its bid 3.00, C200 may be bought at 5.00 -> rests at the bid
    send_package(h, "S2", [leg("L1", C200, Side.BUY), leg("L2", C205, Side.SELL)], 10, 2.00,
                 balance_handling=4, **{"extra": {5202: "1"}})
    h.settle(0.2)
    resting = [c for c in h.children("P1") if c.is_open]
    assert [(c.symbol, c.side, c.price, c.qty) for c in resting] == [(C200, Side.BUY, 5.00, 1)]   # 10% exposure
    # a seller hits our bid: the lead fills 1, the C205 leg is sold at once at 3.00
    hit(h, resting[0])
    h.settle(0.2)
    package = reports(h, "S2", 3)
    assert package[-1].cum_qty == 1 and package[-1].avg_px == pytest.approx(2.00)
    sold = [c for c in h.children("P1") if c.symbol == C205]
    assert sold and sold[0].price == pytest.approx(3.00) and sold[0].cum_qty == 1


def test_an_iron_condor_is_legged_with_the_imbalance_within_the_exposure_limit_at_every_step():
    h = Harness()
    for symbol, bid, ask in ((P190, 1.00, 1.10), (P195, 1.60, 1.70), (C205, 3.00, 3.10), (C210, 1.80, 1.90)):
        h.quote("XCBO", symbol, bids=[(bid, 200)], asks=[(ask, 7)])
        h.quote("ARCO", symbol, bids=[(bid - 0.05, 200)], asks=[(ask + 0.05, 200)])
    legs = [leg("A", P190, Side.BUY), leg("B", P195, Side.SELL), leg("C", C205, Side.SELL), leg("D", C210, Side.BUY)]
    # an iron condor sold for a credit (the package bought at a negative net): 1.60 at XCBO's touches,
    # 1.40 at ARCO's; the limit -1.60 (receive at least 1.60) keeps it on XCBO's refilling size
    send_package(h, "IC", legs, 40, -1.60, max_exposure_size=10)          # 10% of 40 = 4 packages
    imbalances = []
    for _ in range(60):
        h.settle(0.05)
        parent = h.engine.orders.parents["P1"]
        done = min(l.cum_qty // l.ratio for l in parent.legs)
        imbalances.append(max(l.cum_qty / l.ratio for l in parent.legs) - done)
        # liquidity comes back on the far sides, a little at a time
        for symbol, bid, ask in ((P190, 1.00, 1.10), (C210, 1.80, 1.90)):
            h.venues["XCBO"].place("mm", f"r{_}{symbol}", symbol, Side.SELL, 3, ask)
        for symbol, bid in ((P195, 1.60), (C205, 3.00)):
            h.venues["XCBO"].place("mm", f"s{_}{symbol}", symbol, Side.BUY, 3, bid)
    parent = h.engine.orders.parents["P1"]
    assert parent.cum_qty > 0
    assert max(imbalances) <= 4 + 1e-9, max(imbalances)
    net = sum(l.sign * l.ratio * l.avg_px for l in parent.legs)
    assert net <= -1.60 + 1e-9                     # the legs' average prices respect the package limit


def test_legging_risk_is_measured_per_leg_and_reported_on_the_leg_reports():
    h = Harness()
    vertical(h)
    send_package(h, "S3", [leg("L1", C200, Side.BUY), leg("L2", C205, Side.SELL)], 10, 2.00,
                 balance_handling=4, extra={5202: "1"})
    h.settle(0.2)
    # the C205 bid drops to 2.80 and our C200 bid is hit before the router sees it: the completion
    # at 3.00 (the limit's price) cannot trade, and the lead's fill stays unmatched until 3.00 is back
    h.requote("XCBO", C205, bids=[(2.80, 50)], asks=[(3.10, 50)], settle=False)
    hit(h, next(c for c in h.children("P1") if c.is_open))
    h.settle(1.5)
    h.requote("XCBO", C205, bids=[(3.00, 50)], asks=[(3.10, 50)])
    h.settle(0.2)
    parent = h.engine.orders.parents["P1"]
    lead = parent.legs[0]
    assert lead.max_unmatched == 1 and lead.unmatched_since_ns is None
    assert lead.longest_unmatched_ns >= 1.5e9
    texts = [r.text for r in reports(h, "S3", 2) if r.leg_ref_id == "L1"]
    assert texts and texts[0].startswith("leg L1: 1 unmatched")


def test_the_package_net_delta_is_hedged_in_the_underlier():
    h = Harness()
    h.quote("XNAS", "AAPL", bids=[(200.00, 5000)], asks=[(200.02, 5000)])
    vertical(h)
    send_package(h, "H1", [leg("L1", C200, Side.BUY), leg("L2", C205, Side.SELL)], 10, 2.20,
                 auto_hedge=HedgeMode.FAST_CRX, alt_auto_hedge_id="HEDGE1")
    model, securities, now = h.engine.model, h.engine.securities, h.clock.now_ns()
    delta = {s: float(model.greeks(securities.get(s), now).delta) for s in (C200, C205)}
    h.settle(1.0)
    parent = h.engine.orders.parents["P1"]
    hedges = [c for c in h.children("P1") if c.role is ChildRole.HEDGE]
    assert hedges and all(c.symbol == "AAPL" and c.side is Side.SELL for c in hedges)     # a bull spread is long delta
    sold = sum(c.cum_qty for c in hedges)
    assert sold == round((delta[C200] - delta[C205]) * 10 * 100)     # the net delta, not the long call's alone
    assert parent.cum_qty == 10
    (hedge_final,) = [r for r in h.reports("HEDGE1") if r.ord_status is OrdStatus.FILLED]
    assert hedge_final.cum_qty == sold


@pytest.mark.parametrize("legs,text", [
    ([leg(str(i), s, Side.BUY) for i, s in enumerate((C190, C195, C200, C205, C210, P190, P195))],
     "at most 6 option legs"),
    ([leg("A", C200, Side.BUY), leg("B", C200, Side.SELL)], "same instrument"),
    ([leg("A", C200, Side.BUY), leg("B", "SPY   261218C00600000", Side.SELL)], "different underliers"),
    ([leg("A", C200, Side.BUY), leg("B", "NOPE", Side.SELL)], "unknown instrument"),
    ([leg("A", "DRBT:BTC-20261225-100000-C" if False else C200, Side.BUY), leg("B", "BTCUSDT", Side.SELL)],
     "stock leg must be an equity"),
])
def test_bad_packages_are_rejected_naming_the_rule(legs, text):
    h = Harness()
    send_package(h, "B1", legs, 1, 1.00)
    (reject,) = h.reports("B1")
    assert reject.ord_status is OrdStatus.REJECTED and text in reject.text, reject.text


def test_a_package_price_off_the_complex_tick_and_an_ab_without_5094_are_rejected():
    h = Harness()
    send_package(h, "T1", [leg("A", C200, Side.BUY), leg("B", C205, Side.SELL)], 1, 2.005)
    assert "0.01 net tick" in h.reports("T1")[-1].text
    h.engine.dispatch(ClientRequest(SESSION, "CLIENT1", "AB", None, NewMultilegOrder(
        cl_ord_id="T3", qty=1, price=2.0, legs=(leg("A", C200, Side.BUY), leg("B", C205, Side.SELL)),
        transact_time=h.now())))
    assert "5094" in h.reports("T3")[-1].text


def test_a_multileg_replace_changes_the_quantity_after_pulling_the_legs_and_refuses_a_new_price():
    h = Harness()
    vertical(h)
    legs = [leg("L1", C200, Side.BUY), leg("L2", C205, Side.SELL)]
    send_package(h, "R1", legs, 10, 2.00, balance_handling=4, extra={5202: "1"})
    h.settle(0.2)
    assert any(c.is_open for c in h.children("P1"))
    send_package(h, "R2", legs, 20, 2.00, replaces="R1", balance_handling=4, extra={5202: "1"})
    h.settle(0.2)
    replaced = [r for r in h.reports("R2") if r.exec_type is ExecType.REPLACED]
    assert replaced and replaced[-1].order_qty == 20
    resting = [c for c in h.children("P1") if c.is_open]
    assert [c.qty for c in resting] == [2]                       # 10% of the new 20
    send_package(h, "R3", legs, 20, 1.90, replaces="R2", balance_handling=4, extra={5202: "1"})
    h.settle(0.1)
    assert any("Price (44)" in (getattr(r, "text", "") or "") for r in h.out if getattr(r, "cl_ord_id", "") == "R3")


# ---------------------------------------------------------------------------- the Seeker (complex order books)

SEEKER = {"order_handling": OrderHandling.SEEKER}
SPREAD = (leg("L1", C200, Side.BUY), leg("L2", C205, Side.SELL))


def package_children(h: Harness, order_id: str = "P1"):
    return [c for c in h.children(order_id) if c.role is ChildRole.PACKAGE]


def quiet_responders(h: Harness) -> None:
    for venue in h.venues.values():
        if hasattr(venue, "package_listeners"):
            venue.package_listeners.clear()


def test_a_vertical_spread_fills_through_a_seeker_on_a_complex_order_book():
    h = Harness()
    quiet_responders(h)
    vertical(h)
    # limit 2.05: inside the legs' 1.90 x 2.20 spread market, so it rests on the COBs
    send_package(h, "K1", SPREAD, 9, 2.05, **SEEKER)
    h.settle(0.2)
    resting = package_children(h)
    assert len({c.venue for c in resting}) == 3 and sum(c.qty for c in resting) == 9
    assert all(c.price == pytest.approx(2.05) and c.is_open for c in resting)
    # a contra package offer appears on one COB, above our bid: the balance moves there
    venue = resting[0].venue
    h.venues[venue].place_package("mm", "offer1", ((C200, Side.BUY, 1), (C205, Side.SELL, 1)), Side.SELL, 20, 2.10)
    h.settle(0.3)
    working = [c for c in package_children(h) if c.is_open]
    assert {c.venue for c in working} == {venue} and sum(c.target_qty - c.cum_qty for c in working) == 9
    # the responder comes down to our price: the package trades on that COB, leg by leg
    h.venues[venue].pull_package("offer1")
    h.venues[venue].place_package("mm", "offer2", ((C200, Side.BUY, 1), (C205, Side.SELL, 1)), Side.SELL, 20, 2.05)
    h.settle(0.3)
    package = reports(h, "K1", 3)
    assert package[-1].ord_status is OrdStatus.FILLED and package[-1].cum_qty == 9
    assert package[-1].avg_px == pytest.approx(2.05)
    legs = reports(h, "K1", 2)
    assert {r.leg_ref_id for r in legs} == {"L1", "L2"} and all(r.last_mkt == venue for r in legs)
    assert h.engine.positions.net_qty(C200) == 9 and h.engine.positions.net_qty(C205) == -9
    done = [c for c in package_children(h) if c.status.name == "FILLED"]
    assert sum(c.cum_qty for c in done) == 9 and all(c.venue == venue for c in done)


def test_with_no_response_the_seeker_stays_on_the_cobs_and_the_seeker_legger_legs_after_the_seek():
    h = Harness()
    quiet_responders(h)
    vertical(h)
    send_package(h, "K2", SPREAD, 4, 2.05, **SEEKER)
    h.settle(3.0)
    assert sum(c.qty for c in package_children(h) if c.is_open) == 4          # still seeking
    assert not [c for c in h.children("P1") if c.role is ChildRole.LEG]
    send_package(h, "K3", SPREAD, 4, 2.20, order_handling=OrderHandling.SEEKER_LEGGER)
    h.settle(0.5)
    assert package_children(h, "P2") and not [c for c in h.children("P2") if c.role is ChildRole.LEG]
    h.settle(2.0)                                   # no response in 2 s: packages pulled, the legs worked
    assert not [c for c in package_children(h, "P2") if c.is_open]
    assert reports(h, "K3", 3)[-1].ord_status is OrdStatus.FILLED
    assert {c.symbol for c in h.children("P2") if c.role is ChildRole.LEG} == {C200, C205}


def test_a_seeker_without_a_price_is_ended_with_a_reason():
    h = Harness()
    vertical(h)
    send_package(h, "K4", SPREAD, 1, None, **SEEKER)
    h.settle(0.1)
    assert "needs a package Price (44)" in (reports(h, "K4", 3)[-1].text or "")


def test_a_legged_package_survives_a_restart_with_its_legs_and_completes(tmp_path):
    from router.server import restore_from_store
    from router.store.store import Store

    def open_store():
        store = Store(f"sqlite:///{tmp_path / 'router.db'}")
        store.migrate()
        return store

    store = open_store()
    first = Harness(persistence=store)
    first.quote("XCBO", C200, bids=[(5.00, 50)], asks=[(5.20, 3)])
    first.quote("XCBO", C205, bids=[(3.00, 50)], asks=[(3.10, 50)])
    send_package(first, "RS1", SPREAD, 6, 2.20, max_exposure_size=50)       # 3 packages at a time
    first.settle(0.3)
    before = first.engine.orders.parents["P1"]
    assert before.cum_qty == 3 and [leg.cum_qty for leg in before.legs] == [3, 3]
    store.close()

    store = open_store()
    second = Harness(persistence=store, start=first.now())
    restored = restore_from_store(store)
    (parent,) = restored.parents
    assert parent.is_package and [(l.ref_id, l.cum_qty, l.ratio) for l in parent.legs] == [("L1", 3, 1), ("L2", 3, 1)]
    second.engine.restore(restored)
    second.quote("XCBO", C200, bids=[(5.00, 50)], asks=[(5.20, 50)])
    second.quote("XCBO", C205, bids=[(3.00, 50)], asks=[(3.10, 50)])
    second.settle(0.5)
    parent = second.engine.orders.parents["P1"]
    assert parent.status is OrdStatus.FILLED and parent.cum_qty == 6
    assert [leg.cum_qty for leg in parent.legs] == [6, 6]                    # no leg bought twice
    fills = store.fills("P1")
    assert sum(f.qty for f in fills if f.symbol == C200) == 6 == sum(f.qty for f in fills if f.symbol == C205)
    child_ids = [c.child_id for c in store.children("P1")]
    assert len(child_ids) == len(set(child_ids))
    assert reports(second, "RS1", 3)[-1].cum_qty == 6


def test_a_complex_book_fill_is_not_counted_as_legging_risk():
    h = Harness()
    quiet_responders(h)
    vertical(h)
    send_package(h, "K5", SPREAD, 2, 2.05, **SEEKER)
    h.settle(0.2)
    venue = package_children(h)[0].venue
    h.venues[venue].place_package("mm", "offer", ((C200, Side.BUY, 1), (C205, Side.SELL, 1)), Side.SELL, 5, 2.05)
    h.settle(0.3)
    parent = h.engine.orders.parents["P1"]
    assert parent.cum_qty == 2
    assert all(leg.max_unmatched == 0 and leg.longest_unmatched_ns == 0 for leg in parent.legs)
    assert {r.text for r in reports(h, "K5", 2)} == {"complex order book fill"}


def test_the_multileg_settings_in_router_toml_set_the_exposure_and_the_seek():
    from router.config import AlgoSettings, MultilegSettings
    h = Harness()
    assert h.settings.router.algos.multileg == MultilegSettings()            # the shipped [algos.multileg]
    h = Harness(algo_settings=AlgoSettings(multileg=MultilegSettings(exposure_pct=50.0, seek_venues=1)))
    quiet_responders(h)
    vertical(h)
    send_package(h, "M1", SPREAD, 10, 2.00, balance_handling=4, extra={5202: "1"})
    send_package(h, "M2", SPREAD, 4, 2.05, **SEEKER)
    h.settle(0.2)
    assert [c.qty for c in h.children("P1") if c.is_open] == [5]           # 50% of 10, not 10%
    assert len({c.venue for c in package_children(h, "P2")}) == 1 and package_children(h, "P2")[0].qty == 4


def test_a_seeker_carrying_the_leggers_tags_is_rejected_naming_them():
    h = Harness()
    send_package(h, "K6", SPREAD, 2, 2.05, extra={5202: "1"}, **SEEKER)
    (reject,) = h.reports("K6")
    assert reject.ord_status is OrdStatus.REJECTED and "5202" in reject.text and "Seeker" in reject.text
