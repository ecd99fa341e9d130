"""One underlier tick: reprice a 2,000-option chain and its quotes on 4 venues, and recompute
the limits of N working orders tied to the underlier, for N = 1k, 10k, 100k; then the same tick
end to end through the engine, for N = 10k and 100k working orders.

The chain goes through the simulated market's own code (ChainModel: smile + BSM for every
option; quote_prices: delta-bucket widths on the tick grid, once per venue). The orders go
through algos.limits.primary_limits: a mix of price+delta (PrcDe, PrcDeX, PrcDeT) and volatility
limits (Vol, VolPrc), the latter needing a BSM price per order. Medians of repeated ticks.

End to end (``E2E``): the whole router of the test harness (engine, risk, child order manager,
SOR, the harness's AAPL options on its simulated venues), with N working volatility orders
(PrcDe 5098=3, PostLimit 5096=4, SROrderRefDelta 5110 given), each resting one post-only child,
spread over every listed strike and expiry, calls and puts, buys and sells, so their limits
differ. One underlier BookUpdate (XNAS AAPL, the mid moving 1.00, alternately up and down)
shifts every order's target by at least one tick; the figure is the time from
``engine.dispatch(update)`` to the last ReplaceChild released to a venue (the batch releases its
commands at the end of the dispatch; the venues' ``replace`` only records them, so their latency
simulation is not in it), median of --runs updates on one set-up after a warm-up one. The bench
checks that every order got exactly one replace, a tick or more from its price. No store. The algo
settings allow a replace on every update: ``VolatilitySettings(min_rest_ms=0,
max_replaces_per_s=1e9)``; the account may hold N working orders. Between updates the bench
answers the commands as the venues would (ChildAccepted, ChildReplaced), outside the timing,
and the heap is frozen before each update as ``router serve`` does every 10 s (``gc.freeze``).

Option batch (``--option-batch``): N working alpha-making parents (PostOnly 5094=2, PostWith
5096=1, buys and sells, resting on XISX) on the harness's 20 AAPL options, and ONE engine batch
holding a BookUpdate for every option (XCBO's market maker narrows its bid and offer by 0.10
each, then back), timed from dispatch to the last ReplaceChild; every parent must get one replace.
"before" repriced them one parent at a time (``on_market`` per parent: the runtime's fallback,
forced by hiding ``on_option_batch``), "after" in one pass per underlier (``on_option_batch``).
Figures: parents repriced per second, median of --runs batches.

    python bench/tick_reprice.py [--repeat 30] [--runs 7] [--e2e-only] [--option-batch]

Last line: chain=2000 venues=4 orders_1k_ms=… orders_10k_ms=… orders_100k_ms=… chain_ms=…
e2e_replace_10k_ms=… e2e_replace_100k_ms=… e2e_10k_us_per_order=… e2e_100k_us_per_order=…
With --option-batch, only that case; last line: option_batch_parents=… before_parents_per_s=…
after_parents_per_s=… speedup=…
"""
from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from algos.alpha_making import AlphaMakingAlgo  # noqa: E402
from algos.limits import LimitInputs, primary_limits  # noqa: E402
from router.app import build_system, load_settings  # noqa: E402
from router.clock import SimClock, datetime_to_ns, ns_to_datetime  # noqa: E402
from router.config import (AccountConfig, AccountLimits, Accounts, AlgoSettings, AlphaMakingSettings,  # noqa: E402
                           VolatilitySettings)
from router.domain.commands import AlgoParams, ClientRequest, InstrumentSpec, NewOrder  # noqa: E402
from router.domain.enums import BalanceHandling, LimitType, OrderHandling, OrdType, Side, TimeInForce  # noqa: E402
from router.domain.events import (BookLevel, BookUpdate, ChildAccepted, ChildReplaced, ReplaceChild,  # noqa: E402
                                  SubmitChild)
from router.domain.orders import ChildStatus  # noqa: E402
from router.domain.instruments import Instrument, InstrumentKind, PutCall, format_osi  # noqa: E402
from router.market.quoting import quote_prices  # noqa: E402
from router.market.simulation import ChainModel, Smile  # noqa: E402

