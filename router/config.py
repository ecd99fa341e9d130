"""Configuration files (TOML) parsed into pydantic models.

``config/router.toml`` (engine, store, market), ``config/venues.toml`` (fees, latency) and
``config/accounts.toml`` (credentials, limits). Paths in router.toml are relative to the file.
"""
from __future__ import annotations

import tomllib
from datetime import date, time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnderlierConfig(_Strict):
    """One underlier and its option chain. Expiries and strikes are listed, or generated:
    ``monthly_expiries`` third Fridays from the market's start date (last Fridays for a crypto
    chain), ``weekly_expiries`` Fridays, and ``strikes_each_side`` strikes every ``strike_step``
    around spot. ``market = "crypto"`` lists the chain the Deribit way (router/market/crypto.py):
    names like ``BTC-27NOV26-90000-C`` on ``option_root``, last-Friday monthlies, expiry at
    08:00 UTC; such a chain trades only on venues of that market."""
    symbol: str
    market: Literal["us_equity_options", "crypto"] = "us_equity_options"
    option_root: str | None = Field(None, description="the root in option names (crypto: the coin, BTC); default symbol")
    quote_currency: str = Field("USD", description="the premium's currency; BTC for coin-margined options")
    weekly_expiries: int = Field(0, ge=0)
    kind: Literal["equity", "future", "perpetual"] = "equity"
    spot: float = Field(gt=0)
    vol: float = Field(gt=0, description="annualised at-the-money volatility of the path and the quoted surface")
    expiries: list[date] = []
    monthly_expiries: int = Field(0, ge=0)
    strikes: list[float] = []
    strike_step: float | None = Field(None, gt=0)
    strikes_each_side: int = Field(0, ge=0)
    tick: Literal["penny_pilot", "all_penny", "crypto_btc"] = "penny_pilot"
    multiplier: int = Field(100, ge=1)
    settlement: Literal["physical", "cash"] = "physical"
    exercise: Literal["american", "european"] = "american"
    future_expiry: date | None = Field(None, description="kind=future: the future's own expiry")
    underlier_tick: float = Field(0.01, gt=0)
    lot_size: float = Field(1.0, gt=0, description="the underlier's quantity step (0.001 BTC for BTCUSDT): its "
                                                   "quantities count lots of this size")
    # the simulated path (Merton jump-diffusion with a U-shaped intraday volatility)
    jumps_per_day: float = Field(0.5, ge=0)
    jump_mean: float = Field(-0.002, description="mean log jump")
    jump_std: float = Field(0.004, ge=0)
    smile_skew: float = Field(-0.25, description="slope of vol in log-moneyness, per unit of k")
    smile_curvature: float = Field(0.4, ge=0, description="convexity of vol in log-moneyness")

    @model_validator(mode="after")
    def _chain_defined(self) -> "UnderlierConfig":
        if not self.expiries and not self.monthly_expiries and not self.weekly_expiries:
            raise ValueError(f"{self.symbol}: give expiries, monthly_expiries or weekly_expiries")
        if not self.strikes and not (self.strike_step and self.strikes_each_side):
            raise ValueError(f"{self.symbol}: give strikes or strike_step with strikes_each_side")
        if self.kind == "future" and self.future_expiry is None:
            raise ValueError(f"{self.symbol}: a future needs future_expiry")
        return self


class FlowConfig(_Strict):
    """One book's flow fitted on recorded data (venues/sim/calibration.py); empty where the
    source cannot show it (an L2 feed has no cancels by order)."""
    source: str = Field(description="the data file it was fitted on")
    duration_s: float = Field(gt=0)
    marketable_orders: int = Field(ge=0)
    marketable_per_second: float = Field(ge=0)
    size_log_mean: float = Field(description="lognormal fit of the marketable order size (shares or base units)")
    size_log_std: float = Field(ge=0)
    size_median: float = Field(gt=0)
    size_p90: float = Field(gt=0)
    submits_per_second: float | None = Field(None, ge=0)
    cancels_per_second: float | None = Field(None, ge=0, description="cancels at the touch (level-1 data) per book")
    cancel_hazard_per_second: float | None = Field(None, ge=0, description="per resting order")
    cancel_fraction: float | None = Field(None, ge=0, le=1)


