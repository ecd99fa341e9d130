"""Exchange fee schedules: what a fill costs (positive) or earns (negative, a rebate), in $.

Models (configured per venue in ``config/venues.toml``, ``[venues.X.fees]``; see router/config.py):

- ``maker_taker``: $ per contract by account type (customer, professional, market_maker,
  broker_dealer) and by class (penny / non-penny), for adding (maker) and removing (taker)
  liquidity; the maker pays less, usually a rebate against a fee (Cboe BZX, NYSE Arca).
- ``taker_maker``: the same table, inverted: the taker pays less and may earn a rebate, the maker
  pays (BOX).
- ``flat``: one $ per contract for adding and removing alike, by account type and class
  ("classic" pricing: Cboe Options, PHLX).
- ``crypto``: per contract, a percent of the underlier's notional, capped at a percent of the
  premium (Deribit, OKX).
- ``per_share``: $ per share on the underlier (equity) venues.
- ``pct_of_notional``: perpetuals and futures, a percent of the fill's notional (price x
  contract size), in the price's currency (Binance USD-M: USDT).

Penny or not: a symbol's class is penny unless its underlier (the OSI root of an option symbol,
the symbol itself otherwise) is in the venue's ``non_penny_underliers`` (default: none, so every
underlier of the default config is penny).

Account type: ``capacity`` names it; None means the venue's default ``account_type``.
``taker(venue)`` / ``maker(venue)`` are the per-unit $ for that default account type in the
penny class: the figures the SOR ranks venues by.

Crypto: ``price`` is the option's premium and ``underlier_price`` the underlier's, both per unit
of the underlier and in the currency the fee is wanted in (for a premium quoted in BTC with the
fee in BTC, ``underlier_price=1.0``). Both are required: without them the fee cannot be known, so
``fee`` raises ``FeeError`` rather than guess.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Protocol

from router.domain.enums import Liquidity

ACCOUNT_TYPES = ("customer", "professional", "market_maker", "broker_dealer")


class FeeError(ValueError):
    """A fee that cannot be computed: unknown venue or account type, or a missing price."""


def underlier_of(symbol: str) -> str:
    """The OSI root of an option symbol (``"AAPL  261218C00200000"`` → ``AAPL``); any other
    symbol is its own underlier."""
    if len(symbol) == 21 and symbol[12] in "CP" and symbol[6:12].isdigit():
        return symbol[:6].rstrip()
    return symbol.split(" ")[0]


def _added(liquidity: Liquidity) -> bool:
    return liquidity is Liquidity.ADDED


class FeeModel(Protocol):
    venue: str
    model: str

    def per_unit(self, liquidity: Liquidity, *, symbol: str | None, price: float | None,
                 underlier_price: float | None, capacity: str | None) -> float: ...

    def ranking_rate(self, liquidity: Liquidity) -> float: ...


@dataclass(frozen=True, slots=True)
class VenueFees:
    """The simplest schedule: one $ per unit for each side, whoever trades whatever (the
    ``maker_fee`` / ``taker_fee`` shorthand; a unit is a contract or a share)."""
    venue: str
    taker: float
    maker: float      # negative = rebate
    model: str = "uniform"

    def per_unit(self, liquidity: Liquidity, **_) -> float:
        return self.maker if _added(liquidity) else self.taker

    def ranking_rate(self, liquidity: Liquidity) -> float:
        return self.maker if _added(liquidity) else self.taker


@dataclass(frozen=True, slots=True)
class Rate:
    maker: float
    taker: float

    def of(self, liquidity: Liquidity) -> float:
        return self.maker if _added(liquidity) else self.taker


@dataclass(frozen=True, slots=True)
class PerContractFees:
    """maker_taker, taker_maker and flat: a Rate per (account type, penny?)."""
    venue: str
    model: str
    account_type: str
    rates: dict[tuple[str, bool], Rate]
    non_penny_underliers: frozenset[str] = field(default_factory=frozenset)

    def is_penny(self, symbol: str | None) -> bool:
        return symbol is None or underlier_of(symbol) not in self.non_penny_underliers

    def rate(self, capacity: str | None, penny: bool) -> Rate:
        account = _capacity(capacity, self.account_type)
        try:
            return self.rates[(account, penny)]
        except KeyError:
            raise FeeError(f"{self.venue}: no {self.model} rate for account type {account!r}") from None

    def per_unit(self, liquidity: Liquidity, *, symbol: str | None = None, capacity: str | None = None, **_) -> float:
        return self.rate(capacity, self.is_penny(symbol)).of(liquidity)

    def ranking_rate(self, liquidity: Liquidity) -> float:
        return self.rate(None, True).of(liquidity)


@dataclass(frozen=True, slots=True)
class CryptoOptionFees:
    """Per contract: ``pct_of_underlying``% x underlier price x contract size, never more than
    ``cap_pct_of_premium``% x premium x contract size (a rebate is capped the same way)."""
    venue: str
    maker_pct_of_underlying: float
    taker_pct_of_underlying: float
    cap_pct_of_premium: float
    contract_size: float = 1.0
    model: str = "crypto"

    def per_unit(self, liquidity: Liquidity, *, price: float | None = None,
                 underlier_price: float | None = None, **_) -> float:
        if price is None or underlier_price is None:
            missing = " and ".join(n for n, v in (("price", price), ("underlier_price", underlier_price)) if v is None)
            raise FeeError(f"{self.venue}: the crypto fee needs the option's {missing} "
                           "(a percent of the underlying, capped at a percent of the premium)")
        pct = self.maker_pct_of_underlying if _added(liquidity) else self.taker_pct_of_underlying
        by_underlying = abs(pct) / 100.0 * underlier_price * self.contract_size
        cap = self.cap_pct_of_premium / 100.0 * abs(price) * self.contract_size
        return (1.0 if pct >= 0 else -1.0) * min(by_underlying, cap)

    def ranking_rate(self, liquidity: Liquidity) -> float:
        # No per-unit $ figure exists without prices; venues of one kind rank alike.
        return 0.0


@dataclass(frozen=True, slots=True)
class PerShareFees:
    venue: str
    maker: float
    taker: float
    model: str = "per_share"

    def per_unit(self, liquidity: Liquidity, **_) -> float:
        return self.maker if _added(liquidity) else self.taker

    def ranking_rate(self, liquidity: Liquidity) -> float:
        return self.per_unit(liquidity)


@dataclass(frozen=True, slots=True)
class NotionalFees:
    """Per contract: ``pct``% x the fill price x ``contract_size`` (a rebate when negative).
    Binance USD-M futures, regular user (VIP 0), USDⓈ-M perpetuals: maker 0.0200%, taker 0.0500%
    (binance.com/en/fee/futureFee): a taker buying 1 BTC at 60000 USDT pays 30 USDT."""
    venue: str
    maker_pct: float
    taker_pct: float
    contract_size: float = 1.0
    model: str = "pct_of_notional"

    def per_unit(self, liquidity: Liquidity, *, price: float | None = None, **_) -> float:
        if price is None:
            raise FeeError(f"{self.venue}: a percent-of-notional fee needs the fill price")
        pct = self.maker_pct if _added(liquidity) else self.taker_pct
        return pct / 100.0 * price * self.contract_size

    def ranking_rate(self, liquidity: Liquidity) -> float:
        # No per-unit figure without a price; the SOR ranks with the price when it has one.
        return 0.0


def binance_usdm_perpetual(venue: str = "BNPF") -> NotionalFees:
    """Binance USD-M VIP 0, per 0.001-BTC lot (BTCUSDT's quantity step)."""
    return NotionalFees(venue, 0.02, 0.05, 0.001)


def _capacity(capacity, default: str) -> str:
    if capacity is None:
        return default
    name = getattr(capacity, "value", capacity)
    if name not in ACCOUNT_TYPES:
        raise FeeError(f"unknown capacity {capacity!r}: one of {', '.join(ACCOUNT_TYPES)}")
    return name


def model_from_config(venue: str, fees) -> FeeModel:
    """A fee model from a ``router.config`` fee table (duck-typed: venues never import config)."""
    model = fees.model
    if model in ("maker_taker", "taker_maker"):
        rates = {}
        for account in ACCOUNT_TYPES:
            table = getattr(fees, account)
            penny = Rate(table.penny.maker, table.penny.taker)
            non_penny = Rate(table.non_penny.maker, table.non_penny.taker) if table.non_penny else penny
            rates[(account, True)], rates[(account, False)] = penny, non_penny
        return PerContractFees(venue, model, fees.account_type, rates, frozenset(fees.non_penny_underliers))
    if model == "flat":
        rates = {}
        for account in ACCOUNT_TYPES:
            table = getattr(fees, account)
            penny = table.penny if table is not None else fees.rate
            non_penny = (table.non_penny if table is not None and table.non_penny is not None else penny)
            rates[(account, True)], rates[(account, False)] = Rate(penny, penny), Rate(non_penny, non_penny)
        return PerContractFees(venue, model, fees.account_type, rates, frozenset(fees.non_penny_underliers))
    if model == "crypto":
        return CryptoOptionFees(venue, fees.maker_pct_of_underlying, fees.taker_pct_of_underlying,
                                fees.cap_pct_of_premium, fees.contract_size)
    if model == "per_share":
        return PerShareFees(venue, fees.maker, fees.taker)
    if model == "pct_of_notional":
        return NotionalFees(venue, fees.maker_pct, fees.taker_pct, fees.contract_size)
    raise FeeError(f"{venue}: unknown fee model {model!r}")


# Presets for crypto option venues, from the venues' published schedules:
# Deribit BTC options: 0.03% of the underlying (0.0003 BTC per contract of 1 BTC), maker and
#   taker, capped at 12.5% of the option price (support.deribit.com/hc/en-us/articles/25944746248989-Fees).
# OKX BTC options (contract 0.01 BTC): maker 0.02%, taker 0.03% of the underlying at the base
#   tier; the cap is 7% of the premium since 15 May 2025 (12.5% before), per OKX's "Trading Fee
#   Rules FAQ" worked example and its announcement of the options fee change.
def deribit_btc_options(venue: str = "DERIBIT") -> CryptoOptionFees:
    return CryptoOptionFees(venue, 0.03, 0.03, 12.5, 1.0)


def okx_btc_options(venue: str = "OKX") -> CryptoOptionFees:
    return CryptoOptionFees(venue, 0.02, 0.03, 7.0, 0.01)


class FeeSchedule:
    def __init__(self, fees: Iterable[FeeModel]) -> None:
        self._fees = {fee.venue: fee for fee in fees}

    @classmethod
    def from_configs(cls, venue_configs) -> "FeeSchedule":
        models = []
        for cfg in venue_configs:
            fees = getattr(cfg, "fees", None)
            models.append(model_from_config(cfg.name, fees) if fees is not None
                          else VenueFees(cfg.name, cfg.taker_fee, cfg.maker_fee))
        return cls(models)

    @property
    def venues(self) -> list[str]:
        return list(self._fees)

    def model(self, venue: str) -> FeeModel:
        try:
            return self._fees[venue]
        except KeyError:
            raise FeeError(f"no fee schedule for venue {venue!r}") from None

    def taker(self, venue: str) -> float:
        """$ per unit to remove liquidity: the default account type, penny class."""
        return self.model(venue).ranking_rate(Liquidity.REMOVED)

    def maker(self, venue: str) -> float:
        """$ per unit to add liquidity (negative = rebate): the default account type, penny class."""
        return self.model(venue).ranking_rate(Liquidity.ADDED)

    def net_fee(self, venue: str, liquidity: Liquidity, *, symbol: str | None = None, price: float | None = None,
                underlier_price: float | None = None, capacity: str | None = None) -> float:
        """$ per unit (contract or share) for this symbol, account type and prices."""
        return self.model(venue).per_unit(liquidity, symbol=symbol, price=price,
                                          underlier_price=underlier_price, capacity=capacity)

    def fee(self, venue: str, qty: int, liquidity: Liquidity, *, symbol: str | None = None,
            price: float | None = None, underlier_price: float | None = None, capacity: str | None = None) -> float:
        """$ for a fill of ``qty`` units; negative is a rebate."""
        per_unit = self.net_fee(venue, liquidity, symbol=symbol, price=price,
                                underlier_price=underlier_price, capacity=capacity)
        return round(per_unit * qty, 6)
