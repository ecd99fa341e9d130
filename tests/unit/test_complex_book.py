"""The complex order book (venues/sim/complex_book.py) and its packages (complex_package.py), driven
directly: normalisation, package-vs-package matching on the net price, the implied route through the
leg books, the leg-price check (Cboe Rule 5.33(f)(2)), leg fills that sum to the net price, and
every bad-package reject."""
from __future__ import annotations

import itertools
import random

import pytest

from router.domain.enums import Side
from venues.sim.complex_book import LEG_TAKER, ComplexBook
from venues.sim.complex_package import (LegSpec, PackageError, leg_bounds, leg_prices, net_price, net_range,
                                        normalise)
from venues.sim.matching import OrderBook

BUY, SELL = Side.BUY, Side.SELL
C200, C210, C220 = "AAPL  261218C00200000", "AAPL  261218C00210000", "AAPL  261218C00220000"
P190 = "AAPL  261218P00190000"
MSFT_C = "MSFT  261218C00400000"
ES_C = "ES    261218C05000000"          # an option on a future


def spec(symbol: str) -> LegSpec | None:
    if symbol in ("AAPL", "MSFT"):
        return LegSpec(symbol, True, symbol)
    if symbol == "ESZ6":
        return LegSpec(symbol, True, "ESZ6", underlier_is_equity=False)
    if symbol == ES_C:
        return LegSpec(symbol, False, "ESZ6", underlier_is_equity=False)
    if symbol.startswith("NOPE"):
        return None
    return LegSpec(symbol, False, symbol[:6].strip())


class Rig:
    """Leg books keyed by symbol; the NBBO is each leg book's best prices unless overridden."""

    def __init__(self, **cob_kw) -> None:
        self.books: dict[str, OrderBook] = {}
        self.nbbo_override: dict[str, tuple[int | None, int | None]] = {}
        self.cob = ComplexBook(self.nbbo, spec, self.books.get, **cob_kw)
        self._ids = 0

    def nbbo(self, symbol: str) -> tuple[int | None, int | None]:
        if symbol in self.nbbo_override:
            return self.nbbo_override[symbol]
        book = self.books.get(symbol)
        if book is None:
            return None, None
        bid, ask = book.best_bid(), book.best_ask()
        return (bid[0] if bid else None), (ask[0] if ask else None)

    def quote(self, symbol: str, bid: int, ask: int, bid_qty: int = 50, ask_qty: int = 50, owner: str = "mm") -> None:
        book = self.books.setdefault(symbol, OrderBook())
        self._ids += 1
        book.submit(f"{owner}b{self._ids}", owner, BUY, bid_qty, bid)
        book.submit(f"{owner}a{self._ids}", owner, SELL, ask_qty, ask)

    def vertical(self) -> None:
        """C200 2.00 x 2.20 and C210 1.00 x 1.20: +C200 -C210 may trade at 0.80..1.20."""
        self.quote(C200, 200, 220)
        self.quote(C210, 100, 120)


SPREAD = ((C200, BUY, 1), (C210, SELL, 1))
REVERSED = ((C200, SELL, 1), (C210, BUY, 1))


# ---- normalisation

def test_the_same_spread_bought_and_sold_normalises_to_one_canonical_package() -> None:
    bought = normalise(SPREAD, spec)
    sold_as_reverse = normalise(((C210, BUY, 1), (C200, SELL, 1)), spec)
    assert bought.key == sold_as_reverse.key
    assert not bought.flipped and sold_as_reverse.flipped
    assert sold_as_reverse.canonical_side(BUY) is SELL and sold_as_reverse.canonical_price(-100) == 100
    assert sold_as_reverse.source == (1, 0)            # canonical leg 0 (C200) was submitted as leg 1


def test_ratios_are_divided_by_their_gcd() -> None:
    package = normalise(((C200, BUY, 2), (C210, SELL, 4)), spec)
    assert package.gcd == 2 and [leg.ratio for leg in package.legs] == [1, 2]