class ParticipantsConfig(_Strict):
    """The calibrated participants (config/participants.toml, written by
    bench/calibrate_participants.py). Without a fit the underlier books keep the plain flow:
    ``takers_per_second`` with 1..5 round lots and no touch cancels."""
    stock: FlowConfig | None = Field(None, description="the underlier books: their takers and touch cancels")
    perpetual: FlowConfig | None = Field(None, description=(
        "fitted on Binance USD-M BTCUSDT for a crypto perpetual's book; venues/sim/crypto_market.py does not read it yet"))


class InformedConfig(_Strict):
    """Informed option takers (venues/sim/participants.py), one kind per horizon: they see the
    underlier path that far ahead and take a book when the option's value then beats the price
    by more than their taker fee plus ``min_edge``."""
    per_second: float = Field(0.0, ge=0, description="arrivals per option book per second, each horizon; 0: none")
    horizons_s: list[Annotated[float, Field(gt=0)]] = Field([5.0, 20.0], min_length=1)
    min_edge: float = Field(0.0, ge=0, description="$ per share beyond the taker fee")
    size_max: int = Field(10, ge=1, description="contracts, uniform 1..size_max")


class MarketConfig(_Strict):
    """The simulated market (venues/sim/background.py). Seeded: a seed and a start time
    determine every quote and trade."""
    source: Literal["sim"] = "sim"
    seed: int = 7
    rate: float = 0.04
    path_step_ms: float = Field(500.0, gt=0, description="step of the simulated underlier paths")
    quote_size_min: int = Field(5, ge=1)
    quote_size_max: int = Field(60, ge=1)
    levels: int = Field(3, ge=1, description="price levels each market maker shows a side")
    takers_per_second: float = Field(0.2, ge=0, description="background market orders per book per second")
    flickers_per_second: float = Field(0.1, ge=0, description="top-of-book pull-and-restore per book per second")
    participants: ParticipantsConfig = Field(ParticipantsConfig(), description=(
        "in router.toml the name of the participants file, relative to router.toml"))
    informed: InformedConfig = InformedConfig()
    underliers: list[UnderlierConfig]


class EngineConfig(_Strict):
    market_through_ticks: int = Field(3, ge=0, description="LimitType=Market: how far through the far side a child may reach")
    max_transact_age_s: float = Field(15.0, gt=0, description="reject orders whose TransactTime is older (the reference's rule)")
    session_close: time = Field(time(16, 0), description="Day orders expire at this local time, Monday to Friday")
    session_time_zone: str = Field("America/New_York", description="the venue's zone: the close follows its daylight saving")
    batch_max: int = Field(256, ge=1, description="inbox events per group commit")
    ioc_timeout_ms: float = Field(1000.0, gt=0, description="IOC parents end after one attempt or this long")
    report_pending_new: bool = Field(False, description="send an ExecutionReport for PendingNew before New")
    packages_across_underliers: bool = Field(False, description="accept a NewOrderMultileg whose legs are on "
                                                                "different underliers")

    @field_validator("session_time_zone")
    @classmethod
    def _known_time_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"session_time_zone {name!r} is not an IANA time zone") from None
        return name


class SweepSettings(_Strict):
    market_through_ticks: int = Field(3, ge=0, description="LimitType=Market: how far through the far side a child may reach")


class VolatilitySettings(_Strict):
    min_rest_ms: float = Field(50.0, ge=0, description="a resting child is not replaced sooner than this after its last change")
    max_replaces_per_s: float = Field(10.0, gt=0, description="replaces per child per second, at most")


class AlphaTakingSettings(_Strict):
    delayed_ms: float = Field(2000.0, ge=0, description="TakeReach Delayed: size must have shown this long at the price")
    passive_window_ms: float = Field(500.0, ge=0, description="TakeReach Passive: the far side's aggression this recent")
    weak_window_s: float = Field(60.0, gt=0, description="TakeReach WeakOnly: the window of the average displayed size")


