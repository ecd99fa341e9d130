"""Exchange fee schedules: $ per contract for removing (taker) and adding (maker) liquidity."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class VenueFees:
    venue: str
    taker: float
    maker: float      # negative = rebate


class FeeSchedule:
    def __init__(self, fees: list[VenueFees]) -> None:
        self._fees = {fee.venue: fee for fee in fees}

    @classmethod
    def from_configs(cls, venue_configs) -> "FeeSchedule":
        return cls([VenueFees(cfg.name, cfg.taker_fee, cfg.maker_fee) for cfg in venue_configs])

    @property
    def venues(self) -> list[str]:
        return list(self._fees)

    def taker(self, venue: str) -> float:
        return self._fees[venue].taker

    def maker(self, venue: str) -> float:
        return self._fees[venue].maker

    def fee(self, venue: str, qty: int, liquidity: str) -> float:
        per_contract = self.maker(venue) if liquidity == "A" else self.taker(venue)
        return round(per_contract * qty, 6)
