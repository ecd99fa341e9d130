"""Time in force as pure functions: when an order expires, and which TimeInForce values the router
refuses. No engine state; the engine passes the clock's time and the venue's session calendar.

Choices the sources leave open:
- The session closes at one local wall-clock time (16:00 America/New_York by default) on every
  weekday, so the UTC close moves with daylight saving. There is no holiday calendar.
- A Day order entered after Friday's close or on a weekend expires at Monday's close: there is
  no session on a weekend, and expiring it on Saturday would end it before it could ever work.
- A Week (WK, EWK) order expires at the Friday close of the week of its first session.
- EXT (extended day) expires at the day close, as Day does: there are no extended sessions.
- A GTD order (59=6 or 5084=GTD) expires at the earliest of ExpireTime (126), the close of
  ExpireDate (432), SROrderDuration (5086) seconds from now and SRGoodTillDttm (5088); with none
  of them it expires at the day close. 126 and 432 are ignored unless the order is GTD, as FIX
  defines them only for GTD.
- SRTimeInForce (5084), when given, decides over TimeInForce (59).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from router.clock import NANOS_PER_SECOND, datetime_to_ns, ns_to_datetime
from router.config import EngineConfig
from router.domain.commands import AlgoParams
from router.domain.enums import SRTimeInForce, TimeInForce
from router.domain.orders import immediate_or_cancel

FRIDAY = 4
_UNSUPPORTED = (TimeInForce.OPG, TimeInForce.CLOSE, TimeInForce.FOK)


class SessionCalendar:
    """The venue's daily close in its own time zone, Monday to Friday."""

    def __init__(self, close: time = time(16, 0), time_zone: str = "America/New_York") -> None:
        self.close = close
        self.zone = ZoneInfo(time_zone)
        self._memo = (0, -1)          # (from_ns, close_ns): every now in [from_ns, close_ns) has this close

    @classmethod
    def from_config(cls, config: EngineConfig) -> "SessionCalendar":
        return cls(config.session_close, config.session_time_zone)

    def close_ns_on(self, day: date) -> int:
        """The close of a local date, whatever weekday it is."""
        return datetime_to_ns(datetime.combine(day, self.close, tzinfo=self.zone))

    def next_close_ns(self, now_ns: int) -> int:
        """The first weekday close strictly after ``now_ns``."""
        from_ns, close_ns = self._memo
        if from_ns <= now_ns < close_ns:
            return close_ns
        day = ns_to_datetime(now_ns).astimezone(self.zone).date()
        while day.weekday() > FRIDAY or self.close_ns_on(day) <= now_ns:
            day += timedelta(days=1)
        close_ns = self.close_ns_on(day)
        self._memo = (now_ns, close_ns)
        return close_ns

    def previous_close_ns(self, now_ns: int) -> int:
        """The last weekday close at or before ``now_ns``: where the trading day ``now_ns`` is in
        began (orders after it belong to the day a restart must remember)."""
        day = ns_to_datetime(now_ns).astimezone(self.zone).date()
        while day.weekday() > FRIDAY or self.close_ns_on(day) > now_ns:
            day -= timedelta(days=1)
        return self.close_ns_on(day)

    def week_close_ns(self, now_ns: int) -> int:
        """The Friday close of the week of the next session."""
        next_close_day = ns_to_datetime(self.next_close_ns(now_ns)).astimezone(self.zone).date()
        return self.close_ns_on(next_close_day + timedelta(days=FRIDAY - next_close_day.weekday()))


def expire_ns(time_in_force: TimeInForce, algo: AlgoParams, expire_time: datetime | None,
              expire_date: date | None, *, now_ns: int, calendar: SessionCalendar,
              ioc_timeout_ns: int) -> int | None:
    """When an order with these instructions expires; None for GTC (never)."""
    sr_tif = algo.sr_time_in_force
    if immediate_or_cancel(time_in_force, algo):
        return now_ns + ioc_timeout_ns
    if sr_tif is SRTimeInForce.GTD or (sr_tif is None and time_in_force is TimeInForce.GTD):
        deadlines = gtd_deadlines(algo, expire_time, expire_date, now_ns=now_ns, calendar=calendar)
        return min(deadlines.values()) if deadlines else calendar.next_close_ns(now_ns)
    if sr_tif in (SRTimeInForce.WEEK, SRTimeInForce.EXT_WEEK):
        return calendar.week_close_ns(now_ns)
    if sr_tif is None and time_in_force is TimeInForce.GTC:
        return None
    return calendar.next_close_ns(now_ns)


def gtd_deadlines(algo: AlgoParams, expire_time: datetime | None, expire_date: date | None, *,
                  now_ns: int, calendar: SessionCalendar) -> dict[str, int]:
    """Each GTD deadline the order gives, by the tag that gave it (for a reject's text)."""
    deadlines: dict[str, int] = {}
    if expire_time is not None:
        deadlines["ExpireTime (126)"] = datetime_to_ns(expire_time)
    if expire_date is not None:
        deadlines["ExpireDate (432)"] = calendar.close_ns_on(expire_date)
    if algo.order_duration_s:
        deadlines["SROrderDuration (5086)"] = now_ns + algo.order_duration_s * NANOS_PER_SECOND
    if algo.good_till is not None:
        deadlines["SRGoodTillDttm (5088)"] = datetime_to_ns(algo.good_till)
    return deadlines


def past_deadline_text(time_in_force: TimeInForce, algo: AlgoParams, expire_time: datetime | None,
                       expire_date: date | None, *, now_ns: int, calendar: SessionCalendar) -> str | None:
    """The reject text for a GTD order whose deadline has already passed, naming the tag."""
    sr_tif = algo.sr_time_in_force
    if not (sr_tif is SRTimeInForce.GTD or (sr_tif is None and time_in_force is TimeInForce.GTD)):
        return None
    deadlines = gtd_deadlines(algo, expire_time, expire_date, now_ns=now_ns, calendar=calendar)
    past = [tag for tag, at_ns in deadlines.items() if at_ns <= now_ns]
    return f"{past[0]} is already past" if past else None


def unsupported_time_in_force(time_in_force: TimeInForce | None) -> str | None:
    """The reject text for a TimeInForce the router does not work, on a new order or a replace."""
    if time_in_force in _UNSUPPORTED:
        return f"TimeInForce (59) {time_in_force.name} ({time_in_force.value}) is not supported"
    return None
