"""The day greek limits' running aggregate (router/risk/day_book.py) equals the full scan of the
book of record after any sequence of child events (hypothesis), on its own and inside the
engine; and the check reads it rather than scanning."""
from __future__ import annotations

from datetime import date

from hypothesis import given, settings, strategies as st

from router.domain.commands import AlgoParams
from router.domain.enums import ChildRole, OrdType, Side, TimeInForce
from router.domain.orders import ChildOrder, ChildStatus, ParentOrder
from router.engine.state import Orders
from router.risk.day_book import DayBook
from router.risk.greek_limits import DayGreekLimits
from tests.harness import CALL, Harness

DAY_START = 1_000
SYMBOLS = ("AAPL", "AAPL  261218C00200000", "SPY", "SPY   261218C00600000")
ACCOUNTS = ("A", "B")
PARENTS = 4


def _parents(orders: Orders) -> list[ParentOrder]:
    made = []
    for i in range(PARENTS):
        parent = ParentOrder(f"P{i}", "S", ACCOUNTS[i % 2], f"C{i}", SYMBOLS[i % len(SYMBOLS)], Side.BUY, 100,
                             OrdType.LIMIT, 1.0, TimeInForce.DAY, "sweep", AlgoParams(), 0)
        orders.add_parent(parent)
        made.append(parent)
    return made


# One event: (kind, which child or parent, a symbol, a side, a quantity, early?, hedge?)
EVENTS = st.lists(st.tuples(st.sampled_from(("new", "fill", "amend", "confirm", "done")),
                            st.integers(0, 30), st.sampled_from(SYMBOLS), st.booleans(), st.integers(1, 20),
                            st.booleans(), st.booleans()), max_size=60)


def _apply(orders: Orders, parents: list[ParentOrder], event, touched: list[ChildOrder]) -> None:
    kind, which, symbol, buy, qty, early, hedge = event
    children = list(orders.children.values())
    if kind == "new" or not children:
        parent = parents[which % PARENTS]
        parent.child_seq += 1
        child = ChildOrder(f"{parent.order_id}.{parent.child_seq}", parent.order_id, "XCBO", symbol,
                           Side.BUY if buy else Side.SELL, qty, 1.0, TimeInForce.DAY,
                           sent_ns=DAY_START - 1 if early else DAY_START + which,
                           role=ChildRole.HEDGE if hedge else ChildRole.WORK)
        orders.add_child(child)
    else:
        child = children[which % len(children)]
        if child.status.is_done:
            return
        if kind == "fill":
            filled = min(qty, child.qty - child.cum_qty)
            child.cum_qty += filled
            child.notional += filled * (1.0 + which / 100)
            if child.cum_qty >= child.qty:
                child.status = ChildStatus.FILLED
        elif kind == "amend":
            child.want_qty = max(child.cum_qty + 1, qty)           # a replace in flight
        elif kind == "confirm" and child.want_qty is not None:
            child.qty, child.want_qty = child.want_qty, None
        elif kind == "done":
            child.status = ChildStatus.CANCELED
    touched.append(child)


def _rows(book) -> dict[str, list[float]]:
    return {symbol: book.rows[i] for symbol, i in book.index.items() if any(book.rows[i])}


@settings(max_examples=150, deadline=None)
@given(EVENTS, st.integers(0, PARENTS - 1), st.booleans())
def test_the_running_aggregate_equals_the_full_scan_after_any_sequence(events, checked_parent, checked_exists):
    orders = Orders()
    parents = _parents(orders)
    touched: list[ChildOrder] = []
    limits = DayGreekLimits(orders, None, None, None, lambda: DAY_START + 5, lambda now: DAY_START,
                            watch=lambda on_changed: touched)
    half = len(events) // 2
    for event in events[:half]:
        _apply(orders, parents, event, touched)
    parent = parents[checked_parent]
    probe = ChildOrder("probe", parent.order_id, "XCBO", SYMBOLS[0], Side.BUY, 1, 1.0, TimeInForce.DAY, DAY_START)
    limits._running_book(parent, probe, DAY_START)            # built here, from the book of record
    for event in events[half:]:
        _apply(orders, parents, event, touched)                # and caught up from here on
    mine = [orders.children[c] for c in orders.children_of[parent.order_id]]
    checked = mine[-1] if checked_exists and mine else probe
    running = limits._running_book(parent, checked, DAY_START)
    scanned = limits._scanned_book(parent, checked, DAY_START)
    assert _rows(running) == _rows(scanned)
    assert not touched                                         # the check drained what it was told
    assert set(running.last_price) == set(scanned.last_price)


