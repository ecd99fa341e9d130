"""The tick ladder, the primary limit of every LimitType, the post price of every PostType."""
import numpy as np
import pytest

from algos.limits import (LimitInputs, effective_limits, is_marketable, market_limit, post_prices, primary_limits,
                          static_price, sweep_limit)
from router.domain.commands import AlgoParams
from router.domain.enums import BalanceHandling as P, LimitType as L, OrdType, Side, TimeInForce
from router.domain.instruments import ALL_PENNY, PENNY_PILOT, Instrument, InstrumentKind
from router.domain.orders import ParentOrder
from router.market.books import Nbbo
from router.market.pricing import black76, bsm

NAN = np.nan


def parent(side=Side.SELL, ord_type=OrdType.MARKET, price=None, **algo):
    return ParentOrder("P1", "S", "ACC", "C1", "OPT", side, 10, ord_type, price, TimeInForce.DAY, "sweep",
                       AlgoParams(**algo), 0)


OPTION = Instrument("OPT", InstrumentKind.OPTION, "XYZ")


# ---------------------------------------------------------------------------------------------- ladder

def test_steps_count_rungs_across_the_three_dollar_boundary():
    assert PENNY_PILOT.step(3.05, -3) == 2.98          # 3.05 -> 3.00 -> 2.99 -> 2.98
    assert PENNY_PILOT.step(2.98, 3) == 3.05           # 2.99, 3.00, 3.05
    assert PENNY_PILOT.step(3.00, -1) == 2.99 and PENNY_PILOT.step(2.99, 1) == 3.00
    assert PENNY_PILOT.step(3.10, -2) == 3.00 and PENNY_PILOT.step(1.00, 0) == 1.00
    assert ALL_PENNY.step(3.05, -3) == 3.02


def test_step_and_round_for_arrays_agree_with_the_scalar_rule():
    prices = np.round(np.arange(2.80, 3.30, 0.007), 6)
    for ticks in (-3, -1, 1, 4):
        on_ladder = np.array([PENNY_PILOT.round_passive(p, True) for p in prices])
        assert PENNY_PILOT.step_array(on_ladder, ticks).tolist() == [PENNY_PILOT.step(p, ticks) for p in on_ladder]
    for is_buy in (True, False):
        got = PENNY_PILOT.round_passive_array(prices, np.full(prices.size, is_buy))
        assert got.tolist() == [PENNY_PILOT.round_passive(p, is_buy) for p in prices]
    assert np.isnan(PENNY_PILOT.step_array(np.array([NAN]), 1)[0])


def test_ticks_between_counts_rungs():
    assert PENNY_PILOT.ticks_between(2.98, 3.05) == pytest.approx(3)
    assert PENNY_PILOT.ticks_between(3.05, 3.00) == pytest.approx(-1)


# ---------------------------------------------------------------------------------------------- market

def test_market_sell_reaches_three_rungs_through_the_bid_not_fifteen_pennies():
    assert market_limit(parent(Side.SELL), OPTION, 3.05, 3) == 2.98
    assert market_limit(parent(Side.BUY), OPTION, 2.98, 3) == 3.05


def test_a_market_sell_never_goes_below_one_tick():
    assert market_limit(parent(Side.SELL), OPTION, 0.02, 3) == 0.01


def test_the_sweep_and_the_vectorised_limits_share_the_market_rule():
    sweep = sweep_limit(parent(Side.SELL, limit_type=L.MARKET), OPTION, Nbbo(3.05, 10, 3.20, 10), 3)
    o = LimitInputs.of([L.MARKET], [False], bid=[3.05], ask=[3.20])
    assert sweep == 2.98 and primary_limits(o, 100.0, through_ticks=3)[0] == pytest.approx(2.98)


def test_market_is_capped_by_the_static_price_with_its_offset_and_falls_back_to_it():
    o = LimitInputs.of([L.MARKET, L.MARKET, L.MARKET_ARRIVAL, L.MARKET_ARRIVAL], [True, True, True, False],
                       price=[1.02, 1.02, NAN, 0.97], offset=[0.01, 0.01, 0.0, 0.0], ask=[1.00, NAN, 9.0, 9.0],
                       bid=[0.9, 0.9, 0.0, 0.0], arrival_ask=[NAN, NAN, 1.10, 1.10], arrival_bid=[NAN, NAN, 0.95, 0.95])
    assert primary_limits(o, 100.0).tolist() == pytest.approx([1.03, 1.03, 1.10, 0.97])


# ---------------------------------------------------------------------------------------------- price limits

