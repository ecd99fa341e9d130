"""One contender on one market: a fresh router (engine, simulated venues, background market with
its informed takers) on a simulated clock, fed the flow's parents as NewOrder commands, and what
happened to each parent measured from its ExecutionReports and the books.

Per parent (in $, for the whole parent; metrics.py divides by contracts):
- arrival: the NBBO mid and half-spread of the option when the parent is sent;
- cost of its fills: side x (fill - arrival mid) x multiplier + the fill's fee (rebates negative);
- the end charge, our rule for what is left when the order's duration ends: the naive practice's
  last resort, crossing the spread: side x (far touch then - arrival mid) x multiplier + the
  cheapest listed venue's taker fee, per unfilled contract, at the top of the book (no depth walked);
- markouts of each fill at 1/10/60 s: side x (mid then - mid at the fill) x multiplier, as
  router/tca defines them (positive = the market moved our way; negative = adverse selection).
A coin-quoted (BTC) option's amounts are turned into $ at the underlier's mid at arrival.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from router.app import Settings, build_system
from router.clock import NANOS_PER_SECOND, SimClock, ns_to_datetime
from router.domain.commands import ClientRequest, InstrumentSpec, NewOrder
from router.domain.enums import ChildRole, ExecType, Liquidity, OrdType, TimeInForce
from router.domain.events import ExecReport
from venues.fees import FeeError, FeeSchedule

from .contenders import Tuning, order_terms
from .flow import CRYPTO, US, FlowSpec, ParentSpec, make_flow

US_START = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)      # 10:00 New York
WARMUP_S = 30.0              # the market runs this long before the first parent (books, alpha state)
HORIZONS_S = (1, 10, 60)
SESSION, ACCOUNT = "FIX.4.4:ROUTER->BACKTEST", "DESK"
CAPTURE = Path(__file__).resolve().parents[3] / "shared" / "data" / "binance_usdm_btcusdt_20240808.gz"
_MARKETS = {US: "us_equity_options", CRYPTO: "crypto"}


@dataclass(slots=True)
class ParentResult:
    spec: ParentSpec
    arrival_mid: float = float("nan")         # premium units
    half_spread: float = float("nan")         # $ per contract
    dollars_per_point: float = 1.0            # multiplier x (underlier for a coin-quoted premium)
    filled: int = 0
    fill_cost: float = 0.0                    # $, fills, fees included
    fees: float = 0.0                         # $
    passive_qty: int = 0
    end_charge: float = 0.0                   # $, the unfilled balance crossed at the end
    markout: dict[int, float] = field(default_factory=dict)       # horizon -> $ over the fills
    markout_qty: dict[int, int] = field(default_factory=dict)
    rejected: str | None = None               # why the router refused the parent
    skipped: str | None = None                # why it was not sent (no two-sided market at arrival)

    @property
    def counted(self) -> bool:
        return self.rejected is None and self.skipped is None


@dataclass
class MarketSetup:
    """How the simulated market differs from config/router.toml's (the sensitivity axes)."""
    informed_per_second: float | None = None    # None: the config's [market.informed] rate
    latency_x: float = 1.0                      # every venue's order-entry, response and market-data latency x this
    replay: bool = True                         # crypto: replay the Binance capture as the perpetual


def market_settings(settings: Settings, market: str, setup: MarketSetup) -> Settings:
    """The settings with only ``market``'s underliers and venues (the other market would only cost
    time), the setup's informed-taker rate and latency, and the crypto perpetual replayed."""
    kind = _MARKETS[market]
    cfg = settings.router.market
    informed = cfg.informed if setup.informed_per_second is None else \
        cfg.informed.model_copy(update={"per_second": setup.informed_per_second})
    cfg = cfg.model_copy(update={"underliers": [u for u in cfg.underliers if u.market == kind], "informed": informed})
    venues = []
    for venue in settings.venues:
        if venue.market != kind:
            continue
        update = {"latency_ms": venue.latency_ms * setup.latency_x,
                  "market_data_latency_ms": venue.market_data_latency_ms * setup.latency_x}
        if venue.response_latency_ms is not None:
            update["response_latency_ms"] = venue.response_latency_ms * setup.latency_x
        if market == CRYPTO and setup.replay and venue.kind == "equity" and CAPTURE.is_file():
            update["replay"] = str(CAPTURE)
        venues.append(venue.model_copy(update=update))
    router = settings.router.model_copy(update={"market": cfg})
    return Settings(router, venues, settings.accounts, settings.config_path)


