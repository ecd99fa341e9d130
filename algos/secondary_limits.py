"""Secondary limits: the price the Take (5100) or Make (5102) LimitClass allows now, for the
alpha-taking and alpha-making algos. The effective limit is the tightest of it and the primary
LimitType limit (``algos.limits.effective_limits``).

- Simple: no secondary limit (NaN).
- Surface: the option's live-surface price (router/market/live_surface.py) at the surface vol
  moved by the vol offset (5142 take / 5146 make), then by the price offset (5140 / 5144) and
  seed 001's side offset (5518 for a buy, 5536 for a sell). A positive offset is more
  aggressive: a buyer pays up to surface + offsets, a seller accepts down to surface - offsets.
- Probability: the worst price at or between the bid and the ask whose take (or make)
  probability, net of the expected exchange fee, meets the effective probability limit
  (5136 / 5138 with alpha type 5128 / 5130 and factor 5132 / 5134; router/models/alpha.py).
  Relative keeps the parent's probability at its reference point (the far touch for a take,
  the near touch for a make) in a ``ProbabilityWindow`` at every computation.
- SurfProb: the tighter of the two; our definition: NaN unless both can be computed, so an
  order never trades on one half of its class alone.

NaN also means "cannot be computed now" (no surface fit, no alpha state yet): the algos then
neither take nor post on that class. ``secondary_limits`` works on many parents at once: one
surface pricing call, and one model call per (variant) group, whatever the number of parents.
"""
from __future__ import annotations

from typing import Literal, Sequence

import numpy as np

from router.domain.enums import AlphaType, LimitClass
from router.models.alpha import VARIANT_OF_TYPE, effective_probability_limit, price_points, worst_price_meeting

from .base import AlgoContext

Kind = Literal["take", "make"]
_SURFACE = (LimitClass.SURFACE, LimitClass.SURF_PROB)
_PROBABILITY = (LimitClass.PROBABILITY, LimitClass.SURF_PROB)


def limit_class(params, kind: Kind) -> LimitClass:
    value = params.take_limit_class if kind == "take" else params.make_limit_class
    return LimitClass.SIMPLE if value is None else value


def secondary_limit(ctx: AlgoContext, kind: Kind) -> float:
    """The secondary limit of the parent's Take (5100) / Make (5102) LimitClass now (module
    docstring); NaN for Simple and when it cannot be computed now."""
    return float(secondary_limits([ctx], kind)[0])


def secondary_limits(ctxs: Sequence[AlgoContext], kind: Kind) -> np.ndarray:
    """``secondary_limit`` for many parents (one underlier's, typically) at once."""
    n = len(ctxs)
    out = np.full(n, np.nan)
    if not n:
        return out
    classes = [limit_class(ctx.parent.algo, kind) for ctx in ctxs]
    is_buy = np.array([ctx.parent.side.is_buy for ctx in ctxs], dtype=bool)
    surface_rows = [i for i, c in enumerate(classes) if c in _SURFACE]
    probability_rows = [i for i, c in enumerate(classes) if c in _PROBABILITY]
    surface = np.full(n, np.nan)
    probability = np.full(n, np.nan)
    if surface_rows:
        surface[surface_rows] = surface_limits_of([ctxs[i] for i in surface_rows], kind)
    if probability_rows:
        probability[probability_rows] = probability_limits_of([ctxs[i] for i in probability_rows], kind)
    for i, c in enumerate(classes):
        if c is LimitClass.SURFACE:
            out[i] = surface[i]
        elif c is LimitClass.PROBABILITY:
            out[i] = probability[i]
        elif c is LimitClass.SURF_PROB and not (np.isnan(surface[i]) or np.isnan(probability[i])):
            out[i] = min(surface[i], probability[i]) if is_buy[i] else max(surface[i], probability[i])
    return out


def surface_limits_of(ctxs: Sequence[AlgoContext], kind: Kind) -> np.ndarray:
    """The Surface class's limit of each parent, from one live-surface pricing call."""
    sign = np.array([1.0 if ctx.parent.side.is_buy else -1.0 for ctx in ctxs])
    prc_offset, vol_offset = [], []
    for ctx in ctxs:
        p = ctx.parent.algo
        price, vol = ((p.take_surface_prc_offset, p.take_surface_vol_offset) if kind == "take"
                      else (p.make_surface_prc_offset, p.make_surface_vol_offset))
        side_offset = p.surface_prc_offset_ask if ctx.parent.side.is_buy else p.surface_prc_offset_bid
        prc_offset.append((price or 0.0) + (side_offset or 0.0))
        vol_offset.append(vol or 0.0)
    prices, _ = ctxs[0].surface_prices([ctx.parent.symbol for ctx in ctxs], sign * np.array(vol_offset))
    return np.maximum(np.asarray(prices, float) + sign * np.array(prc_offset), 0.0)


def _alpha_terms(params, kind: Kind) -> tuple[AlphaType, float | None, float | None]:
    if kind == "take":
        alpha_type, given, factor = params.take_alpha_type, params.take_probability, params.take_alpha_factor
    else:
        alpha_type, given, factor = params.make_alpha_type, params.make_probability, params.make_alpha_factor
    return (AlphaType.STATIC if alpha_type is None else alpha_type), given, factor


def probability_limits_of(ctxs: Sequence[AlgoContext], kind: Kind) -> np.ndarray:
    """The Probability class's limit of each parent: the parents grouped by model variant, each
    group's states stacked and scored in one model call."""
    out = np.full(len(ctxs), np.nan)
    groups: dict[str, list[int]] = {}
    for i, ctx in enumerate(ctxs):
        ctx.follow_alpha()
        alpha_type, _, _ = _alpha_terms(ctx.parent.algo, kind)
        groups.setdefault(VARIANT_OF_TYPE[alpha_type], []).append(i)
    for variant, rows in groups.items():
        members = [ctxs[i] for i in rows]
        state, has = members[0].alpha_state([ctx.parent.symbol for ctx in members])
        if state is None:
            continue
        scored = [ctx for ctx, ok in zip(members, has) if ok]
        out[np.array(rows)[has]] = _probability_limits(scored, state, variant, kind)
    return out


def _probability_limits(ctxs: list[AlgoContext], state, variant: str, kind: Kind) -> np.ndarray:
    model = ctxs[0].alpha_model(variant)
    sign = np.array([1.0 if ctx.parent.side.is_buy else -1.0 for ctx in ctxs])
    mid = state.mid
    fee = np.array([ctx.expected_fee(kind, float(m)) for ctx, m in zip(ctxs, mid)])[:, None]
    prices = price_points(state)
    if kind == "take":
        p = model.take_probability(state, sign, prices, fee)
    else:
        p = model.make_probability(state, sign, prices, fee)
    # the reference point: the far touch for a take, the near touch for a make
    last = np.sum(np.isfinite(prices), axis=1) - 1
    rows = np.arange(len(ctxs))
    at_ask, at_bid = p[rows, last], p[:, 0]
    reference = np.where(sign > 0, at_ask, at_bid) if kind == "take" else np.where(sign > 0, at_bid, at_ask)
    limits = np.empty(len(ctxs))
    now = ctxs[0].now_ns()
    for i, ctx in enumerate(ctxs):
        alpha_type, given, factor = _alpha_terms(ctx.parent.algo, kind)
        recent = ()
        if alpha_type is AlphaType.RELATIVE:
            window = ctx.probability_window(kind)
            window.add(now, float(reference[i]))
            recent = window.values(now)
        limits[i] = effective_probability_limit(alpha_type, given, factor, recent, leg=kind)
    return worst_price_meeting(p, prices, sign, limits)
