"""Instruments and OSI option symbology.

An OSI symbol is the 6-character space-padded root, the expiry as YYMMDD, C or P, and the
strike times 1000 as 8 digits: ``AAPL  261218C00200000`` is the AAPL 2026-12-18 200 call.
Crypto options are not OSI: they carry their venue's own name (``BTC-27NOV26-90000-C``,
router/market/crypto.py) in ``symbol`` and say what their premium is quoted in.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from enum import Enum

import numpy as np


class InstrumentKind(str, Enum):
    EQUITY = "equity"
    FUTURE = "future"
    PERPETUAL = "perpetual"
    OPTION = "option"


class PutCall(str, Enum):
    PUT = "P"
    CALL = "C"


class Settlement(str, Enum):
    PHYSICAL = "physical"
    CASH = "cash"


class Exercise(str, Enum):
    AMERICAN = "american"
    EUROPEAN = "european"


@dataclass(frozen=True, slots=True)
class TickRule:
    """Minimum price increment: ``small_tick`` below ``threshold``, ``large_tick`` at or above.

    Penny-pilot classes quote 0.01 below 3.00 and 0.05 above; all-penny classes use 0.01 throughout.
    The valid prices form a ladder: rung ``r`` is ``r * small_tick`` below the threshold and
    ``threshold + k * large_tick`` above it, so 2.98, 2.99, 3.00, 3.05 are consecutive rungs.
    """
    small_tick: float = 0.01
    large_tick: float = 0.05
    threshold: float = 3.00

    def tick_at(self, price: float) -> float:
        return self.small_tick if price < self.threshold - 1e-9 else self.large_tick

    def is_on_tick(self, price: float) -> bool:
        steps = price / self.tick_at(price)
        return abs(steps - round(steps)) < 1e-6

    def round_passive(self, price: float, is_buy: bool) -> float:
        """Round to a valid tick without crossing the caller's limit (buys down, sells up)."""
        tick = self.tick_at(price)
        steps = price / tick
        steps = math.floor(steps + 1e-9) if is_buy else math.ceil(steps - 1e-9)
        return round(steps * tick, 6)

    def step(self, price: float, ticks: int) -> float:
        """``price`` moved ``ticks`` rungs up the ladder (down when negative), one tick size at a
        time, so a move across the threshold changes the tick size on the way: 3.05 three ticks
        down is 2.98 on the penny-pilot ladder. A price off the ladder moves from its nearest rung."""
        return self._price_at(round(self._rung(price)) + ticks)

    def ticks_between(self, low: float, high: float) -> float:
        """How many rungs ``high`` is above ``low`` (negative when below)."""
        return self._rung(high) - self._rung(low)

    def step_array(self, prices: np.ndarray, ticks: np.ndarray | int) -> np.ndarray:
        """``step`` for arrays of prices (NaN stays NaN)."""
        return self._prices_at(np.round(self._rungs(prices)) + ticks)

    def round_passive_array(self, prices: np.ndarray, is_buy: np.ndarray) -> np.ndarray:
        """``round_passive`` for arrays of prices and sides (NaN stays NaN)."""
        rungs = self._rungs(prices)
        return self._prices_at(np.where(is_buy, np.floor(rungs + 1e-6), np.ceil(rungs - 1e-6)))

    @property
    def _first_large_rung(self) -> int:
        return round(self.threshold / self.small_tick)

    def _rung(self, price: float) -> float:
        if price < self.threshold - 1e-9:
            return price / self.small_tick
        return self._first_large_rung + (price - self.threshold) / self.large_tick

    def _price_at(self, rung: int) -> float:
        if rung < self._first_large_rung:
            return round(rung * self.small_tick, 6)
        return round(self.threshold + (rung - self._first_large_rung) * self.large_tick, 6)

    def _rungs(self, prices: np.ndarray) -> np.ndarray:
        prices = np.asarray(prices, dtype=float)
        return np.where(prices < self.threshold - 1e-9, prices / self.small_tick,
                        self._first_large_rung + (prices - self.threshold) / self.large_tick)

    def _prices_at(self, rungs: np.ndarray) -> np.ndarray:
        first = self._first_large_rung
        return np.round(np.where(rungs < first, rungs * self.small_tick,
                                 self.threshold + (rungs - first) * self.large_tick), 6)


