"""Time in force without an engine: the session calendar in New York time, and when each kind
of order expires."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from router.clock import NANOS_PER_SECOND, datetime_to_ns
from router.config import EngineConfig, load_router_config
from router.domain.commands import AlgoParams
from router.domain.enums import SRTimeInForce, TimeInForce
from router.engine.tif import SessionCalendar, expire_ns, past_deadline_text, unsupported_time_in_force

NEW_YORK = SessionCalendar(time(16, 0), "America/New_York")
IOC_TIMEOUT_NS = 1_000_000_000
ROUTER_TOML = Path(__file__).resolve().parents[2] / "config" / "router.toml"


def utc(*parts: int) -> int:
    return datetime_to_ns(datetime(*parts, tzinfo=timezone.utc))


def expiry(now_ns: int, tif: TimeInForce = TimeInForce.DAY, *, expire_time: datetime | None = None,
           expire_date: date | None = None, **algo) -> int | None:
    return expire_ns(tif, AlgoParams(**algo), expire_time, expire_date, now_ns=now_ns, calendar=NEW_YORK,
                     ioc_timeout_ns=IOC_TIMEOUT_NS)


# ---- the session calendar

def test_winter_close_is_21_utc():
    assert NEW_YORK.next_close_ns(utc(2026, 11, 18, 15, 0)) == utc(2026, 11, 18, 21, 0)
    # 20:30 UTC is 15:30 in New York: still today's session
    assert NEW_YORK.next_close_ns(utc(2026, 11, 18, 20, 30)) == utc(2026, 11, 18, 21, 0)


def test_summer_close_is_20_utc():
    assert NEW_YORK.next_close_ns(utc(2026, 7, 15, 14, 0)) == utc(2026, 7, 15, 20, 0)


def test_at_the_close_the_next_close_is_the_next_weekday():
    assert NEW_YORK.next_close_ns(utc(2026, 7, 15, 20, 0)) == utc(2026, 7, 16, 20, 0)


def test_weekend_orders_expire_at_mondays_close():
    friday_after_close = utc(2026, 11, 20, 21, 0)
    saturday, sunday = utc(2026, 11, 21, 15, 0), utc(2026, 11, 22, 23, 0)
    monday_close = utc(2026, 11, 23, 21, 0)
    assert [NEW_YORK.next_close_ns(t) for t in (friday_after_close, saturday, sunday)] == [monday_close] * 3


def test_spring_forward_weekend():
    # New York moves to daylight time on Sunday 2026-03-08: Friday closes at 21:00 UTC, Monday at 20:00
    assert NEW_YORK.next_close_ns(utc(2026, 3, 6, 15, 0)) == utc(2026, 3, 6, 21, 0)
    assert NEW_YORK.next_close_ns(utc(2026, 3, 6, 21, 30)) == utc(2026, 3, 9, 20, 0)
    assert NEW_YORK.next_close_ns(utc(2026, 3, 8, 12, 0)) == utc(2026, 3, 9, 20, 0)
    assert NEW_YORK.close_ns_on(date(2026, 3, 8)) == utc(2026, 3, 8, 20, 0)


def test_fall_back_weekend():
    # New York returns to standard time on Sunday 2026-11-01: Friday closes at 20:00 UTC, Monday at 21:00
    assert NEW_YORK.next_close_ns(utc(2026, 10, 30, 15, 0)) == utc(2026, 10, 30, 20, 0)
    assert NEW_YORK.next_close_ns(utc(2026, 10, 30, 20, 30)) == utc(2026, 11, 2, 21, 0)
    assert NEW_YORK.next_close_ns(utc(2026, 11, 1, 5, 30)) == utc(2026, 11, 2, 21, 0)
    assert NEW_YORK.close_ns_on(date(2026, 11, 1)) == utc(2026, 11, 1, 21, 0)


def test_a_remembered_close_is_not_reused_after_it_passes():
    calendar = SessionCalendar()
    assert calendar.next_close_ns(utc(2026, 11, 18, 15, 0)) == utc(2026, 11, 18, 21, 0)
    assert calendar.next_close_ns(utc(2026, 11, 18, 21, 0)) == utc(2026, 11, 19, 21, 0)
    assert calendar.next_close_ns(utc(2026, 11, 17, 15, 0)) == utc(2026, 11, 17, 21, 0)


def test_the_calendar_follows_the_engine_config():
    calendar = SessionCalendar.from_config(EngineConfig(session_close=time(17, 0), session_time_zone="Europe/London"))
    assert calendar.next_close_ns(utc(2026, 7, 15, 10, 0)) == utc(2026, 7, 15, 16, 0)
    assert SessionCalendar.from_config(EngineConfig()).next_close_ns(utc(2026, 1, 5, 12)) == utc(2026, 1, 5, 21)


def test_engine_config_rejects_an_unknown_time_zone():
    with pytest.raises(ValidationError, match="session_time_zone 'New York'"):
        EngineConfig(session_time_zone="New York")


def test_router_toml_closes_at_16_new_york():
    engine = load_router_config(ROUTER_TOML).engine
    assert (engine.session_close, engine.session_time_zone) == (time(16, 0), "America/New_York")


# ---- when an order expires

WEDNESDAY = utc(2026, 11, 18, 15, 0)
WEDNESDAY_CLOSE = utc(2026, 11, 18, 21, 0)


def test_day_ext_and_gtc():
    assert expiry(WEDNESDAY, TimeInForce.DAY) == WEDNESDAY_CLOSE
    assert expiry(WEDNESDAY, sr_time_in_force=SRTimeInForce.EXT_DAY) == WEDNESDAY_CLOSE
    assert expiry(WEDNESDAY, TimeInForce.GTC) is None
    assert expiry(WEDNESDAY, TimeInForce.GTC, sr_time_in_force=SRTimeInForce.DAY) == WEDNESDAY_CLOSE


def test_ioc_ends_after_the_timeout():
    assert expiry(WEDNESDAY, TimeInForce.IOC) == WEDNESDAY + IOC_TIMEOUT_NS
    assert expiry(WEDNESDAY, TimeInForce.DAY, sr_time_in_force=SRTimeInForce.IOC) == WEDNESDAY + IOC_TIMEOUT_NS
    assert expiry(WEDNESDAY, TimeInForce.IOC, sr_time_in_force=SRTimeInForce.DAY) == WEDNESDAY_CLOSE


def test_gtd_with_expire_time_126():
    at = datetime(2026, 11, 19, 18, 30, tzinfo=timezone.utc)
    assert expiry(WEDNESDAY, TimeInForce.GTD, expire_time=at) == datetime_to_ns(at)


def test_gtd_with_expire_date_432_ends_at_that_dates_close():
    assert expiry(WEDNESDAY, TimeInForce.GTD, expire_date=date(2026, 12, 18)) == utc(2026, 12, 18, 21, 0)
    assert expiry(WEDNESDAY, TimeInForce.GTD, expire_date=date(2027, 6, 18)) == utc(2027, 6, 18, 20, 0)


def test_gtd_earliest_deadline_wins():
    later = datetime(2026, 11, 19, 18, 30, tzinfo=timezone.utc)
    assert expiry(WEDNESDAY, TimeInForce.GTD, expire_time=later, order_duration_s=60) == WEDNESDAY + 60 * NANOS_PER_SECOND
    sooner = datetime(2026, 11, 18, 15, 0, 30, tzinfo=timezone.utc)
    assert expiry(WEDNESDAY, TimeInForce.GTD, expire_time=sooner, order_duration_s=60) == datetime_to_ns(sooner)
    good_till = datetime(2026, 11, 18, 16, 0, tzinfo=timezone.utc)
    assert expiry(WEDNESDAY, TimeInForce.GTD, expire_date=date(2026, 11, 20), good_till=good_till) == \
        datetime_to_ns(good_till)


def test_sr_gtd_reads_the_same_deadlines():
    at = datetime(2026, 11, 19, 18, 30, tzinfo=timezone.utc)
    assert expiry(WEDNESDAY, TimeInForce.DAY, expire_time=at, sr_time_in_force=SRTimeInForce.GTD) == \
        datetime_to_ns(at)
    assert expiry(WEDNESDAY, TimeInForce.DAY, sr_time_in_force=SRTimeInForce.GTD, order_duration_s=30) == \
        WEDNESDAY + 30 * NANOS_PER_SECOND


def test_gtd_without_a_deadline_ends_at_the_close():
    assert expiry(WEDNESDAY, TimeInForce.GTD) == WEDNESDAY_CLOSE


def test_expire_time_is_ignored_unless_gtd():
    at = datetime(2026, 11, 19, 18, 30, tzinfo=timezone.utc)
    assert expiry(WEDNESDAY, TimeInForce.DAY, expire_time=at, expire_date=date(2026, 12, 18)) == WEDNESDAY_CLOSE


@pytest.mark.parametrize("week", [SRTimeInForce.WEEK, SRTimeInForce.EXT_WEEK])
def test_week_orders_end_at_fridays_close(week):
    friday_close, next_friday_close = utc(2026, 11, 20, 21, 0), utc(2026, 11, 27, 21, 0)
    assert expiry(WEDNESDAY, sr_time_in_force=week) == friday_close
    assert expiry(utc(2026, 11, 20, 20, 59), sr_time_in_force=week) == friday_close
    assert expiry(utc(2026, 11, 20, 21, 0), sr_time_in_force=week) == next_friday_close
    assert expiry(utc(2026, 11, 21, 12, 0), sr_time_in_force=week) == next_friday_close


def test_week_order_across_the_spring_change_closes_in_daylight_time():
    assert expiry(utc(2026, 3, 7, 12, 0), sr_time_in_force=SRTimeInForce.WEEK) == utc(2026, 3, 13, 20, 0)


def test_a_past_deadline_is_named():
    past = datetime(2026, 11, 18, 14, 0, tzinfo=timezone.utc)
    text = past_deadline_text(TimeInForce.GTD, AlgoParams(), past, None, now_ns=WEDNESDAY, calendar=NEW_YORK)
    assert text == "ExpireTime (126) is already past"
    text = past_deadline_text(TimeInForce.GTD, AlgoParams(), None, date(2026, 11, 17), now_ns=WEDNESDAY,
                              calendar=NEW_YORK)
    assert text == "ExpireDate (432) is already past"
    assert past_deadline_text(TimeInForce.GTD, AlgoParams(good_till=past), None, None, now_ns=WEDNESDAY,
                              calendar=NEW_YORK) == "SRGoodTillDttm (5088) is already past"
    assert past_deadline_text(TimeInForce.GTD, AlgoParams(), None, date(2026, 11, 18), now_ns=WEDNESDAY,
                              calendar=NEW_YORK) is None
    assert past_deadline_text(TimeInForce.DAY, AlgoParams(), past, None, now_ns=WEDNESDAY, calendar=NEW_YORK) is None


# ---- what the router refuses

@pytest.mark.parametrize("tif", [TimeInForce.OPG, TimeInForce.CLOSE, TimeInForce.FOK])
def test_opg_close_and_fok_are_refused(tif):
    assert unsupported_time_in_force(tif) == f"TimeInForce (59) {tif.name} ({tif.value}) is not supported"


@pytest.mark.parametrize("tif", [None, TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.GTD])
def test_worked_time_in_force_is_accepted(tif):
    assert unsupported_time_in_force(tif) is None


def test_the_trading_day_begins_at_the_previous_weekday_close():
    calendar = SessionCalendar()
    tuesday_close = datetime_to_ns(datetime(2026, 11, 24, 21, 0, tzinfo=timezone.utc))      # 16:00 New York
    assert calendar.previous_close_ns(tuesday_close + 1) == tuesday_close
    assert calendar.previous_close_ns(tuesday_close) == tuesday_close
    wednesday_noon = datetime_to_ns(datetime(2026, 11, 25, 17, 0, tzinfo=timezone.utc))
    assert calendar.previous_close_ns(wednesday_noon) == tuesday_close
    friday_close = datetime_to_ns(datetime(2026, 11, 27, 21, 0, tzinfo=timezone.utc))
    monday_morning = datetime_to_ns(datetime(2026, 11, 30, 14, 0, tzinfo=timezone.utc))
    assert calendar.previous_close_ns(monday_morning) == friday_close       # the weekend is Monday's day
