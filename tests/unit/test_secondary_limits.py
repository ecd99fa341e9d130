"""Secondary limits (algos/secondary_limits.py) against a small context over the real live
surface and live alpha services, and those services themselves: the live surface's fits and
refits (US and coin-quoted chains), the Probability class's price, Relative, one model call per
variant, and the expected fee."""
from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import pytest

from algos.limits import effective_limits
from algos.secondary_limits import secondary_limit, secondary_limits
from router.app import load_settings
from router.clock import datetime_to_ns
from router.domain.commands import AlgoParams
from router.domain.enums import AlphaType, LimitClass, Liquidity, OrdType, Side, TimeInForce
from router.domain.events import BookLevel, BookUpdate
from router.domain.orders import ParentOrder
from router.engine.context import Services, expected_fee
from router.market.books import MarketBooks
from router.market.live_surface import LiveSurfaces
from router.market.pricing import black76, bsm
from router.market.securities import SecurityMaster, years_between
from router.models.alpha import AlphaModel, price_points
from router.models.live_alpha import LiveAlpha
from tests.harness import CALL, Harness

NOW = datetime_to_ns(datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc))
MS = 1_000_000
SECURITIES = SecurityMaster.from_chains(load_settings().router.market.underliers, date(2026, 11, 20))


def show(books: MarketBooks, symbol: str, bid: float, ask: float, bid_qty: int = 20, ask_qty: int = 20) -> None:
    books.apply(BookUpdate("XCBO", symbol, (BookLevel(bid, bid_qty),), (BookLevel(ask, ask_qty),)))


def quote_us_chain(books: MarketBooks, vol: float = 0.28, spot: float = 200.0, now: int = NOW) -> dict[str, float]:
    show(books, "AAPL", spot - 0.01, spot + 0.01, 5000, 5000)
    fair = {}
    for inst in SECURITIES.options():
        if inst.underlying == "AAPL":
            t = years_between(now, inst.expiry, inst.expiry_hour_utc)
            fair[inst.symbol] = p = float(bsm(spot, inst.strike, t, vol, inst.is_call, 0.04, 0.0).price)
            show(books, inst.symbol, p - 0.05, p + 0.05)
    return fair


class Ctx:
    """The part of the AlgoContext the secondary limits read, over real services."""

    def __init__(self, symbol: str, side: Side, surfaces: LiveSurfaces | None = None, alpha: LiveAlpha | None = None,
                 books: MarketBooks | None = None, fee: float = 0.0, order_id: str = "P1", **params) -> None:
        self._parent = ParentOrder(order_id, "S", "ACC", "C1", symbol, side, 10, OrdType.LIMIT, 20.0, TimeInForce.DAY,
                                   "alpha_taking", AlgoParams(**params), NOW)
        self.surfaces, self.alpha, self.books, self.fee = surfaces, alpha, books, fee
        self.now = NOW
        self.fee_asked: list[tuple[str, float]] = []

    @property
    def parent(self) -> ParentOrder:
        return self._parent

    def now_ns(self) -> int:
        return self.now

    def surface_prices(self, symbols, vol_shifts):
        return self.surfaces.surface_prices([SECURITIES.get(s) for s in symbols], self.now, vol_shifts)

    def follow_alpha(self) -> None:
        nbbo = self.books.nbbo(self._parent.symbol)
        self.alpha.follow(self._parent.order_id, self._parent.symbol, 0.05, self.now, nbbo.bid, nbbo.ask,
                          nbbo.bid_qty, nbbo.ask_qty)

    def alpha_state(self, symbols):
        return self.alpha.state(symbols, self.now)

    def alpha_model(self, variant):
        return self.alpha.model(variant)

    def probability_window(self, kind):
        return self.alpha.window(self._parent.order_id, kind)

    def expected_fee(self, kind, price):
        self.fee_asked.append((kind, price))
        return self.fee


