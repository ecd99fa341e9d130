"""Markouts of our passive fills on the simulated market, with informed takers on and off.

    .venv/bin/python bench/markouts.py [--quick] [--minutes M] [--seed S] [--venues XISX,ARCO,BATO]

The simulated market (venues/sim/market.py: one option venue and the stock venue, their market
makers and takers, on the simulated clock; no engine, no FIX, no store) runs with our resting
children on both sides of every option the venue lists, worked the way the engine's child
order manager would: sent with SubmitChild/ReplaceChild through the venue's latency, one
command in flight per child, and re-pegged on every book update to the venue market maker's
touch, one tick inside it when its spread leaves room (so that we are the touch), joining it
otherwise. Post-only, so a peg that arrives late is refused rather than taking.

Each passive fill's markout at horizon h is the move of the venue market maker's quoted mid
(the middle of the prices it quotes, so neither our orders nor a taker's passing sweep of a level
move it) from the fill to h later, signed by our side: ``side * (mid(t+h) - mid(t))``, so a
negative markout is adverse (we bought before the price fell, sold before it rose). Reported as
the mean over fills in ticks of the option (its tick at the fill price) and in $ per contract
(x the multiplier), at 1 s, 10 s and 60 s. Quoting stops 60 s before the end so every fill has
all three horizons. The same seed runs twice: with the informed takers of [market.informed]
(``--informed-per-second`` if the config has them off) and without them; both runs share the
underlier path and the uninformed arrivals (venues/sim/background.py's random streams).

Standard errors are clustered by underlier and 10 s window (fills on one underlier close in
time share its path), and the on-minus-off difference is given in paired standard errors.

Without informed takers the quoted-mid markouts come out slightly positive (about +0.03 ticks
at 1 s): the quoted mid is the value rounded out to the tick grid, and that rounding offset
reverts as the value moves on, which favours an order filled in the instant after the maker
re-quotes. Against the true value (printed as a check: the router never sees it) the same fills
mark out near zero (+0.006 +- 0.008 ticks at 1 s, XISX and ARCO, 5 minutes, seed 7).
Last line: key=value pairs.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from router.clock import NANOS_PER_SECOND, SimClock  # noqa: E402
from router.config import MarketConfig, VenueConfig, load_router_config, load_venues  # noqa: E402
from router.domain.enums import Side, TimeInForce  # noqa: E402
from router.domain.events import (BookUpdate, ChildCanceled, ChildFilled, ChildRejected, ChildReplaced,  # noqa: E402
                                  ChildReplaceRejected, ReplaceChild, SubmitChild)
from router.domain.instruments import Instrument  # noqa: E402
from router.market.securities import SecurityMaster  # noqa: E402
from venues.sim.market import build_sim_market  # noqa: E402
from venues.sim.matching import from_ticks  # noqa: E402
from venues.sim.venue import PRICE_TICK, ROUTER, SimVenue  # noqa: E402

CONFIG = ROOT / "config" / "router.toml"
START = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)      # 10:00 New York
HORIZONS_S = (1, 10, 60)
CLUSTER_S = 10                   # fills of one underlier within this window count as one cluster for the errors
VENUES = ("XISX", "ARCO", "BATO")       # price-time option venues we quote on
STOCK_VENUE = "XNAS"
QUICK_SECONDS, QUICK_VENUES = 180.0, ("XISX",)
INFORMED_PER_SECOND = 1.0        # arrivals per option book when the config has informed takers off


@dataclass
class Fill:
    venue: str
    symbol: str
    side: Side
    price: float
    mid: float
    tick: float
    multiplier: int
    underlying: str
    at_ns: int
    value: float                                                # the true value (the check)
    later: dict[int, float] = field(default_factory=dict)      # horizon -> mid then
    value_later: dict[int, float] = field(default_factory=dict)

    def markout(self, horizon: int) -> float:
        """$ per share, negative = adverse."""
        return (1.0 if self.side.is_buy else -1.0) * (self.later[horizon] - self.mid)

    def value_markout(self, horizon: int) -> float:
        return (1.0 if self.side.is_buy else -1.0) * (self.value_later[horizon] - self.value)


@dataclass
class _Slot:
    """Our child on one side of one book: at most one, with at most one command in flight."""
    venue: SimVenue
    symbol: str
    side: Side
    child_id: str | None = None
    price: float | None = None
    pending: bool = False


@dataclass(frozen=True)
class MarkoutResult:
    fills: int
    mean_ticks: dict[int, float]
    mean_per_contract: dict[int, float]
    stderr_ticks: dict[int, float]
    informed_orders: int
    value_ticks: dict[int, float]                 # the mean markout against the true value instead
    ticks: dict[int, np.ndarray] = field(repr=False, default_factory=dict)     # each fill's markout
    clusters: np.ndarray = field(repr=False, default_factory=lambda: np.array([]))

    def line(self, suffix: str = "") -> str:
        return " ".join(f"markout_{h}s{suffix}={self.mean_ticks[h]:.4f}" for h in HORIZONS_S)


def maker_touch(venue: SimVenue, symbol: str) -> tuple[float | None, float | None]:
    """Best bid and ask of everyone but us."""
    book = venue.book(symbol)
    best = []
    for side in (Side.BUY, Side.SELL):
        price = next((o.price_ticks for o in book.resting(side) if o.owner != ROUTER), None)
        best.append(None if price is None else from_ticks(price, PRICE_TICK))
    return best[0], best[1]


def peg_price(option: Instrument, side: Side, bid: float | None, ask: float | None) -> float | None:
    """One tick inside the maker's touch when that leaves the spread at least a tick wide, else the touch."""
    if bid is None or ask is None:
        return None
    rule = option.tick_rule
    inside_bid = round(bid + rule.tick_at(bid), 4)
    inside_ask = round(ask - rule.tick_at(ask - 1e-6), 4)
    if inside_bid < inside_ask - 1e-9:
        return inside_bid if side.is_buy else inside_ask
    return bid if side.is_buy else ask


