"""The QuickFIX acceptor: sessions from a QuickFIX settings file, callbacks that only translate
and enqueue, and the sender the engine uses for its reports.

Every callback catches every exception: a Python exception escaping into QuickFIX kills the
process. The two QuickFIX exceptions we raise on purpose (RejectLogon, UnsupportedMessageType)
are QuickFIX's own protocol answers and are re-raised.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import quickfix as fix

from router.config import Accounts
from router.domain.events import ClientReport, ResentReport
from router.domain.commands import ClientRequest

from .codec import SUPPORTED_MSG_TYPES, decode, encode, split_fields

log = logging.getLogger(__name__)

ACCOUNT_KEY = "Account"
DICTIONARY = Path(__file__).resolve().parents[2] / "fix_specs" / "FIX44.xml"
_GROUPS = {534: (535, (535,))}          # NoAffectedOrders: delimiter and member tags (AffectedOrderID)


def load_settings(path: Path, state_dir: Path) -> fix.SessionSettings:
    """Read a QuickFIX settings file, filling what it leaves out so the router starts from it alone:
    our data dictionary, FileStore and FileLog under the state directory, millisecond timestamps."""
    settings = fix.SessionSettings(str(path))
    defaults = settings.get()
    fill = {
        "UseDataDictionary": "Y",
        "DataDictionary": str(DICTIONARY),
        "FileStorePath": str(state_dir / "store"),
        "FileLogPath": str(state_dir / "log"),
        "StartTime": "00:00:00",
        "EndTime": "00:00:00",
        "TimestampPrecision": "3",
    }
    for key, value in fill.items():
        if not defaults.has(key):
            defaults.setString(key, value)
    settings.set(defaults)
    return settings


def session_accounts(settings: fix.SessionSettings) -> dict[str, str]:
    """Session key -> account: the session's own ``Account=`` or else its TargetCompID."""
    accounts = {}
    for session_id in settings.getSessions():
        section = settings.get(session_id)
        name = section.getString(ACCOUNT_KEY) if section.has(ACCOUNT_KEY) else session_id.getTargetCompID().getValue()
        accounts[session_id.toString()] = name
    return accounts


def build_message(msg_type: str, body: list[tuple[int, str]]) -> fix.Message:
    """A QuickFIX message for ``body``. Without repeating groups it is parsed from one string,
    about three times faster than a SWIG call per field; QuickFIX fills the header on send."""
    if not any(tag in _GROUPS for tag, _ in body):
        message = fix.Message()
        message.setString("".join(["8=FIX.4.4\x019=0\x0135=", msg_type, "\x01",
                                   *[f"{tag}={value}\x01" for tag, value in body], "10=000\x01"]), False)
        return message
    message = fix.Message()
    message.getHeader().setField(35, msg_type)
    index = 0
    while index < len(body):
        tag, value = body[index]
        if tag in _GROUPS:
            delimiter, members = _GROUPS[tag]
            count = int(value)
            entries = body[index + 1:index + 1 + count]
            for _, entry_value in entries:
                group = fix.Group(tag, delimiter)
                group.setField(delimiter, entry_value)
                message.addGroup(group)
            index += 1 + count
            continue
        message.setField(tag, value)
        index += 1
    return message


def _header(pairs: list[tuple[int, str]]) -> tuple[str | None, str | None]:
    """MsgType (35) and MsgSeqNum (34): QuickFIX writes the header first (8, 9, 35, 49, 56, 34, 52...)."""
    msg_type = seq_num = None
    for tag, value in pairs[:10]:
        if tag == 35:
            msg_type = value
        elif tag == 34:
            seq_num = value
    return msg_type, seq_num