def test_a_2_to_4_package_books_as_1_to_2_with_qty_doubled_and_price_halved() -> None:
    rig = Rig()
    rig.quote(C200, 200, 220)
    rig.quote(C210, 50, 70)
    rig.cob.submit("a", "x", ((C200, BUY, 2), (C210, SELL, 4)), BUY, 10, 160)       # 2:4 x10 at 1.60
    view = rig.cob.order("a")
    assert (view.leaves, view.price_ticks) == (20, 80)
    with pytest.raises(PackageError, match="tick grid of 2 ticks"):
        rig.cob.submit("b", "x", ((C200, BUY, 2), (C210, SELL, 4)), BUY, 1, 161)


# ---- bad packages: each reject names the rule

@pytest.mark.parametrize("legs, message", [
    (tuple((f"AAPL  261218C00{200 + i}000", BUY, 1) for i in range(7)), "7 option legs: a package has at most 6"),
    (((C200, BUY, 1), (C210, SELL, 0)), r"leg 1 \(AAPL  261218C00210000\) ratio 0"),
    (((C200, BUY, 1), (C200, SELL, 1)), "already leg 0; the same instrument may appear only once"),
    (((ES_C, BUY, 1), ("ESZ6", SELL, 100)), "a stock leg .* needs an equity underlier"),
    (((C200, BUY, 1), (MSFT_C, SELL, 1)), r"legs on different underliers \(AAPL, MSFT\)"),
    (((C200, BUY, 1), ("MSFT", SELL, 100)), "stock leg MSFT is not the options' underlier"),
    (((C200, BUY, 1), ("AAPL", SELL, 100), ("MSFT", SELL, 100)), "2 stock legs: a package has at most 1"),
    (((C200, BUY, 1), ("AAPL", SELL, 55)), "stock leg AAPL ratio 55 shares is not a whole number of 100-share units"),
    (((C200, BUY, 1),), "at least 2 legs"),
    (((C200, BUY, 1), ("NOPE", SELL, 1)), "leg 1: NOPE is not listed"),
])
def test_bad_packages_are_refused_with_the_rule(legs, message) -> None:
    with pytest.raises(PackageError, match=message):
        normalise(legs, spec)


def test_six_option_legs_and_a_stock_leg_are_accepted() -> None:
    legs = tuple((f"AAPL  261218C00{200 + i}000", BUY if i % 2 else SELL, 1) for i in range(6)) + (("AAPL", BUY, 100),)
    assert len(normalise(legs, spec).legs) == 7


def test_different_underliers_are_accepted_where_the_venue_allows() -> None:
    assert len(normalise(((C200, BUY, 1), (MSFT_C, SELL, 1)), spec, allow_cross_underlier=True).legs) == 2


def test_a_net_price_off_the_cob_grid_is_refused() -> None:
    rig = Rig(tick_ticks=5)
    rig.vertical()
    with pytest.raises(PackageError, match="net price 101 ticks is off the COB's tick grid of 5 ticks"):
        rig.cob.submit("a", "x", SPREAD, BUY, 1, 101)
    rig.cob.submit("b", "x", SPREAD, BUY, 1, 100)
    assert rig.cob.order("b") is not None


def test_bad_qty_and_duplicate_ids_are_refused() -> None:
    rig = Rig()
    rig.vertical()
    with pytest.raises(PackageError, match="qty must be positive"):
        rig.cob.submit("a", "x", SPREAD, BUY, 0, 100)
    rig.cob.submit("a", "x", SPREAD, BUY, 1, 90)
    with pytest.raises(PackageError, match="duplicate order id"):
        rig.cob.submit("a", "x", SPREAD, BUY, 1, 90)


# ---- matching

