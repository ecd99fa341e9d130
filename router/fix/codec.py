"""FIX <-> domain. Decoding turns a message's (tag, value) pairs into typed commands, or into a
ClientRequest carrying the exact reject to send; encoding turns engine reports into FIX 4.4
messages as ordered (tag, value) pairs, so QuickFIX, simplefix and the replay tool share them.

QuickFIX has already validated the message against the data dictionary (unknown tags, bad
enum values and bad formats are session-rejected before we see them); what remains here are
business rules.
"""
from __future__ import annotations

import math
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum

from router.clock import NANOS_PER_SECOND, ns_to_datetime
from router.domain.commands import (AlgoParams, CancelOrder, ClientRequest, CommandError, InstrumentSpec, MassCancel,
                                    MultilegLeg, NewMultilegOrder, NewOrder, OrderStatusQuery, ReplaceOrder)
from router.domain.enums import (AlphaType, BalanceHandling, CxlRejResponseTo, HedgeMode, LimitClass, LimitType,
                                 Liquidity, MassCancelType, OrderHandling, OrdRejReason, OrdType, PublicSize,
                                 ShortSaleFlag, Side, SRRejectCode, SRTimeInForce, StartType, TakeReach, TimeInForce)
from router.domain.events import (BusinessRejectReport, CancelRejectReport, ClientReport, ExecReport,
                                  MassCancelReportOut)
from router.market.dividends import parse_discrete_dividends

SOH = "\x01"
SUPPORTED_MSG_TYPES = frozenset({"D", "F", "G", "H", "q", "AB", "AC"})
_CACHE_LIMIT = 4096          # distinct algo-tag sets, symbols and timestamps remembered by the decoder


def member(enum: type[Enum], value):
    """``enum(value)`` by dictionary lookup, with Enum's own error."""
    found = enum._value2member_map_.get(value)
    if found is None:
        raise ValueError(f"{value!r} is not a valid {enum.__name__}")
    return found


def _yes_no(value: str) -> bool:
    if value not in ("Y", "N"):
        raise ValueError(value)
    return value == "Y"


