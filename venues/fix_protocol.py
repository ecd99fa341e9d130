"""The FIX 4.4 dialect between the router's venue adapter (venues/fix_venue.py, a QuickFIX initiator)
and `router exchange --protocol fix` (venues/sim/fix_gateway.py, a QuickFIX acceptor).

Sessions: one per venue. The router is SenderCompID ``ROUTER`` and the venue's MIC (XCBO, ...) is
its TargetCompID, so a venue's session going down is that venue going down, and each venue keeps
its own sequence numbers (FileStore on both sides, ResetOnLogon=N: a reconnect is recovered by
QuickFIX's resend). ExDestination (100) names the venue too, for a venue that routes.

Orders, router to venue:
- NewOrderSingle (D): ClOrdID is the child id; Side 1/2 (5 for a short sale); OrdType 2 limit;
  TimeInForce as the child's; ExecInst 6 (participate, don't initiate) for post-only; MaxFloor (111)
  the display qty of a reserve order; OptionsCapacity (9047, fix_specs/venue/) the account type.
- OrderCancelReplaceRequest (G): ClOrdID ``child~N`` for the child's N-th replace
  (ReplaceChild.revision), OrigClOrdID the last one the venue accepted; OrderQty the new total.
- OrderCancelRequest (F): ClOrdID ``child~xN``. OrderStatusRequest (H): the current ClOrdID.
  The part before ``~`` is always the child id.

Reports, venue to router:
- ExecutionReport (8) by ExecType (150): 0 accepted, F a fill (ExecID unique per venue; LastQty,
  LastPx; Commission (12) with CommType (13) 3 = absolute, the fill's $ fee, negative a rebate;
  LastLiquidityInd (851) 1 added, 2 removed), 5 replaced (OrderQty the total, Price), 4 or C
  canceled, 8 rejected (Text the venue's reason). An order status answer (I) is mapped by OrdStatus.
- OrderCancelReject (9): CxlRejResponseTo (434) 1 a cancel, 2 a replace, Text the reason.
- Our exchange answers an OrderStatusRequest by sending the child's reports again (its fills under
  their original ExecIDs; venues/base.py ``reconcile``), so what the router missed arrives as what
  it was; the router counts a venue and ExecID once.

Market data: MarketDataRequest (V, SubscriptionRequestType 1, full depth, bids, offers and trades)
for the symbols the router trades; a Snapshot (W) per listed symbol, then Incremental Refresh (X):
book levels by MDEntryPositionNo (290, 1 = best), MDUpdateAction 0 appends a level, 1 changes one,
2 deletes one (from the worst end); a trade is MDEntryType 2 with AggressorSide (2446, FIX Latest).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import quickfix as fix

from router.clock import ns_to_datetime
from router.domain.enums import Liquidity, Side, TimeInForce
from router.domain.events import (BookLevel, ChildAccepted, ChildCanceled, ChildCancelRejected, ChildFilled,
                                  ChildRejected, ChildReplaced, ChildReplaceRejected, VenueReport)

DICTIONARY = Path(__file__).resolve().parents[1] / "fix_specs" / "venue" / "FIX44.venue.xml"
BEGIN_STRING = "FIX.4.4"
ROUTER_COMP_ID = "ROUTER"
SOH = "\x01"
REVISION_MARK = "~"

# OptionsCapacity (9047) by SubmitChild.capacity
CAPACITY_CODES = {"customer": "C", "professional": "U", "market_maker": "M", "broker_dealer": "B"}
CAPACITY_NAMES = {code: name for name, code in CAPACITY_CODES.items()}
POST_ONLY = "6"                 # ExecInst: participate, don't initiate
COMM_ABSOLUTE = "3"
LIQUIDITY_BY_FIX = {"1": Liquidity.ADDED, "2": Liquidity.REMOVED}

# MDEntryType, MDUpdateAction
BID, OFFER, TRADE = "0", "1", "2"
NEW, CHANGE, DELETE = "0", "1", "2"


class FixProtocolError(ValueError):
    """A message this dialect cannot read: a missing or malformed field, named with its tag."""


def base_id(cl_ord_id: str) -> str:
    """The child id a ClOrdID belongs to."""
    return cl_ord_id.split(REVISION_MARK, 1)[0]


def revision_of(cl_ord_id: str) -> int:
    _, _, rest = cl_ord_id.partition(REVISION_MARK)
    return int(rest) if rest.isdigit() else 0


def replace_cl_ord_id(child_id: str, revision: int) -> str:
    return f"{child_id}{REVISION_MARK}{revision}"


def fix_timestamp(now_ns: int) -> str:
    """UTCTimestamp with milliseconds."""
    return ns_to_datetime(now_ns).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]


def price_text(price: float) -> str:
    return f"{price:.6f}".rstrip("0").rstrip(".")


# ---- raw messages


def split(raw: str) -> list[tuple[int, str]]:
    """A FIX string as (tag, value) pairs, in order (groups stay flat: their entries follow their count)."""
    pairs = []
    for item in raw.split(SOH):
        if not item:
            continue
        tag, sep, value = item.partition("=")
        if not sep or not tag.isdigit():
            raise FixProtocolError(f"malformed field {item[:40]!r}")
        pairs.append((int(tag), value))
    return pairs


def body_fields(pairs: list[tuple[int, str]]) -> dict[int, str]:
    """The first value of every tag (group members included: read groups with ``entries``)."""
    found: dict[int, str] = {}
    for tag, value in pairs:
        found.setdefault(tag, value)
    return found


def entries(pairs: list[tuple[int, str]], count_tag: int, first_tag: int) -> list[dict[int, str]]:
    """A repeating group's entries: each starts at ``first_tag`` (the group's delimiter) after ``count_tag``."""
    out: list[dict[int, str]] = []
    inside = False
    for tag, value in pairs:
        if tag == count_tag:
            inside = True
            continue
        if not inside:
            continue
        if tag == first_tag:
            out.append({tag: value})
        elif tag == 10:                 # the trailer
            break
        elif out:
            out[-1].setdefault(tag, value)
    return out


def raw_message(msg_type: str, body: Iterable[tuple[int, object]]) -> str:
    """The message as a FIX string for QuickFIX to parse (header and trailer are refilled on send)."""
    return "".join([f"8={BEGIN_STRING}{SOH}9=0{SOH}35={msg_type}{SOH}",
                    *[f"{tag}={value}{SOH}" for tag, value in body], f"10=000{SOH}"])


def need(found: dict[int, str], tag: int) -> str:
    value = found.get(tag)
    if value is None or value == "":
        raise FixProtocolError(f"missing tag {tag}")
    return value


def need_int(found: dict[int, str], tag: int) -> int:
    value = need(found, tag)
    try:
        return int(float(value)) if "." in value else int(value)
    except ValueError:
        raise FixProtocolError(f"tag {tag} is not a number: {value!r}") from None


def need_float(found: dict[int, str], tag: int) -> float:
    value = need(found, tag)
    try:
        return float(value)
    except ValueError:
        raise FixProtocolError(f"tag {tag} is not a number: {value!r}") from None


# ---- venue reports from ExecutionReport / OrderCancelReject


def report_from_execution(found: dict[int, str], venue: str) -> list[VenueReport]:
    """The venue reports one ExecutionReport (8) stands for (an order status answer may be two)."""
    child_id = base_id(need(found, 11))
    exec_type = need(found, 150)
    text = found.get(58, "")
    if exec_type == "0":
        return [ChildAccepted(child_id, venue)]
    if exec_type in ("F", "1", "2"):         # 1 and 2: FIX 4.2's partial fill and fill
        fee = 0.0
        if 12 in found and found.get(13, COMM_ABSOLUTE) == COMM_ABSOLUTE:
            fee = need_float(found, 12)
        liquidity = LIQUIDITY_BY_FIX.get(found.get(851, "2"), Liquidity.REMOVED)
        return [ChildFilled(child_id, venue, need(found, 17), need_int(found, 32), need_float(found, 31), fee,
                            liquidity)]
    if exec_type == "5":
        return [ChildReplaced(child_id, venue, need_int(found, 38), need_float(found, 44))]
    if exec_type in ("4", "C"):
        return [ChildCanceled(child_id, venue, text or ("expired" if exec_type == "C" else "canceled"))]
    if exec_type == "8":
        return [ChildRejected(child_id, venue, text or "rejected by the venue")]
    if exec_type == "I":
        status = need(found, 39)
        if status in ("0", "1", "5", "6", "E"):     # resting: its total qty and price
            return [ChildAccepted(child_id, venue),
                    ChildReplaced(child_id, venue, need_int(found, 38), need_float(found, 44))]
        if status in ("4", "C"):
            return [ChildAccepted(child_id, venue), ChildCanceled(child_id, venue, text or "canceled")]
        if status == "8":
            return [ChildRejected(child_id, venue, text or "rejected by the venue")]
        return [ChildAccepted(child_id, venue)]         # filled: its fills are its story
    return []                               # pending states and the like: nothing for the engine


def report_from_cancel_reject(found: dict[int, str], venue: str) -> VenueReport:
    child_id = base_id(need(found, 11))
    reason = found.get(58) or "refused by the venue"
    if need(found, 434) == "2":
        return ChildReplaceRejected(child_id, venue, reason)
    return ChildCancelRejected(child_id, venue, reason)


# ---- books: levels by position


def level_changes(old: tuple[BookLevel, ...], new: tuple[BookLevel, ...]) -> list[tuple[str, int, BookLevel | None]]:
    """(MDUpdateAction, 1-based position, level) turning ``old`` into ``new``: changes where both have
    a level, appends past the old end, deletes from the old end backwards."""
    out: list[tuple[str, int, BookLevel | None]] = []
    common = min(len(old), len(new))
    for index in range(common):
        if old[index] != new[index]:
            out.append((CHANGE, index + 1, new[index]))
    for index in range(common, len(new)):
        out.append((NEW, index + 1, new[index]))
    for index in range(len(old) - 1, common - 1, -1):
        out.append((DELETE, index + 1, None))
    return out


def apply_level_change(levels: list[BookLevel], action: str, position: int, level: BookLevel | None) -> None:
    """One X entry applied to a side's levels, best first; a position out of range is a protocol error."""
    index = position - 1
    if action == NEW:
        if not 0 <= index <= len(levels) or level is None:
            raise FixProtocolError(f"new level at position {position} of {len(levels)}")
        levels.insert(index, level)
    elif action == CHANGE:
        if not 0 <= index < len(levels) or level is None:
            raise FixProtocolError(f"changed level at position {position} of {len(levels)}")
        levels[index] = level
    elif action == DELETE:
        if not 0 <= index < len(levels):
            raise FixProtocolError(f"deleted level at position {position} of {len(levels)}")
        del levels[index]
    else:
        raise FixProtocolError(f"MDUpdateAction {action!r}")