def test_static_price_is_tag_44_of_a_limit_order_else_5106_as_the_risk_check_reads_it():
    with_both = parent(Side.BUY, OrdType.LIMIT, 2.0, order_prc_limit=1.5, order_prc_offset=0.01)
    assert static_price(with_both) == 2.0 and with_both.static_limit == pytest.approx(2.01)
    assert static_price(parent(Side.BUY, OrdType.MARKET, order_prc_limit=1.5)) == 1.5
    assert static_price(parent(Side.BUY, OrdType.MARKET)) is None


def price_delta(types, is_buy, **extra):
    n = len(types)
    base = dict(price=np.full(n, 5.0), ref_underlier=np.full(n, 200.0), delta=np.full(n, 0.5),
                gamma=np.full(n, 0.04), theta=np.full(n, -36.5), elapsed_years=np.full(n, 0.01))
    base.update(extra)
    return LimitInputs.of(types, is_buy, **base)


def test_p_suffix_never_lets_the_tied_limit_beyond_the_static_price():
    o = price_delta([L.PRC_DE_P, L.PRC_DE_P, L.PRC_DE_P, L.PRC_DE_P], [True, True, False, False])
    up, down = primary_limits(o, 202.0), primary_limits(o, 198.0)
    assert up[0] == pytest.approx(5.0) and down[0] == pytest.approx(4.0)        # a buyer pays at most 5.00
    assert up[2] == pytest.approx(6.0) and down[2] == pytest.approx(5.0)        # a seller takes at least 5.00


def test_xt_and_xp_add_the_gamma_term_and_theta_or_the_cap():
    o = price_delta([L.PRC_DE_XT, L.PRC_DE_XP, L.PRC_DE_XP], [True, True, True])
    got = primary_limits(o, 198.0).tolist()
    gamma = 0.5 * 0.04 * 4
    assert got == pytest.approx([4.0 + gamma - 0.365, 4.0 + gamma, 4.0 + gamma])
    assert primary_limits(o, 202.0)[2] == pytest.approx(5.0)


def test_min_option_price_floors_a_sells_limit_only():
    o = price_delta([L.PRC_DE, L.PRC_DE], [False, True], min_price=[4.5, 4.5])
    assert primary_limits(o, 196.0).tolist() == pytest.approx([4.5, 3.0])


def test_spiderrock_example_buy_limit_one_dollar_offset_a_penny_fair_value_95_cents():
    o = LimitInputs.of([L.REL_MID], [True], price=[1.00], offset=[0.01], bid=[0.90], ask=[1.00])
    assert primary_limits(o, 100.0)[0] == pytest.approx(0.96)
    assert effective_limits([True, False], [1.00, 1.00], [0.95 + 0.01, 0.95 - 0.01]).tolist() == pytest.approx(
        [0.96, 1.00])
    assert effective_limits([True], [1.00], [NAN])[0] == 1.00


# ---------------------------------------------------------------------------------------------- vol limits

def vol_orders(types, is_buy, is_call, **extra):
    n = len(types)
    base = dict(vol_limit=np.full(n, 0.3), strike=np.full(n, 200.0), years=np.full(n, 0.25), is_call=is_call,
                price=np.full(n, 10.0), ref_underlier=np.full(n, 200.0))
    base.update(extra)
    return LimitInputs.of(types, is_buy, **base)


def test_vol_limit_uses_the_orders_rate_yield_and_dividends_and_black76_on_futures():
    o = vol_orders([L.VOL, L.VOL], [True, True], [True, True], rate=[0.05, 0.05], div_yield=[0.02, 0.0],
                   dividend_pv=[1.5, 0.0], on_future=[False, True])
    got = primary_limits(o, 202.0)
    assert got[0] == pytest.approx(float(bsm(200.5, 200.0, 0.25, 0.3, True, 0.05, 0.02).price))
    assert got[1] == pytest.approx(float(black76(202.0, 200.0, 0.25, 0.3, True, 0.05).price))


def test_volx_prices_the_vol_limit_where_the_delta_hedge_trades():
    o = vol_orders([L.VOL_X] * 4, [True, False, True, False], [True, True, False, False])
    got = primary_limits(o, 200.0, underlier_bid=199.5, underlier_ask=200.5)
    at = lambda spot, call: float(bsm(spot, 200.0, 0.25, 0.3, call).price)  # noqa: E731
    assert got.tolist() == pytest.approx([at(199.5, True), at(200.5, True), at(200.5, False), at(199.5, False)])
    assert primary_limits(o, 200.0)[0] == pytest.approx(at(200.0, True))


