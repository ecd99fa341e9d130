"""Typed client commands: what a decoded FIX message becomes.

They sit on the boundary: the FIX codec builds them from untrusted input, and the checks here
carry the business rules that need no state (quantities, price presence, ranges). Rules that
need state (duplicate ClOrdID, unknown instrument) live in the engine.

Plain frozen classes, not pydantic models: they are built once per order on the hot path, where
pydantic's validation cost about ten microseconds a NewOrderSingle. AlgoParams keeps the pydantic
names the rest of the router uses (``model_fields_set``, ``model_copy``, ``model_dump``,
``model_dump_json``, ``model_validate_json``) and the JSON stored with every parent.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field as dataclass_field, fields as dataclass_fields
from datetime import date, datetime, timezone
from enum import Enum
from typing import Any, Callable, Literal

from .enums import (AlphaType, BalanceHandling, HedgeMode, LimitClass, LimitType, MassCancelType, OrderHandling,
                    OrdRejReason, OrdType, PublicSize, ShortSaleFlag, Side, SRRejectCode, SRTimeInForce, StartType,
                    TakeReach, TimeInForce)

VOL_LIMIT_RANGE = (0.005, 9.0)
# LimitTypes priced from a volatility: they need OrderVolLimit (5116); every other type but Market
# must leave it 0 (Market ignores it, as the reference says).
VOL_LIMIT_TYPES = frozenset({LimitType.VOL, LimitType.VOL_X, LimitType.PRC_V, LimitType.PRC_VX, LimitType.VOL_PRC})
MAX_CL_ORD_ID = 64


class CommandError(ValueError):
    """A business-rule violation found while decoding; carries the reject codes to send."""

    def __init__(self, text: str, ord_rej_reason: int = int(OrdRejReason.OTHER),
                 sr_reject_code: int = int(SRRejectCode.SYS_REJECT)) -> None:
        super().__init__(text)
        self.text = text
        self.ord_rej_reason = ord_rej_reason
        self.sr_reject_code = sr_reject_code


# ---------------------------------------------------------------------------- JSON form

def to_json(value: Any) -> Any:
    """A value as JSON-ready data, the way pydantic's ``model_dump(mode="json")`` gives it."""
    if value is None or isinstance(value, (bool, int, str)) and not isinstance(value, Enum):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return dump(mode="json")
    raise TypeError(f"cannot turn {type(value).__name__} into JSON")


class JsonDump:
    """``model_dump`` for the command dataclasses (the journal's fallback when no raw FIX exists)."""
    __slots__ = ()

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in dataclass_fields(self)}
        return {name: to_json(value) for name, value in values.items()} if mode == "json" else values


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


# ---------------------------------------------------------------------------- algo instructions

def _at_least(low: float, name: str) -> Callable[[Any], Any]:
    def check(value):
        if value < low:
            raise CommandError(f"{name} {value} must be at least {low:g}")
        return value
    return check


def _vol_limit(value: float) -> float:
    low, high = VOL_LIMIT_RANGE
    if value != 0 and not (low <= value <= high):
        raise CommandError(f"OrderVolLimit {value:g} out of range {low:g}-{high:g}", OrdRejReason.OTHER,
                           SRRejectCode.BAD_VOL_PX)
    return float(value)


def _override_code(value: str) -> str:
    if value not in ("S", "D", "B"):
        raise CommandError(f"SROverrideCode (5124) {value!r} must be S, D or B")
    return value


def _exchanges(value) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TypeError("exchanges must be a sequence of venue names, not one string")
    return tuple(value)


def _dividends(value) -> tuple[tuple[float, float], ...]:
    return tuple((float(years), float(amount)) for years, amount in value)


