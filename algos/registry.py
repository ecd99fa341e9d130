"""Which algo works a parent, chosen from its SpiderRock tags.

| 5094 OrderHandling | 5096 BalanceHandling | 5100 TakeClass | 5102 MakeClass | 5098 LimitType | Algo |
|---|---|---|---|---|---|
| absent, 1 ActiveTaker, 19 SweepTake | absent, 0 NoPost | absent, 0 Simple | absent, 0 Simple | absent, 0 Market, 1 MarketArrival, 2 Prc | sweep |
| 1 ActiveTaker | any post type (1-12) | 0 Simple | 0 Simple | any, or absent with a post type; tied types (3-19) select it even without one | volatility |
| 1 ActiveTaker | 0 NoPost | 1 Surface, 2 Probability, 3 SurfProb | any | any | alpha_taking |
| 2 PostOnly | any post type | any | 1, 2, 3 | any | alpha_making |
| 1 ActiveTaker | a post type | 1, 2, 3 | any | any | alpha_taking + alpha_making |
| 8 Legger, 9 Seeker, 10 SeekerLegger (NewOrderMultileg) | | | | | multileg |
| 6 Facilitate | | | | | facilitation |

A parent that selects an algo not built yet is rejected with that algo's name, so clients
learn exactly what is missing. No tag is accepted and ignored: an order carrying a behavioural
tag its algo does not read is rejected with the tag's number and name (``unread_tags``).
"""
from __future__ import annotations

from typing import Any

from router.domain.commands import AlgoParams
from router.domain.enums import BalanceHandling, HedgeMode, LimitClass, LimitType, OrderHandling, StartType
from router.domain.instruments import Instrument
from router.risk.greek_limits import RISK_TAGS

from .alpha_making import AlphaMakingAlgo, AlphaTakingMakingAlgo
from .alpha_taking import AlphaTakingAlgo
from .base import Algo, AlgoContext
from .facilitation import FacilitationAlgo
from .multileg import MultilegAlgo
from .naive import NaiveAlgo
from .sweep import SweepAlgo
from .volatility import VolatilityAlgo

_SWEEP_LIMIT_TYPES = (None, LimitType.MARKET, LimitType.MARKET_ARRIVAL, LimitType.PRC)
_SIMPLE = (None, LimitClass.SIMPLE)
_NO_POST = (None, BalanceHandling.NO_POST)


ALGOS: dict[str, type[Algo]] = {"sweep": SweepAlgo, "volatility": VolatilityAlgo, "alpha_taking": AlphaTakingAlgo,
                              "alpha_making": AlphaMakingAlgo, "alpha_taking+making": AlphaTakingMakingAlgo,
                              "multileg": MultilegAlgo, "facilitation": FacilitationAlgo,
                              "naive": NaiveAlgo}     # the backtest's baseline: no tags select it (select_algo)

# Tags every algo gives an effect: selection, venues, time in force, the static limit.
COMMON_TAGS = frozenset({5082, 5084, 5086, 5088, 5094, 5096, 5098, 5100, 5102, 5106, 5126})
# The common order modifiers, given their effect by the engine for every algo (router/engine/
# child_caps.py, start_type.py): AltRouteCode, ActiveOrderSize, CanCxlOverlap, TwapSliceCount,
# MaxChildOrders, StartType.
COMMON_TAGS |= {5028, 5044, 5052, 5056, 5080, 5090}
# The day $delta and vega limits 5251-5260, checked on every child of every algo (router/risk/greek_limits.py).
COMMON_TAGS |= RISK_TAGS
# Read by the auto-hedger, whatever the algo: the mode, the hedge ClOrdID, the short-sale flag,
# and the pricing inputs of the delta it hedges.
HEDGE_TAGS = frozenset({5152, 5010, 5172, 5108, 5110, 5112, 5114, 5118, 5120, 5122, 5124})
# Identification and booking: they change no behaviour, so every algo accepts them.
INFORMATIONAL_TAGS = frozenset({5012, 5014, 5020, 5022, 5023, 5024, 5026, 5034, 5036, 5166, 5167, 5168, 5170,
                                5176, 5178, 5180, 5250, 5290, 5291, 5410,
                                5192, 5194, 5196, 5198})     # OrderRefMetric1-4: echoed on the reports

