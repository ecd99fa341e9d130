"""A report stored before a crash and sent again after the restart goes out with PossResend."""
from __future__ import annotations

from router.domain.enums import ExecType, OrdStatus, Side
from router.domain.events import ExecReport, ResentReport
from tests.integration.conftest import CALL, LiveRouter


def test_a_resent_report_carries_poss_resend(tmp_path):
    router = LiveRouter(tmp_path).start()
    try:
        with router.client() as client:
            client.send("1", [(112, "up")])               # answered once the session counts as logged on
            assert client.expect("0") is not None
            report = ExecReport(session="FIX.4.4:ROUTER->CLIENT1", order_id="P9", cl_ord_id="C9", exec_id="P9-1",
                                exec_type=ExecType.NEW, ord_status=OrdStatus.NEW, symbol=CALL, side=Side.BUY,
                                order_qty=1, cum_qty=0, leaves_qty=1, avg_px=0.0, transact_ns=0)
            router.server.app.send(ResentReport(report))
            router.server.app.send(report)
            first, second = client.expect("8"), client.expect("8")
            assert first.get(97) == b"Y" and first.get(17) == b"P9-1"
            assert second.get(97) is None and second.get(17) == b"P9-1"
    finally:
        router.stop()
