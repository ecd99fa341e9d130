"""Fault points: where a test may have the router kill itself, to prove recovery.

A test arms one point through the environment, ``ROUTER_FAULT=<point>[:<n>]``: the n-th time
(default 1) the process reaches that point it sends itself SIGKILL, with no clean-up of any
kind, as a power cut or the OOM killer would. Unarmed, ``reached`` is one comparison. The
points (tests/faults/):

- ``journal_committed``: a batch is in the journal, nothing of it has left the process;
- ``child_sent``: a new child order has gone to its venue, its acknowledgement has not come;
- ``fill``: a fill has been applied in memory, its batch not yet committed (a burst cut short);
- ``cancel_replace``: a client cancel or replace has been taken (its pending change set), its
  children not yet pulled, its batch not yet stored;
- ``hedge``: an auto-hedge child is being sent.
"""
from __future__ import annotations

import os
import signal

POINTS = ("journal_committed", "child_sent", "fill", "cancel_replace", "hedge")
ENVIRONMENT = "ROUTER_FAULT"


def _armed() -> tuple[str, int] | None:
    spec = os.environ.get(ENVIRONMENT, "").strip()
    if not spec:
        return None
    point, _, nth = spec.partition(":")
    if point not in POINTS:
        raise ValueError(f"{ENVIRONMENT}={spec!r}: unknown fault point {point!r}; points are {', '.join(POINTS)}")
    return point, int(nth or "1")


_ARMED = _armed()
_seen = 0


def reached(point: str) -> None:
    global _seen
    if _ARMED is None or _ARMED[0] != point:
        return
    _seen += 1
    if _seen >= _ARMED[1]:
        os.kill(os.getpid(), signal.SIGKILL)
