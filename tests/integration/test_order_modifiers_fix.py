"""The common order modifiers over a real TCP FIX session: a Staged order acknowledged and left
alone, Strategy (5034) and OrderRefMetric1-4 (5192-5198) echoed on the ExecutionReports, and
AltRouteCode (5028) carried to the venue on the child."""
from __future__ import annotations

import time

from router.fix.client import new_order_fields
from tests.integration.conftest import CALL, LiveRouter

SWEEP = [(5094, "1"), (5096, "0"), (5100, "0"), (5102, "0")]


def field(message, tag: int) -> str | None:
    value = message.get(tag)
    return value.decode() if value is not None else None


def test_modifiers_over_fix(tmp_path):
    router = LiveRouter(tmp_path).start()
    try:
        router.quote("XCBO", CALL, asks=[(5.00, 20)])
        with router.client() as client:
            client.send("D", new_order_fields("S1", "1", 5, CALL, 5.00, extra=[*SWEEP, (5090, "2")]))
            new = client.expect("8")
            assert (field(new, 150), field(new, 39)) == ("0", "0") and "staged" in field(new, 58)
            client.send("D", new_order_fields("M1", "1", 5, CALL, 5.00, extra=[
                *SWEEP, (5034, "calendar-7"), (5192, "1.25"), (5198, "-3"), (5028, "RT7")]))
            reports = client.until(lambda m: field(m, 11) == "M1" and field(m, 39) == "2", 5.0)
            mine = [m for m in reports if field(m, 11) == "M1"]
            assert [field(m, 150) for m in mine] == ["0", "F"]
            assert all((field(m, 5034), field(m, 5192), field(m, 5198)) == ("calendar-7", "1.25", "-3")
                       for m in mine)
        time.sleep(0.05)
        found: list = []
        venue = router.server.system.venues["XCBO"]
        router.on_engine(lambda: found.extend(
            (c.parent_id, venue._children[c.child_id].route_code)
            for c in router.server.engine.orders.children.values()))
        assert found == [("P2", "RT7")], "the staged order sent nothing; the child carries 5028 at the venue"
    finally:
        router.stop()
