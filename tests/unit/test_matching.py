from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.domain.enums import Side
from venues.sim.matching import (POST_ONLY_WOULD_TAKE, BookError, OrderBook, Trade, from_ticks, pro_rata_shares,
                                 to_ticks)

BUY, SELL = Side.BUY, Side.SELL


def fills(result) -> list[tuple[str, int, int]]:
    return [(t.maker_order_id, t.price_ticks, t.qty) for t in result.trades]


@pytest.fixture
def book() -> OrderBook:
    return OrderBook()


def test_ticks_round_trip_without_float_drift():
    assert to_ticks(0.15, 0.05) == 3
    assert to_ticks(1.2, 0.01) == 120
    assert to_ticks(0.125, 0.05) == 3  # half away from zero
    assert to_ticks(-0.125, 0.05) == -3
    assert to_ticks(0.124, 0.05) == 2
    assert from_ticks(3, 0.05) == 0.15
    assert from_ticks(to_ticks(12.34, 0.01), 0.01) == 12.34


def test_one_tick_pair_agrees_with_the_old_fixed_penny_conversion_on_a_fine_grid():
    """The venue used to convert with its own 0.01-tick pair; the shared pair must give the same
    ticks for every price on a 0.0005 grid up to $1,000, and round-trip every whole tick."""
    def old_to_ticks(price: float) -> int:
        return int(round(price / 0.01 + 1e-9))

    for step in range(0, 2_000_001):
        price = step * 0.0005
        assert to_ticks(price, 0.01) == old_to_ticks(price), price
        if step % 20 == 0:
            assert to_ticks(from_ticks(step // 20, 0.01), 0.01) == step // 20


def test_resting_orders_build_the_top_of_book(book):
    assert book.best_bid() is None and book.best_ask() is None
    book.submit("b1", "mm", BUY, 5, 100)
    book.submit("b2", "mm", BUY, 3, 100)
    book.submit("b3", "mm", BUY, 4, 99)
    book.submit("a1", "mm", SELL, 7, 102)
    assert book.best_bid() == (100, 8)
    assert book.best_ask() == (102, 7)
    assert book.depth(BUY, 5) == [(100, 8), (99, 4)]
    assert book.depth(BUY, 1) == [(100, 8)]
    assert book.depth(SELL, 0) == []
    assert len(book) == 4


def test_earlier_order_at_same_price_fills_first(book):
    book.submit("a1", "x", SELL, 5, 101)
    book.submit("a2", "y", SELL, 5, 101)
    result = book.submit("t", "z", BUY, 7, 101)
    assert result.trades == [
        Trade("a1", "x", "t", "z", 101, 5, maker_leaves=0, taker_leaves=2),
        Trade("a2", "y", "t", "z", 101, 2, maker_leaves=3, taker_leaves=0),
    ]
    assert (result.rested_qty, result.canceled_qty) == (0, 0)
    assert book.order("a1") is None
    assert book.order("a2").leaves == 3


def test_sweep_trades_at_maker_prices_best_first_and_rests_remainder(book):
    book.submit("a3", "m", SELL, 2, 103)
    book.submit("a1", "m", SELL, 2, 101)
    book.submit("a2", "m", SELL, 2, 102)
    result = book.submit("t", "c", BUY, 10, 102)
    assert fills(result) == [("a1", 101, 2), ("a2", 102, 2)]
    assert result.rested_qty == 6
    assert book.best_bid() == (102, 6)
    assert book.best_ask() == (103, 2)


def test_sell_taker_sweeps_bids_from_the_top(book):
    book.submit("b1", "m", BUY, 2, 99)
    book.submit("b2", "m", BUY, 2, 100)
    result = book.submit("t", "c", SELL, 3, 98)
    assert fills(result) == [("b2", 100, 2), ("b1", 99, 1)]
    assert book.best_bid() == (99, 1)


def test_ioc_remainder_is_canceled_not_rested(book):
    book.submit("a1", "m", SELL, 4, 101)
    result = book.submit("t", "c", BUY, 10, 101, ioc=True)
    assert fills(result) == [("a1", 101, 4)]
    assert (result.rested_qty, result.canceled_qty) == (0, 6)
    assert book.best_bid() is None and len(book) == 0
    unfilled = book.submit("t2", "c", BUY, 3, 100, ioc=True)
    assert (unfilled.trades, unfilled.rested_qty, unfilled.canceled_qty) == ([], 0, 3)


def test_non_crossing_order_rests(book):
    book.submit("a1", "m", SELL, 4, 101)
    result = book.submit("b1", "c", BUY, 4, 100)
    assert result.trades == [] and result.rested_qty == 4


def test_cancel_removes_order_and_empty_level(book):
    book.submit("b1", "m", BUY, 5, 100)
    book.submit("b2", "m", BUY, 3, 100)
    assert book.cancel("b1") == 5
    assert book.best_bid() == (100, 3)
    assert book.cancel("b1") is None
    assert book.cancel("nope") is None
    assert book.cancel("b2") == 3
    assert book.best_bid() is None and len(book) == 0


def test_queue_ahead_counts_earlier_orders_at_the_level(book):
    book.submit("b1", "m", BUY, 5, 100)
    book.submit("b2", "m", BUY, 3, 100)
    book.submit("b3", "m", BUY, 2, 100)
    book.submit("b0", "m", BUY, 9, 101)
    assert [book.queue_ahead(i) for i in ("b1", "b2", "b3", "b0")] == [0, 5, 8, 0]
    book.submit("t", "c", SELL, 11, 100)  # takes b0 then 2 of b1
    assert [book.queue_ahead(i) for i in ("b1", "b2", "b3")] == [0, 3, 6]
    with pytest.raises(BookError):
        book.queue_ahead("b0")


def test_replace_reducing_qty_at_same_price_keeps_priority(book):
    book.submit("b1", "m", BUY, 5, 100)
    book.submit("b2", "m", BUY, 5, 100)
    result = book.replace("b1", 2, 100)
    assert (result.trades, result.rested_qty, result.canceled_qty) == ([], 2, 3)
    assert book.queue_ahead("b2") == 2
    assert book.best_bid() == (100, 7)
    assert fills(book.submit("t", "c", SELL, 3, 100)) == [("b1", 100, 2), ("b2", 100, 1)]


def test_replace_with_unchanged_qty_and_price_keeps_priority(book):
    book.submit("b1", "m", BUY, 5, 100)
    book.submit("b2", "m", BUY, 5, 100)
    book.replace("b1", 5, 100)
    assert book.queue_ahead("b1") == 0


def test_replace_increasing_qty_loses_priority(book):
    book.submit("b1", "m", BUY, 5, 100)
    book.submit("b2", "m", BUY, 5, 100)
    result = book.replace("b1", 8, 100)
    assert (result.rested_qty, result.canceled_qty) == (8, 0)
    assert book.queue_ahead("b1") == 5
    assert book.best_bid() == (100, 13)


def test_replace_to_new_price_goes_to_back_of_that_level(book):
    book.submit("b1", "m", BUY, 5, 99)
    book.submit("b2", "m", BUY, 5, 100)
    book.replace("b1", 4, 100)
    assert book.depth(BUY, 5) == [(100, 9)]
    assert book.queue_ahead("b1") == 5
    assert book.order("b1").price_ticks == 100


def test_replace_that_crosses_trades_as_taker(book):
    book.submit("a1", "x", SELL, 3, 101)
    book.submit("b1", "m", BUY, 5, 100)
    result = book.replace("b1", 5, 101)
    assert result.trades == [Trade("a1", "x", "b1", "m", 101, 3, 0, 2)]
    assert result.rested_qty == 2
    assert book.best_bid() == (101, 2) and book.best_ask() is None


def test_replace_to_zero_cancels_and_unknown_is_none(book):
    book.submit("b1", "m", BUY, 5, 100)
    result = book.replace("b1", 0, 100)
    assert (result.rested_qty, result.canceled_qty) == (0, 5)
    assert len(book) == 0
    assert book.replace("b1", 3, 100) is None


def test_reduce_keeps_priority_and_removes_when_exhausted(book):
    book.submit("b1", "m", BUY, 5, 100)
    book.submit("b2", "m", BUY, 5, 100)
    assert book.reduce("b1", 2) == 2
    assert book.queue_ahead("b2") == 3
    assert book.reduce("b1", 10) == 3
    assert book.order("b1") is None and book.best_bid() == (100, 5)
    assert book.reduce("b1", 1) is None


@pytest.mark.parametrize("qty, price", [(0, 100), (-1, 100), (1, 0), (1, -5)])
def test_bad_submit_is_rejected_without_state_change(book, qty, price):
    with pytest.raises(BookError):
        book.submit("x", "c", BUY, qty, price)
    assert len(book) == 0 and book.best_bid() is None


def test_duplicate_live_order_id_is_rejected(book):
    book.submit("b1", "m", BUY, 5, 100)
    with pytest.raises(BookError, match="duplicate"):
        book.submit("b1", "m", SELL, 5, 100)
    assert book.best_ask() is None and book.best_bid() == (100, 5)


def test_bad_replace_and_reduce_are_rejected(book):
    book.submit("b1", "m", BUY, 5, 100)
    with pytest.raises(BookError):
        book.replace("b1", 5, 0)
    with pytest.raises(BookError):
        book.reduce("b1", 0)
    assert book.order("b1").leaves == 5 and book.queue_ahead("b1") == 0


def test_book_error_is_a_value_error():
    assert issubclass(BookError, ValueError)


def test_self_trade_is_allowed():
    book = OrderBook()
    book.submit("a1", "same", SELL, 1, 100)
    assert fills(book.submit("b1", "same", BUY, 1, 100)) == [("a1", 100, 1)]


# --- FOK, post-only and reserve orders ------------------------------------------------

def test_fok_fills_in_full_across_levels_or_not_at_all(book):
    book.submit("a1", "m", SELL, 3, 101)
    book.submit("a2", "m", SELL, 3, 102)
    killed = book.submit("f1", "c", BUY, 7, 102, fok=True)
    assert (killed.trades, killed.rested_qty, killed.canceled_qty) == ([], 0, 7)
    assert book.depth(SELL, 5) == [(101, 3), (102, 3)]
    short_of_limit = book.submit("f2", "c", BUY, 4, 101, fok=True)
    assert short_of_limit.trades == [] and book.best_ask() == (101, 3)
    done = book.submit("f3", "c", BUY, 5, 102, fok=True)
    assert fills(done) == [("a1", 101, 3), ("a2", 102, 2)]
    assert (done.rested_qty, done.canceled_qty) == (0, 0)
    assert book.order("f3") is None


def test_fok_counts_hidden_reserve_as_fillable(book):
    book.submit("a1", "m", SELL, 10, 101, display_qty=2)
    done = book.submit("f1", "c", BUY, 10, 101, fok=True)
    assert sum(t.qty for t in done.trades) == 10 and len(book) == 0


def test_post_only_that_would_take_is_refused_and_changes_nothing(book):
    book.submit("a1", "m", SELL, 3, 101)
    refused = book.submit("p1", "c", BUY, 5, 101, post_only=True)
    assert refused.refused == POST_ONLY_WOULD_TAKE
    assert (refused.trades, refused.rested_qty, refused.canceled_qty) == ([], 0, 0)
    assert book.order("p1") is None and book.best_ask() == (101, 3) and book.best_bid() is None
    rested = book.submit("p2", "c", BUY, 5, 100, post_only=True)
    assert rested.refused is None and rested.rested_qty == 5 and book.best_bid() == (100, 5)


def test_replace_of_a_post_only_order_that_would_take_is_refused(book):
    book.submit("a1", "m", SELL, 3, 101)
    book.submit("p1", "c", BUY, 5, 100, post_only=True)
    book.submit("b2", "m", BUY, 1, 100)
    refused = book.replace("p1", 5, 101)
    assert refused.refused == POST_ONLY_WOULD_TAKE and refused.trades == []
    assert book.order("p1").price_ticks == 100 and book.queue_ahead("p1") == 0
    assert book.best_ask() == (101, 3)
    moved = book.replace("p1", 5, 99)
    assert moved.refused is None and book.order("p1").price_ticks == 99


def test_replace_of_an_ordinary_order_may_still_take(book):
    book.submit("a1", "m", SELL, 3, 101)
    book.submit("b1", "c", BUY, 5, 100)
    assert fills(book.replace("b1", 5, 101)) == [("a1", 101, 3)]


def test_reserve_order_shows_only_its_display_qty(book):
    result = book.submit("r1", "m", SELL, 25, 101, display_qty=10)
    assert result.rested_qty == 25
    assert book.depth(SELL, 5) == [(101, 10)] and book.best_ask() == (101, 10)
    assert book.order("r1").leaves == 25 and book.order("r1").displayed == 10


def test_reserve_refresh_goes_to_the_back_of_its_level(book):
    book.submit("r1", "m", SELL, 25, 101, display_qty=10)
    book.submit("a2", "x", SELL, 4, 101)
    assert [v.order_id for v in book.resting(SELL)] == ["r1", "a2"]
    first = book.submit("t1", "c", BUY, 10, 101)
    assert fills(first) == [("r1", 101, 10)]
    assert [v.order_id for v in book.resting(SELL)] == ["a2", "r1"]   # refreshed slice lost priority
    assert book.depth(SELL, 1) == [(101, 14)]
    assert book.queue_ahead("r1") == 4
    assert fills(book.submit("t2", "c", BUY, 6, 101)) == [("a2", 101, 4), ("r1", 101, 2)]


def test_displayed_interest_trades_before_hidden_reserve_at_a_price(book):
    book.submit("r1", "m", SELL, 12, 101, display_qty=2)
    book.submit("a2", "x", SELL, 3, 101)
    book.submit("a3", "y", SELL, 3, 101)
    result = book.submit("t", "c", BUY, 12, 101)
    assert fills(result) == [("r1", 101, 2), ("a2", 101, 3), ("a3", 101, 3), ("r1", 101, 2), ("r1", 101, 2)]
    assert book.order("r1").leaves == 6 and book.order("r1").displayed == 2


def test_reserve_trade_reports_total_leaves_and_last_slice_may_be_short(book):
    book.submit("r1", "m", SELL, 5, 101, display_qty=2)
    result = book.submit("t", "c", BUY, 5, 101)
    assert [(t.qty, t.maker_leaves) for t in result.trades] == [(2, 3), (2, 1), (1, 0)]
    assert len(book) == 0 and book.best_ask() is None


def test_cutting_a_reserve_order_takes_hidden_qty_first(book):
    book.submit("r1", "m", BUY, 20, 100, display_qty=5)
    book.submit("b2", "x", BUY, 1, 100)
    book.replace("r1", 8, 100)
    assert (book.order("r1").leaves, book.order("r1").displayed) == (8, 5)
    assert book.queue_ahead("b2") == 5
    book.reduce("r1", 5)
    assert (book.order("r1").leaves, book.order("r1").displayed) == (3, 3)
    assert book.depth(BUY, 1) == [(100, 4)] and book.queue_ahead("r1") == 0


def test_reserve_order_replaced_to_a_new_price_keeps_its_display_size(book):
    book.submit("r1", "m", BUY, 20, 100, display_qty=5)
    book.replace("r1", 30, 99)
    assert (book.order("r1").leaves, book.order("r1").displayed) == (30, 5)
    assert book.depth(BUY, 1) == [(99, 5)]


def test_bad_display_qty_is_rejected(book):
    with pytest.raises(BookError, match="display"):
        book.submit("r1", "m", BUY, 5, 100, display_qty=0)
    assert len(book) == 0


# --- property test: the book against a naive reference, plus invariants -----------------

@dataclass
class RefOrder:
    seq: int
    owner: str
    is_buy: bool
    price: int
    displayed: int
    hidden: int
    display_qty: int | None
    post_only: bool

    @property
    def leaves(self) -> int:
        return self.displayed + self.hidden

    def priority(self) -> tuple:
        """Bids before asks, best price first, then time (a refreshed slice has a new time)."""
        return (not self.is_buy, -self.price if self.is_buy else self.price, self.seq)


class ReferenceBook:
    """Obvious, slow price-time matching: every fill searches all the crossing orders for the
    one with priority, and a reserve order's refreshed slice simply gets a new time."""

    def __init__(self) -> None:
        self.orders: dict[str, RefOrder] = {}
        self.seq = itertools.count()

    def submit(self, order_id, owner, is_buy, qty, price, ioc, fok=False, post_only=False,
               display_qty=None) -> tuple[list[Trade], bool]:
        """Returns the trades and whether the order was refused."""
        crossing = self._crossing(is_buy, price)
        if post_only and crossing:
            return [], True
        if fok and sum(o.leaves for _, o in crossing) < qty:
            return [], False
        trades, leaves = self._match(order_id, owner, is_buy, qty, price)
        if leaves and not ioc and not fok:
            shown = leaves if display_qty is None else min(leaves, display_qty)
            self.orders[order_id] = RefOrder(next(self.seq), owner, is_buy, price, shown, leaves - shown,
                                             display_qty, post_only)
        return trades, False

    def replace(self, order_id, qty, price) -> tuple[list[Trade], bool]:
        order = self.orders[order_id]
        if qty <= 0:
            del self.orders[order_id]
            return [], False
        if price == order.price and qty <= order.leaves:
            cut = order.leaves - qty
            from_hidden = min(order.hidden, cut)
            order.hidden -= from_hidden
            order.displayed -= cut - from_hidden
            return [], False
        if order.post_only and self._crossing(order.is_buy, price):
            return [], True
        del self.orders[order_id]
        return self.submit(order_id, order.owner, order.is_buy, qty, price, ioc=False,
                           post_only=order.post_only, display_qty=order.display_qty)

    def reduce(self, order_id, by_qty) -> None:
        order = self.orders[order_id]
        from_hidden = min(order.hidden, by_qty)
        order.hidden -= from_hidden
        order.displayed -= by_qty - from_hidden
        if not order.leaves:
            del self.orders[order_id]

    def _crossing(self, is_buy, price) -> list[tuple[str, RefOrder]]:
        return [(order_id, o) for order_id, o in self.orders.items() if o.is_buy != is_buy
                and (o.price <= price if is_buy else o.price >= price)]

    def _match(self, taker_id, owner, is_buy, qty, price) -> tuple[list[Trade], int]:
        trades = []
        while qty and (crossing := self._crossing(is_buy, price)):
            order_id, maker = min(crossing, key=lambda item: item[1].priority())
            fill = min(qty, maker.displayed)
            maker.displayed -= fill
            qty -= fill
            trades.append(Trade(order_id, maker.owner, taker_id, owner, maker.price, fill,
                                maker.leaves, qty))
            if not maker.displayed and maker.hidden:
                maker.displayed = min(maker.hidden, maker.display_qty)
                maker.hidden -= maker.displayed
                maker.seq = next(self.seq)
            elif not maker.leaves:
                del self.orders[order_id]
        return trades, qty


# Bids and asks overlap a little, so books build up yet still cross. Replaces move a live
# order a little and often not at all, so the priority-keeping cases come up often. Some
# orders are IOC or FOK, some post-only, some reserve orders showing a small slice.
submits = st.tuples(st.just("submit"), st.booleans(), st.integers(1, 20), st.integers(0, 5),
                    st.sampled_from(("day", "day", "day", "ioc", "fok")), st.sampled_from((False, False, True)),
                    st.sampled_from((None, None, None, 1, 3, 7)))
operations = st.lists(st.one_of(
    submits, submits,
    st.tuples(st.just("cancel"), st.integers(0, 200)),
    st.tuples(st.just("replace"), st.integers(0, 200), st.sampled_from((0, 0, -2, 3, -25)),
              st.sampled_from((0, 0, -1, 1, 4))),
    st.tuples(st.just("reduce"), st.integers(0, 200), st.integers(1, 8)),
), min_size=30, max_size=200)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_random_operations_keep_invariants_and_match_reference(ops):
    book, reference = OrderBook(), ReferenceBook()
    ids: list[str] = []
    submitted = traded = canceled = 0
    for op in ops:
        kind, result = op[0], None
        if kind == "submit":
            _, is_buy, qty, offset, tif, post_only, display_qty = op
            order_id, owner = f"o{len(ids)}", f"u{len(ids) % 3}"
            price = 96 + offset if is_buy else 104 - offset
            ids.append(order_id)
            result = book.submit(order_id, owner, BUY if is_buy else SELL, qty, price, tif == "ioc",
                                 fok=tif == "fok", post_only=post_only, display_qty=display_qty)
            trades, refused = reference.submit(order_id, owner, is_buy, qty, price, tif == "ioc",
                                               tif == "fok", post_only, display_qty)
            assert (result.trades, result.refused is not None) == (trades, refused)
            if tif == "fok":
                assert sum(t.qty for t in result.trades) in (0, qty)
            submitted += 0 if refused else qty
        elif kind == "cancel" and ids:  # may name a finished order
            order_id = ids[op[1] % len(ids)]
            removed = book.cancel(order_id)
            assert (removed is None) == (reference.orders.pop(order_id, None) is None)
            canceled += removed or 0
        elif kind == "replace" and reference.orders:
            _, index, qty_change, price_change = op
            order_id = list(reference.orders)[index % len(reference.orders)]
            before = book.order(order_id)
            qty, price = before.leaves + qty_change, before.price_ticks + price_change
            result = book.replace(order_id, qty, price)
            trades, refused = reference.replace(order_id, qty, price)
            assert (result.trades, result.refused is not None) == (trades, refused)
            if refused:
                assert book.order(order_id) == before
            else:
                submitted += max(qty - before.leaves, 0)
        elif kind == "reduce" and reference.orders:
            _, index, by_qty = op
            order_id = list(reference.orders)[index % len(reference.orders)]
            removed = book.reduce(order_id, by_qty)
            reference.reduce(order_id, removed)
            canceled += removed
        if result is not None:
            traded += sum(t.qty for t in result.trades)
            canceled += result.canceled_qty
        check_invariants(book, reference)
        resting = sum(v.leaves for side in (BUY, SELL) for v in book.resting(side))
        assert submitted == 2 * traded + resting + canceled


def check_invariants(book: OrderBook, reference: ReferenceBook) -> None:
    bid, ask = book.best_bid(), book.best_ask()
    assert bid is None or ask is None or bid[0] < ask[0], "book is crossed"
    views = book.resting(BUY) + book.resting(SELL)
    assert len({v.order_id for v in views}) == len(views) == len(book)
    expected = sorted(reference.orders.items(), key=lambda item: item[1].priority())
    assert [(v.order_id, v.leaves, v.displayed) for v in views] == \
        [(i, o.leaves, o.displayed) for i, o in expected]
    assert all(v.displayed > 0 for v in views), "a resting order always shows something"
    for side in (BUY, SELL):
        levels = book.depth(side, 100)
        assert [p for p, _ in levels] == sorted((p for p, _ in levels), reverse=side.is_buy)
        for price, qty in levels:
            at_level = [v for v in book.resting(side) if v.price_ticks == price]
            assert qty == sum(v.displayed for v in at_level) > 0
            ahead = 0
            for view in at_level:
                assert book.order(view.order_id) == view
                assert book.queue_ahead(view.order_id) == ahead
                ahead += view.displayed


# --- allocation rules -------------------------------------------------------------------
# price-time (FIFO) is the default and is what every test above exercises; the tests below
# build each level by hand and check who gets what.

def test_price_time_allocation_fills_the_level_first_in_first_out():
    # Worked example, price-time (FIFO; one of the base allocation algorithms a Cboe Options
    # class may use under Rule 5.32, and the equity exchanges' rule): bids at $1.00 in time
    # order A 10 (customer), B 100 (market maker), C 50 (professional). A sell of 70 at $1.00
    # trades A 10, then B 60; C gets nothing, whatever the capacities.
    book = OrderBook("price-time")
    book.submit("A", "a", BUY, 10, 100, capacity="customer")
    book.submit("B", "b", BUY, 100, 100, capacity="market_maker")
    book.submit("C", "c", BUY, 50, 100, capacity="professional")
    assert fills(book.submit("T", "t", SELL, 70, 100)) == [("A", 100, 10), ("B", 100, 60)]
    assert [(v.order_id, v.leaves) for v in book.resting(BUY)] == [("B", 40), ("C", 50)]


def test_pro_rata_with_priority_customer_overlay_worked_example():
    # Worked example in the style of the Cboe Rule 5.32 (former 6.45A) pro-rata algorithm with
    # the Priority Customer overlay, and Nasdaq ISE Options 3 Section 10 (Priority Customer
    # orders first, then Size Pro-Rata). Bids at $1.00 in time order:
    #   C1 10 customer, MM-A 100 market maker, PRO-B 50 professional, C2 20 customer, MM-D 30 mm.
    # A sell of 100 at $1.00:
    #   1. priority customers in time priority: C1 10, C2 20            -> 70 left
    #   2. pro-rata by size among A 100, B 50, D 30 (total 180), rounded down:
    #      A 70*100/180 = 38.9 -> 38, B 70*50/180 = 19.4 -> 19, D 70*30/180 = 11.7 -> 11 (68)
    #   3. the 2 left by rounding, in time priority: A (the earliest)   -> A 40, B 19, D 11
    book = OrderBook("pro-rata")
    book.submit("C1", "c1", BUY, 10, 100, capacity="customer")
    book.submit("A", "a", BUY, 100, 100, capacity="market_maker")
    book.submit("B", "b", BUY, 50, 100, capacity="professional")
    book.submit("C2", "c2", BUY, 20, 100, capacity="customer")
    book.submit("D", "d", BUY, 30, 100, capacity="market_maker")
    result = book.submit("T", "t", SELL, 100, 100)
    assert fills(result) == [("C1", 100, 10), ("C2", 100, 20), ("A", 100, 40), ("B", 100, 19), ("D", 100, 11)]
    assert [t.taker_leaves for t in result.trades] == [90, 70, 30, 11, 0]
    assert [(v.order_id, v.leaves) for v in book.resting(BUY)] == [("A", 60), ("B", 31), ("D", 19)]
    assert book.depth(BUY, 1) == [(100, 110)]


def test_pro_rata_minimum_allocation_tops_up_small_orders_before_time_priority():
    # Non-customer offers at $2.00 in time order: A 60, B 3, C 3, D 1; a buy of 10.
    # Pro-rata (total 67), rounded down: A 8 (8.96), B 0 (0.45), C 0, D 0 -> 2 left.
    # min allocation 2: the leftover first tops up, in time priority, the orders below it:
    # B gets 2 and nothing is left for C or D. With min allocation 1, B and C get 1 each.
    for min_allocation, expected in ((2, [("A", 200, 8), ("B", 200, 2)]),
                                     (1, [("A", 200, 8), ("B", 200, 1), ("C", 200, 1)])):
        book = OrderBook("pro-rata", min_allocation=min_allocation)
        for order_id, qty in (("A", 60), ("B", 3), ("C", 3), ("D", 1)):
            book.submit(order_id, order_id.lower(), SELL, qty, 200, capacity="market_maker")
        assert fills(book.submit("T", "t", BUY, 10, 200)) == expected


def test_pro_rata_level_is_exhausted_before_the_next_price():
    book = OrderBook("pro-rata")
    book.submit("A", "a", SELL, 4, 101, capacity="market_maker")
    book.submit("B", "b", SELL, 2, 101, capacity="professional")
    book.submit("C", "c", SELL, 5, 102, capacity="market_maker")
    book.submit("D", "d", SELL, 5, 102, capacity="customer")
    result = book.submit("T", "t", BUY, 9, 102)
    # 101: both in full (6); 102: customer D first with the 3 left
    assert fills(result) == [("A", 101, 4), ("B", 101, 2), ("D", 102, 3)]
    assert book.best_ask() == (102, 7)


def test_pro_rata_reserve_order_takes_part_with_its_displayed_slice_only():
    # A shows 10 of 100, B shows all of its 10: a sell of 10 splits 5/5 on displayed size
    # (not 9/1 on total size). A sell of 20 then takes both displayed slices in full (5 + 5);
    # A's slice refreshes at the back of the level, B is done, and a new round gives A the last 10.
    book = OrderBook("pro-rata")
    book.submit("A", "a", BUY, 100, 100, display_qty=10, capacity="market_maker")
    book.submit("B", "b", BUY, 10, 100, capacity="market_maker")
    assert fills(book.submit("T1", "t", SELL, 10, 100)) == [("A", 100, 5), ("B", 100, 5)]
    assert fills(book.submit("T2", "t", SELL, 20, 100)) == [("A", 100, 5), ("B", 100, 5), ("A", 100, 10)]
    assert (book.order("A").leaves, book.order("A").displayed) == (80, 10)


def test_pro_rata_refreshed_customer_slice_loses_priority_to_the_back():
    book = OrderBook("pro-rata")
    book.submit("C", "c", SELL, 20, 101, display_qty=5, capacity="customer")
    book.submit("M", "m", SELL, 10, 101, capacity="market_maker")
    # round 1: customer C 5 (its slice), then M gets the other 3 of 8 pro-rata
    assert fills(book.submit("T", "t", BUY, 8, 101)) == [("C", 101, 5), ("M", 101, 3)]
    assert [v.order_id for v in book.resting(SELL)] == ["M", "C"]
    assert book.order("C").displayed == 5


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 500), st.lists(st.integers(1, 100), min_size=1, max_size=12), st.integers(1, 10))
def test_pro_rata_shares_never_overfill_and_use_what_they_can(qty, sizes, min_allocation):
    shares = pro_rata_shares(qty, sizes, min_allocation)
    assert sum(shares) == min(qty, sum(sizes))
    assert all(0 <= share <= size for share, size in zip(shares, sizes))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30), st.sampled_from(["customer", "market_maker", "professional"]),
                          st.one_of(st.none(), st.integers(1, 10)), st.integers(0, 2)), min_size=1, max_size=10),
       st.integers(1, 200))
