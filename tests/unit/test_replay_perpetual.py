"""The recorded Binance USD-M capture as the crypto options' perpetual venue (BNPF), the whole
router on a simulated clock: a crypto option's fill is hedged in the replayed book in 0.001-BTC
lots, the router's book of the perpetual is the replay's, the hedge's position and P&L are in
BTC (not lots) and survive the store, bad capture paths are refused naming the file, the
standalone exchange's market replays it too, and without ``replay`` nothing changes."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from click.testing import CliRunner
from sqlalchemy import Float, Integer, create_engine, inspect, select

from router.app import build_system
from router.cli import main
from router.clock import SimClock, ns_to_datetime
from router.domain.enums import ChildRole, HedgeMode, Side
from router.domain.orders import ChildStatus
from router.market.securities import SecurityMaster
from router.positions import PositionLedger
from router.server import restore_from_store
from router.store import Store, schema
from router.store.rebuild import rebuild
from tests.harness import START, Harness
from venues.sim.market import build_sim_market
from venues.sim.replay import ReplayVenue
from venues.sim.replay_book import ReplayBook
from venues.sim.replay_perpetual import ReplayFileError, load_capture, prepare_replays
from venues.sim.venue import SimVenue

CAPTURE = Path(__file__).resolve().parents[3] / "shared" / "data" / "binance_usdm_btcusdt_20240808.gz"
PERP, VENUE, LOT = "BTCUSDT", "BNPF", 0.001
SLICE_EVENTS = 30_000        # about 24 s of the recording: enough, and fast

pytestmark = pytest.mark.skipif(not CAPTURE.is_file(), reason=f"{CAPTURE} is not present")


@pytest.fixture(scope="module")
def capture():
    return load_capture(CAPTURE, max_events=SLICE_EVENTS)


def replayed_venues(settings):
    return [v.model_copy(update={"replay": str(CAPTURE)}) if v.name == VENUE else v for v in settings.venues]


class ReplayRig(Harness):
    """The test harness with BNPF replaying a slice of the capture (``captures=``)."""

    def __init__(self, capture, *, persistence=None, start=START) -> None:
        super().__init__()
        settings = self.settings
        self.clock = SimClock.at(start)
        self.out = []
        self.system = build_system(
            clock=self.clock, market=settings.router.market, venue_configs=replayed_venues(settings),
            accounts=settings.accounts, engine_config=settings.router.engine, send=self.out.append,
            persistence=persistence, background=True, algo_settings=settings.router.algos,
            captures={VENUE: capture})
        self.engine, self.venues, self._ids = self.system.engine, self.system.venues, 0

    def atm_call(self) -> str:
        spot = self.venues[VENUE].mid()
        calls = [o for o in self.system.crypto.options if o.is_call and o.expiry.month == 12]
        return min(calls, key=lambda o: abs(o.strike - spot)).symbol

    def buy_hedged(self, cl_ord_id: str, symbol: str, qty: int, **algo) -> None:
        """Buy through the best offer of the option's venues, auto-hedged at once (FastCrx)."""
        offers = [v.book(symbol).best_ask() for v in (self.venues["DRBT"], self.venues["OKXO"])]
        tick = self.venues["DRBT"].price_tick
        price = max(o[0] for o in offers if o is not None) * tick
        self.new(cl_ord_id, Side.BUY, qty, round(price + 0.002, 4), symbol=symbol, auto_hedge=HedgeMode.FAST_CRX,
                 alt_auto_hedge_id=f"H{cl_ord_id}", **algo)
        self.settle(0.5)

    def hedges(self, order_id: str):
        return [c for c in self.children(order_id) if c.role is ChildRole.HEDGE]


@pytest.fixture(scope="module")
def hedged(capture):
    """One option parent bought at a given delta (SROrderRefDelta 5110) and hedged, on one rig."""
    rig = ReplayRig(capture)
    rig.settle(1.0)
    rig.call = rig.atm_call()
    rig.buy_hedged("O1", rig.call, 3, order_ref_delta=0.523)
    return rig


# ---- the hedge in lots

def test_the_perpetual_takes_the_captures_terms(hedged, capture):
    perp = hedged.system.securities.get(PERP)
    assert isinstance(hedged.venues[VENUE], ReplayVenue)
    assert perp.lot_size == perp.multiplier == LOT == capture.qty_step
    strikes = sorted({o.strike for o in hedged.system.crypto.options})
    assert strikes[0] < hedged.venues[VENUE].mid() < strikes[-1]          # the chain is centred on the capture
    assert abs(hedged.system.crypto.spot[PERP] - hedged.venues[VENUE].mid()) < 1e-6   # marks follow the replay