def test_prcv_moves_the_price_by_the_greeks_at_the_vol_limit_and_prcvx_adds_gamma():
    o = vol_orders([L.PRC_V, L.PRC_VX], [True, True], [True, True])
    at_limit = bsm(200.0, 200.0, 0.25, 0.3, True)
    delta, gamma = float(at_limit.delta), float(at_limit.gamma)
    got = primary_limits(o, 203.0)
    assert got[0] == pytest.approx(10.0 + delta * 3)
    assert got[1] == pytest.approx(10.0 + delta * 3 + 0.5 * gamma * 9)


# ---------------------------------------------------------------------------------------------- relative

def test_relative_ladder_from_own_side_to_far_side_with_offset_and_cap():
    kinds = [L.REL_JOIN, L.SMRT_NORM, L.REL_MID, L.SMRT_FAST, L.REL_CROSS]
    buys = LimitInputs.of(kinds, [True] * 5, bid=[1.00] * 5, ask=[1.20] * 5)
    sells = LimitInputs.of(kinds, [False] * 5, bid=[1.00] * 5, ask=[1.20] * 5)
    assert primary_limits(buys, 50.0).tolist() == pytest.approx([1.00, 1.05, 1.10, 1.15, 1.20])
    assert primary_limits(sells, 50.0).tolist() == pytest.approx([1.20, 1.15, 1.10, 1.05, 1.00])
    offset = LimitInputs.of([L.REL_JOIN, L.REL_JOIN], [True, False], bid=[1.0, 1.0], ask=[1.2, 1.2],
                            offset=[-0.02, -0.02])
    assert primary_limits(offset, 50.0).tolist() == pytest.approx([0.98, 1.22])
    capped = LimitInputs.of([L.REL_CROSS, L.REL_CROSS], [True, False], bid=[1.0, 1.0], ask=[1.2, 1.2],
                            price=[1.10, 1.10])
    assert primary_limits(capped, 50.0).tolist() == pytest.approx([1.10, 1.10])


def test_relative_types_without_the_quote_they_need_have_no_limit():
    o = LimitInputs.of([L.REL_MID, L.REL_JOIN, L.REL_CROSS], [True] * 3, price=[1.0] * 3, bid=[0.9] * 3,
                       ask=[NAN] * 3)
    got = primary_limits(o, 50.0)
    assert np.isnan(got[0]) and got[1] == pytest.approx(0.9) and np.isnan(got[2])


def test_relturn_improves_by_one_rung_without_reaching_the_far_side():
    o = LimitInputs.of([L.REL_TURN] * 4, [True, True, False, False], bid=[1.00, 1.00, 1.00, 2.90],
                       ask=[1.05, 1.01, 1.05, 3.05])
    assert primary_limits(o, 50.0).tolist() == pytest.approx([1.01, 1.00, 1.04, 3.00])


def test_one_vectorised_call_gives_each_order_its_own_limit():
    kinds = list(L)
    n = len(kinds)
    common = dict(price=np.full(n, 5.0), ref_underlier=np.full(n, 200.0), delta=np.full(n, 0.5),
                  gamma=np.full(n, 0.04), theta=np.full(n, -20.0), elapsed_years=np.full(n, 0.01),
                  vol_limit=np.full(n, 0.3), strike=np.full(n, 200.0), years=np.full(n, 0.25),
                  bid=np.full(n, 4.90), ask=np.full(n, 5.30), arrival_bid=np.full(n, 4.8),
                  arrival_ask=np.full(n, 5.2), offset=np.full(n, 0.01))
    is_buy = np.arange(n) % 2 == 0
    together = primary_limits(LimitInputs.of(kinds, is_buy, **common), 201.0, underlier_bid=200.9,
                              underlier_ask=201.1)
    alone = [primary_limits(LimitInputs.of([k], [b], **{c: v[:1] for c, v in common.items()}), 201.0,
                            underlier_bid=200.9, underlier_ask=201.1)[0] for k, b in zip(kinds, is_buy)]
    assert together.tolist() == pytest.approx(alone)
    assert not np.isnan(together).any()


# ---------------------------------------------------------------------------------------------- post price

def post(kind, is_buy, limit, same_best, far, resting=NAN, rule=PENNY_PILOT):
    return float(post_prices([kind], [is_buy], [limit], [same_best], [far], [resting], rule)[0])


