from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.domain.enums import Side
from venues.sim.matching import POST_ONLY_WOULD_TAKE, BookError, OrderBook, Trade, from_ticks, to_ticks

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