def test_pro_rata_book_conserves_quantity(orders, qty):
    book = OrderBook("pro-rata", min_allocation=2)
    for index, (size, capacity, display_qty, offset) in enumerate(orders):
        book.submit(f"o{index}", f"u{index}", SELL, size, 100 + offset, capacity=capacity, display_qty=display_qty)
    total = sum(size for size, *_ in orders)
    result = book.submit("T", "t", BUY, qty, 102, ioc=True)
    traded = sum(t.qty for t in result.trades)
    assert traded == min(qty, total) and result.canceled_qty == qty - traded
    assert sum(v.leaves for v in book.resting(SELL)) == total - traded
    prices = [t.price_ticks for t in result.trades]
    assert prices == sorted(prices)


def test_bad_allocation_settings_are_refused():
    with pytest.raises(BookError, match="allocation"):
        OrderBook("fifo-ish")
    with pytest.raises(BookError, match="min allocation"):
        OrderBook("pro-rata", min_allocation=0)
    with pytest.raises(BookError, match="self-match"):
        OrderBook(stp_owners={"r"}, stp_action="cancel_both")


# --- self-match prevention --------------------------------------------------------------

@pytest.mark.parametrize("allocation", ["price-time", "pro-rata"])
def test_self_match_cancel_resting_removes_own_order_and_the_incoming_goes_on(allocation):
    book = OrderBook(allocation, stp_owners={"r"})
    book.submit("x1", "x", SELL, 2, 101)
    book.submit("r1", "r", SELL, 5, 101)
    book.submit("x2", "x", SELL, 3, 102)
    result = book.submit("r2", "r", BUY, 4, 102)
    assert fills(result) == [("x1", 101, 2), ("x2", 102, 2)]
    assert result.stp_canceled == [("r1", 5)] and result.stp_incoming is None
    assert book.order("r1") is None and book.best_ask() == (102, 1) and result.rested_qty == 0
    # other owners still trade against themselves
    assert fills(book.submit("x3", "x", BUY, 1, 102)) == [("x2", 102, 1)]