class FixedSurface:
    """A surface that says every option is worth ``price``: for the offset arithmetic alone."""

    def __init__(self, price: float) -> None:
        self.price = price
        self.shifts = None

    def surface_prices(self, instruments, now_ns, vol_shift):
        self.shifts = np.asarray(vol_shift)
        return np.full(len(instruments), self.price), np.full(len(instruments), 0.3)


# ------------------------------------------------------------------------------------ Surface

def test_spiderrocks_example_buy_limit_1_offset_1c_fair_95c_is_96c():
    ctx = Ctx(CALL, Side.BUY, FixedSurface(0.95), take_limit_class=LimitClass.SURFACE, take_surface_prc_offset=0.01)
    secondary = secondary_limit(ctx, "take")
    assert secondary == pytest.approx(0.96)
    assert effective_limits(np.array([True]), np.array([1.00]), np.array([secondary]))[0] == pytest.approx(0.96)


def test_seed_001_side_offsets_apply_to_their_own_side_only():
    surface = FixedSurface(1.00)
    buy = Ctx(CALL, Side.BUY, surface, take_limit_class=LimitClass.SURFACE, take_surface_prc_offset=0.02,
              surface_prc_offset_ask=0.03, surface_prc_offset_bid=0.50)
    sell = Ctx(CALL, Side.SELL, surface, take_limit_class=LimitClass.SURFACE, take_surface_prc_offset=0.02,
               surface_prc_offset_ask=0.50, surface_prc_offset_bid=0.03)
    assert list(secondary_limits([buy, sell], "take")) == pytest.approx([1.05, 0.95])


def test_make_side_reads_its_own_offsets_and_vol_offsets_move_the_vol_by_side():
    surface = FixedSurface(1.00)
    buy = Ctx(CALL, Side.BUY, surface, make_limit_class=LimitClass.SURFACE, make_surface_prc_offset=-0.04,
              make_surface_vol_offset=0.01, take_surface_prc_offset=0.50)
    sell = Ctx(CALL, Side.SELL, surface, make_limit_class=LimitClass.SURFACE, make_surface_vol_offset=0.02)
    assert list(secondary_limits([buy, sell], "make")) == pytest.approx([0.96, 1.00])
    assert list(surface.shifts) == pytest.approx([0.01, -0.02])


def test_simple_has_no_secondary_limit():
    assert np.isnan(secondary_limit(Ctx(CALL, Side.BUY, FixedSurface(1.0)), "take"))


def test_a_vol_offset_prices_the_option_at_the_shifted_surface_vol():
    books = MarketBooks()
    quote_us_chain(books)
    surfaces = LiveSurfaces(books, SECURITIES, 0.04)
    inst = SECURITIES.get(CALL)
    price, vol = surfaces.surface_price(inst, NOW)
    years = years_between(NOW, inst.expiry, inst.expiry_hour_utc)
    spot = 200.0
    at_vol = float(bsm(spot, inst.strike, years, vol + 0.02, True, 0.04, 0.0).price)
    ctx = Ctx(CALL, Side.BUY, surfaces, take_limit_class=LimitClass.SURFACE, take_surface_vol_offset=0.02,
              take_surface_prc_offset=0.01)
    assert secondary_limit(ctx, "take") == pytest.approx(at_vol + 0.01, abs=1e-6)
    assert price == pytest.approx(float(bsm(spot, inst.strike, years, vol, True, 0.04, 0.0).price))


# ------------------------------------------------------------------------------------ the live surface

def test_the_live_surface_recovers_the_quoted_vol_and_moves_with_the_underlier():
    books = MarketBooks()
    fair = quote_us_chain(books, vol=0.28)
    surfaces = LiveSurfaces(books, SECURITIES, 0.04)
    inst = SECURITIES.get(CALL)
    price, vol = surfaces.surface_price(inst, NOW)
    assert vol == pytest.approx(0.28, abs=0.003) and price == pytest.approx(fair[CALL], abs=0.05)
    show(books, "AAPL", 201.99, 202.01, 5000, 5000)            # sticky moneyness until the next fit
    moved, _ = surfaces.surface_price(inst, NOW + 10 * MS)
    assert moved > price + 1.0 and surfaces.fit_count == 1


