"""Market data from another thread is conflated (router/engine/market_inbox.py): the latest book per
venue and symbol wins, one wake-up marker per non-empty period, a bounded tape of prints, and in
the engine's batch client requests and venue reports come first, the books after them."""
from __future__ import annotations

from router.domain.enums import Side
from router.domain.events import BookLevel, BookUpdate, ChildCanceled, TradePrint
from router.engine.market_inbox import MARKET_WAKE, MarketInbox
from tests.harness import CALL, Harness

PUT = "AAPL  261218P00195000"


def book(venue: str, symbol: str, ask: float, qty: int = 10) -> BookUpdate:
    return BookUpdate(venue, symbol, (BookLevel(round(ask - 0.1, 2), qty),), (BookLevel(ask, qty),))


def test_the_latest_book_per_venue_and_symbol_wins():
    inbox = MarketInbox(lambda marker: None)
    for ask in (5.10, 5.05, 5.00):
        inbox.put_book(("XCBO", CALL), book("XCBO", CALL, ask))
    inbox.put_book(("XISX", CALL), book("XISX", CALL, 5.20))
    inbox.put_book(("XCBO", PUT), book("XCBO", PUT, 2.00))
    books, prints = inbox.take()
    assert books == [book("XCBO", CALL, 5.00), book("XISX", CALL, 5.20), book("XCBO", PUT, 2.00)]
    assert prints == []
    assert inbox.take() == ([], [])


def test_one_wake_up_marker_per_non_empty_period():
    woken = []
    inbox = MarketInbox(woken.append)
    inbox.put_book(("XCBO", CALL), book("XCBO", CALL, 5.10))
    inbox.put_book(("XCBO", CALL), book("XCBO", CALL, 5.05))
    inbox.put_print(TradePrint("XCBO", CALL, 5.05, 1, Side.BUY))
    assert woken == [MARKET_WAKE]
    inbox.take()
    assert inbox.take() == ([], []) and woken == [MARKET_WAKE]
    inbox.put_print(TradePrint("XCBO", CALL, 5.05, 1, Side.BUY))
    inbox.put_book(("XCBO", CALL), book("XCBO", CALL, 5.05))
    assert woken == [MARKET_WAKE, MARKET_WAKE]


def test_prints_are_kept_in_order_up_to_a_bound():
    inbox = MarketInbox(lambda marker: None, max_prints=2)
    trades = [TradePrint("XCBO", CALL, 5.0 + i / 100, 1, Side.BUY) for i in range(3)]
    for trade in trades:
        inbox.put_print(trade)
    assert inbox.take() == ([], trades[1:])
    assert inbox.dropped_prints == 1


def test_items_are_decoded_on_take_and_only_the_latest():
    decoded = []

    def decode(item):
        decoded.append(item)
        return book(*item)
    inbox = MarketInbox(lambda marker: None, decode)
    for ask in (5.10, 5.05):
        inbox.put_book(("XCBO", CALL), ("XCBO", CALL, ask))
    assert decoded == []
    assert inbox.take() == ([book("XCBO", CALL, 5.05)], [])
    assert decoded == [("XCBO", CALL, 5.05)]


def test_a_batch_handles_client_requests_and_venue_reports_before_the_books():
    h = Harness()
    engine = h.engine
    handled = []
    handle = engine._handle

    def record(event):
        handled.append(type(event).__name__)
        handle(event)
    engine._handle = record
    engine.dispatch = engine.post                    # the harness's client now queues, like the FIX thread
    engine.market.put_book(("XCBO", CALL), book("XCBO", CALL, 5.10))
    h.new("A1", Side.BUY, 5, 5.00)
    engine.market.put_book(("XCBO", CALL), book("XCBO", CALL, 5.00))
    engine.post(ChildCanceled("NOT-OURS", "XCBO"))
    engine.market.put_book(("XISX", CALL), book("XISX", CALL, 5.20))
    engine.market.put_print(TradePrint("XCBO", CALL, 5.00, 1, Side.BUY))
    engine.stop()                                    # no thread: the loop below runs one batch, then stops
    engine.run()
    assert handled == ["ClientRequest", "ChildCanceled", "BookUpdate", "BookUpdate", "TradePrint"]
    assert engine.books.nbbo(CALL).ask == 5.00
    assert engine.books.book(CALL).last_trade.price == 5.00
    [child] = h.children("P1")                       # the order saw the book within its own batch
    assert child.venue == "XCBO" and child.price == 5.00