PENNY_PILOT = TickRule()
ALL_PENNY = TickRule(0.01, 0.01, 0.0)
# BTC options on Deribit (and OKX), premium in BTC: 0.0001 up to 0.0050, 0.0005 above, so 0.0049,
# 0.0050, 0.0055 are consecutive prices (Deribit, "6 July 2023 (TS)": tick_size 0.0001 with
# tick_size_steps [{above_price: 0.005, tick_size: 0.0005}]; OKX lists the same steps for BTC options).
CRYPTO_BTC = TickRule(0.0001, 0.0005, 0.005)


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str                      # OSI code for options, the ticker otherwise
    kind: InstrumentKind
    underlying: str                  # the underlier's symbol (itself for an underlier)
    expiry: date | None = None       # options and futures; None for equities and perpetuals
    put_call: PutCall | None = None
    strike: float | None = None
    multiplier: float = 100          # underlying units per qty unit (a delta-one instrument: its lot size)
    tick_rule: TickRule = PENNY_PILOT
    settlement: Settlement | None = None
    exercise: Exercise | None = None
    underlying_kind: InstrumentKind | None = None   # options: what they are written on (Black-76 on futures)
    quote_currency: str = "USD"      # the premium's currency: "BTC" for coin-margined crypto options
    expiry_hour_utc: int = 20        # when an expiry day ends: 20:00 UTC for US options, 08:00 for Deribit/OKX
    market: str = "us_equity_options"   # or "crypto": which venues list it (VenueConfig.market)
    # The quantity step, in the instrument's own unit: a quantity counts lots of this size. 1 for
    # shares and contracts; 0.001 for the BTCUSDT perpetual (Binance's step), whose multiplier is
    # then 0.001 too, so qty x price x multiplier stays the notional in USDT.
    lot_size: float = 1.0

    @property
    def is_option(self) -> bool:
        return self.kind is InstrumentKind.OPTION

    @property
    def is_call(self) -> bool:
        return self.put_call is PutCall.CALL

    @property
    def on_future(self) -> bool:
        return self.underlying_kind in (InstrumentKind.FUTURE, InstrumentKind.PERPETUAL)

    @property
    def coin_quoted(self) -> bool:
        """The premium is quoted in the underlier's coin (BTC), not in USD."""
        return self.quote_currency != "USD"

    def premium_usd(self, premium: float, underlier_price: float) -> float:
        """A premium in USD: a coin-quoted one times the underlier's USD price
        (premium_usd = premium_btc x underlier), a USD one as it is."""
        return premium * underlier_price if self.coin_quoted else premium


class OsiError(ValueError):
    pass


def format_osi(root: str, expiry: date, put_call: PutCall, strike: float) -> str:
    if not root or len(root) > 6:
        raise OsiError(f"option root {root!r} must be 1-6 characters")
    strike_millis = round(strike * 1000)
    if strike_millis <= 0 or strike_millis > 99_999_999:
        raise OsiError(f"strike {strike} out of OSI range")
    return f"{root:<6}{expiry:%y%m%d}{put_call.value}{strike_millis:08d}"


def parse_osi(symbol: str) -> tuple[str, date, PutCall, float]:
    """Split an OSI code into (root, expiry, put/call, strike); raises OsiError with the reason."""
    if len(symbol) != 21:
        raise OsiError(f"OSI symbol {symbol!r} must be 21 characters, got {len(symbol)}")
    root = symbol[:6].rstrip()
    if not root or " " in root:
        raise OsiError(f"OSI symbol {symbol!r} has a bad root")
    yymmdd, cp, strike_txt = symbol[6:12], symbol[12], symbol[13:]
    if cp not in ("C", "P"):
        raise OsiError(f"OSI symbol {symbol!r} needs C or P at position 13")
    if not (yymmdd.isdigit() and strike_txt.isdigit()):
        raise OsiError(f"OSI symbol {symbol!r} has non-digit expiry or strike")
    try:
        expiry = date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
    except ValueError as exc:
        raise OsiError(f"OSI symbol {symbol!r} has a bad expiry: {exc}") from None
    return root, expiry, PutCall(cp), int(strike_txt) / 1000.0


def option_from_osi(symbol: str, multiplier: int = 100, tick_rule: TickRule = PENNY_PILOT) -> Instrument:
    root, expiry, put_call, strike = parse_osi(symbol)
    return Instrument(symbol, InstrumentKind.OPTION, root, expiry, put_call, strike, multiplier, tick_rule)
