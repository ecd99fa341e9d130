"""Parents held by a risk limit that holds rather than rejects (the day greek limits).

A hold starts when a child of the parent (in one role) is blocked, and is reported once. It
lifts at the first instant at which a child of that parent and role passes and none is blocked
(a take wave that sends a child and then blocks the next is still one hold). While it is on, any
fill or finished child on the account may free room, so the engine asks the parent to plan again
(``waiting``).

A hold is durable: ``state_of`` is saved with the parent (its ``algo_state``, by the algo
runtime) and ``load`` gives it back after a restart, so a parent held before the restart is not
reported held again when its first child after it is blocked too.
"""
from __future__ import annotations

from dataclasses import dataclass

from router.domain.enums import ChildRole


@dataclass(slots=True)
class _Hold:
    account: str
    symbol: str
    blocked_ns: int
    passed_ns: int | None = None

    def lifted(self, now_ns: int) -> bool:
        """A child passed after the last block, at an instant before ``now_ns``."""
        return self.passed_ns is not None and self.passed_ns < now_ns


class RiskHolds:
    def __init__(self) -> None:
        self._holds: dict[tuple[str, ChildRole], _Hold] = {}

    def __bool__(self) -> bool:
        return bool(self._holds)

    def blocked(self, parent_id: str, role: ChildRole, account: str, symbol: str, now_ns: int) -> bool:
        """A child was blocked; True when this starts a hold (the one to report)."""
        key = (parent_id, role)
        hold = self._holds.get(key)
        if hold is None or hold.lifted(now_ns):
            self._holds[key] = _Hold(account, symbol, now_ns)
            return True
        hold.blocked_ns, hold.passed_ns, hold.symbol = now_ns, None, symbol
        return False

    def passed(self, parent_id: str, role: ChildRole, now_ns: int) -> None:
        hold = self._holds.get((parent_id, role))
        if hold is not None:
            hold.passed_ns = now_ns

    def is_held(self, parent_id: str, role: ChildRole) -> bool:
        hold = self._holds.get((parent_id, role))
        return hold is not None and hold.passed_ns is None

    def waiting(self, account: str, now_ns: int) -> list[tuple[str, ChildRole, str]]:
        """(parent, role, symbol) of the holds still on for ``account``; lifted ones are forgotten."""
        waiting = []
        for key, hold in list(self._holds.items()):
            if hold.passed_ns is not None:
                if hold.lifted(now_ns):
                    del self._holds[key]
                continue
            if hold.account == account:
                waiting.append((key[0], key[1], hold.symbol))
        return waiting

    def state_of(self, parent_id: str) -> dict[str, list]:
        """The parent's holds, by role, as JSON-able lists (empty: none)."""
        state = {}
        for role in ChildRole:
            hold = self._holds.get((parent_id, role))
            if hold is not None:
                state[role.value] = [hold.account, hold.symbol, hold.blocked_ns, hold.passed_ns]
        return state

    def load(self, parent_id: str, state: dict[str, list]) -> None:
        """Restore what ``state_of`` saved for the parent."""
        for role_value, (account, symbol, blocked_ns, passed_ns) in state.items():
            self._holds[(parent_id, ChildRole(role_value))] = _Hold(
                str(account), str(symbol), int(blocked_ns), None if passed_ns is None else int(passed_ns))

    def forget(self, parent_id: str) -> None:
        for role in ChildRole:
            self._holds.pop((parent_id, role), None)