class AlphaMakingSettings(_Strict):
    """[algos.alpha_making]: the alpha-making algo and the maker side of alpha taking+making."""
    min_rest_ms: float = Field(50.0, ge=0, description="a child is not amended sooner than this after its last change")
    max_replaces_per_s: float = Field(10.0, gt=0, description="amends per child per second, at most")
    flash_ms: float = Field(500.0, ge=0, description="PostFlash/PostFlashW/PostFlashI: how long a new child flashes")
    queue_margin: float = Field(0.0, ge=0, description="premium per share a one-tick move must save to give up the queue")


class HedgeSettings(_Strict):
    threshold_shares: float = Field(1.0, ge=0, description="net unhedged shares before a hedge is sent (per account below)")
    account_threshold_shares: dict[str, float] = Field(default_factory=dict)
    round_lot: int = Field(100, ge=1)
    turn_wait_ms: float = Field(500.0, ge=0, description="AutoTrn: post one tick inside, take after this")
    mid_timeout_ms: float = Field(2000.0, ge=0, description="AutoMid: post at mid, cross after this")
    slices: int = Field(10, ge=1, description="Spdr* modes: slices over the window")

    def threshold_for(self, account: str) -> float:
        return self.account_threshold_shares.get(account, self.threshold_shares)


class NaiveSettings(_Strict):
    """The backtest's baseline (algos/naive.py), not selectable by FIX tags."""
    cross_after_s: float = Field(30.0, ge=0, description="naive: after this long at the touch, take the far side")


class FacilitationSettings(_Strict):
    """[algos.facilitation]: facilitation (5094=6) through a venue's price-improvement auction
    (algos/facilitation.py)."""
    firm_account: str = Field("FIRM", min_length=1, description="the account the firm's contra (initiator) fills book to")
    firm_share: Literal["maximize", "minimize"] = Field(
        "maximize", description="maximize: stop at the client's limit and auto-match responses; "
                                "minimize: stop at the NBBO, single price")
    auto_match_ticks: int = Field(3, ge=0, description="maximize: auto-match responses this many ticks better than the stop")
    pre_sweep: bool = Field(True, description="first take displayed liquidity better than the stop")
    alpha_gate: bool = Field(True, description="decline when the alpha model expects the firm's side to lose")
    min_firm_probability: float = Field(0.40, ge=0, le=1, description="P(firm's side has a positive markout) below "
                                                                       "this declines the facilitation")
    alpha_variant: Literal["standard", "hawk", "eagle", "falcon"] = "standard"
    result_timeout_ms: float = Field(2000.0, gt=0, description="an auction's children still open this long after "
                                                                "the start are reconciled with the venue")


class MultilegSettings(_Strict):
    """[algos.multileg]: packages (NewOrderMultileg, algos/multileg.py)."""
    exposure_pct: float = Field(10.0, gt=0, le=100, description="the Legger's legging exposure without 5046, in "
                                                                "percent of the package's quantity")
    seek_venues: int = Field(3, ge=1, description="the Seeker rests the balance on this many complex order books")
    seek_ms: float = Field(2000.0, gt=0, description="SeekerLegger: seek this long without a response, then leg")


class AlgoSettings(_Strict):
    sweep: SweepSettings = SweepSettings()
    volatility: VolatilitySettings = VolatilitySettings()
    hedge: HedgeSettings = HedgeSettings()
    alpha_taking: AlphaTakingSettings = AlphaTakingSettings()
    alpha_making: AlphaMakingSettings = AlphaMakingSettings()
    naive: NaiveSettings = NaiveSettings()
    facilitation: FacilitationSettings = FacilitationSettings()
    multileg: MultilegSettings = MultilegSettings()
    surface_refit_interval_ms: float = Field(1000.0, ge=0, description="the live surface refits at most this often")
    pending_timeout_ms: float = Field(2000.0, gt=0, description="a child pending this long is reconciled with its venue")


class StoreConfig(_Strict):
    url: str = "sqlite:///var/router.db"
    # how often the projection process catches the tables up with the journal; 0: write them in
    # each commit, on the engine thread (slower, nothing behind)
    projection_interval_ms: float = Field(default=200.0, ge=0)


