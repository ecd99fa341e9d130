"""The volatility algo's PostTypes beyond 1-4, on the whole engine and simulated venues: 5, 7, 8
and 11 rest where alpha making rests them (``post_types.post_targets``); 6, 9, 10 and 12 are
refused at entry naming the tag and the value."""
from __future__ import annotations

import pytest

from algos.registry import choose_algo
from router.domain.commands import AlgoParams
from router.domain.enums import BalanceHandling as P, ChildRole, OrderHandling, OrdStatus, Side
from router.fix.codec import decode, format_utc
from tests.harness import CALL, SESSION, Harness

from .test_alpha_making import market


def vol_order(h: Harness, cl: str = "V1", qty: int = 10, limit: float = 5.10, post: P = P.POST_LIMIT,
              side: Side = Side.BUY) -> None:
    h.new(cl, side, qty, limit, balance_handling=post, exchanges=("XCBO",))
    h.settle(0.01)


def work(h: Harness, order_id: str = "P1"):
    return [c for c in h.children(order_id) if c.role is ChildRole.WORK and c.is_open]


def test_a_post_type_without_a_dynamic_class_selects_the_volatility_algo():
    for post in (P.POST_LIMIT_WITH, P.POST_WITH_F, P.POST_IMPROVE_R, P.POST_PEG):
        assert choose_algo(AlgoParams(balance_handling=post)) == "volatility"


# A buy limited at 5.10; others bid 4.80 x 10 and offer 5.20 x 10 (the $0.05 ladder above $3):
# the same book and the same places as test_alpha_making's post-type table.
@pytest.mark.parametrize("post,price", [
    (P.POST_LIMIT_WITH, 5.10),      # the limit, not marketable
    (P.POST_WITH_F, 4.80),          # others show 10, we show 10: not thinner, joins
    (P.POST_IMPROVE_R, 4.95),       # halfway from 4.80 to 5.10
    (P.POST_PEG, 5.00),             # the midpoint of 4.80 and 5.20
])
def test_each_post_type_rests_where_alpha_making_rests_it(post, price):
    h = Harness()
    market(h)
    vol_order(h, post=post)
    assert h.reports("V1")[-1].ord_status is OrdStatus.NEW
    [child] = work(h)
    assert child.post_only and child.price == pytest.approx(price)
    h.settle(1.0)                                  # and it stays there while the book does
    assert [c.price for c in work(h)] == [pytest.approx(price)]


def test_post_limit_with_joins_the_bid_when_its_limit_is_marketable_where_post_limit_steps_inside():
    h = Harness()
    market(h)
    vol_order(h, "V1", limit=5.30, post=P.POST_LIMIT_WITH)
    vol_order(h, "V2", limit=5.30, post=P.POST_LIMIT)
    assert [c.price for c in work(h, "P1")] == [pytest.approx(4.80)]
    assert [c.price for c in work(h, "P2")] == [pytest.approx(5.15)]


def test_post_with_fade_rests_behind_a_level_thinner_than_its_balance():
    h = Harness()
    market(h)
    vol_order(h, qty=30, post=P.POST_WITH_F)      # shows 30 behind others' 10: fades a tick
    assert [c.price for c in work(h)] == [pytest.approx(4.75)]
    h.requote("XCBO", CALL, bids=[(4.80, 40)], asks=[(5.20, 10)])
    assert [c.price for c in work(h)] == [pytest.approx(4.80)]     # the level thickened: it joins


def test_post_peg_follows_the_midpoint_as_the_book_moves():
    h = Harness()
    market(h)
    vol_order(h, limit=6.00, post=P.POST_PEG)
    assert [c.price for c in work(h)] == [pytest.approx(5.00)]
    h.requote("XCBO", CALL, bids=[(5.00, 10)], asks=[(5.60, 10)])
    h.settle(0.2)
    assert [c.price for c in work(h)] == [pytest.approx(5.30)]     # others' 5.00 bid and the 5.60 offer


def test_a_sell_pegs_to_the_midpoint_from_above():
    h = Harness()
    market(h)
    vol_order(h, limit=4.50, post=P.POST_PEG, side=Side.SELL)
    assert [c.price for c in work(h)] == [pytest.approx(5.00)]


def test_post_improve_relative_closes_half_the_room_left_when_the_bid_rises():
    h = Harness()
    market(h)
    vol_order(h, post=P.POST_IMPROVE_R)
    h.requote("XCBO", CALL, bids=[(5.00, 10)], asks=[(5.20, 10)])
    h.settle(0.2)
    assert [c.price for c in work(h)] == [pytest.approx(5.05)]     # 5.00 + (5.10 - 5.00) / 2


def _fix_order(h: Harness, *custom: tuple[int, str]):
    pairs = [(35, "D"), (11, "F1"), (55, CALL), (54, "1"), (60, format_utc(h.clock.now_ns())), (38, "10"),
             (40, "2"), (44, "5.00"), *custom]
    h.engine.dispatch(decode("D", pairs, SESSION, "CLIENT1", 2))
    return h.reports("F1")[-1]


@pytest.mark.parametrize("value,name", [("6", "MAX_INTERN"), ("9", "POST_FLASH"), ("10", "POST_FLASH_W"),
                                        ("12", "POST_FLASH_I")])
def test_post_types_the_volatility_algo_cannot_place_are_rejected_naming_tag_and_value(value, name):
    h = Harness()
    market(h)
    report = _fix_order(h, (5094, "1"), (5096, value))
    assert report.ord_status is OrdStatus.REJECTED
    assert f"SRBalanceHandling (5096) {value} {name}" in report.text
    assert "volatility" in report.text
    assert not h.children("P1")


def test_the_flash_types_are_still_accepted_by_alpha_making():
    h = Harness()
    market(h)
    report = _fix_order(h, (5094, "2"), (5096, "9"))
    assert report.ord_status is OrdStatus.NEW