def test_it_refits_only_when_the_chain_changed_and_the_interval_has_passed():
    books = MarketBooks()
    quote_us_chain(books, vol=0.28)
    surfaces = LiveSurfaces(books, SECURITIES, 0.04, refit_interval_ms=1000.0)
    inst = SECURITIES.get(CALL)
    surfaces.surface_price(inst, NOW)
    surfaces.surface_price(inst, NOW + 2000 * MS)             # nothing changed: no refit
    assert surfaces.fit_count == 1
    quote_us_chain(books, vol=0.33, now=NOW + 2000 * MS)
    _, vol = surfaces.surface_price(inst, NOW + 2500 * MS)    # changed, interval since the last fit passed
    assert surfaces.fit_count == 2 and vol == pytest.approx(0.33, abs=0.003)
    quote_us_chain(books, vol=0.38, now=NOW + 2600 * MS)
    _, vol = surfaces.surface_price(inst, NOW + 2700 * MS)    # changed, but within the interval
    assert surfaces.fit_count == 2 and vol == pytest.approx(0.33, abs=0.003)
    _, vol = surfaces.surface_price(inst, NOW + 3600 * MS)
    assert surfaces.fit_count == 3 and vol == pytest.approx(0.38, abs=0.003)


def test_too_few_quotes_give_no_surface_price_and_a_reason():
    books = MarketBooks()
    show(books, "AAPL", 199.99, 200.01)
    show(books, CALL, 6.40, 6.60)
    surfaces = LiveSurfaces(books, SECURITIES, 0.04)
    assert surfaces.surface_price(SECURITIES.get(CALL), NOW) is None
    assert "fewer than 5" in surfaces.why_none(SECURITIES.get(CALL), NOW)
    assert "underlier" in LiveSurfaces(MarketBooks(), SECURITIES, 0.04).why_none(SECURITIES.get(CALL), NOW)


def test_coin_quoted_options_are_fitted_in_usd_on_the_perpetual_and_priced_in_btc():
    books = MarketBooks()
    spot = 90_000.0
    show(books, "BTCUSDT", spot - 0.05, spot + 0.05, 50, 50)
    chain = [inst for inst in SECURITIES.options() if inst.underlying == "BTCUSDT"]
    fair = {}
    for inst in chain:
        t = years_between(NOW, inst.expiry, inst.expiry_hour_utc)
        fair[inst.symbol] = p = float(black76(spot, inst.strike, t, 0.5, inst.is_call, 0.0).price) / spot
        show(books, inst.symbol, round(p * 0.98, 4), round(p * 1.02 + 0.0001, 4))
    surfaces = LiveSurfaces(books, SECURITIES, 0.04)
    for inst in chain[:4]:
        price, vol = surfaces.surface_price(inst, NOW)
        assert vol == pytest.approx(0.5, abs=0.01)
        assert price == pytest.approx(fair[inst.symbol], rel=0.02)      # BTC, not USD


# ------------------------------------------------------------------------------------ Probability

def _alpha_market(bid=6.45, ask=6.55, bid_qty=20, ask_qty=20):
    books = MarketBooks()
    show(books, CALL, bid, ask, bid_qty, ask_qty)
    return books, LiveAlpha()


def test_probability_class_is_the_worst_price_between_bid_and_ask_that_meets_the_limit():
    books, alpha = _alpha_market(6.30, 6.70)
    ctx = Ctx(CALL, Side.BUY, alpha=alpha, books=books, take_limit_class=LimitClass.PROBABILITY,
              take_probability=0.5)
    limit = secondary_limit(ctx, "take")
    state, _ = alpha.state([CALL], NOW)
    prices = price_points(state)[0]
    p = alpha.model("standard").take_probability(state, np.array([1.0]), prices[None, :], 0.0)[0]
    assert 6.30 <= limit <= 6.70
    at = int(np.argmin(np.abs(prices - limit)))
    assert p[at] >= 0.5 and p[at + 1] < 0.5          # the next price up no longer meets it


