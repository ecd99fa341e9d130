"""TwapSliceCount (5056) as pure functions: how much of a parent the clock has released.

Our definition: the order's quantity is released in N even slices over its duration; slice k
(1..N) is released at ``start + (k-1) x duration / N`` (integer nanoseconds), so the first slice
is there at once and the last one at ``start + (N-1) x duration / N``. The cumulative release
after k slices is ``k x qty // N``: the slices differ by at most one contract and the last one
carries the remainder. The duration is SROrderDuration (5086) when given, otherwise the time
from the start to the order's expiry (SRGoodTillDttm 5088, ExpireTime, or the session close
for a Day order). A GTC order without 5086 has no duration and is refused at entry
(``slice_problem``), as is an IOC one: there is no time to spread it over.
"""
from __future__ import annotations

from router.clock import NANOS_PER_SECOND
from router.domain.commands import AlgoParams
from router.domain.orders import ParentOrder


def duration_ns(algo: AlgoParams, start_ns: int, expire_ns: int | None) -> int | None:
    if algo.order_duration_s:
        return algo.order_duration_s * NANOS_PER_SECOND
    if expire_ns is None:
        return None
    return max(expire_ns - start_ns, 1)


def slice_problem(algo: AlgoParams, is_ioc: bool, start_ns: int, expire_ns: int | None) -> str | None:
    """Why an order's TwapSliceCount cannot be worked (a reject text naming the tags), or None."""
    if algo.slice_count is None:
        return None
    if is_ioc:
        return "SRTwapSliceCnt (5056) spreads an order over time: not with an IOC order"
    if duration_ns(algo, start_ns, expire_ns) is None:
        return ("SRTwapSliceCnt (5056) needs a duration: give SROrderDuration (5086), SRGoodTillDttm (5088) "
                "or a TimeInForce that expires")
    return None


def slices_released(slices: int, start_ns: int, duration: int, now_ns: int) -> int:
    """How many of ``slices`` are released at ``now_ns`` (0 before the start)."""
    elapsed = now_ns - start_ns
    if elapsed < 0:
        return 0
    k = min(slices, elapsed * slices // duration + 1)
    while k < slices and k * duration // slices <= elapsed:        # integer rounding of the slice times
        k += 1
    while k > 1 and (k - 1) * duration // slices > elapsed:
        k -= 1
    return k


def release_ns(slice_number: int, slices: int, start_ns: int, duration: int) -> int:
    """When slice ``slice_number`` (1..slices) is released."""
    return start_ns + (slice_number - 1) * duration // slices


def released_qty(parent: ParentOrder, start_ns: int, now_ns: int) -> tuple[int, int | None]:
    """(the quantity released so far, when the next slice is released or None) for a TWAP parent."""
    slices = parent.algo.slice_count
    duration = duration_ns(parent.algo, start_ns, parent.expire_ns)
    if not slices or duration is None:
        return parent.qty, None
    k = slices_released(slices, start_ns, duration, now_ns)
    next_ns = release_ns(k + 1, slices, start_ns, duration) if k < slices else None
    return k * parent.qty // slices, next_ns
