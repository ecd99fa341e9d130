import math

import numpy as np
import pytest

from router.market.paths import (SESSION_CLOSE_UTC_S, SESSION_OPEN_UTC_S, JumpDiffusion, UnderlierPaths,
                                 intraday_multiplier)


def test_intraday_volatility_is_u_shaped_and_variance_preserving():
    open_, mid, close = SESSION_OPEN_UTC_S, (SESSION_OPEN_UTC_S + SESSION_CLOSE_UTC_S) / 2, SESSION_CLOSE_UTC_S
    assert intraday_multiplier(open_) > intraday_multiplier(mid) < intraday_multiplier(close)
    grid = np.linspace(open_, close, 10_001)
    assert np.mean([intraday_multiplier(t) ** 2 for t in grid]) == pytest.approx(1.0, rel=1e-3)


def test_same_seed_same_path_and_martingale_drift():
    model = JumpDiffusion(vol=0.3, jumps_per_day=20.0, jump_mean=-0.01, jump_std=0.02)
    a = UnderlierPaths(["X"], [100.0], [model], seed=3)
    b = UnderlierPaths(["X"], [100.0], [model], seed=3)
    for _ in range(50):
        assert a.step(1.0, 50_000) == b.step(1.0, 50_000)
    many = UnderlierPaths(["X"] * 20_000, [100.0] * 20_000, [model] * 20_000, seed=11)
    for _ in range(20):
        many.step(3600.0, 50_000)
    assert np.mean(many.spots) == pytest.approx(100.0, rel=0.01)   # jumps are compensated
    log_returns = np.log(many.spots / 100.0)
    jump_var = 20.0 * 365.25 * (0.01 ** 2 + 0.02 ** 2)
    expected_std = math.sqrt((0.3 ** 2 + jump_var) * 20 * 3600 / (365.25 * 86400))
    assert np.std(log_returns) == pytest.approx(expected_std, rel=0.05)