class PassiveQuoter:
    """Our resting children on some venues, pegged as the module docstring says; records fills.
    ``mid_of(venue, symbol)``: the reference mid of a book."""

    def __init__(self, clock: SimClock, venues: list[SimVenue], options: list[Instrument],
                 mid_of: Callable[[str, str], float | None], value_of: Callable[[str], float]) -> None:
        self.clock = clock
        self.venues = {v.name: v for v in venues}
        self.mid_of = mid_of
        self.value_of = value_of
        self.options = {o.symbol: o for o in options}
        self.slots = {(v.name, o.symbol, side): _Slot(v, o.symbol, side) for v in venues for o in options
                      if v.lists(o.symbol) for side in (Side.BUY, Side.SELL)}
        self.by_child: dict[str, _Slot] = {}
        self.fills: list[Fill] = []
        self.quoting = True
        self._seq = 0

    # the venue's sinks
    def on_report(self, report) -> None:
        slot = self.by_child.get(report.child_id)
        if slot is None:
            return
        if isinstance(report, ChildFilled):
            self._record(slot, report)
            self._done(slot)
        elif isinstance(report, (ChildCanceled, ChildRejected)):
            self._done(slot)
        elif isinstance(report, ChildReplaced):
            slot.price, slot.pending = report.price, False
            self._peg(slot)
        elif isinstance(report, ChildReplaceRejected):
            slot.pending = False

    def on_market(self, event) -> None:
        if isinstance(event, BookUpdate) and (event.venue, event.symbol, Side.BUY) in self.slots:
            for side in (Side.BUY, Side.SELL):
                self._peg(self.slots[(event.venue, event.symbol, side)])

    def _done(self, slot: _Slot) -> None:
        if slot.child_id is not None:
            self.by_child.pop(slot.child_id, None)
        slot.child_id, slot.price, slot.pending = None, None, False
        self._peg(slot)

    def _peg(self, slot: _Slot) -> None:
        if not self.quoting or slot.pending:
            return
        option = self.options[slot.symbol]
        venue = slot.venue
        target = peg_price(option, slot.side, *maker_touch(venue, slot.symbol))
        if target is None or (slot.price is not None and abs(target - slot.price) < 1e-9):
            return
        slot.pending = True
        if slot.child_id is None:
            self._seq += 1
            slot.child_id, slot.price = f"Q{self._seq}", target
            self.by_child[slot.child_id] = slot
            venue.submit(SubmitChild(slot.child_id, venue.name, slot.symbol, slot.side, 1, target,
                                     TimeInForce.DAY, post_only=True))
        else:
            venue.replace(ReplaceChild(slot.child_id, venue.name, 1, target, 0))

    def _record(self, slot: _Slot, report: ChildFilled) -> None:
        option = self.options[slot.symbol]
        mid = self.mid_of(slot.venue.name, slot.symbol)
        if mid is None:
            return
        fill = Fill(slot.venue.name, slot.symbol, slot.side, report.price, mid, option.tick_rule.tick_at(report.price),
                    option.multiplier, option.underlying, self.clock.now_ns(), self.value_of(slot.symbol))
        self.fills.append(fill)
        for horizon in HORIZONS_S:
            self.clock.call_later(horizon * NANOS_PER_SECOND, lambda h=horizon: self._mark(fill, h))

    def _mark(self, fill: Fill, horizon: int) -> None:
        mid = self.mid_of(fill.venue, fill.symbol)
        if mid is not None:
            fill.later[horizon] = mid
            fill.value_later[horizon] = self.value_of(fill.symbol)


