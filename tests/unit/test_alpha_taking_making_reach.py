"""TakeReach (5104) on the taking side of alpha taking+making, on the whole engine and simulated
venues: Immediate takes at once, Delayed only size that has stayed ``delayed_ms`` (the children
keep resting meanwhile), and the reaches it cannot honour are refused at entry."""
from __future__ import annotations

import pytest

from router.config import AlgoSettings, AlphaTakingSettings
from router.domain.enums import ExecType, Liquidity, OrdStatus, TakeReach
from tests.harness import CALL, Harness

from .test_alpha_making import _combined, _fix_order, _scripted_secondary, market, work

NS = 1_000_000_000


def fills(h: Harness, cl: str = "C1") -> list:
    return [r for r in h.reports(cl) if r.exec_type is ExecType.TRADE]


def test_immediate_reach_is_read_and_takes_as_soon_as_the_take_limit_is_marketable(monkeypatch):
    _scripted_secondary(monkeypatch, [5.20])
    h = Harness()
    market(h)
    _combined(h, take_reach=TakeReach.IMMEDIATE)
    assert h.reports("C1")[0].ord_status is OrdStatus.NEW       # 5104 is no longer refused as unread
    h.settle(0.5)
    done = fills(h)
    assert sum(r.last_qty for r in done) == 10 and h.reports("C1")[-1].ord_status is OrdStatus.FILLED
    assert all(r.liquidity is Liquidity.REMOVED and r.last_px == pytest.approx(5.20) for r in done)


def _offer_improves_to_the_take_limit(monkeypatch, h: Harness, **tags) -> int:
    """A Delayed buy rests at the 4.80 bid with its take limit at 5.10; the offer then drops from
    5.20 to 5.10. Returns when the offer changed."""
    _scripted_secondary(monkeypatch, [5.10])
    market(h)
    _combined(h, take_reach=TakeReach.DELAYED, **tags)
    h.settle(1.0)
    h.requote("XCBO", CALL, bids=[(4.80, 10)], asks=[(5.10, 10)], settle=False)
    changed = h.clock.now_ns()
    h.settle(0.05)
    return changed


def test_delayed_reach_keeps_resting_until_the_offer_has_stayed_delayed_ms_then_takes_it(monkeypatch):
    h = Harness()
    changed = _offer_improves_to_the_take_limit(monkeypatch, h)
    h.settle(1.5)                                   # 1.55 s of the 2 s (delayed_ms) so far
    assert not fills(h)
    [resting] = work(h)
    assert resting.post_only and resting.price == pytest.approx(4.80)   # still posted meanwhile
    h.clock.advance(changed + 2 * NS - 5_000_000 - h.clock.now_ns())
    assert not fills(h)                             # 5 ms short of 2 s
    h.settle(0.5)
    done = fills(h)
    assert sum(r.last_qty for r in done) == 10
    assert all(r.liquidity is Liquidity.REMOVED and r.last_px == pytest.approx(5.10) for r in done)


def test_delayed_reach_never_takes_an_offer_that_flickers_away(monkeypatch):
    h = Harness()
    _offer_improves_to_the_take_limit(monkeypatch, h)
    h.settle(1.0)
    h.requote("XCBO", CALL, bids=[(4.80, 10)], asks=[(5.20, 10)])     # pulled before 2 s
    h.requote("XCBO", CALL, bids=[(4.80, 10)], asks=[(5.10, 10)])     # and back: a new quote
    h.settle(1.5)
    assert not fills(h)
    h.settle(1.0)                                   # 2 s after it came back
    assert sum(r.last_qty for r in fills(h)) == 10


def test_delayed_ms_of_the_alpha_taking_section_sets_the_combined_algo_s_wait(monkeypatch):
    h = Harness(algo_settings=AlgoSettings(alpha_taking=AlphaTakingSettings(delayed_ms=500.0)))
    _offer_improves_to_the_take_limit(monkeypatch, h)
    assert h.engine.runtime.algos["P1"].take_settings.delayed_ms == 500.0
    h.settle(0.3)
    assert not fills(h)
    h.settle(0.3)
    assert sum(r.last_qty for r in fills(h)) == 10


@pytest.mark.parametrize("value,name", [("4", "RespondOnly"), ("5", "FullSize"), ("6", "IsoSweep")])
def test_a_reach_the_combined_algo_cannot_honour_is_rejected_naming_tag_and_value(value, name):
    h = Harness()
    market(h)
    report = _fix_order(h, (5094, "1"), (5096, "1"), (5100, "2"), (5136, "0.6"), (5104, value))
    assert report.ord_status is OrdStatus.REJECTED
    assert f"SRTakeReachRule (5104) {name} ({value}) is not supported by alpha taking+making" in report.text