@pytest.mark.parametrize("allocation, expected", [("price-time", [("x1", 101, 2)]), ("pro-rata", [])])
def test_self_match_cancel_incoming_stops_the_incoming_and_cancels_its_rest(allocation, expected):
    # price-time: stops at its own order (x1 ahead of it trades); pro-rata: the whole level
    # trades at once, so it stops before a level holding its own order
    book = OrderBook(allocation, stp_owners={"r"}, stp_action="cancel_incoming")
    book.submit("x1", "x", SELL, 2, 101)
    book.submit("r1", "r", SELL, 5, 101)
    result = book.submit("r2", "r", BUY, 4, 101)
    assert fills(result) == expected and result.stp_incoming == "r1" and result.stp_canceled == []
    assert result.rested_qty == 0 and result.canceled_qty == 4 - sum(q for *_, q in expected)
    assert book.order("r1").leaves == 5 and book.order("r2") is None


def test_fok_does_not_count_own_orders_under_self_match_prevention():
    book = OrderBook(stp_owners={"r"})
    book.submit("r1", "r", SELL, 5, 101)
    book.submit("x1", "x", SELL, 2, 101)
    killed = book.submit("f1", "r", BUY, 4, 101, fok=True)
    assert (killed.trades, killed.canceled_qty, killed.stp_canceled) == ([], 4, [])
    assert book.order("r1").leaves == 5                     # a killed FOK changes nothing
    done = book.submit("f2", "r", BUY, 2, 101, fok=True)
    assert fills(done) == [("x1", 101, 2)] and done.stp_canceled == [("r1", 5)]