VENUE_WIDTHS = (1.10, 1.00, 0.95, 0.90)
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)
EXPIRIES = [date(2026, 12, 18), date(2027, 1, 15), date(2027, 2, 19), date(2027, 3, 19), date(2027, 6, 18),
            date(2027, 9, 17), date(2027, 12, 17), date(2028, 1, 21), date(2028, 6, 16), date(2028, 12, 15)]


def build_chain() -> list[Instrument]:
    strikes = np.arange(100.0, 300.0, 2.0)                     # 100 strikes x 10 expiries x 2 = 2,000
    return [Instrument(format_osi("AAPL", e, pc, float(k)), InstrumentKind.OPTION, "AAPL", e, pc, float(k),
                       underlying_kind=InstrumentKind.EQUITY)
            for e in EXPIRIES for k in strikes for pc in (PutCall.CALL, PutCall.PUT)]


def tied_orders(n: int, chain: ChainModel, fair: np.ndarray, delta: np.ndarray, rng: np.random.Generator
                ) -> LimitInputs:
    pick = rng.integers(0, len(chain.options), n)
    kinds = np.array([LimitType.PRC_DE, LimitType.PRC_DE_X, LimitType.PRC_DE_T, LimitType.VOL, LimitType.VOL_PRC])
    years = chain.years(datetime_to_ns(NOW))
    return LimitInputs.of(limit_type=kinds[rng.integers(0, len(kinds), n)], is_buy=rng.random(n) < 0.5,
                          price=fair[pick], ref_underlier=np.full(n, 200.0), delta=delta[pick],
                          gamma=np.full(n, 0.02), theta=np.full(n, -15.0), elapsed_years=np.full(n, 1e-4),
                          vol_limit=rng.uniform(0.15, 0.45, n),
                          strike=np.array([chain.options[i].strike for i in pick]), years=years[pick],
                          is_call=np.array([chain.options[i].is_call for i in pick]), offset=np.full(n, 0.01),
                          rate=np.full(n, 0.04))


