"""RouterApplication.fromApp without sockets: a QuickFIX message becomes one ClientRequest, and
nothing a message or the engine does escapes the callback (that would kill the process)."""
from __future__ import annotations

import pytest
import quickfix as fix

from router.config import Accounts
from router.domain.commands import NewOrder
from router.fix.acceptor import RouterApplication

SESSION = fix.SessionID("FIX.4.4", "ROUTER", "CLIENT")
NOW = "20261120-15:00:00.000"


def message(msg_type: str, body: list[tuple[int, str]]) -> fix.Message:
    text = "".join(f"{tag}={value}\x01" for tag, value in
                   [(35, msg_type), (34, "7"), (49, "CLIENT"), (52, NOW), (56, "ROUTER"), *body])
    head = f"8=FIX.4.4\x019={len(text)}\x01"
    return fix.Message(f"{head}{text}10={sum((head + text).encode()) % 256:03d}\x01", False)


ORDER = [(11, "C1"), (55, "AAPL  261218C00200000"), (54, "1"), (60, NOW), (38, "10"), (40, "2"), (44, "5.10"),
         (5094, "1")]


def app(post) -> RouterApplication:
    return RouterApplication(post, {SESSION.toString(): "DESK"}, Accounts())


def test_a_new_order_single_is_posted_as_one_decoded_request_with_its_raw_text():
    posted = []
    received = message("D", ORDER)
    app(posted.append).fromApp(received, SESSION)
    [request] = posted
    assert isinstance(request.command, NewOrder) and request.command.cl_ord_id == "C1"
    assert (request.session, request.account, request.msg_type, request.seq_num) == \
        (SESSION.toString(), "DESK", "D", 7)
    assert request.raw == received.toString()


def test_a_business_rule_reject_is_posted_not_raised():
    posted = []
    app(posted.append).fromApp(message("D", [*ORDER[:4], (38, "2.5"), *ORDER[5:]]), SESSION)
    assert posted[0].command is None and "whole number" in posted[0].reject_text


def test_an_engine_failure_does_not_escape_the_callback():
    def broken(_request):
        raise RuntimeError("engine gone")
    app(broken).fromApp(message("D", ORDER), SESSION)      # logged, a BusinessMessageReject attempted


def test_an_unsupported_message_type_is_quickfixs_own_answer():
    with pytest.raises(fix.UnsupportedMessageType):
        app(lambda request: None).fromApp(message("E", [(66, "L1")]), SESSION)
