"""Exchange fee schedules: $ per unit for removing (taker) and adding (maker) liquidity. A unit
is a contract on an option venue and a share on an equity venue."""
from __future__ import annotations

from dataclasses import dataclass

from router.domain.enums import Liquidity


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

    def fee(self, venue: str, qty: int, liquidity: Liquidity) -> float:
        """$ for a fill of ``qty`` units; negative is a rebate."""
        per_unit = self.maker(venue) if liquidity is Liquidity.ADDED else self.taker(venue)
        return round(per_unit * qty, 6)
