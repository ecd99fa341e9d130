"""The security master: tradeable instruments, generated as option chains from config."""
from __future__ import annotations

from datetime import date

from router.domain.commands import InstrumentSpec
from router.domain.instruments import (ALL_PENNY, PENNY_PILOT, Instrument, InstrumentKind, OsiError, PutCall,
                                       format_osi)


class SecurityMaster:
    def __init__(self, instruments: list[Instrument]) -> None:
        self._by_symbol = {inst.symbol: inst for inst in instruments}

    @classmethod
    def from_chains(cls, underliers) -> "SecurityMaster":
        """Build from ``UnderlierConfig``-like objects: each underlier, plus calls and puts for
        every expiry x strike."""
        instruments: list[Instrument] = []
        for und in underliers:
            tick = ALL_PENNY if und.tick == "all_penny" else PENNY_PILOT
            instruments.append(Instrument(und.symbol, InstrumentKind.EQUITY, und.symbol, multiplier=1,
                                          tick_rule=ALL_PENNY))
            for expiry in und.expiries:
                for strike in und.strikes:
                    for put_call in (PutCall.CALL, PutCall.PUT):
                        osi = format_osi(und.symbol, expiry, put_call, strike)
                        instruments.append(Instrument(osi, InstrumentKind.OPTION, und.symbol, expiry, put_call,
                                                      float(strike), und.multiplier, tick))
        return cls(instruments)

    def __iter__(self):
        return iter(self._by_symbol.values())

    def __len__(self) -> int:
        return len(self._by_symbol)

    def get(self, symbol: str) -> Instrument | None:
        return self._by_symbol.get(symbol)

    def options(self) -> list[Instrument]:
        return [inst for inst in self._by_symbol.values() if inst.is_option]

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