def test_a_higher_fee_lowers_a_buys_probability_limit():
    books, alpha = _alpha_market(6.30, 6.70)
    cheap = Ctx(CALL, Side.BUY, alpha=alpha, books=books, take_limit_class=LimitClass.PROBABILITY,
                take_probability=0.5, fee=0.0)
    dear = Ctx(CALL, Side.BUY, alpha=alpha, books=books, take_limit_class=LimitClass.PROBABILITY,
               take_probability=0.5, fee=0.10, order_id="P2")
    assert secondary_limit(dear, "take") < secondary_limit(cheap, "take")
    assert dear.fee_asked == [("take", pytest.approx(6.50))]       # the fee asked at the mid


def test_no_alpha_state_yet_gives_nan():
    books = MarketBooks()                    # no book for the option at all
    ctx = Ctx(CALL, Side.BUY, alpha=LiveAlpha(), books=books, take_limit_class=LimitClass.PROBABILITY,
              take_probability=0.5)
    assert np.isnan(secondary_limit(ctx, "take"))


def test_relative_raises_the_limit_above_a_high_recent_average():
    books, alpha = _alpha_market(6.30, 6.70)
    static = Ctx(CALL, Side.BUY, alpha=alpha, books=books, take_limit_class=LimitClass.PROBABILITY,
                 take_probability=0.3)
    relative = Ctx(CALL, Side.BUY, alpha=alpha, books=books, take_limit_class=LimitClass.PROBABILITY,
                   take_probability=0.3, take_alpha_type=AlphaType.RELATIVE, take_alpha_factor=0.0, order_id="P2")
    window = alpha.window("P2", "take")
    for i, p in enumerate((0.8, 0.9, 0.85, 0.95)):          # the recent minutes paid very often
        window.add(NOW - (10 - i) * 1_000_000_000, p)
    quiet = Ctx(CALL, Side.BUY, alpha=alpha, books=books, take_limit_class=LimitClass.PROBABILITY,
                take_probability=0.3, take_alpha_type=AlphaType.RELATIVE, take_alpha_factor=1.0, order_id="P3")
    limits = secondary_limits([static, relative, quiet], "take")
    assert limits[1] < limits[0]             # a stricter probability: a lower price for a buy
    assert limits[2] == limits[0]            # without a high recent average it is the limit given


def test_surfprob_is_the_tighter_of_the_two_and_nan_without_either():
    books, alpha = _alpha_market(6.30, 6.70)
    probability = secondary_limit(Ctx(CALL, Side.BUY, alpha=alpha, books=books,
                                      take_limit_class=LimitClass.PROBABILITY, take_probability=0.5), "take")
    for fair, expected in ((probability + 0.20, probability), (probability - 0.20, probability - 0.20)):
        ctx = Ctx(CALL, Side.BUY, FixedSurface(fair), alpha, books, take_limit_class=LimitClass.SURF_PROB,
                  take_probability=0.5, order_id="P9")
        assert secondary_limit(ctx, "take") == pytest.approx(expected)
    no_fit = Ctx(CALL, Side.BUY, FixedSurface(np.nan), alpha, books, take_limit_class=LimitClass.SURF_PROB,
                 take_probability=0.5)
    assert np.isnan(secondary_limit(no_fit, "take"))


def test_many_parents_cost_one_model_call_per_variant(monkeypatch):
    books = MarketBooks()
    symbols = [inst.symbol for inst in SECURITIES.options() if inst.underlying == "AAPL"][:8]
    for symbol in symbols:
        show(books, symbol, 1.00, 1.10)
    alpha = LiveAlpha()
    calls = []
    original = AlphaModel.take_probability

    def counted(self, state, *args, **kwargs):
        calls.append((self.variant, len(state)))
        return original(self, state, *args, **kwargs)
    monkeypatch.setattr(AlphaModel, "take_probability", counted)
    ctxs = [Ctx(symbol, Side.BUY if i % 2 else Side.SELL, alpha=alpha, books=books, order_id=f"P{i}",
                take_limit_class=LimitClass.PROBABILITY, take_probability=0.5,
                take_alpha_type=AlphaType.HAWK if i < 3 else AlphaType.STATIC)
            for i, symbol in enumerate(symbols)]
    limits = secondary_limits(ctxs, "take")
    assert sorted(calls) == [("hawk", 3), ("standard", 5)]
    assert np.all(np.isfinite(limits) | np.isnan(limits)) and len(limits) == 8