class RouterConfig(_Strict):
    engine: EngineConfig = EngineConfig()
    algos: AlgoSettings = AlgoSettings()
    store: StoreConfig = StoreConfig()
    market: MarketConfig
    sessions: str = "sessions.cfg"
    venues: str = "venues.toml"
    accounts: str = "accounts.toml"


AccountType = Literal["customer", "professional", "market_maker", "broker_dealer"]
ACCOUNT_TYPES: tuple[str, ...] = ("customer", "professional", "market_maker", "broker_dealer")


class LiquidityRates(_Strict):
    """$ per contract for adding (maker) and removing (taker) liquidity; negative is a rebate."""
    maker: float
    taker: float


class ClassRates(_Strict):
    """One account type's rates, for penny-program classes and for the rest (default: penny)."""
    penny: LiquidityRates
    non_penny: LiquidityRates | None = None


class _PerContractFees(_Strict):
    """Per contract, by account type (all four are required) and by penny / non-penny class.
    A class is penny unless its underlier is in ``non_penny_underliers``."""
    account_type: AccountType = Field("customer", description="the account type of our fills when the caller names none")
    non_penny_underliers: list[str] = Field(default_factory=list)
    customer: ClassRates
    professional: ClassRates
    market_maker: ClassRates
    broker_dealer: ClassRates

    def _check_order(self, inverted: bool) -> None:
        for account in ACCOUNT_TYPES:
            rates: ClassRates = getattr(self, account)
            for cls_name in ("penny", "non_penny"):
                rate = getattr(rates, cls_name)
                if rate is None:
                    continue
                if (rate.maker < rate.taker) if inverted else (rate.maker > rate.taker):
                    rule = "taker <= maker (taker-maker is inverted)" if inverted else "maker <= taker"
                    raise ValueError(f"{account}.{cls_name}: model {self.model!r} needs {rule}, got "  # type: ignore[attr-defined]
                                     f"maker={rate.maker} taker={rate.taker}")


class MakerTakerFees(_PerContractFees):
    """Maker-taker: the maker pays less than the taker (usually a rebate against a fee)."""
    model: Literal["maker_taker"]

    @model_validator(mode="after")
    def _ordered(self) -> "MakerTakerFees":
        self._check_order(inverted=False)
        return self


class TakerMakerFees(_PerContractFees):
    """Taker-maker (inverted): the taker pays less than the maker, often a rebate to remove."""
    model: Literal["taker_maker"]

    @model_validator(mode="after")
    def _ordered(self) -> "TakerMakerFees":
        self._check_order(inverted=True)
        return self


class FlatRates(_Strict):
    penny: float
    non_penny: float | None = None


class FlatFees(_Strict):
    """Flat per contract ("classic" pricing): the same fee to add and to remove. ``rate`` for
    every account type, or one table per account type (both: the tables win)."""
    model: Literal["flat"]
    account_type: AccountType = "customer"
    non_penny_underliers: list[str] = Field(default_factory=list)
    rate: float | None = None
    customer: FlatRates | None = None
    professional: FlatRates | None = None
    market_maker: FlatRates | None = None
    broker_dealer: FlatRates | None = None

    @model_validator(mode="after")
    def _complete(self) -> "FlatFees":
        missing = [a for a in ACCOUNT_TYPES if getattr(self, a) is None]
        if missing and self.rate is None:
            raise ValueError(f"flat: give rate, or a table for every account type (missing {', '.join(missing)})")
        return self


class CryptoFees(_Strict):
    """Crypto options (the Deribit and OKX rule): per contract, a percent of the underlier's
    notional (``contract_size`` units of it), never more than a percent of the premium. Percents
    are in percent (0.03 means 0.03%)."""
    model: Literal["crypto"]
    maker_pct_of_underlying: float = Field(description="percent of underlying notional; negative is a rebate")
    taker_pct_of_underlying: float
    cap_pct_of_premium: float = Field(gt=0, le=100)
    contract_size: float = Field(1.0, gt=0, description="units of the underlier per contract")


