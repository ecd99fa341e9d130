from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.domain.enums import Side
from venues.sim.matching import BookError, OrderBook, Trade, from_ticks, to_ticks

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


# --- property test: the book against a naive reference, plus invariants -----------------

@dataclass
class RefOrder:
    seq: int
    owner: str
    is_buy: bool
    price: int
    leaves: int

    def priority(self) -> tuple:
        """Bids before asks, best price first, then time."""
        return (not self.is_buy, -self.price if self.is_buy else self.price, self.seq)


class ReferenceBook:
    """Obvious, slow price-time matching: every match sorts all the crossing orders."""

    def __init__(self) -> None:
        self.orders: dict[str, RefOrder] = {}
        self.seq = itertools.count()

    def submit(self, order_id, owner, is_buy, qty, price, ioc) -> list[Trade]:
        trades, leaves = self._match(order_id, owner, is_buy, qty, price)
        if leaves and not ioc:
            self.orders[order_id] = RefOrder(next(self.seq), owner, is_buy, price, leaves)
        return trades

    def replace(self, order_id, qty, price) -> list[Trade]:
        order = self.orders.pop(order_id)
        if qty <= 0:
            return []
        if price == order.price and qty <= order.leaves:
            order.leaves = qty
            self.orders[order_id] = order
            return []
        return self.submit(order_id, order.owner, order.is_buy, qty, price, ioc=False)

    def reduce(self, order_id, by_qty) -> None:
        order = self.orders[order_id]
        order.leaves -= by_qty
        if not order.leaves:
            del self.orders[order_id]

    def _match(self, taker_id, owner, is_buy, qty, price) -> tuple[list[Trade], int]:
        crossing = [(order_id, o) for order_id, o in self.orders.items() if o.is_buy != is_buy
                    and (o.price <= price if is_buy else o.price >= price)]
        trades = []
        for order_id, maker in sorted(crossing, key=lambda item: item[1].priority()):
            if not qty:
                break
            fill = min(qty, maker.leaves)
            maker.leaves -= fill
            qty -= fill
            trades.append(Trade(order_id, maker.owner, taker_id, owner, maker.price, fill,
                                maker.leaves, qty))
            if not maker.leaves:
                del self.orders[order_id]
        return trades, qty


# Bids and asks overlap a little, so books build up yet still cross. Replaces move a live
# order a little and often not at all, so the priority-keeping cases come up often.
submits = st.tuples(st.just("submit"), st.booleans(), st.integers(1, 20), st.integers(0, 5),
                    st.booleans())
operations = st.lists(st.one_of(
    submits, submits,
    st.tuples(st.just("cancel"), st.integers(0, 200)),
    st.tuples(st.just("replace"), st.integers(0, 200), st.sampled_from((0, 0, -2, 3, -25)),
              st.sampled_from((0, 0, -1, 1))),
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
            _, is_buy, qty, offset, ioc = op
            order_id, owner = f"o{len(ids)}", f"u{len(ids) % 3}"
            price = 96 + offset if is_buy else 104 - offset
            ids.append(order_id)
            result = book.submit(order_id, owner, BUY if is_buy else SELL, qty, price, ioc)
            assert result.trades == reference.submit(order_id, owner, is_buy, qty, price, ioc)
            submitted += qty
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
            assert result.trades == reference.replace(order_id, qty, price)
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
        resting = sum(qty for side in (BUY, SELL) for _, qty in book.depth(side, 100))
        assert submitted == 2 * traded + resting + canceled


def check_invariants(book: OrderBook, reference: ReferenceBook) -> None:
    bid, ask = book.best_bid(), book.best_ask()
    assert bid is None or ask is None or bid[0] < ask[0], "book is crossed"
    views = book.resting(BUY) + book.resting(SELL)
    assert len({v.order_id for v in views}) == len(views) == len(book)
    expected = sorted(reference.orders.items(), key=lambda item: item[1].priority())
    assert [(v.order_id, v.leaves) for v in views] == [(i, o.leaves) for i, o in expected]
    for side in (BUY, SELL):
        levels = book.depth(side, 100)
        assert [p for p, _ in levels] == sorted((p for p, _ in levels), reverse=side.is_buy)
        for price, qty in levels:
            at_level = [v for v in book.resting(side) if v.price_ticks == price]
            assert qty == sum(v.leaves for v in at_level) > 0
            ahead = 0
            for view in at_level:
                assert book.order(view.order_id) == view
                assert book.queue_ahead(view.order_id) == ahead
                ahead += view.leaves
