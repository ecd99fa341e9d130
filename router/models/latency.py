"""Venue latency: how long an order takes to reach a venue's matching engine (order entry) and
how long the venue's answer takes to come back (response), per venue and separately.

A venue's profile is either a constant with seeded jitter (lognormal around the constant, so
draws stay positive and the constant is their median) or a set of recorded intervals drawn from
at random, e.g. the request-to-acknowledgement times of a FIX session (``intervals_from_fix_log``:
each NewOrderSingle to its first ExecutionReport, split evenly between entry and response as
one round trip cannot tell them apart).

The simulated venues draw their delays from it and the SOR plans with its medians, so both see
the same venue. Commands to a venue and its replies keep their order (``arrival_at``,
``reply_at``): a session is one TCP stream; a cancel never overtakes its order, a fill never
overtakes the acknowledgement sent before it.
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

NANOS_PER_MS = 1_000_000


@dataclass(frozen=True)
class LatencyProfile:
    """One venue. ``entry_ns`` / ``response_ns`` are medians; ``jitter`` the lognormal sigma
    (0: every draw is the median); ``recorded_*``, when given, are drawn from instead."""
    entry_ns: int
    response_ns: int
    jitter: float = 0.0
    recorded_entry_ns: tuple[int, ...] = ()
    recorded_response_ns: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.entry_ns < 0 or self.response_ns < 0:
            raise ValueError(f"latency must not be negative: entry {self.entry_ns} ns, response {self.response_ns} ns")
        if self.jitter < 0:
            raise ValueError(f"jitter (lognormal sigma) must not be negative, not {self.jitter}")

    @classmethod
    def constant_ms(cls, entry_ms: float, response_ms: float | None = None, jitter: float = 0.0) -> "LatencyProfile":
        return cls(int(entry_ms * NANOS_PER_MS), int((entry_ms if response_ms is None else response_ms) * NANOS_PER_MS),
                   jitter)

    @classmethod
    def recorded(cls, round_trips_ns: Iterable[int]) -> "LatencyProfile":
        """From recorded request-to-acknowledgement intervals: half of each is entry, half response."""
        halves = tuple(max(int(ns) // 2, 0) for ns in round_trips_ns)
        if not halves:
            raise ValueError("no recorded intervals to draw from")
        median = int(np.median(halves))
        return cls(median, median, 0.0, halves, halves)


@dataclass
class _VenueState:
    profile: LatencyProfile
    rng: np.random.Generator
    last_reply_ns: int = field(default=0)
    last_arrival_ns: int = field(default=0)


class VenueLatency:
    """Draws for every venue, each from its own seeded generator (a venue's draws do not depend
    on how often another venue was asked)."""

    def __init__(self, profiles: Mapping[str, LatencyProfile], seed: int = 0) -> None:
        self._venues = {name: _VenueState(profile, np.random.default_rng([seed, zlib.crc32(name.encode())]))
                        for name, profile in profiles.items()}

    @property
    def venues(self) -> list[str]:
        return list(self._venues)

    def profile(self, venue: str) -> LatencyProfile:
        return self._venues[venue].profile

    def entry_ns(self, venue: str) -> int:
        """A draw of the order-entry delay to ``venue``."""
        state = self._venues[venue]
        return _draw(state.rng, state.profile.entry_ns, state.profile.jitter, state.profile.recorded_entry_ns)

    def response_ns(self, venue: str) -> int:
        state = self._venues[venue]
        return _draw(state.rng, state.profile.response_ns, state.profile.jitter, state.profile.recorded_response_ns)

    def reply_at(self, venue: str, now_ns: int) -> int:
        """When a reply ``venue`` sends at ``now_ns`` arrives: a fresh response draw, never before
        the venue's previous reply."""
        state = self._venues[venue]
        at = max(now_ns + self.response_ns(venue), state.last_reply_ns)
        state.last_reply_ns = at
        return at

    def arrival_at(self, venue: str, now_ns: int) -> int:
        """When a command sent to ``venue`` at ``now_ns`` reaches it: a fresh entry draw, never
        before the command sent before it (one session, one stream)."""
        state = self._venues[venue]
        at = max(now_ns + self.entry_ns(venue), state.last_arrival_ns)
        state.last_arrival_ns = at
        return at

    def expected_entry_ns(self, venue: str) -> int:
        """What the SOR plans with: the median entry delay."""
        return self._venues[venue].profile.entry_ns

    def expected_entry_by_venue(self) -> dict[str, int]:
        return {name: state.profile.entry_ns for name, state in self._venues.items()}


def _draw(rng: np.random.Generator, median_ns: int, jitter: float, recorded: tuple[int, ...]) -> int:
    if recorded:
        return recorded[int(rng.integers(len(recorded)))]
    if jitter == 0.0 or median_ns == 0:
        return median_ns
    return int(median_ns * rng.lognormal(0.0, jitter))


_FIELD = re.compile(rb"\x01(35|11|150|52)=([^\x01]*)")
_STAMP = re.compile(rb"^(\d{8}-\d{2}:\d{2}:\d{2}\.\d+) : ")


def intervals_from_fix_log(path: Path) -> list[int]:
    """Request-to-acknowledgement intervals (ns) from a QuickFIX messages log
    (``FileLogPath``'s ``*.messages.current.log``: each line ``YYYYMMDD-HH:MM:SS.ffffff : message``):
    each NewOrderSingle (35=D) to the first ExecutionReport (35=8) with its ClOrdID. The log's
    own stamps are used: they are when the session wrote each message."""
    from datetime import datetime, timezone

    sent: dict[bytes, int] = {}
    intervals: list[int] = []
    with open(path, "rb") as log:
        for line in log:
            stamp = _STAMP.match(line)
            if stamp is None:
                continue
            text = stamp.group(1).decode()
            whole, _, fraction = text.partition(".")
            at = datetime.strptime(whole, "%Y%m%d-%H:%M:%S").replace(tzinfo=timezone.utc)
            ns = int(at.timestamp()) * 1_000_000_000 + int(fraction.ljust(9, "0")[:9])
            fields = dict(_FIELD.findall(line))
            cl_ord_id = fields.get(b"11")
            if cl_ord_id is None:
                continue
            if fields.get(b"35") == b"D":
                sent.setdefault(cl_ord_id, ns)
            elif fields.get(b"35") == b"8" and cl_ord_id in sent:
                intervals.append(ns - sent.pop(cl_ord_id))
    if not intervals:
        raise ValueError(f"{path}: no NewOrderSingle with an ExecutionReport after it")
    return intervals
