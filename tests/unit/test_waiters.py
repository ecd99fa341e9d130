from router.market.books import Nbbo
from router.market.waiters import LiquidityWaiters


def test_only_orders_the_nbbo_reaches_are_woken_in_price_priority():
    waiters = LiquidityWaiters()
    for i, limit in enumerate([4.00, 4.50, 4.60, 4.40]):
        waiters.wait("X", f"B{i}", True, limit)
    waiters.wait("X", "S0", False, 4.70)
    waiters.wait("X", "M0", True, None)
    assert waiters.reached("X", Nbbo(4.30, 1, 4.50, 1)) == ["B2", "B1", "M0"]
    assert waiters.reached("X", Nbbo(4.30, 1, 4.50, 1)) == []          # woken orders are unregistered
    assert waiters.reached("X", Nbbo(4.75, 1, 3.90, 1)) == ["B3", "B0", "S0"]


def test_forgotten_and_re_registered_orders_are_not_woken_twice():
    waiters = LiquidityWaiters()
    waiters.wait("X", "B0", True, 5.00)
    waiters.forget("B0")
    waiters.wait("X", "B1", True, 5.00)
    waiters.wait("X", "B1", True, 4.00)                                # a replace lowered the limit
    assert waiters.reached("X", Nbbo(None, 0, 4.50, 1)) == []
    assert waiters.reached("X", Nbbo(None, 0, 4.00, 1)) == ["B1"]