def _flag(value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected True or False, got {value!r}")
    return value


def _probability(name: str) -> Callable[[Any], float]:
    def check(value):
        value = float(value)
        if not 0.0 <= value <= 1.0:
            raise CommandError(f"{name} {value:g} must be a probability in [0, 1]")
        return value
    return check


def _alpha_factor(name: str) -> Callable[[Any], float]:
    def check(value):
        value = float(value)
        if not -2.0 <= value <= 2.0:
            raise CommandError(f"{name} {value:g} must be in [-2, 2] (the standard deviations above the recent "
                               "average a Relative probability limit asks for)")
        return value
    return check


def _risk_limit(name: str) -> Callable[[Any], float]:
    """A day risk limit: a positive number, or -1 for no limit (the reference's rule)."""
    def check(value):
        value = float(value)
        if value != -1 and value <= 0:
            raise CommandError(f"{name} {value:g} must be a positive limit, or -1 for no limit")
        return value
    return check


def _extra(value: dict) -> dict[int, str]:
    return {int(tag): str(text) for tag, text in value.items()}


# field -> (default, what a given value becomes: the type's constructor, and the field's rule).
# The converters accept what they return, so a value built once and given again is unchanged.
_ALGO_FIELDS: dict[str, tuple[Any, Callable[[Any], Any] | None]] = {
    "order_handling": (None, OrderHandling),                                    # 5094
    "balance_handling": (None, BalanceHandling),                                # 5096
    "limit_type": (None, LimitType),                                            # 5098
    "take_limit_class": (None, LimitClass),                                     # 5100
    "make_limit_class": (None, LimitClass),                                     # 5102
    "exchanges": ((), _exchanges),                                              # 5082, empty = all
    "max_child_orders": (None, _at_least(1, "MaxChildOrders (5080)")),          # 5080
    "active_size": (None, _at_least(1, "ActiveOrderSize (5044)")),              # 5044
    "sr_time_in_force": (None, SRTimeInForce),                                  # 5084
    "order_duration_s": (None, _at_least(0, "SROrderDuration (5086)")),         # 5086
    "good_till": (None, lambda v: v if isinstance(v, datetime) else _utc(v)),   # 5088
    "vol_limit": (None, _vol_limit),                                            # 5116
    "order_prc_limit": (None, float),                                           # 5106
    "order_prc_offset": (0.0, float),                                           # 5126
    "strategy": (None, str),                                                    # 5034
    "rate_override": (None, _at_least(0, "SRRateOverride (5118)")),             # 5118, 0 = ignore
    "sdiv_override": (None, float),                                             # 5120
    "ddiv_override": (None, _dividends),                                        # 5122, (years, amount) pairs
    "override_code": (None, _override_code),                                    # 5124
    "take_surface_prc_offset": (0.0, float),                    # 5140 (the seed's 5410; see fix_specs)
    "take_surface_vol_offset": (0.0, float),                                    # 5142
    "make_surface_prc_offset": (0.0, float),                                    # 5144
    "make_surface_vol_offset": (0.0, float),                                    # 5146
    "order_ref_uprc": (None, float),                            # 5108, default: underlier mid at arrival
    "order_ref_delta": (None, float),                                           # 5110, default: the model's delta
    "order_ref_gamma": (None, float),                                           # 5112, default: the model's gamma
    "order_ref_theta": (None, float),                                           # 5114
    "cxl_uprc_range": (None, _flag),                     # 5072: Y cancel, N (default) hold outside the range
    "min_ubid": (None, float),                                                  # 5074
    "max_uask": (None, float),                                                  # 5076
    "min_option_px": (None, float),                                             # 5078, floor of a sell's limit
    "auto_hedge": (None, HedgeMode),                                            # 5152
    "alt_auto_hedge_id": (None, str),                                           # 5010, the hedge's ClOrdID
    "short_sale_flag": (None, ShortSaleFlag),                                   # 5172
    "start_type": (None, StartType),                                            # 5090
    "slice_count": (None, _at_least(1, "SRTwapSliceCnt (5056)")),               # 5056, TWAP slices
    "take_reach": (None, TakeReach),                                            # 5104
    "max_exposure_size": (None, _at_least(1, "SRMaxExposureSize (5046)")),      # 5046, shown across venues at once
    "num_make_exchanges": (None, _at_least(1, "SRNumMakeExchanges (5048)")),    # 5048, venues to post on
    "take_alpha_type": (None, AlphaType),                                       # 5128
    "make_alpha_type": (None, AlphaType),                                       # 5130
    "take_alpha_factor": (None, _alpha_factor("SRTakeAlphaFactor (5132)")),     # 5132, Relative only
    "make_alpha_factor": (None, _alpha_factor("SRMakeAlphaFactor (5134)")),     # 5134
    "take_probability": (None, _probability("SRTakeProbability (5136)")),       # 5136
    "make_probability": (None, _probability("SRMakeProbability (5138)")),       # 5138
    "surface_prc_offset_ask": (0.0, float),     # seed 001's 5518 "Prc Offset ask": a buy's, added to 5140/5144
    "surface_prc_offset_bid": (0.0, float),     # seed 001's 5536 "Prc Offset bid": a sell's
    "public_size": (None, PublicSize),                                          # 5050
    "can_cxl_overlap": (None, _flag),                                           # 5052
    "alt_route_code": (None, str),                                              # 5028, echoed on the children
    "max_acc_day_wt_vega_ln": (None, _risk_limit("SRMaxAccDayWtVegaLn (5251)")),   # 5251
    "max_acc_day_wt_vega_sh": (None, _risk_limit("SRMaxAccDayWtVegaSh (5252)")),   # 5252
    "max_acc_day_ddelta_ln": (None, _risk_limit("SRMaxAccDayDDeltaLn (5253)")),    # 5253
    "max_acc_day_ddelta_sh": (None, _risk_limit("SRMaxAccDayDDeltaSh (5254)")),    # 5254
    "max_exp_day_wt_vega_ln": (None, _risk_limit("SRMaxExpDayWtVegaLn (5255)")),   # 5255
    "max_exp_day_wt_vega_sh": (None, _risk_limit("SRMaxExpDayWtVegaSh (5256)")),   # 5256
    "max_sym_day_wt_vega_ln": (None, _risk_limit("SRMaxSymDayWtVegaLn (5257)")),   # 5257
    "max_sym_day_wt_vega_sh": (None, _risk_limit("SRMaxSymDayWtVegaSh (5258)")),   # 5258
    "max_sym_day_ddelta_ln": (None, _risk_limit("SRMaxSymDayDDeltaLn (5259)")),    # 5259
    "max_sym_day_ddelta_sh": (None, _risk_limit("SRMaxSymDayDDeltaSh (5260)")),    # 5260
    "extra": (None, _extra),                                    # every other custom tag, kept verbatim
}
_ALGO_DEFAULTS = {name: default for name, (default, _) in _ALGO_FIELDS.items()}


class AlgoParams:
    """SpiderRock-style algo instructions (custom tags 5000+) of a parent order. Immutable.

    ``model_fields_set`` names the fields given when it was made, as pydantic's does: a tag a
    client sent with its default value still counts as sent (algos/registry.py: unread tags)."""
    __slots__ = ("__dict__",)

    order_handling: OrderHandling | None
    balance_handling: BalanceHandling | None
    limit_type: LimitType | None
    take_limit_class: LimitClass | None
    make_limit_class: LimitClass | None
    exchanges: tuple[str, ...]
    max_child_orders: int | None
    active_size: int | None
    sr_time_in_force: SRTimeInForce | None
    order_duration_s: int | None
    good_till: datetime | None
    vol_limit: float | None
    order_prc_limit: float | None
    order_prc_offset: float
    strategy: str | None
    rate_override: float | None
    sdiv_override: float | None
    ddiv_override: tuple[tuple[float, float], ...] | None
    override_code: Literal["S", "D", "B"] | None
    take_surface_prc_offset: float
    take_surface_vol_offset: float
    make_surface_prc_offset: float
    make_surface_vol_offset: float
    order_ref_uprc: float | None
    order_ref_delta: float | None
    order_ref_gamma: float | None
    order_ref_theta: float | None
    cxl_uprc_range: bool | None
    min_ubid: float | None
    max_uask: float | None
    min_option_px: float | None
    auto_hedge: HedgeMode | None
    alt_auto_hedge_id: str | None
    short_sale_flag: ShortSaleFlag | None
    start_type: StartType | None
    slice_count: int | None
    take_reach: TakeReach | None
    max_exposure_size: int | None
    num_make_exchanges: int | None
    take_alpha_type: AlphaType | None
    make_alpha_type: AlphaType | None
    take_alpha_factor: float | None
    make_alpha_factor: float | None
    take_probability: float | None
    make_probability: float | None
    surface_prc_offset_ask: float
    surface_prc_offset_bid: float
    public_size: PublicSize | None
    can_cxl_overlap: bool | None
    alt_route_code: str | None
    max_acc_day_wt_vega_ln: float | None
    max_acc_day_wt_vega_sh: float | None
    max_acc_day_ddelta_ln: float | None
    max_acc_day_ddelta_sh: float | None
    max_exp_day_wt_vega_ln: float | None
    max_exp_day_wt_vega_sh: float | None
    max_sym_day_wt_vega_ln: float | None
    max_sym_day_wt_vega_sh: float | None
    max_sym_day_ddelta_ln: float | None
    max_sym_day_ddelta_sh: float | None
    extra: dict[int, str]
    model_fields_set: frozenset[str]

    def __init__(self, **given: Any) -> None:
        values = dict(_ALGO_DEFAULTS)
        for name, value in given.items():
            spec = _ALGO_FIELDS.get(name)
            if spec is None:
                raise TypeError(f"AlgoParams has no field {name!r}")
            if value is not None:
                values[name] = spec[1](value)
            elif spec[0] is not None:
                raise TypeError(f"AlgoParams.{name} cannot be None")
            else:
                values[name] = None
        if values["extra"] is None:
            values["extra"] = {}
        values["model_fields_set"] = frozenset(given)
        self.__dict__.update(values)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"AlgoParams is immutable; use model_copy(update={{{name!r}: ...}})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("AlgoParams is immutable")

    def _values(self) -> tuple:
        values = self.__dict__
        return tuple(values[name] for name in _ALGO_FIELDS)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AlgoParams):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        values = self._values()
        return hash(values[:-1] + (frozenset(values[-1].items()),))

    def __repr__(self) -> str:
        given = ", ".join(f"{name}={self.__dict__[name]!r}" for name in _ALGO_FIELDS if name in self.model_fields_set)
        return f"AlgoParams({given})"

    def __reduce__(self):
        return _algo_from_state, (dict(self.__dict__),)

    model_fields = _ALGO_DEFAULTS       # the field names, as pydantic's class attribute lists them

    def model_copy(self, *, update: dict[str, Any] | None = None) -> "AlgoParams":
        given = {name: self.__dict__[name] for name in self.model_fields_set}
        return AlgoParams(**{**given, **(update or {})})

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        values = {name: self.__dict__[name] for name in _ALGO_FIELDS}
        return {name: to_json(value) for name, value in values.items()} if mode == "json" else values

    def model_dump_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def model_validate_json(cls, text: str | bytes) -> "AlgoParams":
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("AlgoParams JSON must be an object")
        return cls(**data)


