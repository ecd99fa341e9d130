"""New-order validation: a pipeline of small checks, each naming the one rule an order broke.

Checks run in order on a draft that earlier checks fill in (the instrument, the algo), and the
first failure becomes the client's reject. Nothing here changes engine state.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from algos.registry import is_available, order_problem, select_algo, unread_tags
from router.clock import NANOS_PER_SECOND, datetime_to_ns
from router.config import Accounts, EngineConfig
from router.domain.commands import AlgoParams, ClientRequest, NewOrder
from router.domain.enums import HedgeMode, LimitClass, OrdRejReason, Side, SRRejectCode
from router.domain.instruments import Instrument
from router.domain.orders import static_limit
from router.hedge import UNSUPPORTED_MODES
from router.market.books import MarketBooks
from router.market.live_surface import LiveSurfaces
from router.market.securities import SecurityMaster
from router.risk import ParentTerms, default_parent_checks, first_failure

from . import tif
from .state import Orders


@dataclass(frozen=True, slots=True)
class Reject:
    text: str
    reason: OrdRejReason
    sr_code: SRRejectCode


@dataclass(slots=True)
class Draft:
    request: ClientRequest
    cmd: NewOrder
    account: str
    now_ns: int
    instrument: Instrument | None = None
    algo_name: str = ""
    expire_ns: int | None = None
    fields: dict = field(default_factory=dict)


@dataclass
class Validator:
    orders: Orders
    securities: SecurityMaster
    books: MarketBooks
    accounts: Accounts
    config: EngineConfig
    venue_names: frozenset[str]
    calendar: tif.SessionCalendar
    surfaces: LiveSurfaces | None = None      # the live surface, for the Surface limit class

    def __post_init__(self) -> None:
        self._parent_checks = default_parent_checks()
        self._algo_choices = AlgoChoices()
        self.checks: tuple[Callable[[Draft], Reject | None], ...] = (
            self.account_permitted, self.cl_ord_id_unused, self.fresh, self.known_instrument, self.algo_exists,
            self.tags_read_by_algo, self.terms_fit_algo, self.surface_fits, self.hedge_supported,
            self.known_exchanges, self.price_on_tick,
            self.time_in_force_supported, self.not_already_expired, self.within_account_limits)

    def run(self, draft: Draft, package: bool = False) -> Reject | None:
        """``package``: the draft is a package's first option leg (engine/packages.py): the
        algo must be the multi-leg one, and the price and notional checks are the package's own."""
        for check in self.checks:
            if package and check in (self.price_on_tick, self.within_account_limits):
                continue
            if (reject := check(draft)) is not None:
                return reject
            if package and check == self.algo_exists and draft.algo_name != "multileg":
                return Reject(f"a NewOrderMultileg needs SROrderHandling (5094) 8 Legger, 9 Seeker or 10 "
                              f"SeekerLegger, not {draft.cmd.algo.order_handling}", OrdRejReason.OTHER,
                              SRRejectCode.BAD_LMT_TYPE)
        return None

    # ---- the checks, in order

    def account_permitted(self, d: Draft) -> Reject | None:
        if d.cmd.account and d.cmd.account != d.request.account:
            return Reject(f"Account {d.cmd.account} is not permitted on this session (session account "
                          f"{d.request.account})", OrdRejReason.UNKNOWN_ACCOUNT, SRRejectCode.UNKNOWN_ACCOUNT)
        return None

    def cl_ord_id_unused(self, d: Draft) -> Reject | None:
        if self.orders.cl_ord_id_used(d.request.session, d.cmd.cl_ord_id):
            return Reject(f"Duplicate ClOrdID {d.cmd.cl_ord_id}", OrdRejReason.DUPLICATE_ORDER, SRRejectCode.DUP_ORD_NUM)
        hedge_id = d.cmd.algo.alt_auto_hedge_id
        if hedge_id and (hedge_id == d.cmd.cl_ord_id or self.orders.cl_ord_id_used(d.request.session, hedge_id)):
            # Hedge executions are reported under this ClOrdID: it must name nothing else.
            return Reject(f"srAltAutoHedgeId (5010) {hedge_id} is already a ClOrdID on this session",
                          OrdRejReason.DUPLICATE_ORDER, SRRejectCode.DUP_ORD_NUM)
        return None

    def fresh(self, d: Draft) -> Reject | None:
        text = stale_text(d.cmd.transact_time, d.now_ns, self.config.max_transact_age_s)
        return None if text is None else Reject(text, OrdRejReason.STALE_ORDER, SRRejectCode.SYS_REJECT)

    def known_instrument(self, d: Draft) -> Reject | None:
        d.instrument = self.securities.resolve(d.cmd.instrument)
        if d.instrument is None:
            return Reject(f"Unknown instrument {describe(d.cmd)}", OrdRejReason.UNKNOWN_SYMBOL,
                          SRRejectCode.UNKNOWN_OPTION)
        d.fields["symbol"] = d.instrument.symbol
        return None

    def algo_exists(self, d: Draft) -> Reject | None:
        d.algo_name = self._algo_choices.algo_name(d.cmd.algo)
        if not is_available(d.algo_name):
            return Reject(f"The {d.algo_name} algo selected by the order's tags is not available yet",
                          OrdRejReason.OTHER, SRRejectCode.BAD_LMT_TYPE)
        return None

    def tags_read_by_algo(self, d: Draft) -> Reject | None:
        unread = self._algo_choices.unread_tags(d.algo_name, d.cmd.algo, d.instrument)
        if unread:
            names = ", ".join(f"{tag} ({why})" for tag, why in unread)
            return Reject(f"The {d.algo_name} algo does not support {names}; the order is rejected rather than "
                          f"worked without it", OrdRejReason.OTHER, SRRejectCode.BAD_LMT_TYPE)
        return None

    def terms_fit_algo(self, d: Draft) -> Reject | None:
        problem = order_problem(d.algo_name, d.cmd.algo, d.instrument)
        return None if problem is None else Reject(problem, OrdRejReason.OTHER, SRRejectCode.BAD_LMT_TYPE)

    def surface_fits(self, d: Draft) -> Reject | None:
        """A Surface or SurfProb class (5100 / 5102) needs a live-surface price for the option."""
        params = d.cmd.algo
        for tag, name, limit_class in ((5100, "SRTakeLimitClass", params.take_limit_class),
                                       (5102, "SRMakeLimitClass", params.make_limit_class)):
            if limit_class not in (LimitClass.SURFACE, LimitClass.SURF_PROB) or self.surfaces is None:
                continue
            why = self.surfaces.why_none(d.instrument, d.now_ns)
            if why:
                return Reject(f"{name} ({tag}) {limit_class.name.title().replace('_', '')}: the surface has no fit "
                              f"for {d.instrument.symbol}: {why}", OrdRejReason.OTHER, SRRejectCode.BAD_LIMIT)
        return None

    def hedge_supported(self, d: Draft) -> Reject | None:
        mode = d.cmd.algo.auto_hedge
        if mode is None or mode is HedgeMode.NO_HEDGE:
            return None
        if mode in UNSUPPORTED_MODES:
            return Reject(f"SRAutoHedge (5152) {mode.name} is not supported; use NoHedge, FastCrx, AutoCrx, AutoTrn, "
                          f"AutoMid, Spdr10S/30S/90S/5M/30M or Static", OrdRejReason.OTHER, SRRejectCode.BAD_LMT_TYPE)
        if not d.instrument.is_option or self.securities.get(d.instrument.underlying) is None:
            return Reject(f"SRAutoHedge (5152) needs an option with a tradeable underlier; {d.instrument.symbol} "
                          f"has none", OrdRejReason.OTHER, SRRejectCode.BAD_LMT_TYPE)
        return None

    def known_exchanges(self, d: Draft) -> Reject | None:
        unknown = [x for x in d.cmd.algo.exchanges if x not in self.venue_names]
        if unknown:
            return Reject(f"Unknown exchange {','.join(unknown)} in Exchanges (5082); known: "
                          f"{','.join(sorted(self.venue_names))}", OrdRejReason.OTHER, SRRejectCode.NO_ROUTES)
        return None

    def price_on_tick(self, d: Draft) -> Reject | None:
        price = d.cmd.price
        if price is not None and not d.instrument.tick_rule.is_on_tick(price):
            return Reject(f"Price {price:g} is not a multiple of the {d.instrument.tick_rule.tick_at(price):g} tick",
                          OrdRejReason.INVALID_PRICE_INCREMENT, SRRejectCode.BAD_LIMIT)
        return None

    def time_in_force_supported(self, d: Draft) -> Reject | None:
        text = tif.unsupported_time_in_force(d.cmd.time_in_force)
        return None if text is None else Reject(text, OrdRejReason.OTHER, SRRejectCode.BAD_ORD_TYPE)

    def not_already_expired(self, d: Draft) -> Reject | None:
        cmd = d.cmd
        text = tif.past_deadline_text(cmd.time_in_force, cmd.algo, cmd.expire_time, cmd.expire_date,
                                      now_ns=d.now_ns, calendar=self.calendar)
        if text is not None:
            return Reject(text, OrdRejReason.OTHER, SRRejectCode.EXPIRED)
        d.expire_ns = tif.expire_ns(cmd.time_in_force, cmd.algo, cmd.expire_time, cmd.expire_date, now_ns=d.now_ns,
                                    calendar=self.calendar, ioc_timeout_ns=int(self.config.ioc_timeout_ms * 1e6))
        return None

    def within_account_limits(self, d: Draft) -> Reject | None:
        limit = static_limit(d.cmd.price, d.cmd.ord_type, d.cmd.algo, d.cmd.side)
        terms = ParentTerms(d.cmd.qty, notional_price(limit, d.cmd.side, d.instrument, self.books),
                            d.instrument.multiplier)
        risk = first_failure(self._parent_checks, terms, self.accounts.limits_for(d.account),
                             self.orders.open_orders(d.account))
        if risk is None:
            return None
        return Reject(risk.text, OrdRejReason(risk.ord_rej_reason), SRRejectCode(risk.sr_reject_code))


