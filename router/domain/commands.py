"""Typed client commands: what a decoded FIX message becomes.

These are pydantic models because they sit on the boundary: the FIX codec builds them from
untrusted input, and the validators here carry the business rules that need no state
(quantities, price presence, ranges). Rules that need state (duplicate ClOrdID, unknown
instrument) live in the engine.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .enums import (BalanceHandling, HedgeMode, LimitClass, LimitType, MassCancelType, OrderHandling, OrdRejReason,
                    OrdType, ShortSaleFlag, Side, SRRejectCode, SRTimeInForce, StartType, TimeInForce)

VOL_LIMIT_RANGE = (0.005, 9.0)
# LimitTypes priced from a volatility: they need OrderVolLimit (5116); every other type but Market
# must leave it 0 (Market ignores it, as the reference says).
VOL_LIMIT_TYPES = frozenset({LimitType.VOL, LimitType.VOL_X, LimitType.PRC_V, LimitType.PRC_VX, LimitType.VOL_PRC})



class CommandError(ValueError):
    """A business-rule violation found while decoding; carries the reject codes to send."""

    def __init__(self, text: str, ord_rej_reason: int, sr_reject_code: int) -> None:
        super().__init__(text)
        self.text = text
        self.ord_rej_reason = ord_rej_reason
        self.sr_reject_code = sr_reject_code


class AlgoParams(BaseModel):
    """SpiderRock-style algo instructions (custom tags 5000+) of a parent order."""
    model_config = ConfigDict(frozen=True, extra="forbid")

    order_handling: OrderHandling | None = None           # 5094
    balance_handling: BalanceHandling | None = None       # 5096
    limit_type: LimitType | None = None                   # 5098
    take_limit_class: LimitClass | None = None            # 5100
    make_limit_class: LimitClass | None = None            # 5102
    exchanges: tuple[str, ...] = ()                       # 5082, empty = all
    max_child_orders: int | None = Field(None, ge=1)      # 5080
    active_size: int | None = Field(None, ge=1)           # 5044
    sr_time_in_force: SRTimeInForce | None = None         # 5084
    order_duration_s: int | None = Field(None, ge=0)      # 5086
    good_till: datetime | None = None                     # 5088
    vol_limit: float | None = None                        # 5116
    order_prc_limit: float | None = None                  # 5106
    order_prc_offset: float = 0.0                         # 5126
    strategy: str | None = None                           # 5034
    rate_override: float | None = Field(None, ge=0)       # 5118, 0 = ignore
    sdiv_override: float | None = None                    # 5120
    ddiv_override: tuple[tuple[float, float], ...] | None = None   # 5122, (years, amount) pairs
    override_code: Literal["S", "D", "B"] | None = None   # 5124
    take_surface_prc_offset: float = 0.0                  # 5140 (the seed's 5410; see fix_specs)
    take_surface_vol_offset: float = 0.0                  # 5142
    make_surface_prc_offset: float = 0.0                  # 5144
    make_surface_vol_offset: float = 0.0                  # 5146
    order_ref_uprc: float | None = None                   # 5108, default: underlier mid at arrival
    order_ref_delta: float | None = None                  # 5110, default: the model's delta
    order_ref_gamma: float | None = None                  # 5112, default: the model's gamma
    order_ref_theta: float | None = None                  # 5114
    cxl_uprc_range: bool | None = None                    # 5072: Y cancel, N (default) hold outside the range
    min_ubid: float | None = None                         # 5074
    max_uask: float | None = None                         # 5076
    min_option_px: float | None = None                    # 5078, floor of a sell's limit
    auto_hedge: HedgeMode | None = None                   # 5152
    alt_auto_hedge_id: str | None = None                  # 5010, the ClOrdID of hedge executions
    short_sale_flag: ShortSaleFlag | None = None          # 5172
    start_type: StartType | None = None                   # 5090
    slice_count: int | None = None                        # 5056
    take_reach: int | None = None                         # 5104
    extra: dict[int, str] = Field(default_factory=dict)   # every other custom tag, kept verbatim

    @field_validator("vol_limit")
    @classmethod
    def _vol_limit_range(cls, value: float | None) -> float | None:
        low, high = VOL_LIMIT_RANGE
        if value is not None and value != 0 and not (low <= value <= high):
            raise ValueError(f"OrderVolLimit {value:g} out of range {low:g}-{high:g}")
        return value


def check_algo_rules(algo: AlgoParams) -> None:
    """Rules across several custom tags. Checked on new orders, not in AlgoParams itself, so a
    stored order still loads if a rule is added later."""
    limit_type = algo.limit_type
    if limit_type in VOL_LIMIT_TYPES and not algo.vol_limit:
        raise CommandError(f"OrderVolLimit (5116) required for LimitType (5098) {limit_type.name}",
                           OrdRejReason.OTHER, SRRejectCode.BAD_VOL_PX)
    if algo.vol_limit and limit_type not in VOL_LIMIT_TYPES and limit_type is not LimitType.MARKET:
        given = "absent" if limit_type is None else limit_type.name
        raise CommandError(f"OrderVolLimit (5116) must be 0 unless LimitType (5098) is Vol, VolX, PrcV, PrcVX or "
                           f"VolPrc; LimitType is {given}", OrdRejReason.OTHER, SRRejectCode.BAD_VOL_PX)
    if algo.auto_hedge not in (None, HedgeMode.NO_HEDGE) and not algo.alt_auto_hedge_id:
        raise CommandError(f"SRAutoHedge (5152) {algo.auto_hedge.value} requires SRAltAutoHedgeId (5010), "
                           "the ClOrdID of the hedge executions", OrdRejReason.OTHER, SRRejectCode.INVLD_AUTO_H)
    if algo.min_ubid is not None and algo.max_uask is not None and algo.min_ubid > algo.max_uask:
        raise CommandError(f"SRMinUBid (5074) {algo.min_ubid!r} is above SRMaxUAsk (5076) {algo.max_uask!r}",
                           OrdRejReason.OTHER, SRRejectCode.BAD_LIMIT)


class InstrumentSpec(BaseModel):
    """How the client named the instrument: an OSI code or ticker in Symbol, or the parts."""
    model_config = ConfigDict(frozen=True)

    symbol: str
    maturity_date: str | None = None       # YYYYMMDD
    strike: float | None = None
    put_call: Literal["P", "C"] | None = None
    security_type: str | None = None


class NewOrder(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["new"] = "new"
    cl_ord_id: str = Field(min_length=1, max_length=64)
    account: str | None = None
    instrument: InstrumentSpec
    side: Side
    qty: int
    ord_type: OrdType
    price: float | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    expire_time: datetime | None = None        # 126, UTC; GTD only (router/engine/tif.py)
    expire_date: date | None = None            # 432, the venue's local date; GTD only
    transact_time: datetime | None = None
    algo: AlgoParams = Field(default_factory=AlgoParams)

    @model_validator(mode="after")
    def _order_rules(self) -> "NewOrder":
        if self.qty <= 0:
            raise CommandError(f"OrderQty {self.qty} must be positive", 13, 5)
        if self.ord_type is OrdType.LIMIT and self.price is None:
            raise CommandError("Limit order (40=2) requires Price (44)", 99, 11)
        if self.price is not None and self.price <= 0:
            raise CommandError(f"Price {self.price:g} must be positive", 99, 11)
        check_algo_rules(self.algo)
        return self


class CancelOrder(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["cancel"] = "cancel"
    cl_ord_id: str = Field(min_length=1)
    orig_cl_ord_id: str | None = None
    order_id: str | None = None
    transact_time: datetime | None = None


class ReplaceOrder(BaseModel):
    """Cancel/replace: changes quantity, limit price and time in force; other instructions carry over."""
    model_config = ConfigDict(frozen=True)

    kind: Literal["replace"] = "replace"
    cl_ord_id: str = Field(min_length=1)
    orig_cl_ord_id: str | None = None
    order_id: str | None = None
    qty: int | None = None
    price: float | None = None
    ord_type: OrdType | None = None
    time_in_force: TimeInForce | None = None
    expire_time: datetime | None = None        # 126, with a replace to GTD
    expire_date: date | None = None            # 432
    transact_time: datetime | None = None

    @model_validator(mode="after")
    def _replace_rules(self) -> "ReplaceOrder":
        if self.qty is not None and self.qty <= 0:
            raise CommandError(f"OrderQty {self.qty} must be positive", 13, 5)
        if self.price is not None and self.price <= 0:
            raise CommandError(f"Price {self.price:g} must be positive", 99, 11)
        return self


class OrderStatusQuery(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["status"] = "status"
    cl_ord_id: str | None = None
    order_id: str | None = None


class MassCancel(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["mass_cancel"] = "mass_cancel"
    cl_ord_id: str = Field(min_length=1)
    request_type: MassCancelType
    account: str | None = None
    underlying: str | None = None
    transact_time: datetime | None = None


class MultilegLeg(BaseModel):
    model_config = ConfigDict(frozen=True)

    ref_id: str
    instrument: InstrumentSpec
    side: Side
    ratio: int = Field(ge=1)


class NewMultilegOrder(BaseModel):
    """Decoded and validated now; worked by the multi-leg algo in a later issue."""
    model_config = ConfigDict(frozen=True)

    kind: Literal["new_multileg"] = "new_multileg"
    cl_ord_id: str = Field(min_length=1)
    account: str | None = None
    qty: int
    price: float | None = None
    ord_type: OrdType | None = None
    legs: tuple[MultilegLeg, ...]
    transact_time: datetime | None = None
    algo: AlgoParams = Field(default_factory=AlgoParams)
    replaces: str | None = None     # OrigClOrdID for MultilegOrderCancelReplace (AC)

    @model_validator(mode="after")
    def _legs_rules(self) -> "NewMultilegOrder":
        if self.qty <= 0:
            raise CommandError(f"OrderQty {self.qty} must be positive", 13, 5)
        if not 2 <= len(self.legs) <= 7:
            raise CommandError(f"a multileg order needs 2-7 legs, got {len(self.legs)}", 99, 27)
        check_algo_rules(self.algo)
        return self


ClientCommand = NewOrder | CancelOrder | ReplaceOrder | OrderStatusQuery | MassCancel | NewMultilegOrder


@dataclass(frozen=True, slots=True)
class ClientRequest:
    """A decoded FIX message, or the reason it could not become a command."""
    session: str
    account: str
    msg_type: str
    seq_num: int | None
    command: ClientCommand | None = None
    # Set when decoding failed a business rule: the ER reject to send.
    reject_text: str | None = None
    reject_reason: int = int(OrdRejReason.OTHER)
    sr_reject_code: int = int(SRRejectCode.SYS_REJECT)
    reject_fields: dict = dataclass_field(default_factory=dict)   # cl_ord_id, symbol, side, qty as far as known
    raw: str | None = None                                        # the FIX message as received: journaled verbatim
