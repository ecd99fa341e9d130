"""Adverse selection shows in the markouts of our passive fills (bench/markouts.py): with informed
takers in the simulated market, our resting orders are filled just before the price moves
against them, so the 1 s and 10 s markouts are worse than without them."""
from __future__ import annotations

from bench.markouts import load_market, run_markouts, with_informed, z_worse

# A denser market than the default, so that one short run has thousands of fills: five times
# the uninformed takers and informed takers looking at every book five times a second.
SEED = 7
TAKERS_PER_SECOND = 1.0
INFORMED_PER_SECOND = 5.0
QUOTE_SECONDS = 200.0


def test_informed_takers_make_our_passive_fills_markouts_worse():
    market, venues = load_market()
    market = market.model_copy(update={"seed": SEED, "takers_per_second": TAKERS_PER_SECOND})
    on = run_markouts(with_informed(market, INFORMED_PER_SECOND), venues, venues=("XISX",),
                      quote_seconds=QUOTE_SECONDS)
    off = run_markouts(with_informed(market, 0.0), venues, venues=("XISX",), quote_seconds=QUOTE_SECONDS)
    assert on.informed_orders > 300 and off.informed_orders == 0
    assert on.fills > 3000 and off.fills > 3000
    for horizon in (1, 10):
        assert on.mean_ticks[horizon] < off.mean_ticks[horizon]
        assert on.mean_per_contract[horizon] < off.mean_per_contract[horizon]
        # not luck: more than 3 standard errors (clustered by underlier and 10 s window, paired by seed)
        assert z_worse(on, off, horizon) < -3.0, (horizon, on.mean_ticks, off.mean_ticks)
    assert on.mean_ticks[10] < 0                              # adverse in absolute terms too
