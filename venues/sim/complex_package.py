"""Packages (complex orders) for the complex order book: validation, normalisation and the split
of a net price into leg prices. Pure: it knows nothing of FIX, the engine or the venue.

A package is up to 6 option legs plus at most 1 stock leg, each with a side (as the package's
buyer trades it) and a whole ratio. Normalised, the ratios are divided by their GCD and the legs
put in a canonical order (option legs by symbol, then the stock leg) and orientation (the first
leg bought), so the same spread bought and sold meet in one book: selling {+A, -B} at p is
buying the canonical {+A, -B}'s opposite, i.e. a sell of the canonical package at p, while buying
{-A, +B} at p is selling the canonical {+A, -B} at -p.

Prices are integer ticks of the venue's book (0.01). The net price of a package unit is the sum
of ratio x leg price, bought legs plus and sold legs minus, per share. A stock leg's ratio is
given in shares, a multiple of the 100-share unit of trading (``STOCK_UNIT``; Cboe Rule 5.33(a),
"stock-option order": option contracts paired with units of trading of the underlying stock);
the book counts it in units, so its price per share adds in like an option premium per share
(a buy-write of 100 shares at 200.00 and one call sold at 5.00 is a net 195.00).

The leg-price check follows Cboe Rule 5.33(f)(2): a complex order executes only at a net price at
which no option leg trades outside that leg's NBBO (nor at a price of zero), with the legs priced
in $0.01 increments whatever the class's own tick (Cboe Rule 5.4(b)). ``net_range`` is the span
of such prices; ``leg_prices`` picks leg prices inside each NBBO that sum exactly to a net price.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from math import gcd
from typing import Callable, Sequence

from router.domain.enums import Side

MAX_OPTION_LEGS = 6
MAX_STOCK_LEGS = 1
STOCK_UNIT = 100           # shares per ratio unit of a stock leg (the equity unit of trading)

Nbbo = Callable[[str], tuple[int | None, int | None]]     # symbol -> (best bid, best ask) in ticks


class PackageError(ValueError):
    """A package the complex order book refuses, with the reason."""


@dataclass(frozen=True, slots=True)
class LegSpec:
    """What the book must know of a leg's instrument."""
    symbol: str
    is_stock: bool
    underlier: str                   # the symbol itself for a stock
    underlier_is_equity: bool = True


@dataclass(frozen=True, slots=True)
class CanonicalLeg:
    symbol: str
    sign: int                        # +1 bought, -1 sold, by the canonical package's buyer
    ratio: int                       # contracts, or 100-share units for the stock leg
    is_stock: bool = False


@dataclass(frozen=True, slots=True)
class NormalPackage:
    """A validated package in canonical form. ``source[i]`` is the submitted index of canonical
    leg ``i``; ``flipped``: the submitted orientation is the opposite of the canonical one."""
    legs: tuple[CanonicalLeg, ...]
    gcd: int
    flipped: bool
    source: tuple[int, ...]

    @property
    def key(self) -> tuple[CanonicalLeg, ...]:
        return self.legs

    @property
    def is_simple_spread(self) -> bool:
        """Two option legs 1:1, one bought and one sold: the shape the book implies from the legs."""
        return (len(self.legs) == 2 and all(not leg.is_stock and leg.ratio == 1 for leg in self.legs)
                and self.legs[0].sign != self.legs[1].sign)

    def describe(self) -> str:
        return " ".join(f"{'+' if leg.sign > 0 else '-'}{leg.ratio} {leg.symbol.strip()}" for leg in self.legs)

    def canonical_side(self, side: Side) -> Side:
        """The side of the canonical package that ``side`` of the submitted one is."""
        return Side.BUY if side.is_buy != self.flipped else Side.SELL

    def canonical_price(self, price_ticks: int) -> int:
        return -price_ticks if self.flipped else price_ticks

    def leg_qty(self, leg: CanonicalLeg, units: int) -> int:
        """Contracts (shares for the stock leg) of ``leg`` in ``units`` package units."""
        return units * leg.ratio * (STOCK_UNIT if leg.is_stock else 1)


