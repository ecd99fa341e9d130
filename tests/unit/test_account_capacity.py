"""An account's capacity at the exchanges: its children carry it, the venue charges by it, and
the SOR ranks venues by the account's own rates."""
from __future__ import annotations

import pytest

from router.config import AccountConfig, Accounts
from router.domain.enums import Side
from router.domain.events import SubmitChild
from tests.harness import CALL, Harness


def harness_for(capacity: str) -> Harness:
    accounts = Accounts(accounts={"CLIENT1": AccountConfig(name="CLIENT1", capacity=capacity)})
    return Harness(accounts=accounts)


def sent(h: Harness) -> list[SubmitChild]:
    commands = []
    for venue in h.venues.values():
        original = venue.submit

        def spy(order, original=original):
            commands.append(order)
            original(order)
        venue.submit = spy
    return commands


@pytest.mark.parametrize("capacity, fee_per_contract", [("customer", 0.00), ("professional", 0.47)])
def test_the_child_carries_the_accounts_capacity_and_is_charged_by_it(capacity, fee_per_contract):
    h = harness_for(capacity)
    commands = sent(h)
    h.quote("XCBO", CALL, asks=[(5.00, 10)])             # only XCBO offers: the sweep goes there
    h.new("A1", Side.BUY, 10, 5.00, exchanges=("XCBO",))
    h.settle(0.1)
    assert [c.capacity for c in commands] == [capacity]
    fill = [r for r in h.reports("A1") if r.last_qty][0]
    assert fill.fee == pytest.approx(fee_per_contract * 10)


def test_the_sor_ranks_venues_by_the_accounts_own_fees():
    # the same offer on Cboe Options (to remove: customer $0.00, professional $0.47) and Nasdaq ISE
    # (customer $0.37, professional $0.46): each account takes where it pays least
    customer, professional = harness_for("customer"), harness_for("professional")
    for h in (customer, professional):
        h.quote("XCBO", CALL, asks=[(5.00, 10)])
        h.quote("XISX", CALL, asks=[(5.00, 10)])
        h.new("A1", Side.BUY, 5, 5.00)
        h.settle(0.1)
    assert [c.venue for c in customer.children("P1")] == ["XCBO"]
    assert [c.venue for c in professional.children("P1")] == ["XISX"]