class RouterApplication(fix.Application):
    def __init__(self, post: Callable[[ClientRequest], None], accounts_by_session: dict[str, str],
                 accounts: Accounts) -> None:
        super().__init__()
        self._post = post
        self._accounts_by_session = accounts_by_session
        self._accounts = accounts
        self.sessions: dict[str, fix.SessionID] = {}

    def account_of(self, session_key: str) -> str:
        return self._accounts_by_session.get(session_key) or session_key.rsplit(">", 1)[-1]

    # ---- QuickFIX callbacks

    def onCreate(self, sessionID):
        try:
            self.sessions[sessionID.toString()] = sessionID
        except Exception:
            log.exception("onCreate failed")

    def onLogon(self, sessionID):
        try:
            log.info("logon %s", sessionID.toString())
        except Exception:
            log.exception("onLogon failed")

    def onLogout(self, sessionID):
        try:
            log.info("logout %s", sessionID.toString())
        except Exception:
            log.exception("onLogout failed")

    def toAdmin(self, message, sessionID):
        return None

    def toApp(self, message, sessionID):
        return None

    def fromAdmin(self, message, sessionID):
        try:
            if message.getHeader().getField(35) != "A":
                return
            key = sessionID.toString()
            password = self._accounts.password_for(self.account_of(key))
            if password is None:
                return
            given = message.getField(554) if message.isSetField(554) else None
            if given != password:
                reason = "missing Password (554)" if given is None else "bad Password (554)"
                log.warning("logon refused for %s: %s", key, reason)
                raise fix.RejectLogon(f"Logon refused: {reason}")
        except fix.RejectLogon:
            raise
        except Exception:
            log.exception("fromAdmin failed")

    def fromApp(self, message, sessionID):
        """The message's own string, split once, straight into the engine's command: reading
        fields through QuickFIX costs about a microsecond each, the whole string half of one."""
        try:
            raw = message.toString()
            pairs = split_fields(raw)
            msg_type, seq_num = _header(pairs)
            if msg_type is None:
                msg_type = message.getHeader().getField(35)
        except Exception as exc:
            log.exception("fromApp: unreadable message")
            self._reply_business_reject(sessionID, "", f"unreadable message: {exc}")
            return
        if msg_type not in SUPPORTED_MSG_TYPES:
            raise fix.UnsupportedMessageType()
        try:
            key = sessionID.toString()
            if seq_num is None:
                seq_num = message.getHeader().getField(34)
            self._post(decode(msg_type, pairs, key, self.account_of(key), int(seq_num), raw))
        except Exception as exc:
            log.exception("fromApp failed on %s", raw.replace("\x01", "|"))
            self._reply_business_reject(sessionID, msg_type, f"could not process message: {exc}")

    def _reply_business_reject(self, sessionID, msg_type: str, text: str) -> None:
        try:
            reject = build_message("j", [(372, msg_type), (380, "0"), (58, text[:200])])
            fix.Session.sendToTarget(reject, sessionID)
        except Exception:
            log.exception("could not send BusinessMessageReject")

    # ---- the engine's report sink

    def send(self, report: ClientReport | ResentReport) -> None:
        resent = type(report) is ResentReport
        if resent:
            report = report.report
        session_id = self.sessions.get(report.session)
        if session_id is None:
            log.error("report for unknown session %s dropped: %r", report.session, report)
            return
        msg_type, body = encode(report)
        message = build_message(msg_type, body)
        if resent:          # stored before a crash, perhaps sent already: the client checks its ExecID
            message.getHeader().setField(fix.PossResend(True))
        fix.Session.sendToTarget(message, session_id)


class Acceptor:
    def __init__(self, settings: fix.SessionSettings, app: RouterApplication) -> None:
        self.app = app
        self._settings = settings          # QuickFIX keeps pointers into these: they must outlive it
        self._store = fix.FileStoreFactory(settings)
        self._logs = fix.FileLogFactory(settings)
        # ThreadedSocketAcceptor, not SocketAcceptor: in QuickFIX 1.16 SocketAcceptor::stop races its own
        # thread (SocketServer::close walks a map the thread is deleting) and segfaults now and then.
        # Callbacks only decode and enqueue, so a thread per connection changes nothing for the engine.
        self._acceptor = fix.ThreadedSocketAcceptor(app, self._store, settings, self._logs)

    def start(self) -> None:
        self._acceptor.start()

    def stop(self) -> None:
        if self._acceptor is None:
            return
        self._acceptor.stop()
        # Free the C++ acceptor now: its Sessions stay in QuickFIX's process-wide registry until
        # destroyed, and a later acceptor for the same SessionID would find the stale ones.
        self._acceptor = None
        self._store = self._logs = None