def test_an_option_fill_is_hedged_on_the_replay_in_lots_at_the_orders_delta(hedged):
    parent = hedged.engine.orders.parents["P1"]
    assert parent.cum_qty == 3
    [hedge] = hedged.hedges("P1")
    assert (hedge.venue, hedge.symbol, hedge.side, hedge.status) == (VENUE, PERP, Side.SELL, ChildStatus.FILLED)
    wanted_btc = 0.523 * 3 * 1                                    # delta x qty x multiplier (1 BTC a contract)
    assert abs(hedge.cum_qty * LOT - wanted_btc) <= LOT / 2 + 1e-12
    assert hedge.cum_qty == 1569
    fills = [r for r in hedged.reports("HO1") if r.last_qty]
    assert sum(r.last_qty for r in fills) == 1569
    bid = hedged.venues[VENUE].snapshot().bids[0].price
    assert all(abs(r.last_px - bid) < 50 for r in fills)          # it sold into the recorded book, near its bid


def test_at_the_models_delta_the_hedge_matches_the_options_delta_within_a_lot(capture):
    rig = ReplayRig(capture)
    rig.settle(1.0)
    rig.buy_hedged("M1", rig.atm_call(), 2)
    option = rig.engine.positions.position("CLIENT1", "P1", rig.atm_call())
    [hedge] = rig.hedges("P1")
    assert 0.3 < option.share_delta / 2 < 0.8                     # the model's delta, in BTC per contract
    assert abs(-hedge.cum_qty * LOT + option.share_delta) <= LOT   # hedge qty x lot = delta x qty x multiplier


# ---- the router's book is the replay's

def test_the_routers_perpetual_book_is_the_replays_book_at_that_time(capture):
    rig = ReplayRig(capture)
    venue = rig.venues[VENUE]
    reference = ReplayBook(venue.events)          # the same (retimed) recording, played apart from the router
    compared = 0
    for _ in range(40):
        rig.settle(0.25)
        if venue._publish_pending:                # a book update is on its way: the router lags by md latency
            continue
        reference.run(rig.clock.now_ns(), False)
        book = rig.engine.books.book(PERP)
        for side, is_buy in ((Side.BUY, True), (Side.SELL, False)):
            router_levels = [(level.price, level.qty) for level in book.levels(VENUE, side)]
            recorded = [(venue.price_of(t), q) for t, q in reference.levels(is_buy, len(router_levels))]
            assert router_levels == recorded and router_levels
        assert book.nbbo().bid < book.nbbo().ask
        compared += 1
    assert compared >= 20


# ---- the hedge's position and P&L in BTC

def test_the_hedges_position_and_pnl_are_in_btc_not_lots(hedged):
    position = hedged.engine.positions.position("CLIENT1", "P1", PERP)
    assert position.qty == -1569 and position.multiplier == LOT
    assert position.share_delta == pytest.approx(-1.569)          # BTC: the 1000x bug gave -1569
    mid = hedged.engine.books.nbbo(PERP).mid
    assert position.mark == pytest.approx(mid)
    assert position.unrealised_pnl == pytest.approx((mid - position.avg_price) * -1.569)     # USDT
    assert position.dollar_delta == pytest.approx(-1.569 * mid)
    notional = 1.569 * position.avg_price
    assert position.fees == pytest.approx(0.0005 * notional, rel=1e-6)       # 0.05% taker of the USDT notional
    option_delta = hedged.engine.positions.totals("parent")["P1"].share_delta
    assert abs(option_delta) < 0.3                                # the option's ~1.5 BTC delta is hedged away


def test_a_round_trip_through_the_store_keeps_the_float_multiplier(capture, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'router.db'}")
    store.migrate()
    first = ReplayRig(capture, persistence=store)
    first.settle(1.0)
    first.buy_hedged("S1", first.atm_call(), 2, order_ref_delta=0.5)
    live = first.engine.positions.position("CLIENT1", "P1", PERP)
    assert live.qty == -1000
    store.close()

    reopened = Store(f"sqlite:///{tmp_path / 'router.db'}")
    reopened.migrate()
    report = rebuild(reopened, write=False)
    assert report.ok, (report.invariants, report.tables["positions"])     # the projection agrees with the fills
    restored = restore_from_store(reopened)
    [row] = [p for p in restored.positions if p[2] == PERP]
    assert row[3] == -1000 and isinstance(row[5], float) and math.isclose(row[5], LOT)
    ledger = PositionLedger()
    ledger.restore(restored.positions)
    again = ledger.position("CLIENT1", "P1", PERP)
    assert again.multiplier == LOT and again.avg_price == pytest.approx(live.avg_price)
    ledger.mark(PERP, live.avg_price + 10.0)
    assert ledger.position("CLIENT1", "P1", PERP).unrealised_pnl == pytest.approx(-10.0)   # 1 BTC short, +10 USDT
    reopened.close()


MULTIPLIER_REVISION = "0004_position_multiplier_float"


def alembic_config(url: str) -> Config:
    config = Config(str(Path(schema.__file__).with_name("alembic.ini")))
    config.set_main_option("sqlalchemy.url", url)
    return config


