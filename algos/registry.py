"""Which algo works a parent, chosen from its SpiderRock tags.

| 5094 OrderHandling | 5096 BalanceHandling | 5100 TakeClass | 5102 MakeClass | 5098 LimitType | Algo |
|---|---|---|---|---|---|
| absent, 1 ActiveTaker, 19 SweepTake | absent, 0 NoPost | absent, 0 Simple | absent, 0 Simple | absent, 0 Market, 1 MarketArrival, 2 Prc | sweep |
| 1 ActiveTaker | 4 PostLimit, or any post type | 0 Simple | 0 Simple | Vol/tied types (3-13) or Prc | volatility |
| 1 ActiveTaker | 0 NoPost | 1 Surface, 2 Probability, 3 SurfProb | any | any | alpha_taking |
| 2 PostOnly | any post type | any | 1, 2, 3 | any | alpha_making |
| 1 ActiveTaker | a post type | 1, 2, 3 | any | any | alpha_taking + alpha_making |
| 8 Legger, 9 Seeker, 10 SeekerLegger (NewOrderMultileg) | | | | | multileg |
| 6 Facilitate | | | | | facilitation |

Only the sweep is implemented so far; a parent that selects another algo is rejected with
that algo's name, so clients learn exactly what is missing.
"""
from __future__ import annotations

from typing import Callable

from router.domain.commands import AlgoParams
from router.domain.enums import BalanceHandling, LimitClass, LimitType, OrderHandling

from .base import Algo, AlgoContext
from .sweep import SweepAlgo

_SWEEP_LIMIT_TYPES = (None, LimitType.MARKET, LimitType.MARKET_ARRIVAL, LimitType.PRC)
_SIMPLE = (None, LimitClass.SIMPLE)
_NO_POST = (None, BalanceHandling.NO_POST)


ALGOS: dict[str, Callable[[AlgoContext], Algo]] = {"sweep": SweepAlgo}


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


def create_algo(name: str, ctx: AlgoContext) -> Algo:
    return ALGOS[name](ctx)


def is_available(name: str) -> bool:
    return name in ALGOS
