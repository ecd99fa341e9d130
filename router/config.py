"""Configuration files (TOML) parsed into pydantic models.

``config/router.toml`` (engine, store, market), ``config/venues.toml`` (fees, latency) and
``config/accounts.toml`` (credentials, limits). Paths in router.toml are relative to the file.
"""
from __future__ import annotations

import tomllib
from datetime import date, time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnderlierConfig(_Strict):
    """One underlier and its option chain. Expiries and strikes are listed, or generated:
    ``monthly_expiries`` third Fridays from the market's start date, and ``strikes_each_side``
    strikes every ``strike_step`` around spot."""
    symbol: str
    kind: Literal["equity", "future", "perpetual"] = "equity"
    spot: float = Field(gt=0)
    vol: float = Field(gt=0, description="annualised at-the-money volatility of the path and the quoted surface")
    expiries: list[date] = []
    monthly_expiries: int = Field(0, ge=0)
    strikes: list[float] = []
    strike_step: float | None = Field(None, gt=0)
    strikes_each_side: int = Field(0, ge=0)
    tick: Literal["penny_pilot", "all_penny"] = "penny_pilot"
    multiplier: int = Field(100, ge=1)
    settlement: Literal["physical", "cash"] = "physical"
    exercise: Literal["american", "european"] = "american"
    future_expiry: date | None = Field(None, description="kind=future: the future's own expiry")
    underlier_tick: float = Field(0.01, gt=0)
    # the simulated path (Merton jump-diffusion with a U-shaped intraday volatility)
    jumps_per_day: float = Field(0.5, ge=0)
    jump_mean: float = Field(-0.002, description="mean log jump")
    jump_std: float = Field(0.004, ge=0)
    smile_skew: float = Field(-0.25, description="slope of vol in log-moneyness, per unit of k")
    smile_curvature: float = Field(0.4, ge=0, description="convexity of vol in log-moneyness")

    @model_validator(mode="after")
    def _chain_defined(self) -> "UnderlierConfig":
        if not self.expiries and not self.monthly_expiries:
            raise ValueError(f"{self.symbol}: give expiries or monthly_expiries")
        if not self.strikes and not (self.strike_step and self.strikes_each_side):
            raise ValueError(f"{self.symbol}: give strikes or strike_step with strikes_each_side")
        if self.kind == "future" and self.future_expiry is None:
            raise ValueError(f"{self.symbol}: a future needs future_expiry")
        return self


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
    underliers: list[UnderlierConfig]


class EngineConfig(_Strict):
    market_through_ticks: int = Field(3, ge=0, description="LimitType=Market: how far through the far side a child may reach")
    max_transact_age_s: float = Field(15.0, gt=0, description="reject orders whose TransactTime is older (the reference's rule)")
    session_close: time = Field(time(16, 0), description="Day orders expire at this local time, Monday to Friday")
    session_time_zone: str = Field("America/New_York", description="the venue's zone: the close follows its daylight saving")
    batch_max: int = Field(256, ge=1, description="inbox events per group commit")
    ioc_timeout_ms: float = Field(1000.0, gt=0, description="IOC parents end after one attempt or this long")
    report_pending_new: bool = Field(False, description="send an ExecutionReport for PendingNew before New")

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


class HedgeSettings(_Strict):
    threshold_shares: float = Field(1.0, ge=0, description="net unhedged shares before a hedge is sent (per account below)")
    account_threshold_shares: dict[str, float] = Field(default_factory=dict)
    round_lot: int = Field(100, ge=1)
    turn_wait_ms: float = Field(500.0, ge=0, description="AutoTrn: post one tick inside, take after this")
    mid_timeout_ms: float = Field(2000.0, ge=0, description="AutoMid: post at mid, cross after this")
    slices: int = Field(10, ge=1, description="Spdr* modes: slices over the window")

    def threshold_for(self, account: str) -> float:
        return self.account_threshold_shares.get(account, self.threshold_shares)


class AlgoSettings(_Strict):
    sweep: SweepSettings = SweepSettings()
    volatility: VolatilitySettings = VolatilitySettings()
    hedge: HedgeSettings = HedgeSettings()
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


class VenueConfig(_Strict):
    """One simulated exchange. An option venue lists the option chains and charges per contract;
    an equity venue lists the underliers and charges per share."""
    name: str
    kind: Literal["option", "equity"] = "option"
    maker_fee: float = Field(description="$ per contract (option venue) or per share (equity venue); negative is a rebate")
    taker_fee: float = Field(description="$ per contract (option venue) or per share (equity venue)")
    latency_ms: float = Field(ge=0, description="one-way order latency")
    market_data_latency_ms: float = Field(0.2, ge=0)
    quote_width: float = Field(1.0, gt=0, description="option venues: the market maker's spread, x the delta-bucket width")
    quoter_reaction_ms: float = Field(5.0, gt=0, description="option venues: mean delay before quotes follow the underlier")


class AccountLimits(_Strict):
    max_order_qty: int = Field(1000, ge=1)
    max_order_notional: float = Field(2_000_000.0, gt=0, description="qty x price x multiplier")
    max_open_orders: int = Field(500, ge=1)


class AccountConfig(_Strict):
    name: str
    password: str | None = None
    limits: AccountLimits = AccountLimits()


class Accounts(_Strict):
    default_limits: AccountLimits = AccountLimits()
    accounts: dict[str, AccountConfig] = {}

    def limits_for(self, account: str) -> AccountLimits:
        entry = self.accounts.get(account)
        return entry.limits if entry else self.default_limits

    def password_for(self, account: str) -> str | None:
        entry = self.accounts.get(account)
        return entry.password if entry else None


def _read(path: Path) -> dict:
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def load_router_config(path: Path) -> RouterConfig:
    return RouterConfig.model_validate(_read(path))


def load_venues(path: Path) -> list[VenueConfig]:
    raw = _read(path).get("venues", {})
    return [VenueConfig(name=name, **values) for name, values in raw.items()]


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