class Backtest:
    """One contender's run. ``flow`` is made from the system's own chain (``flow_for``)."""

    def __init__(self, settings: Settings, market: str, seed: int, captures: dict | None = None) -> None:
        self.market = market
        cfg = settings.router.market.model_copy(update={"seed": seed})
        self.clock = SimClock.at(US_START)
        self._results: dict[str, ParentResult] = {}
        self.system = build_system(clock=self.clock, market=cfg, venue_configs=settings.venues,
                                   accounts=settings.accounts, engine_config=settings.router.engine,
                                   send=self._on_report, background=True, algo_settings=settings.router.algos,
                                   captures=captures)
        self.engine = self.system.engine
        self.fees = FeeSchedule.from_configs(settings.venues)
        self._listing = {name: getattr(v, "lists", None) for name, v in self.system.venues.items()}
        self.clock.advance(int(WARMUP_S * NANOS_PER_SECOND))
        self.start_ns = self.clock.now_ns()

    @property
    def replayed(self) -> bool:
        return any(type(v).__name__ == "ReplayVenue" for v in self.system.venues.values())

    def spots(self) -> dict[str, float]:
        spots = {}
        for underlier in self.system.securities.underliers():
            mid = self.engine.books.nbbo(underlier.symbol).mid
            spots[underlier.symbol] = mid if mid is not None else float("nan")
        return spots

    def flow_for(self, spec: FlowSpec, seed: int) -> list[ParentSpec]:
        return make_flow(self.market, self.system.securities.options(), self.spots(), spec, seed)

    # ---- running

    def run(self, contender: str, flow: list[ParentSpec], tuning: Tuning = Tuning(),
            progress: Callable[[float], None] | None = None, step_s: float = 5.0) -> list[ParentResult]:
        for spec in flow:
            self.clock.call_at(self.start_ns + int(spec.arrival_s * NANOS_PER_SECOND),
                               lambda spec=spec: self._send(contender, spec, tuning))
        last = max((s.arrival_s + s.duration_s for s in flow), default=0.0)
        end_ns = self.start_ns + int((last + max(HORIZONS_S) + 1) * NANOS_PER_SECOND)
        step = int(step_s * NANOS_PER_SECOND)
        while self.clock.now_ns() < end_ns:
            before = self.clock.now_ns()
            self.clock.advance_to(min(before + step, end_ns))
            if progress is not None:
                progress((self.clock.now_ns() - before) / NANOS_PER_SECOND)
        return [self._results[self._cl_ord_id(spec)] for spec in flow]

    @staticmethod
    def _cl_ord_id(spec: ParentSpec) -> str:
        return f"BT{spec.seq}"

    def _send(self, contender: str, spec: ParentSpec, tuning: Tuning) -> None:
        result = ParentResult(spec)
        cl_ord_id = self._cl_ord_id(spec)
        self._results[cl_ord_id] = result
        instrument = self.system.securities.get(spec.symbol)
        nbbo = self.engine.books.nbbo(spec.symbol)
        if nbbo.bid is None or nbbo.ask is None or nbbo.ask <= nbbo.bid:
            result.skipped = "no two-sided market at arrival"
            return
        result.arrival_mid = (nbbo.bid + nbbo.ask) / 2
        fx = 1.0
        if instrument.coin_quoted:
            fx = self.engine.books.nbbo(instrument.underlying).mid or float("nan")
        result.dollars_per_point = instrument.multiplier * fx
        result.half_spread = (nbbo.ask - nbbo.bid) / 2 * result.dollars_per_point
        price, params = order_terms(contender, instrument, spec.side, nbbo.bid, nbbo.ask, spec.duration_s, tuning)
        now = ns_to_datetime(self.clock.now_ns())
        cmd = NewOrder(cl_ord_id=cl_ord_id, instrument=InstrumentSpec(symbol=spec.symbol), side=spec.side,
                       qty=spec.qty, ord_type=OrdType.LIMIT, price=price, time_in_force=TimeInForce.GTD,
                       transact_time=now, algo=params)
        self.engine.dispatch(ClientRequest(SESSION, ACCOUNT, "D", None, cmd))
        # the end charge is read just after the order's duration: the far touch then
        self.clock.call_later(spec.duration_s * NANOS_PER_SECOND + NANOS_PER_SECOND // 10,
                              lambda: self._charge_rest(result, instrument))

    def _on_report(self, report) -> None:
        if not isinstance(report, ExecReport) or report.session != SESSION:
            return
        result = self._results.get(report.cl_ord_id)
        if result is None:
            return
        if report.exec_type is ExecType.REJECTED:
            result.rejected = report.text or "rejected"
        elif report.exec_type is ExecType.TRADE and report.role is ChildRole.WORK and report.last_qty > 0:
            self._record_fill(result, report)

    def _record_fill(self, result: ParentResult, report: ExecReport) -> None:
        sign = 1.0 if result.spec.side.is_buy else -1.0
        qty, price = report.last_qty, report.last_px
        fee = (report.fee or 0.0) * result.dollars_per_point / self._multiplier(result)
        result.filled += qty
        result.fees += fee
        result.fill_cost += sign * (price - result.arrival_mid) * qty * result.dollars_per_point + fee
        if report.liquidity is Liquidity.ADDED:
            result.passive_qty += qty
        mid = self.engine.books.nbbo(result.spec.symbol).mid
        if mid is None:
            return
        for horizon in HORIZONS_S:
            self.clock.call_later(horizon * NANOS_PER_SECOND,
                                  lambda h=horizon: self._mark(result, h, sign, qty, mid))

    def _multiplier(self, result: ParentResult) -> float:
        return self.system.securities.get(result.spec.symbol).multiplier

    def _mark(self, result: ParentResult, horizon: int, sign: float, qty: int, mid_at_fill: float) -> None:
        mid = self.engine.books.nbbo(result.spec.symbol).mid
        if mid is None:
            return
        result.markout[horizon] = result.markout.get(horizon, 0.0) + sign * (mid - mid_at_fill) * qty * \
            result.dollars_per_point
        result.markout_qty[horizon] = result.markout_qty.get(horizon, 0) + qty

    def _charge_rest(self, result: ParentResult, instrument) -> None:
        rest = result.spec.qty - result.filled
        if rest <= 0 or not result.counted:
            return
        nbbo = self.engine.books.nbbo(result.spec.symbol)
        buy = result.spec.side.is_buy
        far = nbbo.ask if buy else nbbo.bid
        if far is None:       # no far touch at the end: the arrival far side, our fallback
            far = result.arrival_mid + (1 if buy else -1) * result.half_spread / result.dollars_per_point
        sign = 1.0 if buy else -1.0
        fee = self._taker_fee(instrument, far) * result.dollars_per_point / instrument.multiplier
        result.end_charge = rest * (sign * (far - result.arrival_mid) * result.dollars_per_point + fee)

    def _taker_fee(self, instrument, price: float) -> float:
        """The cheapest taker fee per contract, in premium units, among the venues listing it."""
        fees = []
        for name, lists in self._listing.items():
            if lists is None or not lists(instrument.symbol):
                continue
            try:
                fees.append(self.fees.net_fee(name, Liquidity.REMOVED, symbol=instrument.symbol, price=price,
                                              underlier_price=1.0 if instrument.coin_quoted else None))
            except FeeError:
                continue
        return min(fees) if fees else 0.0