_FIELD_TAGS = {
    "order_handling": 5094, "balance_handling": 5096, "limit_type": 5098, "take_limit_class": 5100,
    "make_limit_class": 5102, "exchanges": 5082, "max_child_orders": 5080, "active_size": 5044,
    "sr_time_in_force": 5084, "order_duration_s": 5086, "good_till": 5088, "vol_limit": 5116,
    "order_prc_limit": 5106, "order_prc_offset": 5126, "rate_override": 5118, "sdiv_override": 5120,
    "ddiv_override": 5122, "override_code": 5124, "take_surface_prc_offset": 5140,
    "take_surface_vol_offset": 5142, "make_surface_prc_offset": 5144, "make_surface_vol_offset": 5146,
    "order_ref_uprc": 5108, "order_ref_delta": 5110, "order_ref_gamma": 5112, "order_ref_theta": 5114,
    "cxl_uprc_range": 5072, "min_ubid": 5074, "max_uask": 5076, "min_option_px": 5078, "auto_hedge": 5152,
    "alt_auto_hedge_id": 5010, "short_sale_flag": 5172, "start_type": 5090, "slice_count": 5056,
    "take_reach": 5104, "strategy": 5034, "max_exposure_size": 5046, "num_make_exchanges": 5048,
    "take_alpha_type": 5128, "make_alpha_type": 5130, "take_alpha_factor": 5132, "make_alpha_factor": 5134,
    "take_probability": 5136, "make_probability": 5138, "surface_prc_offset_ask": 5518,
    "surface_prc_offset_bid": 5536, "public_size": 5050, "can_cxl_overlap": 5052, "alt_route_code": 5028,
    "max_acc_day_wt_vega_ln": 5251, "max_acc_day_wt_vega_sh": 5252, "max_acc_day_ddelta_ln": 5253,
    "max_acc_day_ddelta_sh": 5254, "max_exp_day_wt_vega_ln": 5255, "max_exp_day_wt_vega_sh": 5256,
    "max_sym_day_wt_vega_ln": 5257, "max_sym_day_wt_vega_sh": 5258, "max_sym_day_ddelta_ln": 5259,
    "max_sym_day_ddelta_sh": 5260,
}
_TAG_NAMES = {5056: "SRProgressSliceCnt/TwapSliceCount", 5090: "SRStartType", 5104: "SRTakeReachRule",
              5116: "SROrderVolLimit", 5140: "SRTakeSurfPrcOffset", 5142: "SRTakeSurfVolOffset",
              5144: "SRMakeSurfPrcOffset", 5146: "SRMakeSurfVolOffset", 5072: "SRCxlUPrcRange",
              5074: "SRMinUBid", 5076: "SRMaxUAsk", 5078: "SRMinOptionPx", 5172: "SRShortSaleFlag",
              5108: "SROrderRefUPrc", 5110: "SROrderRefDelta", 5112: "SROrderRefGamma", 5114: "SROrderRefTheta",
              5118: "SRRateOverride", 5120: "SRSDivOverride", 5122: "SRDDivOverride", 5124: "SROverrideCode",
              5010: "SRAltAutoHedgeId", 5046: "SRMaxExposureSize", 5048: "SRNumMakeExchanges",
              5028: "SRAltRouteCode", 5050: "SRPublicSize", 5052: "SRCanCxlOverlap", 5128: "SRTakeAlphaType",
              5130: "SRMakeAlphaType", 5132: "SRTakeAlphaFactor", 5134: "SRMakeAlphaFactor",
              5136: "SRTakeProbability", 5138: "SRMakeProbability", 5518: "SRSurfPrcOffsetAsk",
              5536: "SRSurfPrcOffsetBid", 5202: "SRLeadSide", 5204: "SRMaxCompletionSlippage",
              5251: "SRMaxAccDayWtVegaLn", 5252: "SRMaxAccDayWtVegaSh",
              5253: "SRMaxAccDayDDeltaLn", 5254: "SRMaxAccDayDDeltaSh", 5255: "SRMaxExpDayWtVegaLn",
              5256: "SRMaxExpDayWtVegaSh", 5257: "SRMaxSymDayWtVegaLn", 5258: "SRMaxSymDayWtVegaSh",
              5259: "SRMaxSymDayDDeltaLn", 5260: "SRMaxSymDayDDeltaSh"}


