"""Where a post-only child rests under every PostType (SRBalanceHandling 5096) we support.

``limits.post_prices`` places PostWith (1), PostTurn (2), PostImprove (3) and PostLimit (4), as
the volatility algo uses them. ``post_targets`` adds the others, each our definition from its
name and SpiderRock's text:

- **PostLmtW (5)**: rests at the limit; when the limit is marketable (at or through the far
  side) it joins the best same-side price of others ("with") instead of resting one tick
  inside the far side.
- **PostWthF (7)**: PostWith that fades: it joins the best of others, but rests one tick
  behind it while that level shows less than ``fade_qty`` (the size we would show), a thin
  level that is likely to be taken or pulled.
- **PostImprvR (8)**: improves relative to the room left: halfway between the best of others
  and the limit (rounded away from the far side), so each move closes half the distance.
- **PostFlash (9), PostFlashW (10), PostFlashI (12)**: while ``flashing`` (the algo's flash
  window after each new child, ``flash_ms``), rest at the most aggressive post-only price,
  one tick inside the far side; then PostTurn (9), PostWith (10) or PostImprove (12). The flash
  shows the most the order pays for a moment, then it steps back to the market.
- **PostPeg (11)**: pegged to the midpoint of the best of others and the far side (rounded
  away from the far side).

MaxIntern (6) exists only with OrderHandling Matrix, which the router does not build:
``UNSUPPORTED`` lists it and the algos reject it at entry. Every placement is clamped the same
way: never through the limit, never at or through the far side (post-only), on the tick ladder.
"""
from __future__ import annotations

import numpy as np

from router.domain.enums import BalanceHandling as P
from router.domain.instruments import TickRule

from .limits import is_marketable, post_prices

SUPPORTED = frozenset(P) - {P.NO_POST, P.MAX_INTERN}
UNSUPPORTED = {P.MAX_INTERN: "MaxIntern works only with SROrderHandling (5094) Matrix, which is not available"}
FLASH_TYPES = frozenset({P.POST_FLASH, P.POST_FLASH_W, P.POST_FLASH_I})
# The volatility algo's single child has no flash window (alpha making's, per child): it refuses these.
ONE_CHILD_UNSUPPORTED = {**UNSUPPORTED, **{post: "a flash needs the alpha-making algo's flash window: send it with "
                                                 "SROrderHandling (5094) 2 PostOnly" for post in FLASH_TYPES}}

# What each type falls back to outside its own rule (and the flash types after their flash).
_BASE = {P.POST_LIMIT_WITH: P.POST_LIMIT, P.POST_WITH_F: P.POST_WITH, P.POST_IMPROVE_R: P.POST_LIMIT,
         P.POST_FLASH: P.POST_TURN, P.POST_FLASH_W: P.POST_WITH, P.POST_PEG: P.POST_LIMIT,
         P.POST_FLASH_I: P.POST_IMPROVE}
_BASE_TABLE = np.arange(max(P) + 1)
_BASE_TABLE[list(_BASE)] = list(_BASE.values())


def post_targets(post_type: np.ndarray | int, is_buy: np.ndarray, limit: np.ndarray, same_best: np.ndarray,
                 far: np.ndarray, resting: np.ndarray, tick_rule: TickRule, *,
                 same_best_qty: np.ndarray | None = None, fade_qty: np.ndarray | None = None,
                 flashing: np.ndarray | None = None) -> np.ndarray:
    """The price each order's child should rest at (NaN: none), one entry per order.

    Arguments as ``limits.post_prices``; ``same_best_qty`` is what others show at ``same_best``,
    ``fade_qty`` the size PostWthF wants behind it, ``flashing`` where a flash type is in its
    flash window.
    """
    is_buy = np.asarray(is_buy, dtype=bool)
    limit, same_best, far, resting = (np.asarray(a, dtype=float) for a in (limit, same_best, far, resting))
    kind = np.broadcast_to(np.asarray(post_type, dtype=int), limit.shape)
    n = limit.shape
    same_qty = np.zeros(n) if same_best_qty is None else np.broadcast_to(np.asarray(same_best_qty, float), n)
    fade = np.ones(n) if fade_qty is None else np.broadcast_to(np.asarray(fade_qty, float), n)
    flash = np.zeros(n, bool) if flashing is None else np.broadcast_to(np.asarray(flashing, bool), n)

    base = post_prices(_BASE_TABLE[kind], is_buy, limit, same_best, far, resting, tick_rule)
    sign = np.where(is_buy, 1, -1)
    inside_far = tick_rule.step_array(far, -sign)
    with np.errstate(invalid="ignore"):
        wanted = np.select(
            [kind == P.POST_LIMIT_WITH, kind == P.POST_WITH_F, kind == P.POST_IMPROVE_R, kind == P.POST_PEG],
            [np.where(is_marketable(is_buy, limit, far, far), same_best, limit),
             np.where(same_qty < fade, tick_rule.step_array(same_best, -sign), same_best),
             same_best + 0.5 * (limit - same_best),
             0.5 * (same_best + far)],
            default=np.nan)
    wanted = np.where(flash & np.isin(kind, list(FLASH_TYPES)), inside_far, wanted)
    own = ~np.isnan(wanted) & ~np.isnan(limit)
    if not own.any():
        return base
    capped = np.where(is_buy, np.fmin(wanted, limit), np.fmax(wanted, limit))
    placed = post_prices(P.POST_LIMIT, is_buy, capped, same_best, far, resting, tick_rule)
    return np.where(own & (kind != P.NO_POST), placed, base)