def test_a_vertical_spread_matches_on_the_cob_at_the_resting_price() -> None:
    rig = Rig()
    rig.vertical()
    assert rig.cob.submit("bid", "a", SPREAD, BUY, 10, 100).rested_qty == 10
    result = rig.cob.submit("ask", "b", SPREAD, SELL, 6, 95)
    taker, maker = result.fills
    assert (taker.order_id, taker.qty, taker.price_ticks, taker.maker) == ("ask", 6, 100, False)
    assert (maker.order_id, maker.qty, maker.price_ticks, maker.leaves) == ("bid", 6, 100, 4)
    # each side's legs, in its own orientation, inside each leg's NBBO, summing to the net price
    assert [(leg.symbol, leg.side, leg.qty) for leg in maker.legs] == [(C200, BUY, 6), (C210, SELL, 6)]
    assert [(leg.symbol, leg.side) for leg in taker.legs] == [(C200, SELL), (C210, BUY)]
    c200, c210 = (leg.price_ticks for leg in maker.legs)
    assert c200 - c210 == 100 and 200 <= c200 <= 220 and 100 <= c210 <= 120
    assert not result.leg_results                       # the legs' books were not touched
    assert len(rig.books[C200]) == 2


def test_the_reversed_spread_bought_meets_the_spread_sold_in_one_book() -> None:
    rig = Rig()
    rig.vertical()
    rig.cob.submit("bid", "a", SPREAD, BUY, 5, 100)
    # buying {-C200, +C210} at a net credit of 1.00 is selling {+C200, -C210} at 1.00
    result = rig.cob.submit("rev", "b", REVERSED, BUY, 5, -100)
    taker = result.fills[0]
    assert (taker.order_id, taker.qty, taker.price_ticks) == ("rev", 5, -100)
    assert [(leg.leg, leg.symbol, leg.side) for leg in taker.legs] == [(0, C200, SELL), (1, C210, BUY)]
    assert -taker.legs[0].price_ticks + taker.legs[1].price_ticks == -100
    assert rig.cob.order("bid") is None


def test_price_time_priority_on_the_net_price() -> None:
    rig = Rig()
    rig.vertical()
    rig.cob.submit("first", "a", SPREAD, BUY, 5, 100)
    rig.cob.submit("better", "b", SPREAD, BUY, 5, 105)
    rig.cob.submit("second", "c", SPREAD, BUY, 5, 100)
    result = rig.cob.submit("ask", "d", SPREAD, SELL, 12, 90)
    makers = [(f.order_id, f.qty, f.price_ticks) for f in result.fills if f.maker]
    assert makers == [("better", 5, 105), ("first", 5, 100), ("second", 2, 100)]


def test_implied_prices_come_from_the_leg_books_best_prices() -> None:
    rig = Rig()
    rig.quote(C200, 200, 210, bid_qty=7, ask_qty=5)
    rig.quote(C210, 105, 115, bid_qty=8, ask_qty=9)
    package = rig.cob.package(SPREAD)
    # buying the spread buys C200 at 2.10 and sells C210 at 1.05; selling it the mirror
    assert rig.cob.implied(package) == ((200 - 115, 7), (210 - 105, 5))


def test_an_incoming_package_trades_the_legs_when_they_are_better_then_the_cob() -> None:
    rig = Rig()
    rig.quote(C200, 200, 210, ask_qty=5)
    rig.books[C200].submit("deep", "mm", SELL, 50, 220)
    rig.quote(C210, 105, 115, bid_qty=8)
    rig.cob.submit("cob_ask", "a", SPREAD, SELL, 10, 108)
    result = rig.cob.submit("buyer", "b", SPREAD, BUY, 8, 110)
    taker = [f for f in result.fills if f.order_id == "buyer"]
    assert [(f.qty, f.price_ticks) for f in taker] == [(5, 105), (3, 108)]
    legged = taker[0]
    assert [(l.symbol, l.side, l.qty, l.price_ticks) for l in legged.legs] == [(C200, BUY, 5, 210), (C210, SELL, 5, 105)]
    # the leg books really traded: the COB's IOCs took C200's 2.10 offer and 5 of C210's 1.05 bid
    assert [(s, side, [t.qty for t in r.trades]) for s, side, r in result.leg_results] == [(C200, BUY, [5]), (C210, SELL, [5])]
    assert all(t.taker_owner == LEG_TAKER for _, _, r in result.leg_results for t in r.trades)
    assert rig.books[C200].best_ask() == (220, 50) and rig.books[C210].best_bid() == (105, 3)
    assert rig.cob.order("cob_ask").leaves == 7