def notional_price(static: float | None, side: Side, instrument: Instrument, books: MarketBooks) -> float | None:
    """The price an order's notional is measured at: its static limit, else the far side of the
    market it would trade at (a market or tied order), else the near side."""
    if static is not None:
        return static
    nbbo = books.nbbo(instrument.symbol)
    far = nbbo.ask if side.is_buy else nbbo.bid
    return far if far is not None else (nbbo.bid if side.is_buy else nbbo.ask)


class AlgoChoices:
    """choose_algo and unread_tags, remembered per AlgoParams object (and instrument): both are
    pure functions of them, the decoder hands out one immutable AlgoParams per distinct tag set,
    and together they cost more than all the other new-order checks (~8 of 23 µs)."""
    LIMIT = 4096

    def __init__(self) -> None:
        self._names: dict[int, tuple[AlgoParams, str]] = {}
        self._unread: dict[tuple[int, int, str], tuple[AlgoParams, Instrument | None, list]] = {}

    def algo_name(self, algo: AlgoParams) -> str:
        known = self._names.get(id(algo))
        if known is not None and known[0] is algo:
            return known[1]
        name = select_algo(algo)
        self._remember(self._names, id(algo), (algo, name))      # the object is kept: its id stays its own
        return name

    def unread_tags(self, algo_name: str, algo: AlgoParams, instrument: Instrument | None) -> list:
        key = (id(algo), id(instrument), algo_name)
        known = self._unread.get(key)
        if known is not None and known[0] is algo and known[1] is instrument:
            return known[2]
        unread = unread_tags(algo_name, algo, instrument)
        self._remember(self._unread, key, (algo, instrument, unread))
        return unread

    def _remember(self, memo: dict, key, value) -> None:
        if len(memo) >= self.LIMIT:
            memo.clear()
        memo[key] = value


_last_transact: tuple[datetime | None, int] = (None, 0)


def transact_ns(transact_time: datetime) -> int:
    """datetime_to_ns, remembering the last: orders decoded from the same TransactTime text share
    one datetime object."""
    global _last_transact
    last = _last_transact
    if last[0] is transact_time:
        return last[1]
    ns = datetime_to_ns(transact_time)
    _last_transact = (transact_time, ns)
    return ns


def stale_text(transact_time, now_ns: int, limit: float) -> str | None:
    if transact_time is None:
        return None
    age = (now_ns - transact_ns(transact_time)) / NANOS_PER_SECOND
    if age > limit:
        return f"TransactTime {transact_time:%Y%m%d-%H:%M:%S} is {age:.1f}s old; orders must arrive within {limit:g}s"
    if age < -limit:
        return f"TransactTime {transact_time:%Y%m%d-%H:%M:%S} is {-age:.1f}s in the future"
    return None


def describe(cmd: NewOrder) -> str:
    spec = cmd.instrument
    if spec.strike is not None:
        return f"{spec.symbol} {spec.maturity_date} {spec.put_call} {spec.strike:g}"
    return repr(spec.symbol)