def tif_of(value: str) -> TimeInForce:
    try:
        return TimeInForce(value)
    except ValueError:
        raise FixProtocolError(f"TimeInForce {value!r}") from None


def side_of(value: str) -> tuple[Side, bool]:
    """(side, short sale) from Side (54)."""
    if value == "1":
        return Side.BUY, False
    if value == "2":
        return Side.SELL, False
    if value in ("5", "6"):
        return Side.SELL, True
    raise FixProtocolError(f"Side {value!r}")


# ---- sessions

HEARTBEAT_S = 5
RECONNECT_S = 1


def session_settings(venues: Iterable[str], *, acceptor: bool, host: str, port: int, store_dir: Path,
                     log_dir: Path | None = None) -> fix.SessionSettings:
    """QuickFIX settings for one session per venue: ``acceptor`` for the exchange (the venue is
    SenderCompID), else the router's initiator. The FileStore is what sequence recovery needs,
    so it lives in ``store_dir`` across restarts."""
    settings = fix.SessionSettings()
    defaults = fix.Dictionary()
    values = {
        "ConnectionType": "acceptor" if acceptor else "initiator",
        "StartTime": "00:00:00", "EndTime": "00:00:00",
        "UseDataDictionary": "Y", "DataDictionary": str(DICTIONARY),
        "FileStorePath": str(store_dir), "PersistMessages": "Y", "ResetOnLogon": "N",
        "HeartBtInt": str(HEARTBEAT_S), "ReconnectInterval": str(RECONNECT_S), "SocketNodelay": "Y",
        "TimestampPrecision": "3",
    }
    if log_dir is not None:
        values["FileLogPath"] = str(log_dir)
    if acceptor:
        values.update(SocketAcceptPort=str(port), SocketAcceptHost=host, SocketReuseAddress="Y")
    else:
        values.update(SocketConnectHost=host, SocketConnectPort=str(port))
    for key, value in values.items():
        defaults.setString(key, value)
    settings.set(defaults)
    for venue in venues:
        sender, target = (venue, ROUTER_COMP_ID) if acceptor else (ROUTER_COMP_ID, venue)
        settings.set(fix.SessionID(BEGIN_STRING, sender, target), fix.Dictionary())
    return settings


_dictionary: list[fix.DataDictionary] = []


def data_dictionary() -> fix.DataDictionary:
    """The venue dictionary, loaded once: what ``message`` parses repeating groups with."""
    if not _dictionary:
        _dictionary.append(fix.DataDictionary(str(DICTIONARY)))
    return _dictionary[0]


GROUPED = frozenset("VWX")          # the message types with repeating groups


def message(msg_type: str, body: Iterable[tuple[int, object]]) -> fix.Message:
    """A QuickFIX message parsed from one string, cheaper than a SWIG call per field; only messages
    with repeating groups are parsed with the venue dictionary (45 us against 8 us without)."""
    if msg_type in GROUPED:
        return fix.Message(raw_message(msg_type, body), data_dictionary(), False)
    msg = fix.Message()
    msg.setString(raw_message(msg_type, body), False)
    return msg
