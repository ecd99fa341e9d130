"""Replay a QuickFIX message log through the engine on a simulated clock.

Each inbound application message from the client is validated against our data dictionary
(as the live acceptor would), decoded, and handed to the engine at the time it was logged;
the simulated clock runs the venues and the seeded market in between. The outbound messages
are printed as `|`-separated FIX bodies, which are a pure function of the log and the
configuration: a golden file of them is a regression test of the whole core.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime, timezone

import quickfix as fix

from router.app import Settings, build_system
from router.clock import NANOS_PER_SECOND, SimClock, datetime_to_ns

from .acceptor import DICTIONARY
from .codec import SOH, SUPPORTED_MSG_TYPES, decode, encode, split_fields

_ADMIN = frozenset({"0", "1", "2", "3", "4", "5", "A"})
_SESSION_REJECTS = {
    fix.InvalidTagNumber: 0, fix.RequiredTagMissing: 1, fix.TagNotDefinedForMessage: 2,
    fix.IncorrectTagValue: 5, fix.IncorrectDataFormat: 6,
}
DRAIN_SECONDS = 5


@dataclass(frozen=True, slots=True)
class LoggedMessage:
    at_ns: int
    raw: str
    pairs: list[tuple[int, str]]

    def get(self, tag: int) -> str | None:
        for t, value in self.pairs:
            if t == tag:
                return value
        return None


def parse_log(text: str) -> list[LoggedMessage]:
    """Lines of a QuickFIX FileLog messages file: ``YYYYMMDD-HH:MM:SS.sss : 8=FIX.4.4<SOH>...``."""
    messages = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        stamp, sep, raw = line.partition(" : ")
        if not sep or not raw.startswith("8="):
            raise ValueError(f"log line {number}: not a QuickFIX message log line: {line[:60]!r}")
        try:
            when = _parse_log_time(stamp.strip())
        except ValueError as exc:
            raise ValueError(f"log line {number}: bad timestamp {stamp.strip()!r}: {exc}") from None
        raw = raw.replace("|", SOH) if SOH not in raw else raw
        messages.append(LoggedMessage(datetime_to_ns(when), raw, split_fields(raw)))
    return messages


def _parse_log_time(stamp: str) -> datetime:
    """QuickFIX logs YYYYMMDD-HH:MM:SS with a 3-, 6- or 9-digit fraction."""
    whole, _, fraction = stamp.partition(".")
    when = datetime.strptime(whole, "%Y%m%d-%H:%M:%S").replace(tzinfo=timezone.utc)
    return when.replace(microsecond=int((fraction or "0")[:6].ljust(6, "0")))


def render(report_or_fields) -> str:
    if isinstance(report_or_fields, tuple):
        msg_type, body = report_or_fields
    else:
        msg_type, body = encode(report_or_fields)
    return "|".join([f"35={msg_type}", *(f"{tag}={value}" for tag, value in body)])


def replay_log(settings: Settings, text: str, client_comp_id: str | None = None) -> list[str]:
    messages = parse_log(text)
    inbound_app = [m for m in messages if m.get(35) not in _ADMIN]
    if client_comp_id is None:
        first_order = next((m for m in inbound_app if m.get(35) in SUPPORTED_MSG_TYPES), None)
        if first_order is None:
            return []
        client_comp_id = first_order.get(49)
    inbound_app = [m for m in inbound_app if m.get(49) == client_comp_id]
    if not inbound_app:
        return []

    router_comp_id = inbound_app[0].get(56)
    session = f"FIX.4.4:{router_comp_id}->{client_comp_id}"
    clock = SimClock(inbound_app[0].at_ns - NANOS_PER_SECOND)
    out: list[str] = []
    system = build_system(clock=clock, market=settings.router.market, venue_configs=settings.venues,
                          accounts=settings.accounts, engine_config=settings.router.engine,
                          send=lambda report: out.append(render(report)))
    dictionary = fix.DataDictionary(str(DICTIONARY))
    account = client_comp_id
    for message in inbound_app:
        clock.advance_to(message.at_ns)
        msg_type = message.get(35)
        rejection = _session_reject(dictionary, message)
        if rejection is not None:
            out.append(rejection)
            continue
        if msg_type not in SUPPORTED_MSG_TYPES:
            out.append(render(("j", [(45, message.get(34) or "0"), (372, msg_type), (380, "3"),
                                     (58, "Unsupported Message Type")])))
            continue
        system.engine.dispatch(decode(msg_type, message.pairs, session, account, int(message.get(34) or 0)))
    clock.advance(DRAIN_SECONDS * NANOS_PER_SECOND)
    system.background.stop()
    if system.crypto is not None:
        system.crypto.stop()
    return out


def _session_reject(dictionary: fix.DataDictionary, message: LoggedMessage) -> str | None:
    try:
        dictionary.validate(fix.Message(message.raw, dictionary, True))
    except tuple(_SESSION_REJECTS) as error:
        return render(("3", [(45, message.get(34) or "0"), (372, message.get(35) or ""),
                             (373, str(_SESSION_REJECTS[type(error)])), (58, str(error))]))
    except fix.InvalidMessage as error:
        return render(("3", [(45, message.get(34) or "0"), (58, f"invalid message: {error}")]))
    return None


def diff_lines(expected: list[str], actual: list[str]) -> list[str]:
    return list(difflib.unified_diff(expected, actual, "golden", "replay", lineterm="", n=1))