@settings(max_examples=50, deadline=None)
@given(EVENTS)
def test_a_new_day_rebuilds_the_aggregate_so_earlier_fills_stop_counting(events):
    orders = Orders()
    parents = _parents(orders)
    touched: list[ChildOrder] = []
    day = [DAY_START]
    limits = DayGreekLimits(orders, None, None, None, lambda: 10 ** 9, lambda now: day[0],
                            watch=lambda on_changed: touched)
    for event in events:
        _apply(orders, parents, event, touched)
    probe = ChildOrder("probe", "P0", "XCBO", SYMBOLS[0], Side.BUY, 1, 1.0, TimeInForce.DAY, DAY_START)
    limits._running_book(parents[0], probe, day[0])
    day[0] = DAY_START + 10                                    # the session closed again
    running = limits._running_book(parents[0], probe, day[0])
    assert _rows(running) == _rows(limits._scanned_book(parents[0], probe, day[0]))


def test_in_the_engine_the_aggregate_stays_equal_to_a_rebuild_from_the_book_of_record():
    from .test_greek_limits import dollar_delta, market
    h = Harness()
    market(h)
    unit = dollar_delta(h, CALL, 200.0)
    h.new("B1", Side.BUY, 10, 5.20, max_sym_day_ddelta_ln=3.5 * unit)      # held after 3
    h.new("A1", Side.BUY, 5, 4.00, balance_handling=1, max_acc_day_ddelta_ln=1e9)   # rests
    h.new("S1", Side.SELL, 300, 199.99, symbol="AAPL")                    # fills in the stock
    h.settle(0.5)
    h.cancel("A2", "A1")
    h.settle(0.5)
    [limits] = [c for c in h.engine.children._checks if isinstance(c, DayGreekLimits)]
    orders = h.engine.orders
    day = limits._day(limits._running.day_start)
    rebuilt = DayBook.build(orders.parents, orders.children, orders.children_of, day.day_start)
    assert day.accounts == rebuilt.accounts and day.parents == rebuilt.parents
    bought = sum(c.cum_qty for c in orders.children.values() if c.symbol == CALL)
    assert day.accounts["CLIENT1"]["AAPL"][0] == -300 and day.accounts["CLIENT1"][CALL][0] == bought > 3
    assert day.accounts["CLIENT1"][CALL][1] == 0          # A1's resting child, canceled, no longer counts


def test_the_check_does_not_scan_the_parents_once_the_aggregate_is_built(monkeypatch):
    from .test_greek_limits import dollar_delta, market
    h = Harness()
    market(h)
    h.new("B1", Side.BUY, 10, 5.20, max_sym_day_ddelta_ln=3.5 * dollar_delta(h, CALL, 200.0))
    h.settle(0.5)
    [limits] = [c for c in h.engine.children._checks if isinstance(c, DayGreekLimits)]

    def no_scan(*args):
        raise AssertionError("scanned")
    monkeypatch.setattr(limits, "_scanned_book", no_scan)
    monkeypatch.setattr(DayBook, "build", no_scan)
    for bid in (4.81, 4.82):                                   # the held sweep is checked again
        h.requote("XCBO", CALL, bids=[(bid, 50)], asks=[(5.20, 50)])
        h.settle(0.2)
    assert h.engine.parents["P1"].cum_qty == 3
