"""The volatility algo and the auto-hedger on the whole engine and simulated venues, on the
simulated clock: repricing with the underlier, replace rate limits, posting without taking,
holds, hedges of option fills, and a restart mid-hedge."""
from __future__ import annotations

from pathlib import Path

import pytest

from router.config import AlgoSettings, VolatilitySettings
from router.domain.enums import (BalanceHandling, ChildRole, ExecType, HedgeMode, LimitType, OrderHandling, OrdStatus,
                                 Side)
from router.domain.events import ReplaceChild, SubmitChild
from router.domain.orders import ChildStatus
from router.server import restore_from_store
from router.store import Store
from tests.harness import CALL, Harness

UNDERLIER = "AAPL"


def spy_commands(h: Harness) -> list:
    commands = []
    for venue in h.venues.values():
        for name in ("submit", "replace", "cancel"):
            original = getattr(venue, name)

            def spy(command, original=original):
                commands.append(command)
                original(command)
            setattr(venue, name, spy)
    return commands


def underlier_at(h: Harness, mid: float, settle: bool = True) -> None:
    h.requote("XNAS", UNDERLIER, bids=[(round(mid - 0.01, 2), 50_000)], asks=[(round(mid + 0.01, 2), 50_000)],
              owner="smm", settle=settle)


def market(h: Harness) -> None:
    underlier_at(h, 200.0)
    h.quote("XCBO", CALL, bids=[(4.80, 10)], asks=[(5.20, 10)])


def tied_buy(h: Harness, cl: str = "V1", qty: int = 10, limit: float = 4.00, **tags) -> None:
    params = dict(limit_type=LimitType.PRC_DE, balance_handling=BalanceHandling.POST_LIMIT, order_ref_delta=0.5,
                  order_ref_gamma=0.0)
    params.update(tags)
    h.new(cl, Side.BUY, qty, limit, **params)


def work_children(h: Harness, order_id: str = "P1"):
    return [c for c in h.children(order_id) if c.role is ChildRole.WORK and c.is_open]


# ---------------------------------------------------------------------------------------- volatility

def test_a_tied_order_replaces_its_child_within_one_market_data_event_of_a_1pct_underlier_move():
    h = Harness()
    market(h)
    commands = spy_commands(h)
    tied_buy(h)
    h.settle(0.01)
    [child] = work_children(h)
    assert child.price == pytest.approx(4.00) and child.post_only
    h.settle(1.0)                                   # past the minimum resting time
    underlier_at(h, 198.0, settle=False)            # -1%: limit 4.00 + 0.5 x (-2) = 3.00
    md_latency = max(v.market_data_latency_ms for v in h.settings.venues) / 1000
    h.settle(md_latency + 1e-6)                     # the one book update has arrived, nothing more
    replaces = [c for c in commands if isinstance(c, ReplaceChild)]
    assert len(replaces) == 1 and replaces[0].price == pytest.approx(3.00)
    h.settle(0.01)
    assert child.price == pytest.approx(3.00) and child.status is ChildStatus.NEW


def test_replaces_never_exceed_the_configured_rate():
    settings = AlgoSettings(volatility=VolatilitySettings(min_rest_ms=0.0, max_replaces_per_s=5.0))
    h = Harness(algo_settings=settings)
    market(h)
    commands = spy_commands(h)
    tied_buy(h)
    h.settle(0.01)
    start = h.clock.now_ns()
    for step in range(100):                         # a move every 10 ms for a second
        underlier_at(h, 200.0 - 0.2 * (step % 2 * 2 - 1) * (step % 7), settle=False)
        h.settle(0.01)
    h.settle(0.5)
    sent = [c for c in commands if isinstance(c, ReplaceChild)]
    assert sent, "the moves must cause replaces"
    # whatever the market does, at most 5 a second per child (+1 for the window edge)
    assert len(sent) <= 5 * (h.clock.now_ns() - start) / 1e9 + 1
    [child] = work_children(h)
    assert child.status is ChildStatus.NEW


def test_it_never_takes_while_it_should_post_unless_active_taker_and_marketable():
    h = Harness()
    market(h)
    commands = spy_commands(h)
    tied_buy(h, limit=4.90)
    h.settle(0.01)
    underlier_at(h, 202.0)                          # limit 5.90: through the 5.20 offer
    h.settle(1.0)
    submits = [c for c in commands if isinstance(c, SubmitChild)]
    assert all(c.post_only and c.time_in_force.value != "3" for c in submits)
    assert all(c.price < 5.20 for c in submits), "a post-only child never crosses"
    assert h.reports("V1")[-1].cum_qty == 0

    taker = Harness()
    market(taker)
    commands = spy_commands(taker)
    tied_buy(taker, limit=4.90, order_handling=OrderHandling.ACTIVE_TAKER)
    taker.settle(0.01)
    assert not any(c.time_in_force.value == "3" for c in commands if isinstance(c, SubmitChild))
    underlier_at(taker, 202.0)
    taker.settle(1.0)
    assert any(c.time_in_force.value == "3" for c in commands if isinstance(c, SubmitChild))
    assert taker.reports("V1")[-1].cum_qty == 10