def load_market(config_path: Path = CONFIG) -> tuple[MarketConfig, list[VenueConfig]]:
    router = load_router_config(config_path)
    return router.market, load_venues(config_path.parent / router.venues)


def run_markouts(market: MarketConfig, venue_configs: list[VenueConfig], *, venues: tuple[str, ...] = VENUES,
                 quote_seconds: float = 600.0) -> MarkoutResult:
    """Run the market with our passive quoter on ``venues`` for ``quote_seconds``, then 60 s more."""
    configs = [v for v in venue_configs if v.name in venues or (v.kind == "equity" and v.name == STOCK_VENUE)]
    clock = SimClock.at(START)
    securities = SecurityMaster.from_chains(market.underliers, START.date())
    sinks: dict = {}
    sim = build_sim_market(clock, securities, market, configs, lambda r: sinks["report"](r),
                           lambda e: sinks["market"](e))
    makers = {m.venue.name: m for m in sim.background.option_makers}
    options = makers[venues[0]].options             # the chain the makers quote, in their index order
    index = {o.symbol: i for i, o in enumerate(options)}

    def quoted_mid(venue: str, symbol: str) -> float | None:
        quoted = makers[venue].quoted.get(index[symbol])
        return None if quoted is None else (quoted[0] + quoted[1]) / 2
    quoter = PassiveQuoter(clock, [sim.venues[name] for name in venues], options, quoted_mid,
                           lambda symbol: sim.background.fair[symbol])
    sinks["report"], sinks["market"] = quoter.on_report, quoter.on_market
    sim.background.start()
    clock.advance(int(quote_seconds * NANOS_PER_SECOND))
    quoter.quoting = False
    clock.advance((max(HORIZONS_S) + 1) * NANOS_PER_SECOND)
    sim.background.stop()
    return summarise([f for f in quoter.fills if len(f.later) == len(HORIZONS_S)],
                     sum(t.orders for t in sim.background.informed))


def clustered_stderr(values: np.ndarray, clusters: np.ndarray) -> float:
    """Standard error of the mean when values in one cluster may be correlated (the sandwich
    estimator: sum over clusters of the squared residual sums, over n squared)."""
    n = len(values)
    if n < 2:
        return math.nan
    residuals = values - values.mean()
    _, index = np.unique(clusters, return_inverse=True)
    sums = np.bincount(index, weights=residuals)
    return float(math.sqrt((sums ** 2).sum()) / n)


def summarise(fills: list[Fill], informed_orders: int) -> MarkoutResult:
    """Means per horizon; standard errors clustered by underlier and CLUSTER_S window, since fills
    on one underlier close in time share its path (and an informed taker may pick off the same
    book again and again)."""
    ticks = {h: np.array([f.markout(h) / f.tick for f in fills]) for h in HORIZONS_S}
    dollars = {h: np.array([f.markout(h) * f.multiplier for f in fills]) for h in HORIZONS_S}
    clusters = np.array([f"{f.underlying}:{f.at_ns // (CLUSTER_S * NANOS_PER_SECOND)}" for f in fills])
    return MarkoutResult(
        fills=len(fills),
        mean_ticks={h: float(ticks[h].mean()) if fills else math.nan for h in HORIZONS_S},
        mean_per_contract={h: float(dollars[h].mean()) if fills else math.nan for h in HORIZONS_S},
        stderr_ticks={h: clustered_stderr(ticks[h], clusters) for h in HORIZONS_S},
        informed_orders=informed_orders,
        value_ticks={h: float(np.mean([f.value_markout(h) / f.tick for f in fills])) if fills else math.nan
                     for h in HORIZONS_S},
        ticks=ticks, clusters=clusters)