def normalise(legs: Sequence[tuple[str, Side, int]], spec_of: Callable[[str], LegSpec | None],
              allow_cross_underlier: bool = False) -> NormalPackage:
    """Validate ``(symbol, side, ratio)`` legs and put them in canonical form; PackageError names
    the leg and the rule it breaks."""
    if len(legs) < 2:
        raise PackageError(f"a package needs at least 2 legs, got {len(legs)}")
    specs: list[LegSpec] = []
    seen: dict[str, int] = {}
    for index, (symbol, side, ratio) in enumerate(legs):
        if not isinstance(ratio, int) or ratio <= 0:
            raise PackageError(f"leg {index} ({symbol.strip()}) ratio {ratio}: a ratio must be a positive whole number")
        if symbol in seen:
            raise PackageError(f"leg {index}: {symbol.strip()} is already leg {seen[symbol]}; "
                               "the same instrument may appear only once in a package")
        seen[symbol] = index
        if side not in (Side.BUY, Side.SELL):
            raise PackageError(f"leg {index} ({symbol.strip()}) side must be buy or sell, got {side.name}")
        spec = spec_of(symbol)
        if spec is None:
            raise PackageError(f"leg {index}: {symbol.strip()} is not listed")
        specs.append(spec)
    options = [i for i, s in enumerate(specs) if not s.is_stock]
    stocks = [i for i, s in enumerate(specs) if s.is_stock]
    if len(options) > MAX_OPTION_LEGS:
        raise PackageError(f"{len(options)} option legs: a package has at most {MAX_OPTION_LEGS}")
    if not options:
        raise PackageError("a package needs at least one option leg")
    if len(stocks) > MAX_STOCK_LEGS:
        raise PackageError(f"{len(stocks)} stock legs: a package has at most {MAX_STOCK_LEGS}")
    underliers = sorted({specs[i].underlier for i in options})
    if len(underliers) > 1 and not allow_cross_underlier:
        raise PackageError(f"legs on different underliers ({', '.join(underliers)}); this venue takes one underlier "
                           "per package")
    for i in stocks:
        stock = specs[i]
        if not all(specs[o].underlier_is_equity for o in options) or not stock.underlier_is_equity:
            raise PackageError(f"leg {i}: a stock leg ({stock.symbol}) needs an equity underlier; "
                               f"the options here are on {', '.join(underliers)}, not an equity")
        if stock.symbol not in underliers:
            raise PackageError(f"leg {i}: stock leg {stock.symbol} is not the options' underlier "
                               f"({', '.join(underliers)})")
    ratios = []
    for (symbol, _, ratio), spec in zip(legs, specs):
        if spec.is_stock and ratio % STOCK_UNIT:
            raise PackageError(f"stock leg {symbol} ratio {ratio} shares is not a whole number of "
                               f"{STOCK_UNIT}-share units")
        ratios.append(ratio // STOCK_UNIT if spec.is_stock else ratio)
    common = reduce(gcd, ratios)
    order = sorted(range(len(legs)), key=lambda i: (specs[i].is_stock, legs[i][0]))
    flipped = not legs[order[0]][1].is_buy
    canonical = tuple(CanonicalLeg(legs[i][0], (1 if legs[i][1].is_buy else -1) * (-1 if flipped else 1),
                                   ratios[i] // common, specs[i].is_stock) for i in order)
    return NormalPackage(canonical, common, flipped, tuple(order))


def net_price(legs: Sequence[CanonicalLeg], prices: Sequence[int]) -> int:
    return sum(leg.sign * leg.ratio * price for leg, price in zip(legs, prices))


def leg_bounds(legs: Sequence[CanonicalLeg], nbbo: Nbbo) -> list[tuple[int, int]] | str:
    """Each leg's allowed price span, in ticks: at or inside its NBBO, at least one tick (no leg at
    zero). A reason string instead when a leg has no offer to bound it."""
    bounds = []
    for leg in legs:
        bid, ask = nbbo(leg.symbol)
        if ask is None:
            return f"{leg.symbol.strip()} has no offer: no NBBO to price the leg inside"
        low = max(bid if bid is not None else 1, 1)
        if low > ask:
            return f"{leg.symbol.strip()} NBBO is crossed ({bid} > {ask} ticks)"
        bounds.append((low, ask))
    return bounds


def net_range(legs: Sequence[CanonicalLeg], nbbo: Nbbo) -> tuple[int, int] | str:
    """The lowest and highest net price (ticks) the leg-price check allows, or why there is none."""
    bounds = leg_bounds(legs, nbbo)
    if isinstance(bounds, str):
        return bounds
    low = sum(leg.ratio * (lo if leg.sign > 0 else -hi) for leg, (lo, hi) in zip(legs, bounds))
    high = sum(leg.ratio * (hi if leg.sign > 0 else -lo) for leg, (lo, hi) in zip(legs, bounds))
    return low, high


def leg_prices(legs: Sequence[CanonicalLeg], nbbo: Nbbo, net: int) -> list[int] | str:
    """Leg prices (ticks), each inside its leg's bounds, whose signed ratio-weighted sum is exactly
    ``net``; or the reason no such prices exist. Each leg moves from its cheapest end (bid for a
    bought leg, offer for a sold one) by its share of the distance, so the split sits near the
    same point of every leg's spread; the rounding left over goes to the legs that can take it."""
    bounds = leg_bounds(legs, nbbo)
    if isinstance(bounds, str):
        return bounds
    widths = [hi - lo for lo, hi in bounds]
    base = sum(leg.ratio * (lo if leg.sign > 0 else -hi) for leg, (lo, hi) in zip(legs, bounds))
    room = sum(leg.ratio * w for leg, w in zip(legs, widths))
    need = net - base
    if need < 0 or need > room:
        return f"net price {net} ticks is outside the legs' NBBO range {base}..{base + room} ticks"
    steps = [need * w // room if room else 0 for w in widths]
    left = need - sum(leg.ratio * k for leg, k in zip(legs, steps))
    for i in sorted(range(len(legs)), key=lambda i: -legs[i].ratio):
        take = min(widths[i] - steps[i], left // legs[i].ratio)
        steps[i] += take
        left -= take * legs[i].ratio
    if left:
        exact = _exact_steps([leg.ratio for leg in legs], widths, need)
        if exact is None:
            return (f"net price {net} ticks cannot be split into leg prices on the 0.01 grid inside the legs' NBBO "
                    f"with ratios {':'.join(str(leg.ratio) for leg in legs)}")
        steps = exact
    return [lo + k if leg.sign > 0 else hi - k for leg, (lo, hi), k in zip(legs, bounds, steps)]


def _exact_steps(ratios: list[int], widths: list[int], need: int) -> list[int] | None:
    """Whole steps 0 <= k_i <= widths[i] with sum(ratio_i * k_i) == need, by a bounded
    subset-sum over reachable totals (only when the proportional split could not land exactly)."""
    reach: dict[int, tuple[int, ...]] = {0: ()}
    for ratio, width in zip(ratios, widths):
        grown: dict[int, tuple[int, ...]] = {}
        for total, ks in reach.items():
            for k in range(width + 1):
                t = total + ratio * k
                if t > need:
                    break
                grown.setdefault(t, ks + (k,))
        reach = grown
    found = reach.get(need)
    return None if found is None else list(found)
