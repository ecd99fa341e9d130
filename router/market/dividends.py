"""Rate and dividend overrides from the order tags, and the escrowed-dividend spot.

The tags (SpiderRock CustomTags):
- RateOverride 5118: 0 or absent = ignore, > 0 = the rate to use;
- SDivOverride 5120: a continuous dividend yield;
- DDivOverride 5122: discrete dividends, "years:amount,years:amount,..." possibly in brackets;
- srOverrideCode 5124: which dividend model prices the order. S = the continuous yield only,
  D = the discrete dividends only, B (or absent) = both.

Each dividend component in use takes the override when one is given and the market's value
otherwise. Discrete dividends follow the escrowed-dividend model: the option is priced on spot
less the present value of the dividends that go ex before its expiry.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

Dividends = list[tuple[float, float]]  # (years until ex-date, cash amount)

_SEPARATORS = re.compile(r"[,;\s]+")


class PricingInputs(NamedTuple):
    spot: np.ndarray  # escrowed: less the PV of discrete dividends before each expiry
    rate: float | np.ndarray
    div_yield: float | np.ndarray


def parse_discrete_dividends(text: str) -> Dividends:
    """Parse a DDivOverride string such as "[0.25:0.50,0.5:0.50]" into sorted (years, amount)."""
    body = text.strip()
    if body[:1] in ("[", "("):
        closing = "]" if body[0] == "[" else ")"
        if not body.endswith(closing):
            raise ValueError(f"DDivOverride {text!r}: unbalanced bracket")
        body = body[1:-1].strip()
    if not body:
        return []
    dividends: Dividends = []
    for n, entry in enumerate(_SEPARATORS.split(body), start=1):
        parts = entry.split(":")
        if len(parts) != 2:
            raise ValueError(f"DDivOverride {text!r}: entry {n} {entry!r} is not years:amount")
        try:
            years, amount = float(parts[0]), float(parts[1])
        except ValueError:
            raise ValueError(f"DDivOverride {text!r}: entry {n} {entry!r} is not two numbers") from None
        if not (math.isfinite(years) and years >= 0.0):
            raise ValueError(f"DDivOverride {text!r}: entry {n} years {parts[0]!r} must be >= 0")
        if not (math.isfinite(amount) and amount >= 0.0):
            raise ValueError(f"DDivOverride {text!r}: entry {n} amount {parts[1]!r} must be >= 0")
        dividends.append((years, amount))
    return sorted(dividends)


def escrowed_spot(spot: np.ndarray | float, dividends: Sequence[tuple[float, float]],
                  years: np.ndarray | float, rate: np.ndarray | float) -> np.ndarray:
    """Spot less the PV of dividends with ex-date in (0, years), per option."""
    spot = np.asarray(spot, dtype=float)
    if not dividends:
        return np.broadcast_to(spot, np.broadcast_shapes(spot.shape, np.shape(years))).copy()
    ex_years, amounts = np.asarray(dividends, dtype=float).T
    expiry = np.asarray(years, dtype=float)[..., None]
    pv = np.where((ex_years > 0.0) & (ex_years < expiry),
                  amounts * np.exp(-np.asarray(rate, dtype=float)[..., None] * ex_years), 0.0).sum(axis=-1)
    adjusted = spot - pv
    if np.any(adjusted <= 0.0):
        raise ValueError(f"discrete dividends worth up to {float(np.max(pv)):.6g} exceed the spot")
    return adjusted


def apply_overrides(spot: np.ndarray | float, rate: np.ndarray | float, div_yield: np.ndarray | float,
                    discrete_divs: Sequence[tuple[float, float]] = (), *, years: np.ndarray | float,
                    rate_override: float | None = None, sdiv_override: float | None = None,
                    ddiv_override: str | Sequence[tuple[float, float]] | None = None,
                    override_code: str | None = None) -> PricingInputs:
    """Market inputs adjusted by an order's tags; None means the tag is absent.

    Returns the escrowed spot (one per expiry in `years`), the rate and the continuous yield to
    hand to `bsm` / `implied_vol`. Raises ValueError with the reason on a bad tag value.
    """
    if rate_override is not None:
        if not (math.isfinite(rate_override) and rate_override >= 0.0):
            raise ValueError(f"RateOverride {rate_override} must be >= 0 (0 = ignore)")
        if rate_override > 0.0:
            rate = rate_override
    code = (override_code or "B").upper()
    if code not in ("S", "D", "B"):
        raise ValueError(f"srOverrideCode {override_code!r} must be S (SDivOnly), D (DDivOnly) or B (Both)")
    if sdiv_override is not None and not math.isfinite(sdiv_override):
        raise ValueError(f"SDivOverride {sdiv_override} is not a number")
    if isinstance(ddiv_override, str):
        ddiv_override = parse_discrete_dividends(ddiv_override)

    use_yield, use_discrete = code in ("S", "B"), code in ("D", "B")
    yield_used = (div_yield if sdiv_override is None else sdiv_override) if use_yield else 0.0
    dividends = list(discrete_divs if ddiv_override is None else ddiv_override) if use_discrete else []
    return PricingInputs(escrowed_spot(spot, dividends, years, rate), rate, yield_used)
