import numpy as np
import pytest

from algos.limits import LimitInputs, primary_limits
from router.domain.enums import LimitType
from router.market.pricing import bsm


def orders(types, **overrides):
    n = len(types)
    base = dict(limit_type=np.array(types), is_buy=np.ones(n, bool), price=np.full(n, 5.0),
                ref_underlier=np.full(n, 200.0), delta=np.full(n, 0.5), gamma=np.full(n, 0.04),
                theta=np.full(n, -20.0), elapsed_years=np.full(n, 1 / 365), vol_limit=np.full(n, 0.3),
                strike=np.full(n, 200.0), years=np.full(n, 0.25), is_call=np.ones(n, bool), offset=np.zeros(n))
    base.update({k: np.asarray(v) for k, v in overrides.items()})
    return LimitInputs.of(**base)


def test_price_plus_delta_family():
    o = orders([LimitType.PRC_DE, LimitType.PRC_DE_X, LimitType.PRC_DE_T, LimitType.PRC])
    got = primary_limits(o, 202.0)
    assert got[0] == pytest.approx(5.0 + 0.5 * 2)
    assert got[1] == pytest.approx(6.0 + 0.5 * 0.04 * 4)
    assert got[2] == pytest.approx(6.0 - 20.0 / 365)
    assert got[3] == pytest.approx(5.0)


def test_vol_limits_price_at_the_order_vol_and_volprc_takes_the_tighter():
    o = orders([LimitType.VOL, LimitType.VOL_PRC, LimitType.VOL_PRC], is_buy=[True, True, False])
    got = primary_limits(o, 200.0)
    model = float(bsm(200.0, 200.0, 0.25, 0.3, True).price)
    assert got[0] == pytest.approx(model)
    assert got[1] == pytest.approx(min(model, 5.0)) and got[2] == pytest.approx(max(model, 5.0))


def test_offset_moves_against_the_order_and_limits_never_go_negative():
    o = orders([LimitType.PRC_DE, LimitType.PRC_DE], is_buy=[True, False], offset=[0.1, 0.1])
    got = primary_limits(o, 200.0)
    assert got.tolist() == pytest.approx([5.1, 4.9])
    assert primary_limits(orders([LimitType.PRC_DE]), 100.0)[0] == 0.0


def test_surface_limit_class_offsets_in_vol_then_price():
    from algos.limits import surface_limits
    base = float(bsm(200.0, 200.0, 0.25, 0.30, True).price)
    up = float(bsm(200.0, 200.0, 0.25, 0.31, True).price)
    got = surface_limits(np.array([0.30, 0.30, 0.30]), 200.0, np.full(3, 200.0), np.full(3, 0.25), np.ones(3, bool),
                         np.array([True, False, True]), np.array([0.05, 0.05, -0.05]), np.array([0.0, 0.0, 0.01]))
    assert got.tolist() == pytest.approx([base + 0.05, base - 0.05, up - 0.05])
