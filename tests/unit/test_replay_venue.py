"""The replay venue on small hand-made recordings, on a simulated clock: queue-position fills
(a touch is no fill; trade-through; at the price only once the queue ahead is gone, risk-averse
and power-2 with the expected front worked out), the per-trade cap, marketable children that
cannot take the same recorded size twice, cancel and replace races, reports shaped exactly as
SimVenue's, and the real Binance capture where ../shared/data is present."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from router.clock import SimClock
from router.domain.enums import Liquidity, Side, TimeInForce
from router.domain.events import (BookLevel, BookUpdate, CancelChild, ChildAccepted, ChildCanceled,
                                  ChildCancelRejected, ChildFilled, ChildRejected, ChildReplaced,
                                  ChildReplaceRejected, ReplaceChild, SubmitChild, TradePrint)
from router.models.queue import MODELS, filled_qty, queue_model
from venues.fees import FeeSchedule, VenueFees
from venues.sim import replay_core as core
from venues.sim.replay import BINANCE_PERP_SYMBOL, BINANCE_PERP_VENUE, ReplayVenue
from venues.sim.replay_book import model_code
from venues.sim.replay_events import ReplayEvents, binance_events, lobster_events
from venues.sim.venue import SimVenue

VENUE, SYMBOL = BINANCE_PERP_VENUE, BINANCE_PERP_SYMBOL
T0 = 1_000_000_000
MS = 1_000_000
LATENCY = 300_000
MD_LATENCY = 100_000
BUY, SELL = Side.BUY, Side.SELL
DAY, IOC, FOK = TimeInForce.DAY, TimeInForce.IOC, TimeInForce.FOK
FEES = FeeSchedule([VenueFees(VENUE, taker=0.05, maker=-0.01), VenueFees("SIM", taker=0.05, maker=-0.01)])
CAPTURE = Path(__file__).resolve().parents[3] / "shared" / "data" / "binance_usdm_btcusdt_20240808.gz"


def bid(ms, tick, qty):
    return (T0 + ms * MS, core.BID, tick, qty)


def ask(ms, tick, qty):
    return (T0 + ms * MS, core.ASK, tick, qty)


def sold(ms, tick, qty):
    """A recorded trade whose aggressor sold: it hit the bids."""
    return (T0 + ms * MS, core.SELL_TRADE, tick, qty)


def bought(ms, tick, qty):
    return (T0 + ms * MS, core.BUY_TRADE, tick, qty)


BOOK = [bid(0, 1000, 5), bid(0, 999, 7), ask(0, 1001, 3), ask(0, 1002, 4)]     # 100.0 x 100.1


class Rig:
    def __init__(self, rows, queue="risk_averse", lookahead_ns=0, with_market=True, start_ns=T0) -> None:
        self.clock = SimClock(start_ns)
        self.reports: list[tuple[int, object]] = []
        self.market: list[tuple[int, object]] = []
        events = ReplayEvents.from_rows(rows, 0.1, 0.001)
        self.venue = ReplayVenue(VENUE, self.clock, FEES, events, LATENCY, MD_LATENCY,
                                 lambda r: self.reports.append((self.clock.now_ns(), r)),
                                 (lambda m: self.market.append((self.clock.now_ns(), m))) if with_market else None,
                                 queue_model=queue, lookahead_ns=lookahead_ns)

    def at(self, ms: float) -> "Rig":
        self.clock.advance_to(T0 + int(ms * MS))
        return self

    def submit(self, child_id, side, qty, price, tif=DAY, **kw) -> None:
        self.venue.submit(SubmitChild(child_id, VENUE, kw.pop("symbol", SYMBOL), side, qty, price, tif, **kw))

    def replace(self, child_id, qty, price) -> None:
        self.venue.replace(ReplaceChild(child_id, VENUE, qty, price, revision=1))

    def cancel(self, child_id) -> None:
        self.venue.cancel(CancelChild(child_id, VENUE))

    def got(self, kind=None) -> list:
        return [r for _, r in self.reports if kind is None or isinstance(r, kind)]

    def fills(self, child_id=None) -> list[tuple[int, float]]:
        return [(r.qty, r.price) for r in self.got(ChildFilled) if child_id in (None, r.child_id)]

    def fill_times(self) -> list[int]:
        return [at for at, r in self.reports if isinstance(r, ChildFilled)]


# ---- resting children: the queue

def test_a_touch_is_no_fill_and_the_order_fills_once_trades_pass_the_queue_ahead():
    rig = Rig(BOOK + [sold(10, 1000, 3), bid(10, 1000, 2),       # 3 of the 5 ahead trade
                      sold(20, 1000, 2), bid(20, 1000, 0),       # the last 2 ahead: a touch
                      bid(25, 1000, 4),                          # joiners behind us
                      sold(30, 1000, 1), bid(30, 1000, 3)])      # this one reaches us
    rig.submit("C1", BUY, 1, 100.0)
    rig.at(5)
    assert rig.venue.queue_ahead("C1") == 5
    rig.at(10.5)
    assert rig.venue.queue_ahead("C1") == 2 and rig.fills() == []
    rig.at(28)
    assert rig.venue.queue_ahead("C1") == 0 and rig.fills() == []        # touched, not filled
    rig.at(40)
    assert rig.fills("C1") == [(1, 100.0)]
    assert rig.fill_times() == [T0 + 30 * MS + LATENCY]                  # at the trade, + the reply latency
    assert rig.got(ChildFilled)[0].liquidity is Liquidity.ADDED and rig.got(ChildFilled)[0].fee == -0.01


def test_a_trade_through_the_price_fills_capped_at_the_trade_size():
    rig = Rig(BOOK + [sold(10, 999, 2), bid(10, 1000, 0), bid(10, 999, 5),   # through 100.0 at 99.9
                      sold(20, 999, 5), bid(20, 999, 0)])
    rig.submit("C1", BUY, 3, 100.0)
    rig.at(15)
    assert rig.fills("C1") == [(2, 100.0)]          # 2 traded: 2 of our 3, at our price
    rig.at(25)
    assert rig.fills("C1") == [(2, 100.0), (1, 100.0)]
    assert rig.venue.book.resting("C1") is None


def test_fills_per_recorded_trade_are_capped_at_its_size_across_our_children():
    # BTC-sized prices (61800.0 is 618000 ticks), where a float key would lose time priority
    rig = Rig([bid(0, 617_999, 7), ask(0, 618_001, 3), sold(10, 618_000, 3), sold(20, 617_999, 12)])
    rig.submit("C1", BUY, 10, 61800.0)
    rig.submit("C2", BUY, 10, 61800.0)
    rig.at(15)
    assert rig.venue.queue_ahead("C1") == 0          # nothing was shown at 61800.0
    assert rig.fills("C1") == [(3, 61800.0)] and rig.fills("C2") == []     # time priority, 3 in all
    rig.at(25)
    assert rig.fills("C1") == [(3, 61800.0), (7, 61800.0)] and rig.fills("C2") == [(5, 61800.0)]


def test_risk_averse_counts_cancels_as_behind_unless_the_level_shrinks_past_the_front():
    rig = Rig(BOOK + [bid(10, 1000, 9), bid(12, 1000, 6),   # 4 join behind, 3 cancel: front stays 5
                      bid(14, 1000, 1),                     # the level is smaller than our queue ahead
                      sold(20, 1000, 2), bid(20, 1000, 0)])
    rig.submit("C1", BUY, 2, 100.0)
    rig.at(13)
    assert rig.venue.queue_ahead("C1") == 5
    rig.at(15)
    assert rig.venue.queue_ahead("C1") == 1
    rig.at(25)
    assert rig.fills("C1") == [(1, 100.0)]          # 2 traded, 1 was ahead


def test_power2_moves_the_front_on_cancels_as_worked_out():
    # arrive with 10 ahead; 20 join behind (level 30); 6 cancel: p = 20^2 / (20^2 + 10^2) = 0.8 that
    # a cancel is behind us, so front = 10 - 0.2 * 6 + min(20 - 0.8 * 6, 0) = 8.8. A 10-lot trade
    # then reaches 1.2 past the front: 1 whole lot fills. Risk-averse keeps front 10: no fill.
    rows = [bid(0, 1000, 10), ask(0, 1001, 3), bid(10, 1000, 30), bid(12, 1000, 24), sold(20, 1000, 10)]
    power = Rig(rows, queue="power2")
    power.submit("C1", BUY, 5, 100.0)
    power.at(15)
    assert power.venue.queue_ahead("C1") == pytest.approx(8.8)
    power.at(25)
    assert power.fills("C1") == [(1, 100.0)]
    averse = Rig(rows)
    averse.submit("C1", BUY, 5, 100.0)
    averse.at(25)
    assert averse.venue.queue_ahead("C1") == 0 and averse.fills() == []


@pytest.mark.parametrize("name", list(MODELS))
def test_the_core_queue_matches_router_models_queue(name):
    """The numba core and router/models/queue.py give the same front on a random history."""
    rng = np.random.default_rng(7)
    model = queue_model(name)
    kind, n = model_code(name)
    level = 40
    state = model.new(level)
    front, traded = float(level), 0.0
    for _ in range(400):
        if rng.random() < 0.3:
            qty = int(rng.integers(1, 6))
            model.trade(state, qty)
            front -= qty
            traded += qty
            level = max(level - qty, 0)
        else:
            new = max(level + int(rng.integers(-8, 9)), 0)
            model.depth(state, level, new)
            front = core.queue_depth(kind, n, front, traded, float(level), float(new))
            traded = 0.0
            level = new
        assert front == pytest.approx(state.front, abs=1e-9)
        assert core.lots_past_front(front) == filled_qty(state)


# ---- marketable children

def test_a_marketable_child_cannot_take_the_same_recorded_size_twice():
    rig = Rig(BOOK + [ask(20, 1001, 5),                 # the level grows by 2: new size to take
                      ask(30, 1001, 0), ask(31, 1001, 4)])   # the level's life ends; a new one
    rig.submit("T1", BUY, 2, 100.1, IOC)
    rig.submit("T2", BUY, 2, 100.1, IOC)
    rig.at(10)
    assert rig.fills("T1") == [(2, 100.1)] and rig.fills("T2") == [(1, 100.1)]
    assert rig.got()[-1] == ChildCanceled("T2", VENUE, "IOC remainder")
    rig.at(21)
    rig.submit("T3", BUY, 9, 100.1, IOC)
    rig.at(25)
    assert rig.fills("T3") == [(2, 100.1)]
    rig.at(32)
    rig.submit("T4", BUY, 9, 100.2, IOC)
    rig.at(35)
    assert rig.fills("T4") == [(4, 100.1), (4, 100.2)]
    assert all(f.liquidity is Liquidity.REMOVED and f.fee == pytest.approx(0.05 * f.qty) for f in rig.got(ChildFilled))


def test_a_marketable_remainder_rests_and_fok_takes_all_or_nothing():
    rig = Rig(BOOK)
    rig.submit("F1", BUY, 8, 100.2, FOK)               # 7 shown up to 100.2
    rig.at(5)
    assert rig.got() == [ChildAccepted("F1", VENUE), ChildCanceled("F1", VENUE, "FOK could not fill in full")]
    rig.submit("D1", BUY, 8, 100.1)
    rig.at(10)
    assert rig.fills("D1") == [(3, 100.1)] and rig.venue.book.resting("D1") == (True, 1001, 5)
    assert rig.venue.queue_ahead("D1") == 0            # nothing was left on the bid at 100.1


# ---- cancel, replace

def test_a_cancel_that_meets_a_fill_on_the_way_is_rejected():
    rig = Rig(BOOK + [sold(10, 999, 4)])
    rig.submit("C1", BUY, 2, 100.0)
    rig.at(10 - 0.2)
    rig.cancel("C1")                                    # arrives 0.1 ms after the trade through
    rig.at(20)
    kinds = [type(r) for r in rig.got()]
    assert kinds == [ChildAccepted, ChildFilled, ChildCancelRejected]
    assert rig.got()[-1].reason == "unknown or finished order"


def test_a_cancel_that_arrives_before_the_trade_wins():
    rig = Rig(BOOK + [sold(10, 999, 4)])
    rig.submit("C1", BUY, 2, 100.0)
    rig.at(10 - 0.4)
    rig.cancel("C1")                                    # arrives 0.1 ms before it
    rig.at(20)
    assert rig.got() == [ChildAccepted("C1", VENUE), ChildCanceled("C1", VENUE, "canceled on request")]


def test_replace_keeps_priority_only_for_a_smaller_size_at_the_same_price():
    rig = Rig(BOOK + [sold(10, 1000, 4), bid(10, 1000, 1), bid(20, 1000, 6)])
    rig.submit("C1", BUY, 5, 100.0)
    rig.at(15)
    assert rig.venue.queue_ahead("C1") == 1
    rig.replace("C1", 3, 100.0)
    rig.at(25)
    assert rig.got()[-1] == ChildReplaced("C1", VENUE, 3, 100.0)
    assert rig.venue.queue_ahead("C1") == 1             # smaller: keeps its place
    rig.replace("C1", 4, 100.0)
    rig.at(30)
    assert rig.venue.queue_ahead("C1") == 6             # larger: the back of the queue
    rig.replace("C1", 4, 99.9)
    rig.at(35)
    assert rig.venue.book.resting("C1") == (True, 999, 4) and rig.venue.queue_ahead("C1") == 7   # a new price: the back


def test_replace_that_crosses_takes_and_post_only_replace_that_would_take_is_rejected():
    rig = Rig(BOOK)
    rig.submit("C1", BUY, 5, 100.0)
    rig.submit("P1", BUY, 5, 100.0, post_only=True)
    rig.at(5)
    rig.replace("P1", 5, 100.1)
    rig.replace("C1", 5, 100.1)
    rig.at(10)
    assert rig.got(ChildReplaceRejected) == [ChildReplaceRejected("P1", VENUE, "post-only order would take liquidity")]
    assert rig.got()[-2:][0] == ChildReplaced("C1", VENUE, 5, 100.1)
    assert rig.fills("C1") == [(3, 100.1)] and rig.venue.book.resting("C1") == (True, 1001, 2)


def test_a_crossing_child_cancels_our_own_resting_child():
    rig = Rig(BOOK)
    rig.submit("S1", SELL, 2, 100.1)
    rig.at(5)
    rig.submit("B1", BUY, 1, 100.1, IOC)
    rig.at(10)
    canceled = rig.got(ChildCanceled)[0]
    assert canceled.child_id == "S1" and "self-match prevention" in canceled.reason
    assert rig.fills("B1") == [(1, 100.1)]


def test_bad_children_are_rejected_with_a_reason():
    rig = Rig(BOOK)
    rig.submit("X1", BUY, 1, 100.05)
    rig.submit("X2", BUY, 1, 100.0, symbol="ETHUSDT")
    rig.submit("X3", BUY, 2_000_000, 100.0)
    rig.submit("X4", BUY, 0, 100.0)
    rig.submit("X5", BUY, 5, 100.0, display_qty=1)
    rig.submit("X6", BUY, 1, 100.1, post_only=True)
    rig.at(5)
    reasons = {r.child_id: r.reason for r in rig.got(ChildRejected)}
    assert reasons == {"X1": "price 100.05 is off the tick grid (tick 0.1)", "X2": "ETHUSDT is not listed on BNPF",
                       "X3": "qty 2000000 is above BNPF's maximum order size 1000000",
                       "X4": "qty must be positive, got 0",
                       "X5": "reserve orders (display qty) are not supported on BNPF",
                       "X6": "post-only order would take liquidity"}


def test_reconcile_tells_the_whole_story_under_the_original_exec_ids():
    rig = Rig(BOOK + [sold(10, 999, 1)])
    rig.submit("C1", BUY, 3, 100.0)
    rig.at(15)
    first = rig.got(ChildFilled)
    rig.venue.reconcile("C1")
    rig.venue.reconcile("NOPE")
    rig.at(20)
    tail = rig.got()[-4:]
    assert tail == [ChildAccepted("C1", VENUE), first[0], ChildReplaced("C1", VENUE, 3, 100.0),
                    ChildCanceled("NOPE", VENUE, "unknown at venue")]


# ---- the same reports as SimVenue

def _script(submit, replace, cancel, reconcile, settle):
    submit("T1", BUY, 2, 100.1, IOC)
    settle()
    submit("F1", BUY, 9, 100.1, FOK)
    settle()
    submit("P1", BUY, 1, 100.1, dict(post_only=True))
    settle()
    submit("D1", BUY, 4, 100.0, DAY)
    settle()
    replace("D1", 3, 100.0)
    settle()
    replace("NOPE", 3, 100.0)
    settle()
    cancel("D1")
    settle()
    cancel("D1")
    settle()
    reconcile("T1")
    settle()


def _shape(reports):
    out = []
    for at, r in reports:
        fields = {k: getattr(r, k) for k in r.__slots__ if k not in ("venue", "exec_id")}
        out.append((at, type(r).__name__, tuple(sorted(fields.items()))))
    return out


def test_reports_are_shaped_exactly_as_simvenue_sends_them():
    rig = Rig([bid(0, 999, 7), ask(0, 1001, 3), ask(0, 1002, 4)])
    sim_clock = SimClock(T0)
    sim_reports: list = []
    sim = SimVenue("SIM", sim_clock, FEES, LATENCY, MD_LATENCY, lambda r: sim_reports.append((sim_clock.now_ns(), r)),
                   lambda m: None)
    sim.place("mm", "b1", SYMBOL, BUY, 7, 99.9)
    sim.place("mm", "a1", SYMBOL, SELL, 3, 100.1)
    sim.place("mm", "a2", SYMBOL, SELL, 4, 100.2)
    rig.at(1)
    sim_clock.advance_to(T0 + MS)

    def runner(venue, clock, name):
        def submit(cid, side, qty, price, tif):
            kw = tif if isinstance(tif, dict) else {}
            venue.submit(SubmitChild(cid, name, SYMBOL, side, qty, price, DAY if kw else tif, **kw))
        return (submit, lambda cid, q, p: venue.replace(ReplaceChild(cid, name, q, p, 1)),
                lambda cid: venue.cancel(CancelChild(cid, name)), venue.reconcile,
                lambda: clock.advance(5 * MS))

    _script(*runner(rig.venue, rig.clock, VENUE))
    _script(*runner(sim, sim_clock, "SIM"))
    assert _shape(rig.reports) == _shape(sim_reports)
    assert len(rig.reports) == 12


# ---- market data, and time

def test_the_book_and_the_tape_are_published_after_the_market_data_latency():
    rig = Rig(BOOK + [bought(10, 1001, 1), ask(10, 1001, 2)])
    rig.at(20)
    books = [(at, m) for at, m in rig.market if isinstance(m, BookUpdate)]
    prints = [(at, m) for at, m in rig.market if isinstance(m, TradePrint)]
    assert books[0] == (T0 + MD_LATENCY, BookUpdate(VENUE, SYMBOL, (BookLevel(100.0, 5), BookLevel(99.9, 7)),
                                                    (BookLevel(100.1, 3), BookLevel(100.2, 4))))
    assert books[-1][1].asks[0] == BookLevel(100.1, 2)
    assert prints == [(T0 + 10 * MS + MD_LATENCY, TradePrint(VENUE, SYMBOL, 100.1, 1, BUY))]


HISTORY = BOOK + [sold(10, 1000, 3), bid(10, 1000, 2), bid(11, 1000, 9), sold(12, 1000, 4), bid(12, 1000, 5),
                  sold(30, 999, 9), bid(30, 1000, 0), bid(30, 999, 1), bought(40, 1001, 3), ask(40, 1001, 0),
                  ask(41, 1001, 6), bought(50, 1001, 8), ask(50, 1001, 0)]


def _scripted(rig: Rig) -> list:
    """Every input on a clock timer, as lookahead requires."""
    rig.submit("B1", BUY, 3, 100.0)
    rig.submit("S1", SELL, 4, 100.1)
    rig.clock.call_at(T0 + 45 * MS, lambda: rig.submit("S2", SELL, 2, 100.1))
    rig.at(100)
    return rig.reports


def test_lookahead_replays_the_same_reports_at_the_same_times():
    strict = _scripted(Rig(HISTORY, with_market=False))
    fast_rig = Rig(HISTORY, with_market=False, lookahead_ns=10**12)
    fast = _scripted(fast_rig)
    assert _shape(fast) == _shape(strict) and len(strict) >= 5
    assert fast_rig.venue.done


def test_a_command_that_does_not_come_by_a_timer_is_refused_under_lookahead():
    rig = Rig(HISTORY, with_market=False, lookahead_ns=10**12)
    rig.submit("B1", BUY, 3, 100.0)
    rig.at(45)                     # no timer after 40 ms: the venue has applied the recording to its end
    rig.submit("S2", SELL, 2, 100.1)
    with pytest.raises(RuntimeError, match="clock timer"):
        rig.at(46)


# ---- recorded files

def test_lobster_files_become_level_events_and_trades(tmp_path):
    messages = tmp_path / "m.csv"
    books = tmp_path / "b.csv"
    messages.write_text("34200.1,1,11,100,1000000,1\n34200.2,4,11,30,1000000,1\n34200.3,3,11,70,1000000,1\n")
    books.write_text("1000100,50,1000000,100\n1000100,50,1000000,70\n1000100,50,999900,20\n")
    events = lobster_events(messages, books)
    rows = list(zip(events.kind.tolist(), events.tick.tolist(), events.qty.tolist()))
    assert rows == [(core.BID, 10000, 100), (core.ASK, 10001, 50),
                    (core.SELL_TRADE, 10000, 30), (core.BID, 10000, 70),
                    (core.BID, 10000, 0), (core.BID, 9999, 20)]
    assert events.price_tick == 0.01


@pytest.mark.skipif(not CAPTURE.exists(), reason=f"{CAPTURE} is absent (../shared/data is not in this checkout)")
def test_the_real_capture_replays_with_fills_only_from_recorded_trades():
    from router.market.feeds.binance import BinanceBook, BinanceCapture, DepthSnapshot, DepthUpdate
    events = binance_events(CAPTURE)
    trades = (events.kind == core.BUY_TRADE) | (events.kind == core.SELL_TRADE)
    assert int(trades.sum()) == 21_313                       # the README's count of the trade stream
    start = int(events.ts[0])
    clock = SimClock(start)
    reports: list = []
    venue = ReplayVenue(VENUE, clock, FEES, events, LATENCY, MD_LATENCY, lambda r: reports.append((clock.now_ns(), r)),
                        lookahead_ns=10**12)
    for k, child_id in enumerate(("B1", "S1", "B2", "S2")):
        def place(k=k, child_id=child_id):
            is_buy = k % 2 == 0
            tick, _ = venue.book.best(is_buy)
            venue.submit(SubmitChild(child_id, VENUE, SYMBOL, BUY if is_buy else SELL, 1, round(tick * 0.1, 1), DAY))
        clock.call_at(start + (k + 1) * 30 * 10**9, place)
    while not venue.done:
        clock.advance_to(int(events.ts[-1]) + 10**9)
    book = BinanceBook()
    for event in BinanceCapture(CAPTURE):
        if isinstance(event, (DepthUpdate, DepthSnapshot)):
            book.apply(event)
    assert venue.book.best(True) == book.best_bid() and venue.book.best(False) == book.best_ask()
    fills = [(at, r) for at, r in reports if isinstance(r, ChildFilled)]
    assert fills, "four one-lot orders at the touch over five minutes of BTCUSDT"
    trade_times = set(events.ts[trades].tolist())
    for at, fill in fills:
        assert fill.qty == 1 and at - LATENCY in trade_times     # each fill is at a recorded trade


def test_lookahead_publishes_the_same_market_data_at_the_same_times():
    strict, fast = Rig(HISTORY), Rig(HISTORY, lookahead_ns=10**12)
    _scripted(strict)
    _scripted(fast)
    assert fast.market == strict.market and _shape(fast.reports) == _shape(strict.reports)
    assert len(strict.market) > 5


def test_a_change_below_the_published_levels_publishes_nothing_new():
    deep = [bid(10, 990 - k, 1) for k in range(6)]            # the 3rd..8th bid levels
    rig = Rig(BOOK + [bid(5, 998, 1), bid(5, 997, 1), bid(5, 996, 1)] + deep)
    rig.at(20)
    books = [m for _, m in rig.market if isinstance(m, BookUpdate)]
    assert len(books) == 2                                   # the first book, then the three new levels
    assert [level.price for level in books[-1].bids] == [100.0, 99.9, 99.8, 99.7, 99.6]


def test_a_clear_and_snapshot_rebuild_the_book_under_a_resting_order():
    rig = Rig(BOOK + [(T0 + 10 * MS, core.CLEAR, 0, 0), bid(10, 1000, 2), ask(10, 1003, 1),
                      sold(20, 1000, 3)])
    rig.submit("C1", BUY, 1, 100.0)
    rig.at(15)
    assert rig.venue.book.best(True) == (1000, 2) and rig.venue.book.best(False) == (1003, 1)
    assert rig.venue.queue_ahead("C1") == 2                  # the snapshot's size: min(5, 2)
    rig.at(25)
    assert rig.fills("C1") == [(1, 100.0)]


def test_fills_beyond_the_buffer_wait_for_the_next_call_at_the_same_time(monkeypatch):
    from venues.sim import replay_book
    monkeypatch.setattr(replay_book, "FILL_BUFFER", 0)      # room for one event's fills per call
    rows = [bid(0, 999, 7), ask(0, 1001, 3), sold(10, 999, 1), sold(10, 999, 1), sold(10, 999, 1)]
    rig = Rig(rows, lookahead_ns=10**12, with_market=False)
    for child_id in ("C1", "C2", "C3"):
        rig.submit(child_id, BUY, 1, 100.0)
    rig.at(20)
    assert [(r.child_id, at) for at, r in rig.reports if isinstance(r, ChildFilled)] == [
        ("C1", T0 + 10 * MS + LATENCY), ("C2", T0 + 10 * MS + LATENCY), ("C3", T0 + 10 * MS + LATENCY)]


def test_the_shared_latency_model_delays_commands_and_replies_separately():
    from router.models.latency import LatencyProfile, VenueLatency
    clock = SimClock(T0)
    reports: list = []
    latency = VenueLatency({VENUE: LatencyProfile(entry_ns=2 * MS, response_ns=5 * MS)})
    venue = ReplayVenue(VENUE, clock, FEES, ReplayEvents.from_rows(BOOK + [sold(10, 999, 1)], 0.1, 0.001),
                        LATENCY, MD_LATENCY, lambda r: reports.append((clock.now_ns(), r)), latency=latency)
    venue.submit(SubmitChild("C1", VENUE, SYMBOL, BUY, 1, 100.0, DAY))
    clock.advance_to(T0 + 30 * MS)
    assert [(at, type(r)) for at, r in reports] == [(T0 + 7 * MS, ChildAccepted), (T0 + 15 * MS, ChildFilled)]