def test_at_the_same_net_price_the_leg_market_goes_first() -> None:
    rig = Rig()
    rig.quote(C200, 200, 210, ask_qty=5)
    rig.quote(C210, 105, 115, bid_qty=5)
    rig.cob.submit("cob_ask", "a", SPREAD, SELL, 10, 105)           # the same 1.05 as the legs imply
    result = rig.cob.submit("buyer", "b", SPREAD, BUY, 5, 105)
    assert result.leg_results and rig.cob.order("cob_ask").leaves == 10


def test_the_implied_route_is_not_offered_against_the_owners_own_leg_order() -> None:
    rig = Rig()
    rig.quote(C200, 200, 210, owner="b")                 # the buyer's own C200 offer is the top
    rig.quote(C210, 105, 115)
    result = rig.cob.submit("buyer", "b", SPREAD, BUY, 5, 110)
    assert not result.fills and result.rested_qty == 5


# ---- the leg-price check

def test_a_resting_package_priced_beyond_the_legs_nbbo_is_passed_over() -> None:
    rig = Rig()
    rig.cob.submit("cheap", "a", SPREAD, SELL, 5, 70)   # rests while the legs have no quotes
    rig.vertical()                                      # now the spread may trade at 0.80..1.20 only
    result = rig.cob.submit("buyer", "b", SPREAD, BUY, 5, 100)
    assert result.fills == [] and result.rested_qty == 5
    assert rig.cob.order("cheap").leaves == 5
    assert rig.cob.price_range(rig.cob.package(SPREAD)) == (80, 120)


def test_leg_prices_refuse_a_net_price_outside_the_legs_nbbo() -> None:
    legs = normalise(SPREAD, spec).legs
    nbbo = {C200: (200, 220), C210: (100, 120)}.get
    assert leg_prices(legs, nbbo, 121).startswith("net price 121 ticks is outside the legs' NBBO range 80..120")
    assert net_price(legs, leg_prices(legs, nbbo, 120)) == 120


def test_a_leg_without_an_offer_stops_the_package_with_the_reason() -> None:
    rig = Rig()
    rig.vertical()
    rig.nbbo_override[C210] = (100, None)
    rig.cob.submit("bid", "a", SPREAD, BUY, 5, 100)
    result = rig.cob.submit("ask", "b", SPREAD, SELL, 5, 90, ioc=True)
    assert result.fills == [] and result.canceled_qty == 5
    assert "has no offer" in result.stopped


def test_no_leg_prices_at_zero() -> None:
    legs = normalise(SPREAD, spec).legs
    assert leg_bounds(legs, {C200: (None, 5), C210: (None, 3)}.get) == [(1, 5), (1, 3)]


def _random_case(rng: random.Random, max_legs: int, max_width: int):
    symbols = [f"AAPL  261218C00{200 + 5 * i}000" for i in range(6)] + ["AAPL"]
    chosen = rng.sample(symbols, rng.randint(2, max_legs))
    legs = normalise([(s, rng.choice((BUY, SELL)), rng.randint(1, 5) * (100 if s == "AAPL" else 1)) for s in chosen],
                     spec).legs
    quotes = {}
    for s in chosen:
        bid = rng.randint(1, 400)
        quotes[s] = (bid, bid + rng.randint(0, max_width))
    low, high = net_range(legs, quotes.get)
    net = rng.randint(low, high)
    return legs, quotes, net, leg_prices(legs, quotes.get, net)


def test_leg_prices_sum_exactly_to_the_net_price_for_any_ratio_and_nbbo() -> None:
    rng, refused = random.Random(11), 0
    for _ in range(500):
        legs, quotes, net, prices = _random_case(rng, 7, 30)
        if isinstance(prices, str):
            refused += 1
            continue
        assert net_price(legs, prices) == net
        assert all(max(quotes[l.symbol][0], 1) <= p <= quotes[l.symbol][1] for l, p in zip(legs, prices))
    assert refused <= 25                    # rare: coprime ratios near the edge of the range (5a + 4b = 3 has no split)


