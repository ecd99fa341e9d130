"""Mutated FIX messages over a real session: the router answers each with a reject or a report
and stays up; the next valid order still goes through. The default run is short; `-m slow`
runs the soak."""
from __future__ import annotations

import random

import pytest

from router.fix.client import new_order_fields
from tests.integration.conftest import CALL, LiveRouter

SWEEP = [(5094, "1"), (5096, "0"), (5100, "0"), (5102, "0")]
NASTY = ["", "-1", "0", "1e308", "nan", "x" * 300, "20261318-25:61:61", "\u00e9", "5094", "[1:", ";;", "AAPL"]


def mutated(rng: random.Random, index: int) -> list[tuple[int, str]]:
    fields = new_order_fields(f"F{index}", "1", 5, CALL, 4.00, extra=list(SWEEP))
    for _ in range(rng.randint(1, 3)):
        choice = rng.random()
        position = rng.randrange(len(fields))
        if choice < 0.4:
            fields[position] = (fields[position][0], rng.choice(NASTY))
        elif choice < 0.6:
            del fields[position]
        elif choice < 0.8:
            fields.append((rng.choice([5094, 5098, 5116, 5122, 9999, 38, 44, 59, 5084]), rng.choice(NASTY)))
        else:
            fields.insert(position, fields[rng.randrange(len(fields))])
    return fields


def fuzz(tmp_path, count: int) -> None:
    rng = random.Random(11)
    router = LiveRouter(tmp_path).start()
    try:
        with router.client() as client:
            for index in range(count):
                client.send("D", mutated(rng, index))
                assert client.receive(timeout=5) is not None, f"no answer to mutated message {index}"
            router.quote("BATO", CALL, asks=[(6.00, 5)])
            client.send("D", new_order_fields("OK", "1", 5, CALL, 6.00, extra=SWEEP))
            final = client.until(lambda m: m.get(11) == b"OK" and m.get(39) in (b"2", b"8"), timeout=5)[-1]
            assert final.get(39) == b"2"
    finally:
        router.stop()


def test_mutated_orders_short(tmp_path):
    fuzz(tmp_path, 150)


@pytest.mark.slow
def test_mutated_orders_soak(tmp_path):
    fuzz(tmp_path, 5000)
