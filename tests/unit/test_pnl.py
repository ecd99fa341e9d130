"""PnL attribution (router/pnl): the components of a hand-made day to the cent, the model's theta
at a fill, and an engine-generated day in a store (a hedged option and a legged package) whose
total agrees with the positions ledger's own average-cost PnL."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from router.cli import main
from router.domain.commands import AlgoParams, ClientRequest, InstrumentSpec, MultilegLeg, NewMultilegOrder
from router.domain.enums import HedgeMode, OrderHandling, Side
from router.engine.tif import SessionCalendar
from router.market.books import MarketBooks
from router.market.model import OptionModel
from router.pnl import COMPONENTS, PnlFills, attribute
from router.pnl.attribution import YEAR_NS
from router.pnl.load import load_pnl, trading_day
from router.pnl.theta import option_thetas
from router.store.store import Store
from tests.harness import CALL, SESSION, Harness

DAY_NS = 86_400 * 1_000_000_000
C205 = "AAPL  261218C00205000"
UNDERLIER = "AAPL"


def hand_made_day() -> PnlFills:
    """P1 buys 10 calls at 5.00 (mid 5.05) and sells 4 at 5.40 (mid 5.35) with a rebate; its hedge
    sells 550 shares at 199.99 (mid 200.00); P1's firm book sells 2 calls at 5.10 (mid 5.05).
    The call ends at 5.30, the stock at 201.00, one day after the first fill."""
    t0 = 1_000 * DAY_NS
    return PnlFills(
        rows=np.array(["P1", "P1 firm"], dtype=object),
        row=np.array([0, 0, 0, 1]),
        hedge=np.array([False, False, True, False]),
        side=np.array([1.0, -1.0, -1.0, -1.0]),
        qty=np.array([10.0, 4.0, 550.0, 2.0]),
        price=np.array([5.00, 5.40, 199.99, 5.10]),
        fee=np.array([6.50, -1.20, 0.55, 0.00]),
        multiplier=np.array([100.0, 100.0, 1.0, 100.0]),
        ts_ns=np.array([t0, t0 + DAY_NS // 2, t0, t0]),
        mid=np.array([5.05, 5.35, 200.00, 5.05]),
        end_mark=np.array([5.30, 5.30, 201.00, 5.30]),
        end_ns=np.array([t0 + DAY_NS] * 4),
        theta=np.array([-36.525, -36.525, 0.0, -36.525]),      # -0.10 a day per unit
    )


def test_a_hand_made_day_splits_into_its_components_to_the_cent():
    result = attribute(hand_made_day())
    # spread: +10x100x0.05, then the sale 0.05 above the mid, +4x100x0.05; the firm's sale +2x100x0.05
    # theta: 10 long for a day -100; 4 sold half a day before the end +20; the firm short 2 a day +20
    # inventory: the call's mid to 5.30 less theta: 10x100x0.25 + 100 = 350; -4x100x(-0.05) - 20 = 0; ...
    expected = {
        "P1": {"spread": 50.0 + 20.0, "theta": -100.0 + 20.0, "inventory": 350.0 + 0.0,
               "hedge": -550 * (201.00 - 199.99), "fees": -6.50 + 1.20 - 0.55},
        "P1 firm": {"spread": 10.0, "theta": 20.0, "inventory": -2 * 100 * 0.25 - 20.0, "hedge": 0.0, "fees": 0.0},
    }
    for row, components in enumerate(expected.values()):
        for name, value in components.items():
            assert result.per_row[name][row] == pytest.approx(value, abs=1e-9), (row, name)
    # the total is each fill to its end mark, fees off: 10x100x0.30 - 4x100x(-0.10) - 555.50 - 200x0.20
    total = 300.0 + 40.0 - 555.50 - 40.0 - (6.50 - 1.20 + 0.55)
    assert round(result.totals["total"], 2) == round(total, 2) == -261.35
    assert round(sum(result.totals[c] for c in COMPONENTS), 2) == round(total, 2)
    assert result.fills_without_mid == 0


def test_a_fill_without_a_mid_counts_no_spread_capture_and_bad_columns_are_refused():
    fills = hand_made_day()
    missing = PnlFills(**{**fills.__dict__, "mid": np.array([np.nan, 5.35, 200.00, 5.05])})
    result = attribute(missing)
    assert result.fills_without_mid == 1
    assert result.per_fill["spread"][0] == 0.0
    assert result.per_fill["inventory"][0] == pytest.approx(10 * 100 * 0.30 + 100.0)
    with pytest.raises(ValueError, match="PnlFills.price: 3 values for 4 fills"):
        PnlFills(**{**fills.__dict__, "price": np.array([5.0, 5.4, 199.99])})
    with pytest.raises(ValueError, match="PnlFills.end_mark: 1 fills have no end mark"):
        PnlFills(**{**fills.__dict__, "end_mark": np.array([5.3, 5.3, np.nan, 5.3])})
    with pytest.raises(ValueError, match="PnlFills.row"):
        PnlFills(**{**fills.__dict__, "row": np.array([0, 0, 0, 2])})


def test_theta_at_a_fill_is_the_option_models_with_the_parents_rate_tag():
    h = Harness()
    h.quote("XNAS", UNDERLIER, bids=[(199.99, 100)], asks=[(200.01, 100)])
    h.quote("XCBO", CALL, bids=[(4.80, 10)], asks=[(5.00, 10)])
    instrument = h.system.securities.get(CALL)
    now = h.clock.now_ns()
    model = h.engine.model
    params = [AlgoParams(), AlgoParams(rate_override=0.10)]
    thetas = option_thetas([instrument, instrument], np.array([200.0, 200.0]), np.array([4.90, 4.90]),
                           np.array([now, now]), params, model.rate, {UNDERLIER: 0.25})
    for theta, p in zip(thetas, params):
        assert theta == pytest.approx(float(model.greeks(instrument, now, p, underlier=200.0).theta), rel=1e-9)
    assert thetas[0] < 0 and abs(thetas[1] - thetas[0]) > 1e-3          # the rate tag changes it
    # no mid: the underlier's configured vol, as the model falls back to it
    fallback = option_thetas([instrument], np.array([200.0]), np.array([np.nan]), np.array([now]), params[:1],
                             model.rate, {UNDERLIER: 0.25})
    offline = OptionModel(MarketBooks(), model.rate, {UNDERLIER: 0.25})
    assert fallback[0] == pytest.approx(float(offline.greeks(instrument, now, underlier=200.0).theta), rel=1e-9)
    # a share (or an unknown symbol) has no theta
    assert option_thetas([h.system.securities.get(UNDERLIER), None], np.array([200.0, 200.0]),
                         np.array([200.0, 1.0]), np.array([now, now]), params, model.rate, {}).tolist() == [0.0, 0.0]


def send_vertical(h: Harness, cl_ord_id: str, qty: int, price: float) -> None:
    legs = (MultilegLeg(ref_id="L1", instrument=InstrumentSpec(symbol=CALL), side=Side.BUY, ratio=1),
            MultilegLeg(ref_id="L2", instrument=InstrumentSpec(symbol=C205), side=Side.SELL, ratio=1))
    cmd = NewMultilegOrder(cl_ord_id=cl_ord_id, qty=qty, price=price, legs=legs, transact_time=h.now(),
                           algo=AlgoParams(order_handling=OrderHandling.LEGGER))
    h.engine.dispatch(ClientRequest(SESSION, "CLIENT1", "AB", None, cmd))


@pytest.fixture(scope="module")
def engine_day(tmp_path_factory):
    """A hedged call buy, a plain call sell, and a legged 200/205 call spread; the market moves
    after the fills and the 600 s marks are taken."""
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('pnl') / 'router.db'}")
    store.migrate()
    h = Harness(persistence=store)
    h.quote("XNAS", UNDERLIER, bids=[(199.99, 5000)], asks=[(200.01, 5000)])
    h.quote("XCBO", CALL, bids=[(4.80, 50)], asks=[(5.00, 50)])
    h.quote("XCBO", C205, bids=[(3.00, 50)], asks=[(3.10, 50)])
    h.new("A1", Side.BUY, 10, 5.00, auto_hedge=HedgeMode.FAST_CRX, alt_auto_hedge_id="H1", order_ref_delta=0.5)
    h.settle(1.0)
    h.new("A2", Side.SELL, 5, 4.80)
    h.settle(1.0)
    send_vertical(h, "S1", 4, 2.00)
    h.settle(2.0)
    h.requote("XNAS", UNDERLIER, bids=[(200.49, 5000)], asks=[(200.51, 5000)])
    h.requote("XCBO", CALL, bids=[(5.10, 50)], asks=[(5.30, 50)])
    h.requote("XCBO", C205, bids=[(3.20, 50)], asks=[(3.30, 50)])
    h.settle(700)
    return h, store


def test_an_engine_day_adds_up_to_the_cent_and_agrees_with_the_positions_ledger(engine_day):
    h, store = engine_day
    start, end = trading_day(SessionCalendar(), h.clock.now_ns())
    day = load_pnl(store, h.system.securities, h.settings.router.market, start, end)
    fills = store.table_rows("fills")
    assert {f["role"] for f in fills} >= {"W", "H", "L"} and len(day.fills) == len(fills)
    result = attribute(day.fills)
    totals = result.totals
    assert round(sum(totals[c] for c in COMPONENTS), 2) == round(totals["total"], 2)
    # the end marks are the last mids recorded: 600 s after the last fills, after the market moved
    marks = {str(s): float(m) for s, m in zip(day.symbols, day.fills.end_mark)}
    assert marks == pytest.approx({CALL: 5.20, C205: 3.25, UNDERLIER: 200.50})
    # the ledger's average-cost PnL at those marks: realised + open qty x (mark - average) - fees
    ledger = sum(p["realised_pnl"] + p["qty"] * (marks[p["symbol"]] - p["avg_price"]) * p["multiplier"] - p["fees"]
                 for p in store.table_rows("positions"))
    assert round(totals["total"], 2) == round(ledger, 2)
    rows = {str(label): i for i, label in enumerate(day.fills.rows)}
    hedged, package = rows["P1"], rows["P3"]
    # the hedge sold shares at the bid 199.99 (FastCrx) that ended at 200.50
    hedge_fills = [f for f in fills if f["role"] == "H"]
    assert hedge_fills and all(f["side"] == "2" for f in hedge_fills)
    assert result.per_row["hedge"][hedged] == pytest.approx(
        -sum(f["qty"] * (200.50 - f["price"]) for f in hedge_fills))
    assert {f["role"] for f in fills if f["parent_id"] == "P3"} == {"L"}
    assert result.per_row["spread"][package] != 0.0
    # bought at the offer: a negative spread capture; long the call for ~700 s: a small negative theta
    assert result.per_row["spread"][hedged] == pytest.approx(10 * 100 * (4.90 - 5.00))
    assert -5.0 < result.per_row["theta"][hedged] < 0.0
    assert result.per_row["theta"][rows["P2"]] > 0.0                       # short the call
    assert np.count_nonzero(day.fills.theta) == sum(f["role"] != "H" for f in fills)
    assert not day.notes and result.fills_without_mid == 0


def test_explicit_end_marks_replace_the_stores_and_hold_theta_to_their_time(engine_day):
    h, store = engine_day
    at = h.clock.now_ns() + DAY_NS
    base = load_pnl(store, h.system.securities, h.settings.router.market)
    marked = load_pnl(store, h.system.securities, h.settings.router.market, marks={CALL: 6.00}, marks_ns=at)
    call = marked.symbols == CALL
    assert np.all(marked.fills.end_mark[call] == 6.00) and np.all(marked.fills.end_ns[call] == at)
    assert np.array_equal(marked.fills.end_mark[~call], base.fills.end_mark[~call])
    a, b = attribute(base.fills), attribute(marked.fills)
    moved = (6.00 - 5.20) * (marked.fills.side * marked.fills.qty * marked.fills.multiplier)[call].sum()
    assert b.totals["total"] - a.totals["total"] == pytest.approx(moved)
    # a day more of theta on the open call position
    open_qty = (marked.fills.side * marked.fills.qty)[call].sum()
    assert open_qty != 0
    extra = (marked.fills.side * marked.fills.qty * marked.fills.multiplier * marked.fills.theta)[call].sum() \
        * (at - base.fills.end_ns[call].max()) / YEAR_NS
    assert b.totals["theta"] - a.totals["theta"] == pytest.approx(extra, rel=0.02)


def test_a_window_without_fills_loads_empty(engine_day):
    h, store = engine_day
    calendar = SessionCalendar()
    after = calendar.next_close_ns(h.clock.now_ns()) + 1
    day = load_pnl(store, h.system.securities, h.settings.router.market, after, None)
    assert len(day.fills) == 0 and attribute(day.fills).totals["total"] == 0.0


def test_router_pnl_prints_the_components_per_parent_and_writes_the_plot(engine_day, tmp_path):
    h, store = engine_day
    start, end = trading_day(SessionCalendar(), h.clock.now_ns())
    expected = attribute(load_pnl(store, h.system.securities, h.settings.router.market, start, end).fills)
    plot = tmp_path / "pnl.png"
    result = CliRunner().invoke(main, ["pnl", "--store", store.url, "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "PnL attribution" in out and "spread capture" in out and "2-leg package" in out
    total_row = next(line for line in out.splitlines() if line.strip("│ ").startswith("total"))
    cells = [c.strip() for c in total_row.strip("│").split("│")]
    assert cells[4] == "11"                                             # every fill of the day
    assert cells[-1] == f"{expected.totals['total']:+.2f}" and cells[5] == f"{expected.totals['spread']:+.2f}"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"wrote {plot}" in out.replace("\n", "")
    same_day = CliRunner().invoke(main, ["pnl", "--store", store.url, "--day", "2026-11-20"])
    assert same_day.exit_code == 0 and total_row in same_day.output
    before = CliRunner().invoke(main, ["pnl", "--store", store.url, "--day", "2026-11-19"])
    assert before.exit_code == 0 and "no fills in the session closing on 2026-11-19" in before.output


def test_router_pnl_bad_options_are_clear_errors(engine_day):
    _, store = engine_day
    bad_day = CliRunner().invoke(main, ["pnl", "--store", store.url, "--day", "20 Nov"])
    assert bad_day.exit_code == 2 and "--day '20 Nov': expected a date such as 2026-11-20" in bad_day.output
    bad_since = CliRunner().invoke(main, ["pnl", "--store", store.url, "--since", "last week"])
    assert bad_since.exit_code == 2 and "--since 'last week'" in bad_since.output
    both = CliRunner().invoke(main, ["pnl", "--store", store.url, "--since", "1h", "--day", "2026-11-20"])
    assert both.exit_code == 2 and "--since and --day exclude each other" in both.output
