"""The backtest's order flow: a seeded stream of parent orders over a trading window.

Each parent is a buy or a sell of one option (ATM or OTM, on one of a few expiries) of a market,
for 1 to ``max_size_x`` times the market's typical displayed size (a level's average quote
size), arriving at a Poisson time in the window and working for ``duration_s``. The same seed
and the same chain give the same flow, so every contender trades exactly the same parents.

Our definitions: ATM is the listed strike nearest the underlier's spot; OTM is the first or
second listed strike beyond it on the option's out-of-the-money side (calls above, puts below).
Sizes are drawn so that about half the parents fit within one level and a tail runs to
``max_size_x`` levels (size = 1 + floor(displayed x max_size_x x u^2), u uniform).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router.domain.enums import Side
from router.domain.instruments import Instrument

US, CRYPTO = "us", "crypto"
_MARKET_OF = {US: "us_equity_options", CRYPTO: "crypto"}


@dataclass(frozen=True, slots=True)
class ParentSpec:
    seq: int
    market: str                 # "us" or "crypto"
    symbol: str
    side: Side
    qty: int
    arrival_s: float            # seconds after the window opens
    duration_s: int             # SROrderDuration (5086): the parent expires this long after arrival
    moneyness: str              # "ATM" or "OTM"


@dataclass(frozen=True, slots=True)
class FlowSpec:
    parents: int
    window_s: float             # arrivals fall in [0, window_s)
    duration_s: int = 60
    displayed: float = 30.0     # the market's typical displayed size per level, contracts
    max_size_x: float = 3.0
    expiries: int = 3           # the nearest this many expiries (fewer if fewer are listed)


def option_choices(options: list[Instrument], spots: dict[str, float], expiries: int) -> list[tuple[Instrument, str]]:
    """(option, "ATM"/"OTM") the flow draws from: per underlier and expiry, the calls and puts at
    the ATM strike and at the first two OTM strikes on each side."""
    chosen: list[tuple[Instrument, str]] = []
    by_underlier: dict[str, list[Instrument]] = {}
    for option in options:
        by_underlier.setdefault(option.underlying, []).append(option)
    for underlier in sorted(by_underlier):
        spot = spots[underlier]
        listed = by_underlier[underlier]
        for expiry in sorted({o.expiry for o in listed})[:expiries]:
            on_expiry = [o for o in listed if o.expiry == expiry]
            strikes = sorted({o.strike for o in on_expiry})
            atm = min(strikes, key=lambda k: (abs(k - spot), k))
            above = [k for k in strikes if k > atm][:2]
            below = [k for k in strikes if k < atm][-2:]
            for option in sorted(on_expiry, key=lambda o: (o.strike, o.symbol)):
                if option.strike == atm:
                    chosen.append((option, "ATM"))
                elif (option.is_call and option.strike in above) or (not option.is_call and option.strike in below):
                    chosen.append((option, "OTM"))
    return chosen


def make_flow(market: str, options: list[Instrument], spots: dict[str, float], spec: FlowSpec,
              seed: int) -> list[ParentSpec]:
    """``spec.parents`` parents on ``market``'s options, sorted by arrival; deterministic for a seed."""
    if market not in _MARKET_OF:
        raise ValueError(f"market must be one of {sorted(_MARKET_OF)}, not {market!r}")
    if spec.parents < 0 or spec.window_s <= 0 or spec.duration_s <= 0:
        raise ValueError(f"flow: parents ({spec.parents}) must be >= 0, window_s ({spec.window_s}) and "
                         f"duration_s ({spec.duration_s}) > 0")
    listed = [o for o in options if o.is_option and o.market == _MARKET_OF[market]]
    choices = option_choices(listed, spots, spec.expiries)
    if not choices and spec.parents:
        raise ValueError(f"flow: no {market} options listed around spot for underliers {sorted(spots)}")
    rng = np.random.default_rng([seed, 0 if market == US else 1])
    n = spec.parents
    arrivals = np.sort(rng.uniform(0.0, spec.window_s, n))
    picks = rng.integers(0, len(choices), n) if n else np.zeros(0, dtype=int)
    buys = rng.random(n) < 0.5
    sizes = 1 + np.floor(spec.displayed * spec.max_size_x * rng.random(n) ** 2).astype(int)
    return [ParentSpec(i, market, choices[pick][0].symbol, Side.BUY if buy else Side.SELL, int(size),
                       round(float(at), 6), spec.duration_s, choices[pick][1])
            for i, (at, pick, buy, size) in enumerate(zip(arrivals, picks, buys, sizes))]
