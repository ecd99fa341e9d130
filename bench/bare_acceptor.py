"""A bare QuickFIX FIX.4.4 acceptor that acks every NewOrderSingle at once.

It is the "peer" benchmarks compare the router against: the same engine with
no application logic, answering each NewOrderSingle with an ExecutionReport
(ExecType=New, OrdStatus=New, LeavesQty=OrderQty, CumQty=0, AvgPx=0). Any
other application message is answered with a BusinessMessageReject
(Unsupported Message Type).

    python bench/bare_acceptor.py --port 9878 --dir /tmp/bare \
        [--sender-comp-id ROUTER] [--target-comp-id CLIENT] [--dictionary PATH]
    python bench/bare_acceptor.py --sessions my.cfg

Runs until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import signal
import sys
from pathlib import Path

import quickfix as fix

log = logging.getLogger("bare_acceptor")

REPO = Path(__file__).resolve().parents[1]
PROJECT_DICTIONARY = REPO / "fix_specs" / "FIX44.xml"
STOCK_DICTIONARY = Path("/tmp/FIX44.stock.xml")


def default_dictionary() -> Path:
    return PROJECT_DICTIONARY if PROJECT_DICTIONARY.exists() else STOCK_DICTIONARY


def write_settings(
    path: Path, *, port: int, work_dir: Path, sender: str, target: str, dictionary: Path
) -> None:
    path.write_text(
        "[DEFAULT]\n"
        "ConnectionType=acceptor\n"
        f"SocketAcceptPort={port}\n"
        f"FileStorePath={work_dir / 'store'}\n"
        f"FileLogPath={work_dir / 'log'}\n"
        "StartTime=00:00:00\n"
        "EndTime=00:00:00\n"
        "UseDataDictionary=Y\n"
        f"DataDictionary={dictionary.resolve()}\n"
        "TimestampPrecision=3\n"
        # Every benchmark run starts from sequence number 1 on both sides.
        "ResetOnLogon=Y\n"
        "\n"
        "[SESSION]\n"
        "BeginString=FIX.4.4\n"
        f"SenderCompID={sender}\n"
        f"TargetCompID={target}\n"
    )


class BareAcceptor(fix.Application):
    """QuickFIX callbacks. An exception escaping a callback kills the process,
    so every callback catches everything except the QuickFIX exceptions it
    raises on purpose."""

    def __init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1)

    def onCreate(self, session_id):
        pass

    def onLogon(self, session_id):
        try:
            log.info("logon %s", session_id)
        except Exception:
            pass

    def onLogout(self, session_id):
        try:
            log.info("logout %s", session_id)
        except Exception:
            pass

    def toAdmin(self, message, session_id):
        pass

    def fromAdmin(self, message, session_id):
        pass

    def toApp(self, message, session_id):
        pass

    def fromApp(self, message, session_id):
        try:
            msg_type = message.getHeader().getField(fix.MsgType().getTag())
            if msg_type == fix.MsgType_NewOrderSingle:
                fix.Session.sendToTarget(self._ack(message), session_id)
                return
        except Exception:
            log.exception("failed to handle %s", message.toString().replace("\x01", "|"))
            return
        raise fix.UnsupportedMessageType()

    def _ack(self, order: fix.Message) -> fix.Message:
        n = next(self._ids)
        report = fix.Message()
        report.getHeader().setField(fix.MsgType(fix.MsgType_ExecutionReport))
        report.setField(fix.OrderID(f"O{n}"))
        report.setField(fix.ExecID(f"E{n}"))
        report.setField(fix.ExecType(fix.ExecType_NEW))
        report.setField(fix.OrdStatus(fix.OrdStatus_NEW))
        for tag in (fix.ClOrdID().getTag(), fix.Symbol().getTag(), fix.Side().getTag()):
            if order.isSetField(tag):
                report.setField(tag, order.getField(tag))
        qty = fix.OrderQty().getTag()
        report.setField(fix.LeavesQty().getTag(), order.getField(qty) if order.isSetField(qty) else "0")
        report.setField(fix.CumQty(0))
        report.setField(fix.AvgPx(0))
        return report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, help="SocketAcceptPort")
    parser.add_argument("--dir", type=Path, help="work dir: sessions cfg, store, logs")
    parser.add_argument("--sender-comp-id", default="ROUTER")
    parser.add_argument("--target-comp-id", default="CLIENT")
    parser.add_argument("--dictionary", type=Path, default=None,
                        help=f"FIX44 data dictionary (default {PROJECT_DICTIONARY} "
                             f"if it exists, else {STOCK_DICTIONARY})")
    parser.add_argument("--sessions", type=Path,
                        help="use this QuickFIX settings file instead of writing one "
                             "(the other options are then ignored)")
    args = parser.parse_args(argv)
    if args.sessions is None and (args.port is None or args.dir is None):
        parser.error("either --sessions, or --port and --dir, are required")
    return args


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse_args(argv)
    cfg = args.sessions
    if cfg is None:
        args.dir.mkdir(parents=True, exist_ok=True)
        cfg = args.dir / "sessions.cfg"
        write_settings(cfg, port=args.port, work_dir=args.dir.resolve(),
                       sender=args.sender_comp_id, target=args.target_comp_id,
                       dictionary=args.dictionary or default_dictionary())

    # Blocked before QuickFIX starts its threads (they inherit the mask), so
    # the signals stay pending until sigwait() below picks them up.
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)

    settings = fix.SessionSettings(str(cfg))
    app = BareAcceptor()
    acceptor = fix.SocketAcceptor(
        app, fix.FileStoreFactory(settings), settings, fix.FileLogFactory(settings)
    )
    acceptor.start()
    log.info("listening (%s)", cfg)
    sig = signal.sigwait(stop_signals)
    log.info("%s: stopping", signal.Signals(sig).name)
    acceptor.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
