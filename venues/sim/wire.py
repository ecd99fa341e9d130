"""The exchange protocol between the router and `router exchange`: length-prefixed msgpack frames.

A frame is a 4-byte big-endian payload length, then a msgpack array: the message's type name,
then its dataclass fields in declaration order (enums by value, book levels as [price, qty]).

    router -> exchange   Hello, SubmitChild, ReplaceChild, CancelChild, Reconcile, AuditRequest
    exchange -> router   Hello, every venue report (ChildAccepted ... ChildRejected), BookUpdate,
                         TradePrint, AuditReport
"""
from __future__ import annotations

import enum
import struct
import typing
from dataclasses import dataclass, fields

import msgpack

from router.domain.events import (VENUE_REPORT_TYPES, BookLevel, BookUpdate, CancelChild, MarkPrice, ReplaceChild,
                                  SubmitChild, TradePrint)

PROTOCOL_VERSION = 1
_LENGTH = struct.Struct(">I")
MAX_FRAME = 16 * 1024 * 1024


class WireError(ValueError):
    """A frame that cannot be decoded: too long, cut short, or not one of the protocol's messages."""


@dataclass(frozen=True, slots=True)
class Hello:
    """First frame each way. The router says who it is; the exchange answers with its venues."""
    peer: str
    version: int = PROTOCOL_VERSION
    venues: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reconcile:
    child_id: str
    venue: str


@dataclass(frozen=True, slots=True)
class AuditRequest:
    """Ask the exchange how many times each child id was submitted to it (by any router)."""


@dataclass(frozen=True, slots=True)
class AuditReport:
    submits: dict[str, dict[str, int]]      # venue -> child id -> submits that reached the venue


MESSAGE_TYPES = (Hello, SubmitChild, ReplaceChild, CancelChild, Reconcile, AuditRequest,
                 *VENUE_REPORT_TYPES, BookUpdate, TradePrint, MarkPrice, AuditReport)
BOOK_TAG, PRINT_TAG, MARK_TAG = BookUpdate.__name__, TradePrint.__name__, MarkPrice.__name__
REPORT_TAGS = frozenset(cls.__name__ for cls in VENUE_REPORT_TYPES)


def _levels_out(levels: tuple[BookLevel, ...]) -> list[tuple[float, int]]:
    return [(level.price, level.qty) for level in levels]


def _levels_in(levels) -> tuple[BookLevel, ...]:
    return tuple(BookLevel(price, qty) for price, qty in levels)


def _field_codecs(hint) -> tuple[object, object]:
    """(encode, decode) for one field's type; None where the value crosses as it is."""
    if hint == tuple[BookLevel, ...]:
        return _levels_out, _levels_in
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return (lambda member: member.value), hint
    if hint == tuple[str, ...]:
        return None, tuple
    if hint == dict[str, dict[str, int]]:
        return None, lambda value: {venue: dict(counts) for venue, counts in value.items()}
    return None, None


class _Codec:
    __slots__ = ("cls", "names", "encoders", "decoders")

    def __init__(self, cls: type) -> None:
        hints = typing.get_type_hints(cls)
        self.cls = cls
        self.names = tuple(f.name for f in fields(cls))
        pairs = [_field_codecs(hints[name]) for name in self.names]
        self.encoders = tuple(encode for encode, _ in pairs)
        self.decoders = tuple(decode for _, decode in pairs)

    def encode(self, message) -> list:
        out: list = [self.cls.__name__]
        for name, encode in zip(self.names, self.encoders):
            value = getattr(message, name)
            out.append(value if encode is None or value is None else encode(value))
        return out

    def decode(self, values) -> object:
        if len(values) != len(self.names):
            raise WireError(f"{self.cls.__name__} needs {len(self.names)} fields, got {len(values)}")
        return self.cls(*(value if decode is None or value is None else decode(value)
                          for value, decode in zip(values, self.decoders)))


_CODECS = {cls: _Codec(cls) for cls in MESSAGE_TYPES}
_BY_TAG = {cls.__name__: codec for cls, codec in _CODECS.items()}
_pack = msgpack.Packer(use_bin_type=True).pack


def encode(message) -> bytes:
    """One message as one frame, length prefix included."""
    payload = _pack(_CODECS[type(message)].encode(message))
    return _LENGTH.pack(len(payload)) + payload


def decode(frame) -> object:
    """A decoded frame (as FrameReader yields it) back into its message."""
    try:
        codec = _BY_TAG[frame[0]]
    except (KeyError, IndexError, TypeError):
        raise WireError(f"not a protocol message: {frame!r:.80}") from None
    try:
        return codec.decode(frame[1:])
    except WireError:
        raise
    except (TypeError, ValueError) as exc:
        raise WireError(f"bad {frame[0]} frame: {exc}") from None


class FrameReader:
    """Bytes in, frames out: each frame as its msgpack array (a tuple: its tag first), not yet
    made into a message, so a reader can route by tag and leave decoding to whoever needs it."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple]:
        buffer = self._buffer
        buffer += data
        frames: list[tuple] = []
        start, size = 0, len(buffer)
        while size - start >= 4:
            (length,) = _LENGTH.unpack_from(buffer, start)
            if length > MAX_FRAME:
                raise WireError(f"frame of {length} bytes is over the {MAX_FRAME}-byte limit")
            end = start + 4 + length
            if end > size:
                break
            try:
                frame = msgpack.unpackb(buffer[start + 4:end], use_list=False, raw=False,
                                        strict_map_key=False)
            except (ValueError, msgpack.UnpackException) as exc:
                raise WireError(f"undecodable frame: {exc}") from None
            if not isinstance(frame, tuple) or not frame:
                raise WireError(f"a frame must be a non-empty array, got {frame!r:.80}")
            frames.append(frame)
            start = end
        if start:
            del buffer[:start]
        return frames

    @property
    def pending(self) -> int:
        """Bytes of a frame begun but not finished: nonzero at end of stream means a cut-short frame."""
        return len(self._buffer)

    def close(self) -> None:
        """End of stream: a frame left half-read is an error, not something to drop silently."""
        if self._buffer:
            raise WireError(f"stream ended inside a frame ({len(self._buffer)} bytes of it)")
