"""Every supported PostType (5096) places its child where its definition (algos/post_types.py)
says; the placements on a scripted engine book are in test_alpha_making.py."""
from __future__ import annotations

import numpy as np
import pytest

from algos.limits import post_prices
from algos.post_types import SUPPORTED, UNSUPPORTED, post_targets
from router.domain.enums import BalanceHandling as P
from router.domain.instruments import PENNY_PILOT

NAN = float("nan")


def at(kind, is_buy, limit, same_best, far, resting=NAN, *, same_qty=100, fade=1, flashing=False):
    return float(post_targets([kind], [is_buy], [limit], [same_best], [far], [resting], PENNY_PILOT,
                              same_best_qty=[same_qty], fade_qty=[fade], flashing=[flashing])[0])


def test_the_first_four_types_place_exactly_as_post_prices_does():
    rng = np.random.default_rng(7)
    n = 400
    kind = rng.integers(0, 5, n)
    is_buy = rng.random(n) < 0.5
    bid = np.round(rng.uniform(0.5, 2.0, n), 2)
    ask = np.round(bid + rng.integers(1, 10, n) * 0.01, 2)
    limit = np.round(np.where(is_buy, bid, ask) + np.where(is_buy, 1, -1) * rng.uniform(-0.1, 0.2, n), 2)
    same, far = np.where(is_buy, bid, ask), np.where(is_buy, ask, bid)
    resting = np.where(rng.random(n) < 0.3, same, NAN)
    expected = post_prices(kind, is_buy, limit, same, far, resting, PENNY_PILOT)
    got = post_targets(kind, is_buy, limit, same, far, resting, PENNY_PILOT)
    np.testing.assert_array_equal(got, expected)


def test_post_limit_with_rests_at_the_limit_and_joins_the_best_when_the_limit_is_marketable():
    assert at(P.POST_LIMIT_WITH, True, 1.05, 1.00, 1.10) == 1.05         # not marketable: the limit
    assert at(P.POST_LIMIT, True, 1.20, 1.00, 1.10) == 1.09              # PostLimit: one tick inside
    assert at(P.POST_LIMIT_WITH, True, 1.20, 1.00, 1.10) == 1.00         # PostLmtW: with the best bid
    assert at(P.POST_LIMIT_WITH, False, 0.90, 1.10, 1.00) == 1.10        # a sell joins the best offer
    assert at(P.POST_LIMIT_WITH, True, 1.20, NAN, 1.10) == 1.09          # nobody to join: as PostLimit


def test_post_with_fade_joins_a_deep_best_and_rests_one_tick_behind_a_thin_one():
    assert at(P.POST_WITH_F, True, 1.10, 1.00, 1.20, same_qty=50, fade=10) == 1.00
    assert at(P.POST_WITH_F, True, 1.10, 1.00, 1.20, same_qty=5, fade=10) == 0.99
    assert at(P.POST_WITH_F, False, 0.90, 1.20, 1.00, same_qty=5, fade=10) == 1.21
    assert at(P.POST_WITH_F, True, 0.95, 1.00, 1.20, same_qty=50, fade=10) == 0.95   # never through the limit


def test_post_improve_relative_closes_half_the_distance_to_the_limit():
    assert at(P.POST_IMPROVE_R, True, 1.10, 1.00, 1.20) == 1.05
    assert at(P.POST_IMPROVE_R, True, 1.05, 1.00, 1.20) == 1.02          # 1.025 rounded away from the ask
    assert at(P.POST_IMPROVE_R, False, 1.00, 1.20, 0.90) == 1.10
    assert at(P.POST_IMPROVE_R, True, 1.10, 1.00, 1.03) == 1.02          # never at the far side
    assert at(P.POST_IMPROVE_R, True, 0.98, 1.00, 1.20) == 0.98          # limit behind the best: the limit


def test_flash_types_rest_one_tick_inside_the_far_side_while_flashing_then_fall_back():
    for kind, after in ((P.POST_FLASH, 1.01), (P.POST_FLASH_W, 1.00), (P.POST_FLASH_I, 1.01)):
        assert at(kind, True, 1.10, 1.00, 1.20, flashing=True) == 1.10    # the limit caps the flash
        assert at(kind, True, 1.30, 1.00, 1.20, flashing=True) == 1.19
        assert at(kind, True, 1.10, 1.00, 1.20, flashing=False) == after
    assert at(P.POST_FLASH, False, 0.50, 1.00, 0.80, flashing=True) == 0.81


def test_post_peg_rests_at_the_midpoint_rounded_away_from_the_far_side():
    assert at(P.POST_PEG, True, 2.00, 1.00, 1.10) == 1.05
    assert at(P.POST_PEG, True, 2.00, 1.00, 1.05) == 1.02
    assert at(P.POST_PEG, False, 0.50, 1.05, 1.00) == 1.03
    assert at(P.POST_PEG, True, 1.03, 1.00, 1.10) == 1.03                # capped by the limit
    assert at(P.POST_PEG, True, 2.00, 1.00, 1.01) == 1.00                # one-tick market: joins


def test_no_post_and_a_missing_limit_rest_nothing():
    for kind in SUPPORTED:
        assert np.isnan(at(kind, True, NAN, 1.00, 1.20, flashing=True))
    assert np.isnan(at(P.NO_POST, True, 1.10, 1.00, 1.20))


@pytest.mark.parametrize("kind", sorted(SUPPORTED))
def test_every_placement_is_within_the_limit_inside_the_far_side_and_on_the_ladder(kind):
    rng = np.random.default_rng(int(kind))
    n = 300
    is_buy = rng.random(n) < 0.5
    bid = np.round(rng.uniform(0.5, 5.0, n), 2)
    ask = np.round(bid + rng.integers(1, 20, n) * 0.01, 2)
    limit = np.round(np.where(is_buy, bid, ask) + np.where(is_buy, 1, -1) * rng.uniform(-0.2, 0.4, n), 2)
    same, far = np.where(is_buy, bid, ask), np.where(is_buy, ask, bid)
    got = post_targets(np.full(n, int(kind)), is_buy, limit, same, far, np.full(n, NAN), PENNY_PILOT,
                       same_best_qty=rng.integers(0, 20, n), fade_qty=rng.integers(1, 20, n),
                       flashing=rng.random(n) < 0.5)
    ok = ~np.isnan(got)
    assert ok.sum() > n // 2
    g, b, l, f = got[ok], is_buy[ok], limit[ok], far[ok]
    assert np.all(np.where(b, g <= l + 1e-9, g >= l - 1e-9))
    assert np.all(np.where(b, g < f - 1e-9, g > f + 1e-9))
    assert all(PENNY_PILOT.round_passive(float(x), bool(y)) == pytest.approx(float(x)) for x, y in zip(g, b))


def test_max_intern_is_unsupported_with_a_reason():
    assert P.MAX_INTERN not in SUPPORTED and "Matrix" in UNSUPPORTED[P.MAX_INTERN]
