"""Option-book changes in one engine batch reprice every affected parent of an underlier in one
vectorised pass (``on_option_batch``, router/engine/runtime.py), for the alpha-making,
volatility and alpha-taking algos; the result is what repricing them one at a time gives, and a
parent its underlier batch already repriced in the round is not repriced again."""
from __future__ import annotations

import pytest

from algos.alpha_making import AlphaMakingAlgo
from algos.alpha_taking import AlphaTakingAlgo
from algos.volatility import VolatilityAlgo
from router.domain.enums import BalanceHandling as P, ChildRole, LimitClass, OrderHandling, Side
from tests.harness import Harness

OPTIONS = ("AAPL  261218C00195000", "AAPL  261218C00200000", "AAPL  261218C00205000")
UNDERLIER = "AAPL"


def quote(h: Harness, bid: float, settle: bool = True) -> None:
    h.requote("XNAS", UNDERLIER, bids=[(199.99, 50_000)], asks=[(200.01, 50_000)], owner="smm", settle=False)
    for symbol in OPTIONS:
        h.requote("XCBO", symbol, bids=[(bid, 10)], asks=[(bid + 0.60, 10)], settle=False)
    if settle:
        h.settle()


def one_batch(h: Harness, symbols) -> None:
    """The venues' current books of ``symbols`` applied to the engine in ONE batch."""
    updates = [h.venues["XNAS" if s == UNDERLIER else "XCBO"].snapshot(s) for s in symbols]
    h.engine.dispatch(lambda: [h.engine._handle_safely(u) for u in updates])


def spy(monkeypatch, cls, name: str) -> list[int]:
    """Sizes of the batches the class's ``name`` pass is called with."""
    sizes: list[int] = []
    original = getattr(cls, name).__func__

    def counted(klass, algos, *args, **kwargs):
        sizes.append(len(algos))
        return original(klass, algos, *args, **kwargs)
    monkeypatch.setattr(cls, name, classmethod(counted))
    return sizes


def makers(h: Harness, **tags) -> None:
    for i, symbol in enumerate(OPTIONS):
        h.new(f"M{i}", Side.BUY, 5, 6.00, symbol=symbol, exchanges=("XCBO",), **tags)
    h.settle(0.5)                                 # past the minimum rest


def targets(h: Harness) -> list[float]:
    return [c.target_price for c in sorted(h.engine.orders.children.values(), key=lambda c: c.child_id)
            if c.role is ChildRole.WORK and c.is_open]


MAKER = dict(order_handling=OrderHandling.POST_ONLY, balance_handling=P.POST_WITH)


def test_option_books_changed_in_one_batch_reprice_the_makers_of_their_underlier_in_one_pass(monkeypatch):
    h = Harness()
    quote(h, 4.80)
    makers(h, **MAKER)
    assert targets(h) == [pytest.approx(4.80)] * 3
    quote(h, 4.90, settle=False)                  # every option's bid moves up two ticks
    passes = spy(monkeypatch, AlphaMakingAlgo, "_reprice_group")
    one_batch(h, OPTIONS)
    assert passes == [3]                          # one pass, not three of one
    assert targets(h) == [pytest.approx(4.90)] * 3


def test_the_batched_pass_gives_what_repricing_one_at_a_time_gives(monkeypatch):
    results = []
    for batched in (True, False):
        if not batched:                           # the runtime's fallback: on_market, parent by parent
            monkeypatch.setattr(AlphaMakingAlgo, "on_option_batch", None)
        h = Harness()
        quote(h, 4.80)
        makers(h, **MAKER)
        passes = spy(monkeypatch, AlphaMakingAlgo, "_reprice_group")
        quote(h, 4.90, settle=False)
        h.requote("XCBO", OPTIONS[1], bids=[(4.60, 10)], asks=[(5.20, 10)], settle=False)   # one moves down
        one_batch(h, OPTIONS)
        results.append((targets(h), passes))
        monkeypatch.undo()
    (batched, passes_batched), (single, passes_single) = results
    assert batched == single == [pytest.approx(4.90), pytest.approx(4.60), pytest.approx(4.90)]
    assert passes_batched == [3] and passes_single == [1, 1, 1]


def test_a_parent_its_underlier_batch_repriced_is_not_repriced_again_for_its_option(monkeypatch):
    h = Harness()
    quote(h, 4.80)
    makers(h, **MAKER)
    quote(h, 4.90, settle=False)
    passes = spy(monkeypatch, AlphaMakingAlgo, "_reprice_group")
    h.requote("XNAS", UNDERLIER, bids=[(200.04, 50_000)], asks=[(200.06, 50_000)], owner="smm", settle=False)
    one_batch(h, (UNDERLIER, *OPTIONS))
    assert passes == [3]                          # the underlier's pass, which read the options' books too
    assert targets(h) == [pytest.approx(4.90)] * 3


def test_volatility_parents_are_batched_the_same_way(monkeypatch):
    h = Harness()
    quote(h, 4.80)
    makers(h, balance_handling=P.POST_WITH)
    assert {type(a) for a in h.engine.runtime.algos.values()} == {VolatilityAlgo}
    quote(h, 4.90, settle=False)
    passes = spy(monkeypatch, VolatilityAlgo, "_reprice_group")
    one_batch(h, OPTIONS)
    assert passes == [3]
    assert targets(h) == [pytest.approx(4.90)] * 3


def test_alpha_taking_parents_are_evaluated_in_one_pass(monkeypatch):
    h = Harness()
    quote(h, 4.80)
    for i, symbol in enumerate(OPTIONS):
        h.new(f"A{i}", Side.BUY, 5, 6.00, symbol=symbol, order_handling=OrderHandling.ACTIVE_TAKER,
              balance_handling=P.NO_POST, take_limit_class=LimitClass.PROBABILITY, take_probability=0.99)
    h.settle(0.01)
    assert {type(a) for a in h.engine.runtime.algos.values()} == {AlphaTakingAlgo}
    quote(h, 4.90, settle=False)
    passes = spy(monkeypatch, AlphaTakingAlgo, "_evaluate")
    one_batch(h, OPTIONS)
    assert passes == [3]