def test_replace_that_would_self_match_cancels_the_resting_own_order():
    book = OrderBook(stp_owners={"r"})
    book.submit("r1", "r", SELL, 5, 101)
    book.submit("r2", "r", BUY, 3, 100)
    result = book.replace("r2", 3, 101)
    assert result.trades == [] and result.stp_canceled == [("r1", 5)] and result.rested_qty == 3
    assert book.best_bid() == (101, 3) and book.best_ask() is None


def test_order_types_behave_the_same_under_pro_rata():
    book = OrderBook("pro-rata")
    book.submit("a1", "m", SELL, 3, 101, capacity="market_maker")
    book.submit("a2", "n", SELL, 3, 101, capacity="market_maker")
    assert book.submit("p1", "c", BUY, 5, 101, post_only=True).refused == POST_ONLY_WOULD_TAKE
    killed = book.submit("f1", "c", BUY, 7, 101, fok=True)
    assert (killed.trades, killed.canceled_qty) == ([], 7) and book.best_ask() == (101, 6)
    ioc = book.submit("i1", "c", BUY, 4, 101, ioc=True)
    assert fills(ioc) == [("a1", 101, 2), ("a2", 101, 2)] and (ioc.rested_qty, ioc.canceled_qty) == (0, 0)
    done = book.submit("f2", "c", BUY, 2, 101, fok=True)
    assert fills(done) == [("a1", 101, 1), ("a2", 101, 1)] and len(book) == 0
