"""The security master: underliers and their option chains, listed in config or generated
(third-Friday monthly expiries, strikes every step around spot).

US chains carry OSI symbols. Crypto chains (``market = "crypto"``) carry Deribit names
(``BTC-27NOV26-90000-C``), last-Friday monthlies and Friday weeklies expiring at 08:00 UTC, and
their premium currency (router/market/crypto.py). A client can name either by its symbol, or by
root (the OSI root, the crypto coin, or the underlier's symbol) plus maturity, strike and put/call."""
from __future__ import annotations

from datetime import date, timedelta

from router.domain.commands import InstrumentSpec
from router.domain.instruments import (ALL_PENNY, CRYPTO_BTC, PENNY_PILOT, Exercise, Instrument, InstrumentKind,
                                       OsiError, PutCall, Settlement, TickRule, format_osi, parse_osi)
from router.market import crypto

OPTION_TICKS = {"penny_pilot": PENNY_PILOT, "all_penny": ALL_PENNY, "crypto_btc": CRYPTO_BTC}
US_CLOSE_HOUR_UTC = 20


def third_fridays(start: date, count: int) -> list[date]:
    """The next ``count`` monthly expiries (third Friday) strictly after ``start``."""
    found: list[date] = []
    year, month = start.year, start.month
    while len(found) < count:
        first = date(year, month, 1)
        friday = first + timedelta(days=(4 - first.weekday()) % 7 + 14)
        if friday > start:
            found.append(friday)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def chain_strikes(spot: float, step: float, each_side: int) -> list[float]:
    centre = round(spot / step) * step
    return [round(centre + i * step, 6) for i in range(-each_side, each_side + 1) if centre + i * step > 0]


def option_root(symbol: str) -> str | None:
    """The root an option's own name carries: the OSI root, or the coin of a Deribit name."""
    try:
        return crypto.parse_deribit(symbol)[0] if crypto.is_deribit_name(symbol) else parse_osi(symbol)[0]
    except (OsiError, crypto.CryptoSymbolError):
        return None


def _option_name(und, expiry: date, put_call: PutCall, strike: float) -> str:
    if und.market == "crypto":
        return crypto.format_deribit(und.option_root or und.symbol, expiry, put_call, strike)
    return format_osi(und.option_root or und.symbol, expiry, put_call, strike)


def _expiries(und, today: date) -> list[date]:
    if und.market == "crypto":
        generated = crypto.deribit_expiries(today, und.weekly_expiries, und.monthly_expiries)
    else:
        generated = third_fridays(today, und.monthly_expiries) + crypto.fridays(today, und.weekly_expiries)
    return sorted(set(und.expiries) | set(generated))


def _parts_key(root: str, expiry: date, put_call: PutCall, strike: float) -> tuple:
    return root, expiry, put_call, round(float(strike), 6)


class SecurityMaster:
    def __init__(self, instruments: list[Instrument]) -> None:
        self._by_symbol = {inst.symbol: inst for inst in instruments}
        self._by_parts: dict[tuple, Instrument] = {}
        for inst in instruments:
            if inst.is_option:
                for root in {inst.underlying, option_root(inst.symbol)} - {None}:
                    self._by_parts.setdefault(_parts_key(root, inst.expiry, inst.put_call, inst.strike), inst)

    @classmethod
    def from_chains(cls, underliers, today: date | None = None) -> "SecurityMaster":
        """Build from ``UnderlierConfig`` entries: each underlier, then calls and puts for every
        expiry x strike (generated ones relative to ``today``)."""
        instruments: list[Instrument] = []
        for und in underliers:
            kind = InstrumentKind(und.kind)
            underlier_tick = TickRule(und.underlier_tick, und.underlier_tick, 0.0)
            lot = und.lot_size if und.lot_size != 1 else 1      # a stock's multiplier stays the int 1
            instruments.append(Instrument(und.symbol, kind, und.symbol, expiry=und.future_expiry, multiplier=lot,
                                          tick_rule=underlier_tick,
                                          settlement=Settlement(und.settlement) if kind is InstrumentKind.FUTURE else None,
                                          market=und.market, lot_size=und.lot_size))
            expiries = _expiries(und, today or date.today())
            strikes = sorted(set(und.strikes) | set(chain_strikes(und.spot, und.strike_step, und.strikes_each_side)
                                                    if und.strike_step else set()))
            option_tick = OPTION_TICKS[und.tick]
            close_hour = crypto.EXPIRY_HOUR_UTC if und.market == "crypto" else US_CLOSE_HOUR_UTC
            for expiry in expiries:
                for strike in strikes:
                    for put_call in (PutCall.CALL, PutCall.PUT):
                        instruments.append(Instrument(
                            _option_name(und, expiry, put_call, strike), InstrumentKind.OPTION, und.symbol,
                            expiry, put_call, float(strike), und.multiplier, option_tick,
                            Settlement(und.settlement), Exercise(und.exercise), kind,
                            und.quote_currency, close_hour, und.market))
        return cls(instruments)

    def __iter__(self):
        return iter(self._by_symbol.values())

    def __len__(self) -> int:
        return len(self._by_symbol)

    def get(self, symbol: str) -> Instrument | None:
        return self._by_symbol.get(symbol)

    def options(self) -> list[Instrument]:
        return [inst for inst in self._by_symbol.values() if inst.is_option]

    def underliers(self) -> list[Instrument]:
        return [inst for inst in self._by_symbol.values() if not inst.is_option]

    def resolve(self, spec: InstrumentSpec) -> Instrument | None:
        """Find the instrument a client named: OSI code, Deribit name or ticker in Symbol, or a
        root in Symbol (OSI root, crypto coin or underlier) plus MaturityDate + StrikePrice +
        PutOrCall/CFICode."""
        direct = self._by_symbol.get(spec.symbol)
        if direct is not None and spec.strike is None:
            return direct
        if spec.maturity_date and spec.strike is not None and spec.put_call:
            try:
                expiry = date(int(spec.maturity_date[:4]), int(spec.maturity_date[4:6]), int(spec.maturity_date[6:8]))
            except ValueError:
                return None
            return self._by_parts.get(_parts_key(spec.symbol.strip(), expiry, PutCall(spec.put_call), spec.strike))
        return None


def years_between(start_ns: int, expiry: date, close_hour_utc: int = 20) -> float:
    """Year fraction from a clock time to an expiry's close (ACT/365.25), never negative."""
    expiry_ns = (date(expiry.year, expiry.month, expiry.day) - date(1970, 1, 1)).days * 86_400 + close_hour_utc * 3600
    return max(expiry_ns * 1_000_000_000 - start_ns, 0) / (365.25 * 86_400 * 1e9)


