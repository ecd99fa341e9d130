"""Suite-wide set-up."""
from __future__ import annotations


def pytest_sessionstart(session) -> None:
    # The implied-vol kernels are compiled by numba and cached beside router/market/pricing.py. On a
    # fresh checkout the compile takes seconds: do it once here, not inside the first test that
    # starts a router (and its start-up timeout).
    from router.market import pricing

    pricing.warm_up()