def test_outside_the_underlier_range_it_holds_and_resumes():
    h = Harness()
    market(h)
    tied_buy(h, min_ubid=195.0, max_uask=205.0)
    h.settle(0.01)
    assert len(work_children(h)) == 1
    underlier_at(h, 194.0)
    h.settle(0.01)
    assert work_children(h) == [] and h.engine.orders.parents["P1"].is_working
    underlier_at(h, 199.0)
    h.settle(0.5)
    assert len(work_children(h)) == 1


def test_outside_the_range_with_cxl_uprc_range_it_is_canceled():
    h = Harness()
    market(h)
    tied_buy(h, min_ubid=195.0, max_uask=205.0, cxl_uprc_range=True)
    h.settle(0.01)
    underlier_at(h, 194.0)
    h.settle(0.05)
    assert h.reports("V1")[-1].ord_status is OrdStatus.CANCELED


def test_a_client_replace_down_keeps_the_child_and_its_queue_place():
    h = Harness()
    market(h)
    commands = spy_commands(h)
    tied_buy(h, qty=10)
    h.settle(0.5)
    [child] = work_children(h)
    h.replace("V2", "V1", qty=6, price=4.00)
    h.settle(0.05)
    assert h.reports("V2")[-1].exec_type is ExecType.REPLACED and h.reports("V2")[-1].order_qty == 6
    assert [c.child_id for c in work_children(h)] == [child.child_id] and child.qty == 6
    assert not [c for c in commands if isinstance(c, SubmitChild) and c.child_id != child.child_id]


# ---------------------------------------------------------------------------------------- auto-hedge

def hedged_call_buy(h: Harness, mode: HedgeMode, qty: int = 100, delta: float = 0.55) -> None:
    h.quote("XCBO", CALL, asks=[(5.20, qty)])
    h.new("H1", Side.BUY, qty, 5.20, auto_hedge=mode, alt_auto_hedge_id="HEDGE1", order_ref_delta=delta)


def hedge_children(h: Harness, order_id: str = "P1"):
    return [c for c in h.children(order_id) if c.role is ChildRole.HEDGE]


def test_a_100_lot_call_fill_with_delta_055_sells_5500_shares_in_fast_crx():
    h = Harness()
    underlier_at(h, 200.0)
    hedged_call_buy(h, HedgeMode.FAST_CRX)
    h.settle(0.5)
    hedges = hedge_children(h)
    assert hedges and all(c.side is Side.SELL and c.symbol == UNDERLIER for c in hedges)
    assert sum(c.cum_qty for c in hedges) == 5500
    reports = h.reports("HEDGE1")
    assert reports[-1].cum_qty == 5500 and reports[-1].ord_status is OrdStatus.FILLED
    assert h.reports("H1")[-1].ord_status is OrdStatus.FILLED
    # the option parent is not reported done before its hedge is
    done_at = next(i for i, r in enumerate(h.out) if getattr(r, "cl_ord_id", "") == "H1" and r.ord_status.is_done)
    assert all(h.out.index(r) < done_at for r in reports)
    hedge_position = h.engine.positions.position("CLIENT1", "P1", UNDERLIER)
    assert hedge_position.qty == -5500 and hedge_position.avg_price == pytest.approx(199.99)
    assert h.engine.positions.position("CLIENT1", "P1", CALL).qty == 100
    underlier_at(h, 199.0)                          # marked from the market: the short hedge gains
    hedge_position = h.engine.positions.position("CLIENT1", "P1", UNDERLIER)
    assert hedge_position.mark == pytest.approx(199.0)
    assert hedge_position.unrealised_pnl == pytest.approx((199.99 - 199.0) * 5500)


@pytest.mark.parametrize("mode,window_s", [(HedgeMode.SPDR_10S, 10), (HedgeMode.SPDR_30S, 30),
                                           (HedgeMode.SPDR_90S, 90), (HedgeMode.SPDR_5M, 300),
                                           (HedgeMode.SPDR_30M, 1800)])
def test_each_spdr_mode_is_within_one_round_lot_by_the_end_of_its_window(mode, window_s):
    h = Harness()
    underlier_at(h, 200.0)
    hedged_call_buy(h, mode)
    h.settle(0.05)
    h.settle(window_s)
    hedged = sum(c.cum_qty for c in hedge_children(h))
    assert abs(5500 - hedged) < h.settings.router.algos.hedge.round_lot


def test_a_restart_mid_hedge_goes_on_with_no_duplicate_child(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/router.db"
    store = Store(url)
    store.migrate()
    first = Harness(persistence=store)
    underlier_at(first, 200.0)
    hedged_call_buy(first, HedgeMode.SPDR_30S)
    first.settle(5.0)                               # part way through the window
    sent_before = {c.child_id for c in hedge_children(first)}
    done_before = sum(c.cum_qty for c in hedge_children(first))
    assert 0 < done_before < 5500
    store.close()

    store = Store(url)
    second = Harness(persistence=store, start=first.now())
    underlier_at(second, 200.0)
    second.engine.restore(restore_from_store(store))
    second.settle(40.0)
    children = hedge_children(second)
    ids = [c.child_id for c in children]
    assert len(ids) == len(set(ids)), "no child id is reused"
    assert sent_before <= set(ids) | sent_before
    assert abs(5500 - sum(c.cum_qty for c in children)) < 100
    assert second.reports("HEDGE1")[-1].ord_status is OrdStatus.FILLED
    store.close()
