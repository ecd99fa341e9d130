"""The exchange protocol (venues/sim/wire.py): every message type survives a round trip through
bytes, frames split anywhere are reassembled, and a cut-short or foreign frame is an error."""
from __future__ import annotations

import msgpack
import pytest

from router.domain.enums import Liquidity, Side, TimeInForce
from router.domain.events import (BookLevel, BookUpdate, CancelChild, ChildAccepted, ChildCanceled,
                                  ChildCancelRejected, ChildFilled, ChildRejected, ChildReplaced,
                                  ChildReplaceRejected, MarkPrice, ReplaceChild, SubmitChild, TradePrint)
from venues.sim.wire import (MESSAGE_TYPES, AuditReport, AuditRequest, FrameReader, Hello, Reconcile, WireError, decode,
                             encode)

CALL = "AAPL  261218C00200000"

SAMPLES = [
    Hello("router"),
    Hello("exchange", venues=("XCBO", "XNAS")),
    SubmitChild("P1.1", "XCBO", CALL, Side.BUY, 10, 5.05, TimeInForce.IOC),
    SubmitChild("P1.2", "XNAS", "AAPL", Side.SELL, 300, 199.99, TimeInForce.DAY, post_only=True, display_qty=100,
                short_sale=True),
    ReplaceChild("P1.2", "XNAS", 200, 200.01, 3),
    CancelChild("P1.2", "XNAS"),
    Reconcile("P1.2", "XNAS"),
    AuditRequest(),
    AuditReport({"XCBO": {"P1.1": 1, "P2.1": 2}, "XNAS": {}}),
    ChildAccepted("P1.1", "XCBO"),
    ChildFilled("P1.1", "XCBO", "XCBO-mx5gdz3n-1", 4, 5.05, 1.76, Liquidity.REMOVED),
    ChildFilled("P1.1", "XCBO", "XCBO-mx5gdz3n-2", 1, 5.0, -0.25, Liquidity.ADDED),
    ChildReplaced("P1.2", "XNAS", 200, 200.01),
    ChildReplaceRejected("P1.2", "XNAS", "unknown or finished order"),
    ChildCancelRejected("P1.2", "XNAS", "unknown or finished order"),
    ChildCanceled("P1.1", "XCBO", "IOC remainder"),
    ChildCanceled("P1.3", "XCBO"),
    ChildRejected("P1.4", "XCBO", "NOPE is not listed on XCBO"),
    BookUpdate("XCBO", CALL, (BookLevel(4.9, 44), BookLevel(4.85, 39)), (BookLevel(5.05, 50),)),
    BookUpdate("XCBO", CALL, (), ()),
    TradePrint("XCBO", CALL, 5.05, 3, Side.SELL),
    MarkPrice("DRBT", "BTC-25DEC26-100000-C", 0.0123, 0.55, 61800.5),
]


def test_the_samples_cover_every_message_type():
    assert {type(m) for m in SAMPLES} == set(MESSAGE_TYPES)


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: type(m).__name__)
def test_every_message_survives_a_round_trip(message):
    [frame] = FrameReader().feed(encode(message))
    back = decode(frame)
    assert back == message and type(back) is type(message)
    for name in getattr(type(message), "__slots__", ()):
        assert type(getattr(back, name)) is type(getattr(message, name)), name      # enums come back as enums


def test_frames_split_anywhere_are_reassembled_in_order():
    stream = b"".join(encode(m) for m in SAMPLES)
    reader = FrameReader()
    frames = []
    for start in range(0, len(stream), 7):
        frames += reader.feed(stream[start:start + 7])
    assert [decode(f) for f in frames] == SAMPLES
    assert reader.pending == 0
    reader.close()


def test_a_truncated_frame_waits_for_its_rest_and_is_an_error_at_end_of_stream():
    frame = encode(SAMPLES[2])
    reader = FrameReader()
    assert reader.feed(frame[:-3]) == []
    assert reader.pending == len(frame) - 3
    with pytest.raises(WireError, match="inside a frame"):
        reader.close()
    assert [decode(f) for f in reader.feed(frame[-3:])] == [SAMPLES[2]]


def test_a_frame_whose_message_is_cut_short_is_an_error():
    payload = encode(SAMPLES[2])[4:]
    with pytest.raises(WireError, match="undecodable"):
        FrameReader().feed(len(payload[:5]).to_bytes(4, "big") + payload[:5])


def test_foreign_frames_are_errors():
    def frame_of(value) -> bytes:
        payload = msgpack.packb(value)
        return len(payload).to_bytes(4, "big") + payload
    with pytest.raises(WireError, match="non-empty array"):
        FrameReader().feed(frame_of(17))
    [unknown] = FrameReader().feed(frame_of(["Launch", 1]))
    with pytest.raises(WireError, match="not a protocol message"):
        decode(unknown)
    [short] = FrameReader().feed(frame_of(["ChildAccepted", "P1.1"]))
    with pytest.raises(WireError, match="needs 2 fields"):
        decode(short)
    [bad_enum] = FrameReader().feed(frame_of(["TradePrint", "XCBO", CALL, 5.0, 1, "buy"]))
    with pytest.raises(WireError, match="bad TradePrint"):
        decode(bad_enum)
    with pytest.raises(WireError, match="limit"):
        FrameReader().feed(b"\xff\xff\xff\xff")