def test_the_migration_turns_the_integer_multiplier_into_a_float_keeping_the_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0003")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(schema.positions.insert().values(account="A", parent_id="P1", symbol="X", qty=5,
                                                            avg_price=2.5, multiplier=100, realised_pnl=0.0, fees=0.0))
    assert isinstance(_multiplier_type(engine), Integer)
    command.upgrade(config, MULTIPLIER_REVISION)
    assert isinstance(_multiplier_type(engine), Float)
    with engine.begin() as connection:
        connection.execute(schema.positions.insert().values(account="A", parent_id="P1", symbol=PERP, qty=-7,
                                                            avg_price=61800.0, multiplier=LOT, realised_pnl=0.0,
                                                            fees=0.0))
        stored = dict(connection.execute(select(schema.positions.c.symbol, schema.positions.c.multiplier)).all())
    assert stored == {"X": 100.0, PERP: LOT}
    with pytest.raises(RuntimeError, match="positions.multiplier: 1 rows hold a fractional multiplier"):
        command.downgrade(config, "0003")                          # an integer column would lose the lot
    with engine.begin() as connection:
        connection.execute(schema.positions.delete().where(schema.positions.c.symbol == PERP))
    command.downgrade(config, "0003")
    assert isinstance(_multiplier_type(engine), Integer)
    engine.dispose()


def _multiplier_type(engine):
    return next(c["type"] for c in inspect(engine).get_columns("positions") if c["name"] == "multiplier")


# ---- bad captures

def test_a_missing_capture_is_a_replay_file_error_naming_the_file(tmp_path):
    missing = tmp_path / "nowhere.gz"
    with pytest.raises(ReplayFileError, match=f"{missing}: no such file"):
        load_capture(missing)
    with pytest.raises(ReplayFileError, match=f"{tmp_path}: not a file"):
        load_capture(tmp_path)


def test_a_file_that_is_not_a_capture_says_so(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a capture\n")
    with pytest.raises(ReplayFileError, match=f"{text}: not a Binance USD-M capture"):
        load_capture(text)
    fake = tmp_path / "fake.gz"
    fake.write_bytes(b"plainly not gzip")
    with pytest.raises(ReplayFileError, match=f"{fake}: cannot be read"):
        load_capture(fake)


def test_the_cli_refuses_a_bad_capture_naming_the_file(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("hello\n")
    for command in ("demo", "serve"):
        result = CliRunner().invoke(main, [command, "--replay-perpetual", str(bad)])
        assert result.exit_code == 2, result.output
        assert "--replay-perpetual" in result.output and str(bad) in result.output
        assert "not a Binance USD-M capture" in result.output
    result = CliRunner().invoke(main, ["demo", "--replay-perpetual", str(tmp_path / "gone.gz")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_a_venue_config_replay_that_cannot_be_read_names_the_file(tmp_path):
    h = Harness()
    venues = [v.model_copy(update={"replay": str(tmp_path / "gone.gz")}) if v.name == VENUE else v
              for v in h.settings.venues]
    with pytest.raises(ReplayFileError, match="gone.gz: no such file"):
        prepare_replays(SimClock.at(START), h.settings.router.market, venues)


# ---- the standalone exchange's market

def test_the_exchanges_market_replays_the_perpetual_when_configured(capture):
    settings = Harness().settings
    clock = SimClock.at(START)
    market, venues, replays = prepare_replays(clock, settings.router.market, replayed_venues(settings),
                                              {VENUE: capture})
    securities = SecurityMaster.from_chains(market.underliers, ns_to_datetime(clock.now_ns()).date())
    books = []
    sim = build_sim_market(clock, securities, market, venues, lambda report: None, books.append, replays)
    sim.start()
    clock.advance(2_000_000_000)
    perp = sim.venues[VENUE]
    assert isinstance(perp, ReplayVenue) and list(sim.venues) == [v.name for v in venues]
    assert sim.crypto.perp_venues == []                          # no simulated maker on the recording
    assert sim.crypto.spot[PERP] == pytest.approx(perp.mid())
    published = [b for b in books if getattr(b, "symbol", None) == PERP and getattr(b, "venue", None) == VENUE]
    assert published and published[-1] == perp.snapshot()
    assert securities.get(PERP).lot_size == LOT


def test_an_exchange_market_refuses_a_replay_it_was_not_prepared_for():
    settings = Harness().settings
    clock = SimClock.at(START)
    market = settings.router.market
    securities = SecurityMaster.from_chains(market.underliers, ns_to_datetime(clock.now_ns()).date())
    with pytest.raises(ValueError, match=r"venues\.BNPF\.replay is set but its capture was not prepared"):
        build_sim_market(clock, securities, market, replayed_venues(settings), lambda r: None, lambda b: None)


# ---- without replay

def test_without_replay_the_perpetual_is_the_simulated_one():
    h = Harness(background=True)
    h.settle(1.0)
    perp = h.system.securities.get(PERP)
    assert isinstance(h.venues[VENUE], SimVenue)
    assert perp.lot_size == 0.001 and perp.multiplier == 0.001       # Binance's step, replayed or not
    assert h.system.crypto.perp_venues == [h.venues[VENUE]]
    configured = next(u for u in h.settings.router.market.underliers if u.symbol == PERP)
    assert configured.spot == 90000.0 and configured.lot_size == 0.001
    assert 80000 < h.system.crypto.spot[PERP] < 100000
    assert h.venues[VENUE].book(PERP).best_bid() is not None       # the simulated maker quotes it
