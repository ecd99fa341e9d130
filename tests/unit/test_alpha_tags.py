"""The alpha algos' tags decode into typed AlgoParams, and their bad combinations are rejects
that name the tag and the rule (issue 9's "bad input" list)."""
from __future__ import annotations

import pytest

from router.domain.enums import AlphaType, PublicSize, TakeReach

from .test_codec import new_order


def test_alpha_tags_become_typed_params():
    algo = new_order((5100, "2"), (5128, "5"), (5132, "1.5"), (5136, "0.6"), (5102, "1"), (5130, "2"),
                     (5138, "0.55"), (5134, "-2"), (5104, "1"), (5050, "2"), (5052, "Y"), (5028, "RT7"),
                     (5518, "0.01"), (5536, "-0.02")).command.algo
    assert (algo.take_alpha_type, algo.make_alpha_type) == (AlphaType.RELATIVE, AlphaType.HAWK)
    assert (algo.take_alpha_factor, algo.make_alpha_factor) == (1.5, -2.0)
    assert (algo.take_probability, algo.make_probability) == (0.6, 0.55)
    assert algo.take_reach is TakeReach.DELAYED and algo.public_size is PublicSize.MKT_SIZE
    assert algo.can_cxl_overlap is True and algo.alt_route_code == "RT7"
    assert (algo.surface_prc_offset_ask, algo.surface_prc_offset_bid) == (0.01, -0.02)


def test_risk_limit_tags_become_typed_params():
    tags = range(5251, 5261)
    algo = new_order(*[(tag, str(100.0 * (i + 1))) for i, tag in enumerate(tags)]).command.algo
    names = ("max_acc_day_wt_vega_ln", "max_acc_day_wt_vega_sh", "max_acc_day_ddelta_ln", "max_acc_day_ddelta_sh",
             "max_exp_day_wt_vega_ln", "max_exp_day_wt_vega_sh", "max_sym_day_wt_vega_ln", "max_sym_day_wt_vega_sh",
             "max_sym_day_ddelta_ln", "max_sym_day_ddelta_sh")
    assert [getattr(algo, name) for name in names] == [100.0 * (i + 1) for i in range(10)]
    assert new_order((5259, "-1")).command.algo.max_sym_day_ddelta_ln == -1.0     # -1: no limit


@pytest.mark.parametrize("extra,needle", [
    (((5100, "2"),), "SRTakeLimitClass (5100) PROBABILITY needs its probability limit SRTakeProbability (5136)"),
    (((5100, "3"),), "SRTakeLimitClass (5100) SURF_PROB needs its probability limit SRTakeProbability (5136)"),
    (((5094, "2"), (5096, "4"), (5102, "2")),
     "SRMakeLimitClass (5102) PROBABILITY needs its probability limit SRMakeProbability (5138)"),
    (((5094, "2"), (5096, "0")), "SROrderHandling (5094) PostOnly with SRBalanceHandling (5096) NoPost leaves the "
                                 "order nothing to do: give a post type (1-12)"),
    (((5100, "2"), (5136, "0.6"), (5128, "5")), "SRTakeAlphaType (5128) Relative needs SRTakeAlphaFactor (5132) in "
                                                "[-2, 2]"),
    (((5102, "2"), (5138, "0.6"), (5130, "5"), (5094, "2"), (5096, "1")),
     "SRMakeAlphaType (5130) Relative needs SRMakeAlphaFactor (5134) in [-2, 2]"),
])
def test_bad_alpha_combinations_are_rejects_naming_the_tags(extra, needle):
    request = new_order(*extra)
    assert request.command is None and request.reject_text == needle


@pytest.mark.parametrize("extra,needle", [
    ((5132, "2.5"), "SRTakeAlphaFactor (5132) 2.5 must be in [-2, 2]"),
    ((5134, "-3"), "SRMakeAlphaFactor (5134) -3 must be in [-2, 2]"),
    ((5136, "1.2"), "SRTakeProbability (5136) 1.2 must be a probability in [0, 1]"),
    ((5138, "-0.1"), "SRMakeProbability (5138) -0.1 must be a probability in [0, 1]"),
    ((5259, "0"), "SRMaxSymDayDDeltaLn (5259) 0 must be a positive limit, or -1 for no limit"),
    ((5251, "-5"), "SRMaxAccDayWtVegaLn (5251) -5 must be a positive limit, or -1 for no limit"),
    ((5056, "0"), "SRTwapSliceCnt (5056) 0 must be at least 1"),
])
def test_out_of_range_values_are_rejects_naming_the_tag(extra, needle):
    request = new_order(extra)
    assert request.command is None and request.reject_text.startswith(needle)


@pytest.mark.parametrize("tag,value", [(5128, "9"), (5104, "8"), (5050, "11"), (5052, "Q")])
def test_unknown_enum_values_are_rejects_naming_the_tag(tag, value):
    request = new_order((tag, value))
    assert request.command is None and f"tag {tag}" in request.reject_text


def test_a_replace_carries_the_start_type_that_releases_a_staged_order():
    from router.domain.enums import StartType
    from router.fix.codec import decode
    pairs = [(35, "G"), (11, "C2"), (41, "C1"), (55, "AAPL  261218C00200000"), (54, "1"), (60, "20261120-15:00:00.000"),
             (38, "10"), (40, "2"), (44, "5.10")]
    assert decode("G", pairs + [(5090, "0")], "S", "ACC", 2).command.start_type is StartType.IMMEDIATE
    assert decode("G", pairs, "S", "ACC", 2).command.start_type is None
    assert "SRStartType (5090) has unusable value" in decode("G", pairs + [(5090, "9")], "S", "ACC", 2).reject_text
