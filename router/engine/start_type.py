"""StartType (5090) as pure rules: whether a new, replaced or restored parent's algo starts now.

- Immediate (0): the algo starts when the order is accepted.
- Staged (2): the order is accepted (ExecutionReport New) and does nothing, no algo and no
  child, until an OrderCancelReplaceRequest sets 5090 to Immediate; other replaces only change
  its terms. A restart keeps it staged.
- WaitTrigger (1), our definition: the order waits until its limit is reachable — the far side
  (the best offer for a buy, the best bid for a sell) at or through the order's static limit,
  Price (44) or SROrderPrcLimit (5106) with SROrderPrcOffset (5126). For a LimitType tied to the
  underlier or a volatility this is the client's fixed price, not the limit the algo computes
  from it: the trigger stays a plain price the market can be watched for (LiquidityWaiters).
  An order without a static limit (a market order) has nothing to wait for and starts at once.
  Once triggered it works like an Immediate order, also after a restart.

A replace may move an order that has not started between the three (Immediate starts it);
once started, only Immediate (a no-op) is accepted.
"""
from __future__ import annotations

from router.domain.enums import StartType
from router.domain.orders import ParentOrder
from router.market.books import Nbbo

_EPS = 1e-9
STARTED_KEY = "started_ns"      # in ParentOrder.algo_state: when a held order's algo started


def limit_reached(parent: ParentOrder, nbbo: Nbbo) -> bool:
    limit = parent.static_limit
    if limit is None:
        return True
    if parent.side.is_buy:
        return nbbo.ask is not None and nbbo.ask <= limit + _EPS
    return nbbo.bid is not None and nbbo.bid >= limit - _EPS


def hold_for(parent: ParentOrder, start_type: StartType | None, nbbo: Nbbo) -> StartType | None:
    """What keeps the parent's algo from starting now (Staged, WaitTrigger), or None: start it."""
    if start_type is StartType.STAGED:
        return StartType.STAGED
    if start_type is StartType.WAIT_TRIGGER and not limit_reached(parent, nbbo):
        return StartType.WAIT_TRIGGER
    return None


def restored_hold(parent: ParentOrder) -> StartType | None:
    """After a restart: the hold the parent was under, unless its algo had started."""
    start_type = parent.algo.start_type
    if start_type in (StartType.STAGED, StartType.WAIT_TRIGGER) and STARTED_KEY not in parent.algo_state:
        return start_type
    return None


def hold_text(hold: StartType) -> str:
    if hold is StartType.STAGED:
        return "staged (SRStartType 5090): released by a replace setting 5090 to 0"
    return "waiting for its trigger (SRStartType 5090): the far side to reach its limit"


def replace_problem(held: bool, new_start: StartType | None) -> str | None:
    if new_start is None or new_start is StartType.IMMEDIATE or held:
        return None
    return (f"SRStartType (5090) {new_start.name} can only be given to an order that has not started "
            "(staged or waiting for its trigger)")