def tags_given(params: AlgoParams) -> set[int]:
    """The custom tags an order actually carries (a field left at its default was not sent)."""
    given = {_FIELD_TAGS[name] for name in params.model_fields_set if name in _FIELD_TAGS}
    if params.start_type is StartType.IMMEDIATE:
        given.discard(5090)       # the default: nothing to do
    return given | set(params.extra)


def unread_tags(algo_name: str, params: AlgoParams, instrument: Instrument | None = None) -> list[tuple[int, str]]:
    """(tag, name) of every behavioural tag the order carries that neither its algo nor the
    auto-hedger gives an effect."""
    algo_class = ALGOS.get(algo_name)
    if algo_class is None:
        return []
    allowed = COMMON_TAGS | INFORMATIONAL_TAGS | algo_class.reads_tags
    hedged = params.auto_hedge not in (None, HedgeMode.NO_HEDGE)
    if hedged:
        allowed |= HEDGE_TAGS
    elif params.auto_hedge is HedgeMode.NO_HEDGE:
        allowed |= {5152}
    return [(tag, _TAG_NAMES.get(tag, "custom tag")) for tag in sorted(tags_given(params) - allowed)]


def select_algo(params: AlgoParams) -> str:
    """The algo of a parent: the one its AlgoParams names (``house_algo``, only set by the router's
    own tools, e.g. algos/naive.py's NaiveParams for the backtest; a decoded FIX order never has
    it), else the one its tags choose."""
    return getattr(params, "house_algo", None) or choose_algo(params)


def choose_algo(params: AlgoParams) -> str:
    handling = params.order_handling
    if handling in (OrderHandling.LEGGER, OrderHandling.SEEKER, OrderHandling.SEEKER_LEGGER):
        return "multileg"
    if handling is OrderHandling.FACILITATE:
        return "facilitation"
    if handling is OrderHandling.POST_ONLY:
        return "alpha_making"
    if handling in (None, OrderHandling.ACTIVE_TAKER, OrderHandling.SWEEP_TAKE):
        takes_dynamic = params.take_limit_class not in _SIMPLE
        posts = params.balance_handling not in _NO_POST
        if takes_dynamic:
            return "alpha_taking+making" if posts else "alpha_taking"
        if params.make_limit_class not in _SIMPLE:
            return "alpha_making"
        if posts or params.limit_type not in _SWEEP_LIMIT_TYPES:
            return "volatility"
        return "sweep"
    return f"handling_{handling.name.lower()}"


def order_problem(algo_name: str, params: AlgoParams, instrument: Instrument | None = None) -> str | None:
    """The algo's own reason to refuse the order's terms (``Algo.order_problem``), or None."""
    algo_class = ALGOS.get(algo_name)
    return None if algo_class is None else algo_class.order_problem(params, instrument)


def create_algo(name: str, ctx: AlgoContext, settings: Any = None) -> Algo:
    """``settings`` is the router's AlgoSettings; each algo gets its own section."""
    algo_class = ALGOS[name]
    section = getattr(algo_class, "settings_section", algo_class.name)
    own = getattr(settings, section, None) if settings is not None else None
    take_section = getattr(algo_class, "take_settings_section", None)     # a maker that also takes
    if take_section is not None:
        return algo_class(ctx, own, getattr(settings, take_section, None) if settings is not None else None)
    return algo_class(ctx, own)


def is_available(name: str) -> bool:
    return name in ALGOS
