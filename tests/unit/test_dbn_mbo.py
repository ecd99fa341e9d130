"""Databento MBO files as order events: written here with databento-dbn itself, and the real
CME ES sample in ../shared/data."""
from __future__ import annotations

from pathlib import Path

import databento_dbn as dbn
import pytest

from router.market.feeds.dbn_mbo import MboEvents
from router.market.feeds.errors import FeedError
from router.market.feeds.lobster import LobsterEventType as T
from router.models.queue_validation import DBN_TICK, _events, _Tracker

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
ES = DATA / "databento_glbx_esm4_mbo_2024-05-08T00-00-00_2s.dbn.zst"
PRICE = 5_000_000_000_000          # 5000.00 in 1e-9 units
NS = 1_000_000_000


def record(ts_s: float, action, order_id: int, size: int, price: int = PRICE, side=dbn.Side.BID) -> bytes:
    ts = int(ts_s * NS)
    return bytes(dbn.MBOMsg(publisher_id=1, instrument_id=7, ts_event=ts, order_id=order_id, price=price, size=size,
                            action=action, side=side, ts_recv=ts))


def write(path: Path, *records: bytes) -> Path:
    metadata = dbn.Metadata(dataset="GLBX.MDP3", start=0, stype_in=dbn.SType.RAW_SYMBOL,
                            stype_out=dbn.SType.INSTRUMENT_ID, schema=dbn.Schema.MBO)
    path.write_bytes(metadata.encode() + b"".join(records))
    return path


def test_adds_cancels_modifies_and_fills_become_order_events(tmp_path):
    path = write(tmp_path / "mbo.dbn",
                 record(0, dbn.Action.ADD, 1, 5),
                 record(1, dbn.Action.ADD, 2, 3),
                 record(2, dbn.Action.CANCEL, 1, 2),                       # 2 of order 1: a partial cancel
                 record(3, dbn.Action.MODIFY, 2, 2),                       # a size cut keeps its place
                 record(4, dbn.Action.MODIFY, 1, 3, price=PRICE - 250_000_000),   # a new price loses it
                 record(5, dbn.Action.FILL, 2, 2),
                 record(6, dbn.Action.TRADE, 0, 2))                        # told by the fill already
    events = [(e.type, e.order_id, e.size, e.price) for e, _, _ in MboEvents(path)]
    assert events == [(T.SUBMIT, 1, 5, PRICE), (T.SUBMIT, 2, 3, PRICE), (T.CANCEL, 1, 2, PRICE),
                      (T.CANCEL, 2, 1, PRICE), (T.DELETE, 1, 3, PRICE), (T.SUBMIT, 1, 3, PRICE - 250_000_000),
                      (T.EXECUTE, 2, 2, PRICE)]
    *_, (_, top, _) = list(MboEvents(path))
    assert top.best_bid == (PRICE - 250_000_000, 3)


def test_the_queue_validation_follows_an_mbo_order_to_its_fill(tmp_path):
    path = write(tmp_path / "mbo.dbn",
                 record(0, dbn.Action.ADD, 1, 5),
                 record(1, dbn.Action.ADD, 2, 3),                          # 5 ahead of it
                 record(1, dbn.Action.ADD, 9, 1, price=PRICE + 250_000_000, side=dbn.Side.ASK),
                 record(2, dbn.Action.FILL, 1, 5),
                 record(3, dbn.Action.FILL, 2, 3))
    tracker = _Tracker(["risk_averse"], NS, 60 * NS, tick=DBN_TICK)
    for event, top, trusted in _events(path, None):
        tracker.on(event, top, trusted)
    second = next(o for o in tracker.all_orders if o.order_id == 2)
    assert second.fill_ns == 3 * NS and second.predicted_fill_ns["risk_averse"] == 3 * NS


def test_a_file_that_is_not_dbn_is_refused_with_its_name(tmp_path):
    path = tmp_path / "bad.dbn"
    path.write_bytes(b"not a dbn file")
    with pytest.raises(FeedError, match="bad.dbn"):
        list(MboEvents(path))


@pytest.mark.skipif(not ES.exists(), reason="../shared/data (the Databento ES MBO sample) is not here")
def test_the_real_es_sample_reads_as_a_book_one_tick_wide():
    tracker = _Tracker(["risk_averse"], NS, 60 * NS, tick=DBN_TICK)
    events = 0
    for event, top, trusted in _events(ES, None):
        tracker.on(event, top, trusted)
        events += 1
    assert events > 13_000 and len(tracker.all_orders) > 100
    bid, ask = tracker.book.best_bid, tracker.book.best_ask
    assert ask[0] - bid[0] == 250_000_000           # ES trades in quarter points
    assert any(o.fill_ns is not None for o in tracker.all_orders)