class PerShareFees(_Strict):
    """Underlier (equity) venues: $ per share."""
    model: Literal["per_share"]
    maker: float = Field(description="$ per share for adding; negative is a rebate")
    taker: float


class NotionalFees(_Strict):
    """Perpetual and futures venues: a percent of the fill's notional (price x ``contract_size``
    per contract), in the price's currency. Percents are in percent (0.05 means 0.05%)."""
    model: Literal["pct_of_notional"]
    maker_pct: float = Field(description="percent of notional for adding; negative is a rebate")
    taker_pct: float
    contract_size: float = Field(1.0, gt=0, description="units of the underlier per contract")


FeeConfig = Annotated[Union[MakerTakerFees, TakerMakerFees, FlatFees, CryptoFees, PerShareFees, NotionalFees],
                      Field(discriminator="model")]


class VenueConfig(_Strict):
    """One simulated exchange. An option venue lists the option chains and charges per contract;
    an equity venue lists the underliers and charges per share. Fees come from a ``fees`` table,
    or from the shorthand ``maker_fee`` / ``taker_fee`` (the same rate for every account type and
    class: maker-taker, or taker-maker when the maker pays more; per share on an equity venue)."""
    name: str
    kind: Literal["option", "equity"] = "option"
    # which symbols the venue lists: a US venue the US option chains (or equity underliers), a
    # crypto venue the crypto chains (or their perpetuals); never the other market's
    market: Literal["us_equity_options", "crypto"] = "us_equity_options"
    fees: FeeConfig | None = None
    maker_fee: float | None = Field(None, description="shorthand: $ per contract or per share; negative is a rebate")
    taker_fee: float | None = Field(None, description="shorthand: $ per contract or per share")
    latency_ms: float = Field(ge=0, description="one-way order latency (order entry), the median with jitter")
    response_latency_ms: float | None = Field(None, ge=0, description="the venue's answers back; default latency_ms")
    latency_jitter: float = Field(0.0, ge=0, description="lognormal sigma of each draw around the median; 0 constant")
    latency_log: str | None = Field(None, description="a QuickFIX messages log: draw from its request-to-ack times")
    allocation: Literal["price-time", "pro-rata"] = Field(
        "price-time", description="how a price level's resting orders share an incoming order (venues/sim/matching.py)")
    min_allocation: int = Field(1, ge=1, description="pro-rata: the smallest share an order at the level gets")
    self_match: Literal["cancel_resting", "cancel_incoming"] = Field(
        "cancel_resting", description="when two of the router's own orders would trade")
    max_order_qty: int | None = Field(None, ge=1, description="the largest order the venue accepts (contracts, shares)")
    market_data_latency_ms: float = Field(0.2, ge=0)
    quote_width: float = Field(1.0, gt=0, description="option venues: the market maker's spread, x the delta-bucket width")
    quoter_reaction_ms: float = Field(5.0, gt=0, description="option venues: mean delay before quotes follow the underlier")
    mark_vol_offset: float = Field(0.0, description="crypto option venues: the venue's mark smile minus the true smile, in vol")
    replay: str | None = Field(None, description="an underlier venue: a Binance USD-M capture whose book it replays "
                                                 "(venues/sim/replay_perpetual.py); relative to the checkout, or absolute")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, values):
        if not isinstance(values, dict):
            return values
        shorthand = [k for k in ("maker_fee", "taker_fee") if values.get(k) is not None]
        if values.get("fees") is not None:
            if shorthand:
                raise ValueError(f"give either a fees table or {'/'.join(shorthand)}, not both")
            return values
        if len(shorthand) != 2:
            raise ValueError("fees: give a fees table, or both maker_fee and taker_fee")
        maker, taker = float(values["maker_fee"]), float(values["taker_fee"])
        if values.get("kind", "option") == "equity":
            fees = {"model": "per_share", "maker": maker, "taker": taker}
        else:
            rates = {"penny": {"maker": maker, "taker": taker}}
            fees = {"model": "maker_taker" if maker <= taker else "taker_maker",
                    **{account: rates for account in ACCOUNT_TYPES}}
        return {**values, "fees": fees}

    @model_validator(mode="after")
    def _fees_fit_kind(self) -> "VenueConfig":
        if self.kind == "equity" and not isinstance(self.fees, (PerShareFees, NotionalFees)):
            raise ValueError(f"fees.model: an equity venue charges per share (model = \"per_share\") or by notional "
                             f"(\"pct_of_notional\"), not {self.fees.model!r}")
        if self.kind == "option" and isinstance(self.fees, (PerShareFees, NotionalFees)):
            raise ValueError(f"fees.model: {self.fees.model} is for equity venues; an option venue charges per contract")
        if self.replay is not None and self.kind != "equity":
            raise ValueError("replay: only an underlier venue (kind = \"equity\") replays a recorded book")
        return self


