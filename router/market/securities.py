"""The security master: underliers and their option chains, listed in config or generated
(third-Friday monthly expiries, strikes every step around spot)."""
from __future__ import annotations

from datetime import date, timedelta

from router.domain.commands import InstrumentSpec
from router.domain.instruments import (ALL_PENNY, PENNY_PILOT, Exercise, Instrument, InstrumentKind, OsiError,
                                       PutCall, Settlement, TickRule, format_osi)


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


class SecurityMaster:
    def __init__(self, instruments: list[Instrument]) -> None:
        self._by_symbol = {inst.symbol: inst for inst in instruments}

    @classmethod
    def from_chains(cls, underliers, today: date | None = None) -> "SecurityMaster":
        """Build from ``UnderlierConfig`` entries: each underlier, then calls and puts for every
        expiry x strike (generated ones relative to ``today``)."""
        instruments: list[Instrument] = []
        for und in underliers:
            kind = InstrumentKind(und.kind)
            underlier_tick = TickRule(und.underlier_tick, und.underlier_tick, 0.0)
            instruments.append(Instrument(und.symbol, kind, und.symbol, expiry=und.future_expiry, multiplier=1,
                                          tick_rule=underlier_tick,
                                          settlement=Settlement(und.settlement) if kind is InstrumentKind.FUTURE else None))
            expiries = sorted(set(und.expiries) | set(third_fridays(today or date.today(), und.monthly_expiries)))
            strikes = sorted(set(und.strikes) | set(chain_strikes(und.spot, und.strike_step, und.strikes_each_side)
                                                    if und.strike_step else set()))
            option_tick = ALL_PENNY if und.tick == "all_penny" else PENNY_PILOT
            for expiry in expiries:
                for strike in strikes:
                    for put_call in (PutCall.CALL, PutCall.PUT):
                        instruments.append(Instrument(
                            format_osi(und.symbol, expiry, put_call, strike), InstrumentKind.OPTION, und.symbol,
                            expiry, put_call, float(strike), und.multiplier, option_tick,
                            Settlement(und.settlement), Exercise(und.exercise), kind))
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
        """Find the instrument a client named: OSI code or ticker in Symbol, or Symbol plus
        MaturityDate + StrikePrice + PutOrCall/CFICode."""
        direct = self._by_symbol.get(spec.symbol)
        if direct is not None and spec.strike is None:
            return direct
        if spec.maturity_date and spec.strike is not None and spec.put_call:
            try:
                expiry = date(int(spec.maturity_date[:4]), int(spec.maturity_date[4:6]), int(spec.maturity_date[6:8]))
                osi = format_osi(spec.symbol.strip(), expiry, PutCall(spec.put_call), spec.strike)
            except (ValueError, OsiError):
                return None
            return self._by_symbol.get(osi)
        return None


def years_between(start_ns: int, expiry: date, close_hour_utc: int = 20) -> float:
    """Year fraction from a clock time to an expiry's close (ACT/365.25), never negative."""
    expiry_ns = (date(expiry.year, expiry.month, expiry.day) - date(1970, 1, 1)).days * 86_400 + close_hour_utc * 3600
    return max(expiry_ns * 1_000_000_000 - start_ns, 0) / (365.25 * 86_400 * 1e9)


