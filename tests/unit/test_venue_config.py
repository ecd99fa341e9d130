"""Venue settings reach the simulated venues and the SOR: allocation, self-match prevention,
latency (a median, jitter, or recorded intervals), one model for both."""
from __future__ import annotations

import pytest

from router.app import build_system, load_settings
from router.clock import SimClock
from router.config import VenueConfig, VenueConfigError, load_venues
from router.domain.enums import Side, TimeInForce
from router.domain.events import CancelChild, ChildCanceled, ChildCancelRejected, SubmitChild
from router.models.latency import VenueLatency
from venues.sim.market import venue_latency
from tests.harness import CALL, START


def write_venues(tmp_path, extra: str) -> list[VenueConfig]:
    path = tmp_path / "venues.toml"
    path.write_text(f"""
[venues.XCBO]
maker_fee = 0.0
taker_fee = 0.44
latency_ms = 0.40
{extra}
""")
    return load_venues(path)


def test_allocation_and_self_match_reach_the_venue(tmp_path):
    configs = write_venues(tmp_path, 'allocation = "pro-rata"\nmin_allocation = 5\nself_match = "cancel_incoming"')
    settings = load_settings()
    system = build_system(clock=SimClock.at(START), market=settings.router.market, venue_configs=configs,
                          accounts=settings.accounts, engine_config=settings.router.engine, send=lambda r: None,
                          background=False)
    venue = system.venues["XCBO"]
    assert (venue.allocation, venue.min_allocation, venue.self_match) == ("pro-rata", 5, "cancel_incoming")


def test_a_bad_allocation_is_refused_naming_the_key(tmp_path):
    with pytest.raises(VenueConfigError, match="allocation"):
        write_venues(tmp_path, 'allocation = "fifo"')


def test_the_sor_plans_with_the_venues_median_and_the_venue_draws_around_it(tmp_path):
    configs = write_venues(tmp_path, "latency_jitter = 0.5\nresponse_latency_ms = 0.2")
    model = venue_latency(configs, seed=4)
    assert model.expected_entry_by_venue() == {"XCBO": 400_000}
    assert model.profile("XCBO").response_ns == 200_000
    draws = {model.entry_ns("XCBO") for _ in range(20)}
    assert len(draws) > 1


def test_with_jitter_a_cancel_never_overtakes_its_order(tmp_path):
    """Each draw differs, but one session is one stream: the venue sees the order, then the cancel."""
    configs = write_venues(tmp_path, "latency_jitter = 1.5")
    settings = load_settings()
    clock = SimClock.at(START)
    reports: list = []
    system = build_system(clock=clock, market=settings.router.market, venue_configs=configs,
                          accounts=settings.accounts, engine_config=settings.router.engine, send=lambda r: None,
                          background=False)
    venue = system.venues["XCBO"]
    venue._report_sink = reports.append
    for n in range(30):
        venue.submit(SubmitChild(f"C{n}", "XCBO", CALL, Side.BUY, 1, 1.00, TimeInForce.DAY))
        venue.cancel(CancelChild(f"C{n}", "XCBO"))
    clock.advance(1_000_000_000)
    assert not [r for r in reports if isinstance(r, ChildCancelRejected)]
    assert len([r for r in reports if isinstance(r, ChildCanceled)]) == 30


def test_recorded_latency_from_a_fix_log(tmp_path):
    soh = "\x01"
    log = tmp_path / "xcbo.log"
    log.write_text(f"20261202-14:30:00.000000000 : 8=FIX.4.4{soh}35=D{soh}11=A{soh}\n"
                   f"20261202-14:30:00.000800000 : 8=FIX.4.4{soh}35=8{soh}11=A{soh}150=0{soh}\n")
    configs = write_venues(tmp_path, f'latency_log = "{log.name}"')
    model = venue_latency(configs, config_dir=tmp_path)
    assert isinstance(model, VenueLatency) and model.entry_ns("XCBO") == 400_000