def _algo_from_state(state: dict[str, Any]) -> AlgoParams:
    algo = AlgoParams.__new__(AlgoParams)
    algo.__dict__.update(state)
    return algo


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
    if algo.order_handling is OrderHandling.POST_ONLY and algo.balance_handling is BalanceHandling.NO_POST:
        raise CommandError("SROrderHandling (5094) PostOnly with SRBalanceHandling (5096) NoPost leaves the order "
                           "nothing to do: give a post type (1-12)", OrdRejReason.OTHER, SRRejectCode.BAD_LMT_TYPE)
    for leg, limit_class, probability, alpha_type, factor, tags in (
            ("Take", algo.take_limit_class, algo.take_probability, algo.take_alpha_type, algo.take_alpha_factor,
             (5100, 5136, 5128, 5132)),
            ("Make", algo.make_limit_class, algo.make_probability, algo.make_alpha_type, algo.make_alpha_factor,
             (5102, 5138, 5130, 5134))):
        class_tag, probability_tag, type_tag, factor_tag = tags
        if limit_class in (LimitClass.PROBABILITY, LimitClass.SURF_PROB) and probability is None:
            raise CommandError(f"SR{leg}LimitClass ({class_tag}) {limit_class.name} needs its probability limit "
                               f"SR{leg}Probability ({probability_tag})", OrdRejReason.OTHER, SRRejectCode.BAD_LIMIT)
        if alpha_type is AlphaType.RELATIVE and factor is None:
            raise CommandError(f"SR{leg}AlphaType ({type_tag}) Relative needs SR{leg}AlphaFactor ({factor_tag}) in "
                               "[-2, 2]", OrdRejReason.OTHER, SRRejectCode.BAD_LIMIT)