def z_worse(on: MarkoutResult, off: MarkoutResult, horizon: int) -> float:
    """The difference of the mean markouts (with informed takers minus without), in standard
    errors of that difference, clustered as in ``summarise`` and paired by cluster: both runs
    share the seed, so the same underlier path and the same uninformed arrivals (the streams of
    venues/sim/background.py), and each cluster's path move enters both means."""
    contributions: dict[str, float] = {}
    for result, sign in ((on, 1.0), (off, -1.0)):
        values = result.ticks[horizon]
        residuals = (values - values.mean()) / len(values)
        for key, residual in zip(result.clusters, residuals):
            contributions[key] = contributions.get(key, 0.0) + sign * residual
    stderr = math.sqrt(sum(c * c for c in contributions.values()))
    return (on.mean_ticks[horizon] - off.mean_ticks[horizon]) / stderr


def with_informed(market: MarketConfig, per_second: float | None) -> MarketConfig:
    """The market with informed takers at ``per_second`` (the config's rate, or the bench default
    when the config has them off), or, with 0, without them."""
    if per_second is None:
        per_second = market.informed.per_second or INFORMED_PER_SECOND
    return market.model_copy(update={"informed": market.informed.model_copy(update={"per_second": per_second})})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_SECONDS / 60:g} simulated minutes a run on {QUICK_VENUES[0]} only (under 30 s)")
    parser.add_argument("--minutes", type=float, default=6.0, help="simulated minutes of quoting per run")
    parser.add_argument("--seed", type=int, default=None, help="the market seed (default: config/router.toml's)")
    parser.add_argument("--venues", default=",".join(VENUES), help="option venues to quote on, comma-separated")
    parser.add_argument("--informed-per-second", type=float, default=None)
    args = parser.parse_args()
    market, venues = load_market()
    if args.seed is not None:
        market = market.model_copy(update={"seed": args.seed})
    seconds = QUICK_SECONDS if args.quick else args.minutes * 60
    started = time.perf_counter()
    names = QUICK_VENUES if args.quick else tuple(args.venues.split(","))
    on = run_markouts(with_informed(market, args.informed_per_second), venues, venues=names, quote_seconds=seconds)
    off = run_markouts(with_informed(market, 0.0), venues, venues=names, quote_seconds=seconds)
    wall = time.perf_counter() - started
    print(f"{', '.join(names)}, seed {market.seed}, {seconds / 60:g} simulated minutes of quoting a run, {wall:.1f} s wall")
    print(f"{'':24}{'fills':>7}" + "".join(f"{f'{h} s ticks':>12}{f'{h} s $/ct':>11}" for h in HORIZONS_S))
    for name, result in (("informed takers on", on), ("informed takers off", off)):
        print(f"{name:24}{result.fills:>7}" + "".join(
            f"{result.mean_ticks[h]:>12.4f}{result.mean_per_contract[h]:>11.3f}" for h in HORIZONS_S))
    print("against the true value (ticks): on " + ", ".join(f"{h} s {on.value_ticks[h]:+.4f}" for h in HORIZONS_S)
          + "; off " + ", ".join(f"{h} s {off.value_ticks[h]:+.4f}" for h in HORIZONS_S))
    z = {h: z_worse(on, off, h) for h in HORIZONS_S}
    print(f"informed orders: {on.informed_orders}; standard errors (ticks, clustered by underlier and "
          f"{CLUSTER_S} s) on: " + ", ".join(f"{h} s {on.stderr_ticks[h]:.4f}" for h in HORIZONS_S)
          + "; off: " + ", ".join(f"{h} s {off.stderr_ticks[h]:.4f}" for h in HORIZONS_S))
    print("on minus off, in paired standard errors: " + ", ".join(f"{h} s {z[h]:+.1f}" for h in HORIZONS_S))
    print(on.line() + " " + off.line("_no_informed") + " "
          + " ".join(f"markout_{h}s_usd_per_contract={on.mean_per_contract[h]:.3f}" for h in HORIZONS_S) + " "
          + " ".join(f"markout_{h}s_usd_per_contract_no_informed={off.mean_per_contract[h]:.3f}" for h in HORIZONS_S)
          + " " + " ".join(f"z_{h}s={z[h]:.2f}" for h in HORIZONS_S)
          + f" fills={on.fills} fills_no_informed={off.fills}")


if __name__ == "__main__":
    main()