def median_ms(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


# ---------------------------------------------------------------------------------------------
# End to end: one underlier BookUpdate through the engine to the venues' ReplaceChild commands

E2E_SETTINGS = AlgoSettings(volatility=VolatilitySettings(min_rest_ms=0.0, max_replaces_per_s=1e9),
                            alpha_making=AlphaMakingSettings(min_rest_ms=0.0, max_replaces_per_s=1e9))
E2E_SESSION = "FIX.4.4:ROUTER->CLIENT1"
E2E_UNDERLIER, E2E_UNDERLIER_VENUE = "AAPL", "XNAS"
E2E_QUOTE_VENUES = ("XCBO", "XISX")
E2E_MIDS = (200.0, 201.0)          # the underlier moves back and forth between these


class E2E:
    """The whole router (engine, SOR, risk, child order manager) on a simulated clock with N
    working tied orders on the harness's AAPL options. The option venues' market makers are
    real SimVenue books; the router's own commands are answered by the bench (ChildAccepted,
    ChildReplaced) instead of going through the venues' latency simulation, and the underlier
    BookUpdate is handed to the engine directly, so the timed part is the engine alone."""

    def __init__(self, n: int) -> None:
        settings = load_settings()
        limits = AccountLimits(max_order_qty=1_000, max_order_notional=10_000_000.0, max_open_orders=n + 1)
        accounts = Accounts(default_limits=limits, accounts={"CLIENT1": AccountConfig(name="CLIENT1", limits=limits)})
        self.clock = SimClock.at(NOW)
        self.system = build_system(clock=self.clock, market=settings.router.market, venue_configs=settings.venues,
                                   accounts=accounts, engine_config=settings.router.engine, send=lambda report: None,
                                   persistence=None, background=False, algo_settings=E2E_SETTINGS)
        self.engine = self.system.engine
        self.n = n
        self._commands: list = []            # the router's commands, answered between runs
        self._quote_market()
        for venue in self.system.venues.values():
            venue.submit = venue.replace = venue.cancel = self._commands.append
        self._mid = E2E_MIDS[0]
        self._send_orders()
        self._answer()
        children = [c for c in self.engine.orders.children.values() if c.is_open]
        assert len(children) == n and all(c.post_only and c.status is ChildStatus.NEW for c in children), \
            f"{len(children)} of {n} orders rest a post-only child"

    def _quote_market(self) -> None:
        venues = self.system.venues
        mid = E2E_MIDS[0]
        venues[E2E_UNDERLIER_VENUE].place("smm", "u", E2E_UNDERLIER, Side.BUY, 50_000, round(mid - 0.01, 2))
        venues[E2E_UNDERLIER_VENUE].place("smm", "u2", E2E_UNDERLIER, Side.SELL, 50_000, round(mid + 0.01, 2))
        self.clock.advance(50_000_000)
        self.options = sorted((o for o in self.system.securities.options() if o.underlying == E2E_UNDERLIER),
                              key=lambda o: (o.expiry, o.strike, o.put_call.value))
        now = self.clock.now_ns()
        self.bbo = {}
        for k, option in enumerate(self.options):
            fair = float(self.engine.model.greeks(option, now).price)
            bid = option.tick_rule.round_passive(max(fair, 2.5) - 0.20, True)   # room for every limit behind it
            ask = option.tick_rule.round_passive(bid + 0.40, False)
            self.bbo[option.symbol] = (bid, ask)
            for venue in E2E_QUOTE_VENUES:
                venues[venue].place("mm", f"b{k}{venue}", option.symbol, Side.BUY, 50, bid)
                venues[venue].place("mm", f"a{k}{venue}", option.symbol, Side.SELL, 50, ask)
        self.clock.advance(50_000_000)

    def _send_orders(self) -> None:
        """Order i: option i mod 20 (every strike and expiry, calls and puts), buys and sells in
        turn, |delta| 0.2-0.8 and a limit 0.9-1.4 behind the market, so the PostLimit targets
        differ and a 1.00 underlier move shifts each by 0.2-0.8 without reaching the far side."""
        engine, n_opt = self.engine, len(self.options)
        for i in range(self.n):
            option = self.options[i % n_opt]
            buy = (i // n_opt) % 2 == 0
            bid, ask = self.bbo[option.symbol]
            behind = 0.90 + 0.01 * (i % 50)
            limit = option.tick_rule.round_passive(bid - behind if buy else ask + behind, buy)
            delta = (0.2 + 0.6 * ((i * 7919) % 101) / 100) * (1 if option.is_call else -1)
            cmd = NewOrder(cl_ord_id=f"E{i}", instrument=InstrumentSpec(symbol=option.symbol),
                           side=Side.BUY if buy else Side.SELL, qty=1 + i % 10, ord_type=OrdType.LIMIT, price=limit,
                           time_in_force=TimeInForce.DAY, transact_time=ns_to_datetime(self.clock.now_ns()),
                           algo=AlgoParams(limit_type=LimitType.PRC_DE, balance_handling=BalanceHandling.POST_LIMIT,
                                           order_ref_delta=delta, order_ref_gamma=0.0,
                                           order_ref_theta=0.0))
            engine.dispatch(ClientRequest(E2E_SESSION, "CLIENT1", "D", None, cmd))

    def _answer(self) -> None:
        """Play the venues: accept every new child, apply every replace."""
        dispatch = self.engine.dispatch
        commands, self._commands = self._commands, []
        for command in commands:
            if isinstance(command, SubmitChild):
                dispatch(ChildAccepted(command.child_id, command.venue))
            elif isinstance(command, ReplaceChild):
                dispatch(ChildReplaced(command.child_id, command.venue, command.qty, command.price))
            else:
                raise AssertionError(f"unexpected {command!r}")
        self.clock.advance(1_000_000)

    def run(self) -> float:
        """Move the underlier to its other mid: the ms ``engine.dispatch(update)`` takes, which is
        to the last ReplaceChild released to a venue (a batch releases its commands at its end)."""
        self._mid = E2E_MIDS[1] if self._mid == E2E_MIDS[0] else E2E_MIDS[0]
        update = BookUpdate(E2E_UNDERLIER_VENUE, E2E_UNDERLIER, (BookLevel(round(self._mid - 0.01, 2), 50_000),),
                            (BookLevel(round(self._mid + 0.01, 2), 50_000),))
        replaces: list[ReplaceChild] = []
        for venue in self.system.venues.values():
            venue.replace = replaces.append       # recorded only: no latency simulation in the timing
        started = time.perf_counter()
        self.engine.dispatch(update)
        elapsed_ms = (time.perf_counter() - started) * 1000
        self._check(replaces)
        self._commands.extend(replaces)
        self._answer()
        return elapsed_ms

    def _check(self, replaces: list[ReplaceChild]) -> None:
        """Every order got exactly one replace, to a price at least a tick from where it rested."""
        children = self.engine.orders.children
        ids = {c.child_id for c in replaces}
        assert len(replaces) == self.n and len(ids) == self.n, \
            f"{len(replaces)} replaces for {len(ids)} of {self.n} orders"
        for command in replaces:
            child = children[command.child_id]
            rule = self.system.securities.get(child.symbol).tick_rule
            assert command.qty == child.qty and abs(rule.ticks_between(child.price, command.price)) >= 1 - 1e-6, \
                f"{command} does not move {child.child_id} from {child.price}"


def e2e_median_ms(n: int, runs: int) -> float:
    bench = E2E(n)
    bench.run()                       # warm-up
    times = []
    for _ in range(runs):
        gc.collect()
        gc.freeze()                   # as router serve does every 10 s: the live orders are not walked
        times.append(bench.run())     # by the collector (what this update allocates still is)
    gc.unfreeze()
    return statistics.median(times)


class OptionBatchE2E(E2E):
    """N alpha-making parents resting on XISX; each run is one engine batch of XCBO BookUpdates,
    one per option, the market maker's bid and offer 0.10 closer, then back (module docstring)."""

    def _send_orders(self) -> None:
        engine, n_opt = self.engine, len(self.options)
        self._up = False
        for i in range(self.n):
            option = self.options[i % n_opt]
            buy = (i // n_opt) % 2 == 0
            bid, ask = self.bbo[option.symbol]
            limit = option.tick_rule.round_passive(bid + 0.25 if buy else ask - 0.25, buy)
            cmd = NewOrder(cl_ord_id=f"M{i}", instrument=InstrumentSpec(symbol=option.symbol),
                           side=Side.BUY if buy else Side.SELL, qty=1 + i % 10, ord_type=OrdType.LIMIT, price=limit,
                           time_in_force=TimeInForce.DAY, transact_time=ns_to_datetime(self.clock.now_ns()),
                           algo=AlgoParams(order_handling=OrderHandling.POST_ONLY,
                                           balance_handling=BalanceHandling.POST_WITH, exchanges=("XISX",)))
            engine.dispatch(ClientRequest(E2E_SESSION, "CLIENT1", "D", None, cmd))

    def run(self) -> float:
        self._up = not self._up
        shift = 0.10 if self._up else 0.0
        updates = []
        for option in self.options:
            bid, ask = self.bbo[option.symbol]
            updates.append(BookUpdate("XCBO", option.symbol, (BookLevel(round(bid + shift, 2), 50),),
                                      (BookLevel(round(ask - shift, 2), 50),)))
        replaces: list[ReplaceChild] = []
        for venue in self.system.venues.values():
            venue.replace = replaces.append
        engine = self.engine
        batch = lambda: [engine._handle_safely(u) for u in updates]      # noqa: E731  one batch, all options
        started = time.perf_counter()
        engine.dispatch(batch)
        elapsed_ms = (time.perf_counter() - started) * 1000
        self._check(replaces)
        self._commands.extend(replaces)
        self._answer()
        return elapsed_ms


def option_batch_figures(n: int, runs: int) -> tuple[float, float]:
    """(before, after) parents repriced per second for one batch of every option's book."""
    figures = []
    for batched in (False, True):
        if not batched:
            AlphaMakingAlgo.on_option_batch = None          # the runtime falls back to on_market, one by one
        try:
            bench = OptionBatchE2E(n)
            bench.run()
            times = []
            for _ in range(runs):
                gc.collect()
                gc.freeze()
                times.append(bench.run())
            gc.unfreeze()
        finally:
            if not batched:
                del AlphaMakingAlgo.on_option_batch
        figures.append(n / (statistics.median(times) / 1000))
        print(f"{n} alpha-making parents, {'one pass per underlier' if batched else 'one parent at a time'}: "
              f"{statistics.median(times):.1f} ms per batch, {figures[-1]:,.0f} parents/s", flush=True)
    return figures[0], figures[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--runs", type=int, default=7, help="end-to-end underlier updates per size")
    parser.add_argument("--e2e-only", action="store_true", help="only the end-to-end case")
    parser.add_argument("--e2e-sizes", default="10000,100000", help=argparse.SUPPRESS)
    parser.add_argument("--option-batch", action="store_true", help="only the option-batch case")
    parser.add_argument("--option-parents", type=int, default=2000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.option_batch:
        before, after = option_batch_figures(args.option_parents, args.runs)
        print(f"option_batch_parents={args.option_parents} before_parents_per_s={before:.0f} "
              f"after_parents_per_s={after:.0f} speedup={after / before:.2f}")
        return
    e2e = {10_000: float("nan"), 100_000: float("nan")}
    for n in (int(x) for x in args.e2e_sizes.split(",")):
        e2e[n] = e2e_median_ms(n, args.runs)
        print(f"{n:>7} working tied orders end to end: {e2e[n]:8.2f} ms to the last replace "
              f"({e2e[n] * 1000 / n:.2f} us/order)", flush=True)
        gc.collect()
    if args.e2e_only:
        return
    rng = np.random.default_rng(5)
    chain = ChainModel(build_chain(), {"AAPL": Smile(0.28, -0.25, 0.4)}, rate=0.04)
    now_ns = datetime_to_ns(NOW)
    spots = iter(200.0 + np.cumsum(rng.normal(0, 0.05, 100_000)))

    def reprice_chain():
        fair, delta, _ = chain.value({"AAPL": next(spots)}, now_ns)
        return [quote_prices(fair, delta, width_multiplier=w) for w in VENUE_WIDTHS]

    chain_ms = median_ms(reprice_chain, args.repeat)
    fair, delta, _ = chain.value({"AAPL": 200.0}, now_ns)
    figures = {}
    for n, label in ((1_000, "1k"), (10_000, "10k"), (100_000, "100k")):
        orders = tied_orders(n, chain, fair, delta, rng)
        figures[label] = median_ms(lambda: primary_limits(orders, next(spots)), args.repeat)
        print(f"{n:>7} tied orders: {figures[label]:8.2f} ms  ({figures[label] * 1000 / n:.2f} us/order)")
    print(f"chain of {len(chain.options)} options on {len(VENUE_WIDTHS)} venues: {chain_ms:.2f} ms per tick")
    print(f"chain={len(chain.options)} venues={len(VENUE_WIDTHS)} orders_1k_ms={figures['1k']:.2f} "
          f"orders_10k_ms={figures['10k']:.2f} orders_100k_ms={figures['100k']:.2f} chain_ms={chain_ms:.2f} "
          f"e2e_replace_10k_ms={e2e[10_000]:.2f} e2e_replace_100k_ms={e2e[100_000]:.2f} "
          f"e2e_10k_us_per_order={e2e[10_000] * 1000 / 10_000:.2f} "
          f"e2e_100k_us_per_order={e2e[100_000] * 1000 / 100_000:.2f}")


if __name__ == "__main__":
    main()
