"""Crypto option listing rules: Deribit-style expiries and instrument names.

Deribit (docs.deribit.com, "Naming"; deribit.com "Contract specifications options") names an
option ``BTC-DMMMYY-STRIKE-K``: the currency, the expiry date with a one- or two-digit day and
the month's first three letters, the strike in USD, C or P: ``BTC-25MAR23-420-C``,
``BTC-5AUG23-580-P``. Expiry is at 08:00 UTC. It lists dailies, weeklies every Friday, monthlies
on the last Friday of the month and quarterlies (the last Friday of March, June, September and
December). This simulator lists a subset: ``weeklies`` Fridays and ``monthlies`` last Fridays
(quarterlies are among those), no dailies. OKX lists the same Friday cycle at the same hour.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from router.domain.instruments import PutCall

EXPIRY_HOUR_UTC = 8
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_NAME = re.compile(r"^([A-Z][A-Z0-9_]*)-(\d{1,2})([A-Z]{3})(\d{2})-(\d+(?:d\d+)?)-([CP])$")


class CryptoSymbolError(ValueError):
    pass


def fridays(start: date, count: int) -> list[date]:
    """The next ``count`` Fridays strictly after ``start`` (the weeklies)."""
    first = start + timedelta(days=(4 - start.weekday()) % 7 or 7)
    return [first + timedelta(weeks=i) for i in range(count)]


def last_fridays(start: date, count: int) -> list[date]:
    """The last Friday of each month, the next ``count`` of them strictly after ``start`` (the monthlies)."""
    found: list[date] = []
    year, month = start.year, start.month
    while len(found) < count:
        next_first = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        last_day = next_first - timedelta(days=1)
        friday = last_day - timedelta(days=(last_day.weekday() - 4) % 7)
        if friday > start:
            found.append(friday)
        year, month = next_first.year, next_first.month
    return found


def deribit_expiries(start: date, weeklies: int, monthlies: int) -> list[date]:
    """Weekly Fridays and last-Friday monthlies after ``start``, each date once, in order."""
    return sorted(set(fridays(start, weeklies)) | set(last_fridays(start, monthlies)))


def _strike_text(strike: float) -> str:
    if strike <= 0:
        raise CryptoSymbolError(f"strike {strike} must be positive")
    if float(strike).is_integer():
        return str(int(strike))
    return f"{strike:.6f}".rstrip("0").replace(".", "d")     # Deribit's linear options: d is the decimal point


def format_deribit(currency: str, expiry: date, put_call: PutCall, strike: float) -> str:
    if not currency or "-" in currency:
        raise CryptoSymbolError(f"currency {currency!r} must be non-empty without '-'")
    return f"{currency}-{expiry.day}{_MONTHS[expiry.month - 1]}{expiry:%y}-{_strike_text(strike)}-{put_call.value}"


def parse_deribit(symbol: str) -> tuple[str, date, PutCall, float]:
    """(currency, expiry, put/call, strike) of a Deribit option name; CryptoSymbolError with the reason."""
    match = _NAME.match(symbol)
    if match is None:
        raise CryptoSymbolError(f"{symbol!r} is not a Deribit option name (CCY-DMMMYY-STRIKE-C|P)")
    currency, day, month, year, strike, put_call = match.groups()
    if month not in _MONTHS:
        raise CryptoSymbolError(f"{symbol!r} has an unknown month {month!r}")
    try:
        expiry = date(2000 + int(year), _MONTHS.index(month) + 1, int(day))
    except ValueError as exc:
        raise CryptoSymbolError(f"{symbol!r} has a bad expiry: {exc}") from None
    return currency, expiry, PutCall(put_call), float(strike.replace("d", "."))


def is_deribit_name(symbol: str) -> bool:
    return _NAME.match(symbol) is not None