class AccountLimits(_Strict):
    max_order_qty: int = Field(1000, ge=1)
    max_order_notional: float = Field(2_000_000.0, gt=0, description="qty x price x multiplier")
    max_open_orders: int = Field(500, ge=1)


Capacity = Literal["customer", "professional", "market_maker", "broker_dealer"]


class AccountConfig(_Strict):
    name: str
    password: str | None = None
    limits: AccountLimits = AccountLimits()
    # what the account is to the exchanges: its children carry it, venues charge by it and give
    # priority customers their priority (venues/fees.py, venues/sim/matching.py)
    capacity: Capacity = "customer"


class Accounts(_Strict):
    default_limits: AccountLimits = AccountLimits()
    accounts: dict[str, AccountConfig] = {}

    def limits_for(self, account: str) -> AccountLimits:
        entry = self.accounts.get(account)
        return entry.limits if entry else self.default_limits

    def capacity_for(self, account: str) -> str:
        entry = self.accounts.get(account)
        return entry.capacity if entry else "customer"

    def password_for(self, account: str) -> str | None:
        entry = self.accounts.get(account)
        return entry.password if entry else None


def _read(path: Path) -> dict:
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def load_router_config(path: Path) -> RouterConfig:
    raw = _read(path)
    market = raw.get("market", {})
    if isinstance(market.get("participants"), str):       # a file name: the calibrated participants
        market["participants"] = _read(path.parent / market["participants"])
    return RouterConfig.model_validate(raw)


class VenueConfigError(ValueError):
    """A venue table that does not validate; the message names the file and each bad key
    (``venues.BATO.fees.cap_pct_of_premium``)."""


def _venue_error(path: Path, name: str, error: ValidationError) -> VenueConfigError:
    lines = []
    for item in error.errors():
        loc = [str(part) for part in item["loc"]]
        # the discriminated union adds the model's tag to the location: drop it
        if len(loc) >= 2 and loc[0] == "fees" and loc[1] in ("maker_taker", "taker_maker", "flat", "crypto", "per_share",
                                                             "pct_of_notional"):
            loc = [loc[0]] + loc[2:]
        if item["type"] == "union_tag_invalid":
            loc = loc + ["model"]
        key = ".".join(["venues", name] + loc)
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"{key}: {message}")
    return VenueConfigError(f"{path}: " + "; ".join(lines))


def load_venues(path: Path) -> list[VenueConfig]:
    raw = _read(path).get("venues", {})
    venues = []
    for name, values in raw.items():
        try:
            venues.append(VenueConfig(name=name, **values))
        except ValidationError as error:
            raise _venue_error(path, name, error) from None
    return venues


def load_accounts(path: Path) -> Accounts:
    if not path.exists():
        return Accounts()
    raw = _read(path)
    defaults = AccountLimits(**raw.get("default_limits", {}))
    accounts = {}
    for name, values in raw.get("accounts", {}).items():
        values = dict(values)
        limits = AccountLimits(**{**defaults.model_dump(), **values.pop("limits", {})})
        accounts[name] = AccountConfig(name=name, limits=limits, **values)
    return Accounts(default_limits=defaults, accounts=accounts)


def resolve(base_file: Path, relative: str) -> Path:
    candidate = Path(relative)
    return candidate if candidate.is_absolute() else (base_file.parent / candidate)
