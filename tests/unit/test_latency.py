"""The venue latency model: medians, seeded jitter, recorded intervals, replies kept in order."""
from __future__ import annotations

import numpy as np
import pytest

from router.models.latency import LatencyProfile, VenueLatency, intervals_from_fix_log


def test_a_constant_profile_always_draws_its_value():
    model = VenueLatency({"XCBO": LatencyProfile.constant_ms(0.4, 0.3)})
    assert {model.entry_ns("XCBO") for _ in range(10)} == {400_000}
    assert {model.response_ns("XCBO") for _ in range(10)} == {300_000}
    assert model.expected_entry_by_venue() == {"XCBO": 400_000}


def test_jitter_is_seeded_positive_and_centred_on_the_median():
    profiles = {"ARCO": LatencyProfile.constant_ms(0.25, jitter=0.3)}
    draws = [VenueLatency(profiles, seed=3).entry_ns("ARCO") for _ in range(3)]
    assert len(set(draws)) == 1, "the same seed gives the same first draw"
    model = VenueLatency(profiles, seed=3)
    many = np.array([model.entry_ns("ARCO") for _ in range(4000)])
    assert (many > 0).all() and len(set(many.tolist())) > 100
    assert abs(np.median(many) - 250_000) < 12_500


def test_a_venues_draws_do_not_depend_on_another_venues():
    profiles = {"A": LatencyProfile.constant_ms(1.0, jitter=0.5), "B": LatencyProfile.constant_ms(1.0, jitter=0.5)}
    alone = VenueLatency(profiles, seed=9)
    busy = VenueLatency(profiles, seed=9)
    for _ in range(50):
        busy.entry_ns("B")
    assert [alone.entry_ns("A") for _ in range(5)] == [busy.entry_ns("A") for _ in range(5)]


def test_replies_of_one_venue_never_overtake_each_other():
    model = VenueLatency({"X": LatencyProfile.constant_ms(0.2, jitter=1.0)}, seed=1)
    arrivals = [model.reply_at("X", now_ns=1_000 * i) for i in range(500)]
    assert arrivals == sorted(arrivals)


def test_recorded_intervals_are_drawn_from_split_into_entry_and_response():
    profile = LatencyProfile.recorded([400_000, 600_000, 1_000_000])
    model = VenueLatency({"X": profile}, seed=2)
    assert {model.entry_ns("X") for _ in range(200)} == {200_000, 300_000, 500_000}
    assert profile.entry_ns == 300_000 == model.expected_entry_ns("X")
    with pytest.raises(ValueError, match="no recorded intervals"):
        LatencyProfile.recorded([])


def test_bad_profiles_are_refused():
    with pytest.raises(ValueError, match="negative"):
        LatencyProfile(-1, 0)
    with pytest.raises(ValueError, match="sigma"):
        LatencyProfile(1, 1, jitter=-0.1)


def test_intervals_from_a_quickfix_messages_log(tmp_path):
    soh = "\x01"
    log = tmp_path / "FIX.4.4-ROUTER-XCBO.messages.current.log"
    log.write_text(
        f"20261202-14:30:00.000100000 : 8=FIX.4.4{soh}35=D{soh}11=C1{soh}{soh}\n"
        f"20261202-14:30:00.000300000 : 8=FIX.4.4{soh}35=D{soh}11=C2{soh}\n"
        f"20261202-14:30:00.000550000 : 8=FIX.4.4{soh}35=8{soh}11=C1{soh}150=0{soh}\n"
        f"20261202-14:30:00.000900000 : 8=FIX.4.4{soh}35=8{soh}11=C2{soh}150=0{soh}\n"
        f"20261202-14:30:00.001000000 : 8=FIX.4.4{soh}35=8{soh}11=C2{soh}150=F{soh}\n")
    assert intervals_from_fix_log(log) == [450_000, 600_000]
    empty = tmp_path / "empty.log"
    empty.write_text("")
    with pytest.raises(ValueError, match="no NewOrderSingle"):
        intervals_from_fix_log(empty)
