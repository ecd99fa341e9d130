"""The contenders: how each one's parent order is written, for the same ParentSpec.

Every parent is a GTD limit order living ``duration_s`` (SROrderDuration 5086) with a protective
limit ``PROTECT`` beyond the arrival far touch (the client's "never worse than"), so the
contenders differ only in their tags:

| contender | tags |
|---|---|
| naive | none: algos/naive.py through NaiveParams (no tag selects it) |
| sweep | 5094=1 ActiveTaker, 5096=0 NoPost, 5098=0 Market (3 ticks through the far touch) |
| volatility | 5094=1, 5096=1 PostWith, 5098=3 PrcDe with the price at the arrival mid (rests at the touch, takes when the far side comes to the delta-adjusted arrival mid); 5098=2 Prc on coin-quoted (BTC) options |
| alpha_taking | 5094=1, 5096=0, 5100=2 Probability, 5136=take_probability |
| alpha_making | 5094=2 PostOnly, 5096=1 PostWith, 5102=2 Probability, 5138=make_probability |
| alpha_taking+making | 5094=1, 5096=1, 5100=2, 5136, 5102=2, 5138 |
"""
from __future__ import annotations

from dataclasses import dataclass

from algos.naive import NaiveParams
from router.domain.commands import AlgoParams
from router.domain.enums import BalanceHandling, LimitClass, LimitType, OrderHandling, Side
from router.domain.instruments import Instrument

PROTECT = 0.20          # the protective limit: 20% of the arrival mid beyond the far touch


@dataclass(frozen=True, slots=True)
class Tuning:
    take_probability: float = 0.20      # 5136
    make_probability: float = 0.30      # 5138


CONTENDERS = ("naive", "sweep", "volatility", "alpha_taking", "alpha_making", "alpha_taking+making")


def protective_limit(instrument: Instrument, side: Side, bid: float, ask: float) -> float:
    mid = (bid + ask) / 2
    rule = instrument.tick_rule
    if side.is_buy:
        return round(rule.round_passive(ask + PROTECT * mid, True), 6)
    floor = rule.tick_at(0.0)
    return round(max(rule.round_passive(bid - PROTECT * mid, False), floor), 6)


def arrival_mid_price(instrument: Instrument, side: Side, bid: float, ask: float) -> float:
    """The arrival mid on the tick ladder, rounded away from the far side (a buy down)."""
    return round(instrument.tick_rule.round_passive((bid + ask) / 2, side.is_buy), 6)


def order_terms(contender: str, instrument: Instrument, side: Side, bid: float, ask: float, duration_s: int,
                tuning: Tuning = Tuning()) -> tuple[float, AlgoParams]:
    """(limit price, AlgoParams) of a contender's parent arriving on this NBBO."""
    common = {"order_duration_s": duration_s}
    protect = protective_limit(instrument, side, bid, ask)
    taker, post_with = OrderHandling.ACTIVE_TAKER, BalanceHandling.POST_WITH
    if contender == "naive":
        return protect, NaiveParams(**common)
    if contender == "sweep":
        return protect, AlgoParams(order_handling=taker, balance_handling=BalanceHandling.NO_POST,
                                   limit_type=LimitType.MARKET, **common)
    if contender == "volatility":
        # PrcDe on a coin-quoted option moves a BTC limit by delta x a USD underlier move (a sell of a
        # 0.029 BTC put rested at 1.39 BTC and was bought there): Prc until that is fixed
        limit_type = LimitType.PRC if instrument.coin_quoted else LimitType.PRC_DE
        return arrival_mid_price(instrument, side, bid, ask), AlgoParams(
            order_handling=taker, balance_handling=post_with, limit_type=limit_type, **common)
    if contender == "alpha_taking":
        return protect, AlgoParams(order_handling=taker, balance_handling=BalanceHandling.NO_POST,
                                   take_limit_class=LimitClass.PROBABILITY,
                                   take_probability=tuning.take_probability, **common)
    if contender == "alpha_making":
        return protect, AlgoParams(order_handling=OrderHandling.POST_ONLY, balance_handling=post_with,
                                   make_limit_class=LimitClass.PROBABILITY,
                                   make_probability=tuning.make_probability, **common)
    if contender == "alpha_taking+making":
        return protect, AlgoParams(order_handling=taker, balance_handling=post_with,
                                   take_limit_class=LimitClass.PROBABILITY, take_probability=tuning.take_probability,
                                   make_limit_class=LimitClass.PROBABILITY, make_probability=tuning.make_probability,
                                   **common)
    raise ValueError(f"unknown contender {contender!r}; one of {', '.join(CONTENDERS)}")