def test_the_make_probability_limit_is_a_resting_price():
    books, alpha = _alpha_market(6.30, 6.70)
    ctx = Ctx(CALL, Side.BUY, alpha=alpha, books=books, make_limit_class=LimitClass.PROBABILITY,
              make_probability=0.05)
    limit = secondary_limit(ctx, "make")
    assert np.isnan(limit) or 6.30 <= limit < 6.70


# ------------------------------------------------------------------------------------ the fee

def test_expected_fee_is_the_cheapest_taker_fee_of_the_parents_venues_per_share():
    h = Harness()
    engine = h.engine
    services = Services(h.clock, engine.books, engine.securities, engine.model, engine.waiters,
                        fees=engine.sor._fees, sor=engine.sor)
    inst = engine.securities.get(CALL)
    every = ParentOrder("P1", "S", "ACC", "C1", CALL, Side.BUY, 10, OrdType.LIMIT, 5.0, TimeInForce.DAY,
                        "alpha_taking", AlgoParams(), NOW)
    venues = engine.sor.candidates(CALL)
    takers = {v: engine.sor._fees.net_fee(v, Liquidity.REMOVED, symbol=CALL, price=5.0) for v in venues}
    assert expected_fee(services, every, inst, "take", 5.0) == pytest.approx(min(takers.values()) / 100)
    dearest = max(takers, key=takers.get)
    one = ParentOrder("P2", "S", "ACC", "C1", CALL, Side.BUY, 10, OrdType.LIMIT, 5.0, TimeInForce.DAY,
                      "alpha_taking", AlgoParams(exchanges=(dearest,)), NOW)
    assert expected_fee(services, one, inst, "take", 5.0) == pytest.approx(takers[dearest] / 100)
    makers = [engine.sor._fees.net_fee(v, Liquidity.ADDED, symbol=CALL, price=5.0) for v in venues]
    assert expected_fee(services, every, inst, "make", 5.0) == pytest.approx(min(makers) / 100)


def test_a_coin_quoted_options_fee_is_in_btc_per_contract():
    h = Harness()
    engine = h.engine
    services = Services(h.clock, engine.books, engine.securities, engine.model, engine.waiters,
                        fees=engine.sor._fees, sor=engine.sor)
    inst = next(i for i in engine.securities.options() if i.underlying == "BTCUSDT")
    parent = ParentOrder("P1", "S", "ACC", "C1", inst.symbol, Side.BUY, 1, OrdType.LIMIT, 0.05, TimeInForce.DAY,
                         "alpha_taking", AlgoParams(), NOW)
    venues = engine.sor.candidates(inst.symbol)
    assert venues                            # the crypto option venues list it
    takers = [engine.sor._fees.net_fee(v, Liquidity.REMOVED, symbol=inst.symbol, price=0.05, underlier_price=1.0)
              for v in venues]
    fee = expected_fee(services, parent, inst, "take", 0.05)
    assert fee == pytest.approx(min(takers)) and 0 < fee < 0.05     # a fraction of the BTC premium


def test_each_variants_model_loads_once_and_says_which_in_the_log(caplog):
    alpha = LiveAlpha()
    with caplog.at_level("INFO", logger="router.models.live_alpha"):
        first = alpha.model("hawk")
        again = alpha.model("hawk")
    assert first is again and first.variant == "hawk"
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "alpha model hawk" in lines[0] and "alpha_hawk.json" in lines[0]