# ---------------------------------------------------------------------------- the commands

def _check_cl_ord_id(value: str | None, name: str = "ClOrdID (11)") -> None:
    if not value or len(value) > MAX_CL_ORD_ID:
        raise CommandError(f"{name} must be 1-{MAX_CL_ORD_ID} characters, got {len(value or '')}")


def _check_positive_qty(qty: int) -> None:
    if qty <= 0:
        raise CommandError(f"OrderQty {qty} must be positive", 13, 5)


def _check_positive_price(price: float | None) -> None:
    if price is not None and price <= 0:
        raise CommandError(f"Price {price:g} must be positive", 99, 11)


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentSpec(JsonDump):
    """How the client named the instrument: an OSI code or ticker in Symbol, or the parts."""
    symbol: str
    maturity_date: str | None = None       # YYYYMMDD
    strike: float | None = None
    put_call: Literal["P", "C"] | None = None
    security_type: str | None = None

    def __post_init__(self) -> None:
        if self.put_call not in (None, "P", "C"):
            raise CommandError(f"PutOrCall must be P or C, not {self.put_call!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class NewOrder(JsonDump):
    kind: Literal["new"] = "new"
    cl_ord_id: str
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
    algo: AlgoParams = dataclass_field(default_factory=AlgoParams)

    def __post_init__(self) -> None:
        _check_cl_ord_id(self.cl_ord_id)
        _check_positive_qty(self.qty)
        if self.ord_type is OrdType.LIMIT and self.price is None:
            raise CommandError("Limit order (40=2) requires Price (44)", 99, 11)
        _check_positive_price(self.price)
        check_algo_rules(self.algo)


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrder(JsonDump):
    kind: Literal["cancel"] = "cancel"
    cl_ord_id: str
    orig_cl_ord_id: str | None = None
    order_id: str | None = None
    transact_time: datetime | None = None

    def __post_init__(self) -> None:
        _check_cl_ord_id(self.cl_ord_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceOrder(JsonDump):
    """Cancel/replace: changes quantity, limit price and time in force; other instructions carry over."""
    kind: Literal["replace"] = "replace"
    cl_ord_id: str
    orig_cl_ord_id: str | None = None
    order_id: str | None = None
    qty: int | None = None
    price: float | None = None
    ord_type: OrdType | None = None
    time_in_force: TimeInForce | None = None
    expire_time: datetime | None = None        # 126, with a replace to GTD
    expire_date: date | None = None            # 432
    transact_time: datetime | None = None
    start_type: StartType | None = None        # SRStartType (5090): Immediate (0) releases a staged order

    def __post_init__(self) -> None:
        _check_cl_ord_id(self.cl_ord_id)
        if self.qty is not None:
            _check_positive_qty(self.qty)
        _check_positive_price(self.price)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderStatusQuery(JsonDump):
    kind: Literal["status"] = "status"
    cl_ord_id: str | None = None
    order_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MassCancel(JsonDump):
    kind: Literal["mass_cancel"] = "mass_cancel"
    cl_ord_id: str
    request_type: MassCancelType
    account: str | None = None
    underlying: str | None = None
    transact_time: datetime | None = None

    def __post_init__(self) -> None:
        _check_cl_ord_id(self.cl_ord_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class MultilegLeg(JsonDump):
    ref_id: str
    instrument: InstrumentSpec
    side: Side
    ratio: int = 1

    def __post_init__(self) -> None:
        if self.ratio < 1:
            raise CommandError(f"LegRatioQty (623) {self.ratio} of leg {self.ref_id} must be at least 1")


@dataclass(frozen=True, slots=True, kw_only=True)
class NewMultilegOrder(JsonDump):
    """NewOrderMultileg (AB), or MultilegOrderCancelReplace (AC) when ``replaces`` is set: a
    package of legs, worked by the multi-leg algo (algos/multileg.py). Side (54) is optional: the
    legs carry their sides and the package is bought (the SpiderRock reference)."""
    kind: Literal["new_multileg"] = "new_multileg"
    cl_ord_id: str
    account: str | None = None
    qty: int
    price: float | None = None
    ord_type: OrdType | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    legs: tuple[MultilegLeg, ...]
    transact_time: datetime | None = None
    algo: AlgoParams = dataclass_field(default_factory=AlgoParams)
    replaces: str | None = None     # OrigClOrdID for MultilegOrderCancelReplace (AC)

    def __post_init__(self) -> None:
        _check_cl_ord_id(self.cl_ord_id)
        _check_positive_qty(self.qty)
        if not 2 <= len(self.legs) <= 7:
            raise CommandError(f"a multileg order needs 2-7 legs, got {len(self.legs)}", 99, 27)
        check_algo_rules(self.algo)


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