def _finite(value: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def _int_enum(enum):
    return lambda value: member(enum, int(value))


# Custom tags decoded into AlgoParams fields; every other 5000+ tag is kept verbatim in ``extra``.
_ALGO_TAGS = {
    5094: ("order_handling", _int_enum(OrderHandling)),
    5096: ("balance_handling", _int_enum(BalanceHandling)),
    5098: ("limit_type", _int_enum(LimitType)),
    5100: ("take_limit_class", _int_enum(LimitClass)),
    5102: ("make_limit_class", _int_enum(LimitClass)),
    5082: ("exchanges", lambda v: tuple(x.strip().upper() for x in v.split(",") if x.strip())),
    5080: ("max_child_orders", int),
    5044: ("active_size", int),
    5084: ("sr_time_in_force", SRTimeInForce.parse),
    5086: ("order_duration_s", int),
    5088: ("good_till", lambda v: parse_utc(v)),
    5116: ("vol_limit", _finite),
    5106: ("order_prc_limit", _finite),
    5126: ("order_prc_offset", _finite),
    5034: ("strategy", str),
    5118: ("rate_override", _finite),
    5120: ("sdiv_override", _finite),
    5122: ("ddiv_override", lambda v: _discrete_dividends(v)),
    5124: ("override_code", str),
    5140: ("take_surface_prc_offset", _finite),
    5142: ("take_surface_vol_offset", _finite),
    5144: ("make_surface_prc_offset", _finite),
    5146: ("make_surface_vol_offset", _finite),
    5108: ("order_ref_uprc", _finite),
    5110: ("order_ref_delta", _finite),
    5112: ("order_ref_gamma", _finite),
    5114: ("order_ref_theta", _finite),
    5072: ("cxl_uprc_range", _yes_no),
    5074: ("min_ubid", _finite),
    5076: ("max_uask", _finite),
    5078: ("min_option_px", _finite),
    5152: ("auto_hedge", lambda v: member(HedgeMode, v)),
    5010: ("alt_auto_hedge_id", str),
    5172: ("short_sale_flag", _int_enum(ShortSaleFlag)),
    5090: ("start_type", _int_enum(StartType)),
    5056: ("slice_count", int),
    5104: ("take_reach", _int_enum(TakeReach)),
    5128: ("take_alpha_type", _int_enum(AlphaType)),
    5130: ("make_alpha_type", _int_enum(AlphaType)),
    5132: ("take_alpha_factor", _finite),
    5134: ("make_alpha_factor", _finite),
    5136: ("take_probability", _finite),
    5138: ("make_probability", _finite),
    5518: ("surface_prc_offset_ask", _finite),
    5536: ("surface_prc_offset_bid", _finite),
    5050: ("public_size", _int_enum(PublicSize)),
    5052: ("can_cxl_overlap", _yes_no),
    5028: ("alt_route_code", str),
    5251: ("max_acc_day_wt_vega_ln", _finite),
    5252: ("max_acc_day_wt_vega_sh", _finite),
    5253: ("max_acc_day_ddelta_ln", _finite),
    5254: ("max_acc_day_ddelta_sh", _finite),
    5255: ("max_exp_day_wt_vega_ln", _finite),
    5256: ("max_exp_day_wt_vega_sh", _finite),
    5257: ("max_sym_day_wt_vega_ln", _finite),
    5258: ("max_sym_day_wt_vega_sh", _finite),
    5259: ("max_sym_day_ddelta_ln", _finite),
    5260: ("max_sym_day_ddelta_sh", _finite),
    5046: ("max_exposure_size", int),
    5048: ("num_make_exchanges", int),
}


def _discrete_dividends(value: str) -> tuple[tuple[float, float], ...]:
    try:
        return tuple(parse_discrete_dividends(value))
    except ValueError as exc:
        raise DecodeError(str(exc), int(OrdRejReason.OTHER), int(SRRejectCode.BAD_DDIVS)) from None


class DecodeError(Exception):
    def __init__(self, text: str, ord_rej_reason: int = int(OrdRejReason.OTHER),
                 sr_reject_code: int = int(SRRejectCode.SYS_REJECT)) -> None:
        super().__init__(text)
        self.text, self.ord_rej_reason, self.sr_reject_code = text, ord_rej_reason, sr_reject_code


def parse_utc(value: str) -> datetime:
    """FIX UTCTimestamp: YYYYMMDD-HH:MM:SS with an optional .sss / .ssssss fraction.
    Sliced by hand: strptime costs more than the rest of a NewOrderSingle's decoding."""
    if len(value) < 17 or value[8] != "-" or value[11] != ":" or value[14] != ":":
        raise ValueError(f"bad UTCTimestamp {value!r}")
    fraction = value[18:] if len(value) > 18 and value[17] == "." else ""
    micros = int(fraction[:6].ljust(6, "0")) if fraction else 0
    return datetime(int(value[:4]), int(value[4:6]), int(value[6:8]), int(value[9:11]), int(value[12:14]),
                    int(value[15:17]), micros, tzinfo=timezone.utc)


_last_utc: tuple[str, datetime] = ("", datetime.min)


def _parse_utc_cached(value: str) -> datetime:
    """parse_utc, remembering the last stamp: a client's orders share their TransactTime's text
    for a millisecond at least. One tuple, swapped whole: safe across the acceptor's threads."""
    global _last_utc
    last = _last_utc
    if last[0] == value:
        return last[1]
    moment = parse_utc(value)
    _last_utc = (value, moment)
    return moment


def parse_local_date(value: str) -> date:
    """FIX LocalMktDate: YYYYMMDD."""
    if len(value) != 8 or not value.isdigit():
        raise ValueError(f"bad LocalMktDate {value!r}")
    return date(int(value[:4]), int(value[4:6]), int(value[6:8]))


def format_utc(ns: int) -> str:
    """UTCTimestamp with milliseconds; the date part is cached per second."""
    seconds, rest = divmod(ns, NANOS_PER_SECOND)
    if seconds != _second_cache[0]:
        _second_cache[0] = seconds
        _second_cache[1] = ns_to_datetime(seconds * NANOS_PER_SECOND).strftime("%Y%m%d-%H:%M:%S.")
    return f"{_second_cache[1]}{rest // 1_000_000:03d}"


_second_cache: list = [None, ""]


_TAG_NUMBERS: dict[str, int] = {}


def split_fields(raw: str) -> list[tuple[int, str]]:
    """(tag, value) pairs of a message string, in order. Tag numbers come from a table: int() of
    every tag was most of the cost."""
    numbers = _TAG_NUMBERS
    pairs = []
    for part in raw.split(SOH):
        if part:
            tag, _, value = part.partition("=")
            number = numbers.get(tag)
            if number is None:
                number = int(tag)
                if len(numbers) < _CACHE_LIMIT:
                    numbers[tag] = number
            pairs.append((number, value))
    return pairs


def _qty(value: str | None, name: str = "OrderQty") -> int | None:
    if value is None:
        return None
    number = float(value)
    if number != int(number):
        raise DecodeError(f"{name} {value} must be a whole number of contracts", int(OrdRejReason.INCORRECT_QUANTITY),
                          int(SRRejectCode.BAD_SIZE))
    return int(number)


_INSTRUMENT_TAGS = (55, 541, 202, 201, 461, 167, 200, 205)
_BY_SYMBOL: dict[str, InstrumentSpec] = {}


def _instrument(fields: dict[int, str], prefix_tags=_INSTRUMENT_TAGS) -> InstrumentSpec:
    sym, maturity, strike, put_call_tag, cfi, sec_type, month_year, day = (fields.get(t) for t in prefix_tags)
    if sym is not None and maturity is strike is put_call_tag is cfi is sec_type is month_year is None:
        return _symbol_only(sym)
    put_call = None
    if put_call_tag is not None:
        put_call = "C" if put_call_tag == "1" else "P"
    elif cfi and cfi.startswith("O") and len(cfi) >= 2 and cfi[1] in "CP":
        put_call = cfi[1]
    if maturity is None and month_year and day:
        maturity = f"{month_year[:6]}{int(day):02d}"
    return InstrumentSpec(symbol=sym or "", maturity_date=maturity, strike=float(strike) if strike else None,
                          put_call=put_call, security_type=sec_type)


def _symbol_only(symbol: str) -> InstrumentSpec:
    spec = _BY_SYMBOL.get(symbol)
    if spec is None:
        if len(_BY_SYMBOL) >= _CACHE_LIMIT:
            _BY_SYMBOL.clear()
        spec = _BY_SYMBOL[symbol] = InstrumentSpec(symbol=symbol)
    return spec


_ALGO_CACHE: dict[tuple, AlgoParams] = {}


def _algo(pairs: list[tuple[int, str]]) -> AlgoParams:
    """The custom tags as AlgoParams. A client sends the same few tag sets over and over, and
    AlgoParams is immutable: one instance per distinct set (the store caches its JSON by identity)."""
    key = tuple(pair for pair in pairs if pair[0] >= 5000)
    algo = _ALGO_CACHE.get(key)
    if algo is None:
        algo = _build_algo(key)
        if len(_ALGO_CACHE) >= _CACHE_LIMIT:
            _ALGO_CACHE.clear()
        _ALGO_CACHE[key] = algo
    return algo


def _build_algo(custom: tuple[tuple[int, str], ...]) -> AlgoParams:
    values: dict = {}
    extra: dict[int, str] = {}
    for tag, value in dict(custom).items():          # the last of a repeated tag wins
        known = _ALGO_TAGS.get(tag)
        if known is None:
            extra[tag] = value
        else:
            name, convert = known
            try:
                values[name] = convert(value)
            except (ValueError, OverflowError):
                raise DecodeError(f"tag {tag} has unusable value {value!r}") from None
    return AlgoParams(**values, extra=extra)


def _transact_time(fields: dict[int, str]) -> datetime | None:
    value = fields.get(60)
    return _parse_utc_cached(value) if value else None


def _expiry(fields: dict[int, str]) -> tuple[datetime | None, date | None]:
    """ExpireTime (126) and ExpireDate (432), for a GTD order or a replace to GTD."""
    if 126 not in fields and 432 not in fields:
        return None, None
    return (_tag_value(fields, 126, "ExpireTime", parse_utc), _tag_value(fields, 432, "ExpireDate", parse_local_date))


def _tag_value(fields: dict[int, str], tag: int, name: str, convert):
    value = fields.get(tag)
    if value is None:
        return None
    try:
        return convert(value)
    except ValueError:
        raise DecodeError(f"{name} ({tag}) has unusable value {value!r}") from None


def _price(fields: dict[int, str]) -> float | None:
    value = fields.get(44)
    return None if value is None else float(value)


def decode(msg_type: str, pairs: list[tuple[int, str]], session: str, account: str,
           seq_num: int | None, raw: str | None = None) -> ClientRequest:
    """Never raises: a message that breaks a business rule becomes a ClientRequest with a reject.
    ``raw`` (the message as received) is what the engine journals."""
    fields = dict(pairs)
    try:
        command = _decode_command(msg_type, fields, pairs)
    except CommandError as err:
        return _rejected(msg_type, fields, session, account, seq_num,
                         DecodeError(err.text, int(err.ord_rej_reason), int(err.sr_reject_code)), raw)
    except DecodeError as err:
        return _rejected(msg_type, fields, session, account, seq_num, err, raw)
    except (ValueError, KeyError, OverflowError, TypeError) as exc:
        return _rejected(msg_type, fields, session, account, seq_num, DecodeError(f"could not decode: {exc}"), raw)
    return ClientRequest(session, account, msg_type, seq_num, command, raw=raw)


def _rejected(msg_type, fields, session, account, seq_num, err: DecodeError, raw: str | None) -> ClientRequest:
    side = fields.get(54)
    reject_fields = {"cl_ord_id": fields.get(11), "symbol": fields.get(55),
                     "side": Side(side) if side in Side._value2member_map_ else Side.BUY,
                     "qty": _safe_int(fields.get(38)), "price": _safe_float(fields.get(44)),
                     "orig_cl_ord_id": fields.get(41)}
    return ClientRequest(session, account, msg_type, seq_num, None, reject_text=err.text,
                         reject_reason=err.ord_rej_reason, sr_reject_code=err.sr_reject_code,
                         reject_fields=reject_fields, raw=raw)


def _safe_int(value: str | None) -> int:
    try:
        return int(float(value)) if value else 0
    except (ValueError, OverflowError):
        return 0


def _safe_float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _new_order(fields: dict[int, str], pairs: list[tuple[int, str]]) -> NewOrder:
    expire_time, expire_date = _expiry(fields)
    return NewOrder(cl_ord_id=fields[11], account=fields.get(1), instrument=_instrument(fields),
                    side=member(Side, fields[54]), qty=_qty(fields.get(38)) or 0,
                    ord_type=member(OrdType, fields.get(40, "2")), price=_price(fields),
                    time_in_force=member(TimeInForce, fields.get(59, "0")), expire_time=expire_time,
                    expire_date=expire_date, transact_time=_transact_time(fields), algo=_algo(pairs))


def _decode_command(msg_type: str, fields: dict[int, str], pairs: list[tuple[int, str]]):
    if msg_type == "D":
        return _new_order(fields, pairs)
    if msg_type == "F":
        return CancelOrder(cl_ord_id=fields[11], orig_cl_ord_id=fields.get(41), order_id=fields.get(37),
                           transact_time=_transact_time(fields))
    if msg_type == "G":
        expire_time, expire_date = _expiry(fields)
        return ReplaceOrder(cl_ord_id=fields[11], orig_cl_ord_id=fields.get(41), order_id=fields.get(37),
                            qty=_qty(fields.get(38)), price=_price(fields),
                            ord_type=member(OrdType, fields[40]) if 40 in fields else None,
                            time_in_force=member(TimeInForce, fields[59]) if 59 in fields else None,
                            expire_time=expire_time, expire_date=expire_date, transact_time=_transact_time(fields),
                            start_type=_tag_value(fields, 5090, "SRStartType", _ALGO_TAGS[5090][1]))
    if msg_type == "H":
        return OrderStatusQuery(cl_ord_id=fields.get(11), order_id=fields.get(37))
    if msg_type == "q":
        request_type = fields.get(530, "")
        if request_type not in MassCancelType._value2member_map_:
            raise DecodeError(f"MassCancelRequestType {request_type} not supported; use 2 (underlying) or 7 (all)")
        return MassCancel(cl_ord_id=fields[11], request_type=MassCancelType(request_type), account=fields.get(1),
                          underlying=fields.get(311) or fields.get(55), transact_time=_transact_time(fields))
    if msg_type in ("AB", "AC"):
        return NewMultilegOrder(
            cl_ord_id=fields[11], account=fields.get(1), qty=_qty(fields.get(38)) or 0, price=_price(fields),
            ord_type=member(OrdType, fields[40]) if 40 in fields else None,
            time_in_force=member(TimeInForce, fields.get(59, "0")), legs=_legs(pairs),
            transact_time=_transact_time(fields), algo=_algo(pairs),
            replaces=fields.get(41) if msg_type == "AC" else None)
    raise DecodeError(f"unsupported message type {msg_type}")


def _legs(pairs: list[tuple[int, str]]) -> tuple[MultilegLeg, ...]:
    legs, current = [], None
    for tag, value in pairs:
        if tag == 600:                          # LegSymbol opens each leg entry
            current = {}
            legs.append(current)
        if current is not None and 600 <= tag <= 690:
            current.setdefault(tag, value)
    out = []
    for index, leg in enumerate(legs, 1):
        spec = _instrument(leg, (600, 611, 612, 99999, 608, 609, 610, 99998))
        ref = leg.get(654, str(index))
        side = Side._value2member_map_.get(leg.get(624, "1"))
        if side is None:
            raise DecodeError(f"LegSide (624) {leg.get(624)!r} of leg {ref} must be 1 (buy), 2 (sell), 5 or 6 (sell short)")
        out.append(MultilegLeg(ref_id=ref, instrument=spec, side=side, ratio=_leg_ratio(leg.get(623, "1"), ref)))
    return tuple(out)


def _leg_ratio(value: str, ref: str) -> int:
    try:
        ratio = float(value)
    except ValueError:
        ratio = math.nan
    if not math.isfinite(ratio) or ratio != int(ratio):
        raise DecodeError(f"LegRatioQty (623) {value!r} of leg {ref} must be a whole number")
    return int(ratio)


# ---------------------------------------------------------------------------- encoding

def format_price(value: float) -> str:
    """A price as plain decimal text: no exponent, no trailing zeros, and 15 significant digits,
    which give back every price a client can write in a double (BTC options trade above $10,000)
    while dropping the float noise of an average (5.050000000000001 -> 5.05)."""
    text = f"{value:.15g}"
    if "e" in text or "n" in text:                      # exponent form (or inf/nan): spell it out
        text = format(Decimal(text), "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text



def encode(report: ClientReport) -> tuple[str, list[tuple[int, str]]]:
    """(MsgType, body fields in order) for an engine report."""
    if isinstance(report, ExecReport):
        return "8", _exec_report(report)
    if isinstance(report, CancelRejectReport):
        body = [(37, report.order_id), (11, report.cl_ord_id), (41, report.orig_cl_ord_id),
                (39, report.ord_status.value), (434, CxlRejResponseTo(report.response_to).value),
                (102, str(report.reason)),
                (60, format_utc(report.transact_ns)), (58, report.text)]
        if report.sr_reject_code is not None:
            body.append((5605, str(report.sr_reject_code)))
        return "9", body
    if isinstance(report, BusinessRejectReport):
        body = [(45, str(report.ref_seq_num or 0)), (372, report.ref_msg_type), (380, str(report.reason)),
                (58, report.text)]
        if report.ref_id:
            body.insert(2, (379, report.ref_id))
        return "j", body
    if isinstance(report, MassCancelReportOut):
        body = [(11, report.cl_ord_id), (37, report.order_id), (530, report.request_type),
                (531, report.response), (533, str(len(report.affected))), (60, format_utc(report.transact_ns))]
        if report.affected:
            body.append((534, str(len(report.affected))))
            body.extend((535, order_id) for order_id in report.affected)
        if report.text:
            body.append((58, report.text))
        return "r", body
    raise TypeError(f"cannot encode {type(report).__name__}")


def _exec_report(r: ExecReport) -> list[tuple[int, str]]:
    body = [(37, r.order_id), (11, r.cl_ord_id)]
    if r.orig_cl_ord_id:
        body.append((41, r.orig_cl_ord_id))
    body += [(17, r.exec_id), (150, r.exec_type.value), (39, r.ord_status.value)]
    if r.account:
        body.append((1, r.account))
    body += [(55, r.symbol), (54, (r.side or Side.BUY).value), (38, str(r.order_qty))]
    if r.price is not None:
        body += [(40, "2"), (44, format_price(r.price))]
    if r.last_qty:
        body += [(32, str(r.last_qty)), (31, format_price(r.last_px))]
        if r.last_mkt:
            body.append((30, r.last_mkt))
    body += [(151, str(r.leaves_qty)), (14, str(r.cum_qty)), (6, format_price(r.avg_px)),
             (60, format_utc(r.transact_ns))]
    if r.liquidity:
        body.append((851, Liquidity(r.liquidity).fix_value))
    if r.text:
        body.append((58, r.text))
    if r.ord_rej_reason is not None:
        body.append((103, str(r.ord_rej_reason)))
    if r.sr_reject_code is not None:
        body.append((5605, str(r.sr_reject_code)))
    if r.strategy is not None:
        body.append((5034, r.strategy))             # SRStrategy, echoed from the order
    body.extend(r.ref_metrics)                      # SROrderRefRMetric1-4 (5192-5198), as sent
    if r.multileg_reporting_type is not None:
        body.append((442, str(r.multileg_reporting_type)))
    if r.leg_ref_id is not None:
        body.append((654, r.leg_ref_id))
    return body