def test_post_with_joins_the_best_same_side_price_never_through_the_limit():
    assert post(P.POST_WITH, True, 1.10, 1.00, 1.20) == 1.00
    assert post(P.POST_WITH, True, 0.98, 1.00, 1.20) == 0.98
    assert post(P.POST_WITH, False, 1.00, 1.20, 1.05) == 1.20


def test_post_improve_stands_one_tick_better_within_the_limit_and_the_spread():
    assert post(P.POST_IMPROVE, True, 1.10, 1.00, 1.20) == 1.01
    assert post(P.POST_IMPROVE, False, 1.00, 1.20, 1.05) == 1.19
    assert post(P.POST_IMPROVE, True, 1.00, 1.00, 1.20) == 1.00              # the limit allows no better
    assert post(P.POST_IMPROVE, True, 1.10, 1.00, 1.01) == 1.00              # one-tick market: joins
    assert post(P.POST_IMPROVE, True, 3.50, 3.00, 3.20) == 3.05              # the tick above $3


def test_post_turn_stays_while_alone_at_the_best_where_improve_steps_back():
    # Our child rests at 1.02; everyone else's best bid fell to 1.00.
    assert post(P.POST_TURN, True, 1.10, 1.00, 1.20, resting=1.02) == 1.02
    assert post(P.POST_IMPROVE, True, 1.10, 1.00, 1.20, resting=1.02) == 1.01
    # Not alone (others at our price): both improve.
    assert post(P.POST_TURN, True, 1.10, 1.02, 1.20, resting=1.02) == 1.03
    assert post(P.POST_IMPROVE, True, 1.10, 1.02, 1.20, resting=1.02) == 1.03


def test_post_limit_rests_at_the_limit_rounded_passively():
    assert post(P.POST_LIMIT, True, 1.037, 1.00, 1.20) == 1.03
    assert post(P.POST_LIMIT, False, 1.037, 1.20, 1.00) == 1.04
    assert post(P.POST_LIMIT, True, 3.04, 2.50, 3.50) == 3.00


def test_a_post_never_crosses_the_far_side():
    assert post(P.POST_LIMIT, True, 1.10, 1.00, 1.05) == 1.04
    assert post(P.POST_LIMIT, False, 0.90, 1.20, 1.00) == 1.01
    assert post(P.POST_LIMIT, True, 3.50, 2.90, 3.05) == 3.00
    assert post(P.POST_IMPROVE, True, 3.50, 2.99, 3.00) == 2.99


def test_no_post_no_limit_or_no_same_side_quote_from_others():
    assert np.isnan(post(P.NO_POST, True, 1.10, 1.00, 1.20))
    assert np.isnan(post(P.POST_WITH, True, NAN, 1.00, 1.20))
    assert post(P.POST_WITH, True, 1.10, NAN, 1.20) == 1.10
    assert post(P.POST_IMPROVE, True, 1.10, NAN, 1.20, resting=1.05) == 1.05  # alone: stays
    assert np.isnan(post(P.POST_LIMIT, True, 0.01, NAN, 0.01))               # nothing above zero below the ask


def test_marketable_means_at_or_through_the_far_side():
    got = is_marketable([True, True, False, False, True], [1.05, 1.04, 1.00, 1.01, 9.0],
                        [1.00, 1.00, 1.00, 1.00, 1.00], [1.05, 1.05, 1.05, 1.05, NAN])
    assert got.tolist() == [True, False, True, False, False]


def test_a_coin_quoted_tied_limit_moves_in_usd_and_is_quoted_back_in_the_coin():
    """A BTC option sold at 0.0290 BTC with the perpetual at 60,000 and a USD delta of 0.40: the
    perpetual up 1,000 moves the premium by 0.40 x 1,000 = $400, so the limit is
    (0.0290 x 60,000 + 400) / 61,000 BTC, not 0.0290 + 400 (BTC and USD mixed)."""
    from router.domain.enums import LimitType as LT
    orders = LimitInputs.of([int(LT.PRC_DE), int(LT.PRC_DE)], [False, False], price=[0.0290, 2.90],
                            ref_underlier=[60_000.0, 200.0], delta=[0.40, 0.40], coin_quoted=[True, False])
    coin = primary_limits(orders, 61_000.0)[0]
    assert coin == pytest.approx((0.0290 * 60_000 + 400) / 61_000)
    usd = primary_limits(LimitInputs.of([int(LT.PRC_DE)], [False], price=[2.90], ref_underlier=[200.0],
                                        delta=[0.40]), 201.0)[0]
    assert usd == pytest.approx(2.90 + 0.40)                   # a USD premium: price + delta x move, unchanged