def test_a_refused_split_has_no_split_at_all() -> None:
    rng, refused = random.Random(5), 0
    for _ in range(400):
        legs, quotes, net, prices = _random_case(rng, 3, 4)
        spans = [range(max(quotes[l.symbol][0], 1), quotes[l.symbol][1] + 1) for l in legs]
        exists = any(net_price(legs, combo) == net for combo in itertools.product(*spans))
        assert isinstance(prices, str) is not exists
        refused += isinstance(prices, str)
    assert refused                          # the narrow quotes do produce refusals to check


def test_a_butterfly_and_a_stock_leg_fill_leg_by_leg() -> None:
    rig = Rig()
    rig.quote(C200, 300, 320)
    rig.quote(C210, 200, 215)
    rig.quote(C220, 120, 130)
    fly = ((C200, BUY, 1), (C210, SELL, 2), (C220, BUY, 1))
    rig.cob.submit("fly_bid", "a", fly, BUY, 3, 20)
    fill = rig.cob.submit("fly_ask", "b", fly, SELL, 3, 15).fills[1]
    assert [(l.symbol, l.side, l.qty) for l in fill.legs] == [(C200, BUY, 3), (C210, SELL, 6), (C220, BUY, 3)]
    assert fill.legs[0].price_ticks - 2 * fill.legs[1].price_ticks + fill.legs[2].price_ticks == 20
    # a buy-write: buy 100 shares per package (ratio in shares), sell the call; the stock leg fills in shares
    rig.nbbo_override["AAPL"] = (20_000, 20_002)
    buy_write = (("AAPL", BUY, 100), (C200, SELL, 1))
    rig.cob.submit("bw_bid", "a", buy_write, BUY, 2, 19_690)
    fill = rig.cob.submit("bw_ask", "b", buy_write, SELL, 2, 19_690).fills[1]
    stock, call = sorted(fill.legs, key=lambda l: l.leg)
    assert (stock.symbol, stock.side, stock.qty) == ("AAPL", BUY, 200)
    assert (call.symbol, call.side, call.qty) == (C200, SELL, 2)
    assert stock.price_ticks - call.price_ticks == 19_690


# ---- order types, self-match prevention, replace

def test_fok_fills_in_full_or_not_at_all() -> None:
    rig = Rig()
    rig.vertical()
    rig.cob.submit("bid", "a", SPREAD, BUY, 5, 100)
    refused = rig.cob.submit("fok", "b", SPREAD, SELL, 6, 100, fok=True)
    assert refused.fills == [] and refused.canceled_qty == 6 and rig.cob.order("bid").leaves == 5
    done = rig.cob.submit("fok2", "b", SPREAD, SELL, 5, 100, fok=True)
    assert sum(f.qty for f in done.fills if not f.maker) == 5


def test_self_match_prevention_cancels_the_resting_package() -> None:
    rig = Rig(stp_owners=("router",))
    rig.vertical()
    rig.cob.submit("mine", "router", SPREAD, BUY, 5, 100)
    result = rig.cob.submit("mine2", "router", SPREAD, SELL, 5, 100)
    assert result.stp_canceled == [("mine", 5)] and result.fills == [] and result.rested_qty == 5


def test_replace_keeps_priority_when_cut_and_rematches_on_a_new_price() -> None:
    rig = Rig()
    rig.vertical()
    rig.cob.submit("first", "a", SPREAD, BUY, 5, 100)
    rig.cob.submit("second", "b", SPREAD, BUY, 5, 100)
    assert rig.cob.replace("first", 3, 100).rested_qty == 3
    rig.cob.submit("ask", "c", SPREAD, SELL, 3, 100)
    assert rig.cob.order("first") is None and rig.cob.order("second").leaves == 5
    rig.cob.submit("ask2", "c", SPREAD, SELL, 2, 110)
    result = rig.cob.replace("second", 5, 110)
    assert [(f.order_id, f.qty, f.price_ticks) for f in result.fills] == [("second", 2, 110), ("ask2", 2, 110)]
    assert rig.cob.order("second").leaves == 3
    assert rig.cob.replace("missing", 1, 100) is None
