"""The projection process: the tables follow the journal without the engine writing them, and
the process ends (after a last catch-up) when the router that started it dies."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.unit.test_store import entry, make_child, make_fill, make_parent

from router.store.store import Store


def projected(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            parents = connection.execute(text("SELECT count(*) FROM parents")).scalar_one()
            mark = connection.execute(text("SELECT value FROM meta WHERE key = 'projected_seq'")).scalar()
            return parents, int(mark or 0)
    finally:
        engine.dispose()


def wait_for(predicate, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_the_tables_follow_the_journal(tmp_path):
    url = f"sqlite:///{tmp_path / 'router.db'}"
    store = Store(url, projection_interval_s=0.05)
    store.migrate()
    try:
        store.commit_batch([entry(1)], [make_parent("P1")], [make_child("P1")], [make_fill("P1")])
        store.commit_batch([entry(2)], [make_parent("P2")])
        assert wait_for(lambda: projected(url) == (2, 2))
    finally:
        store.close()


def test_it_catches_up_and_ends_when_its_router_dies(tmp_path):
    url = f"sqlite:///{tmp_path / 'router.db'}"
    Store(url).migrate()
    router = textwrap.dedent(f"""
        import os
        from tests.unit.test_store import entry, make_parent
        from router.store.store import Store
        store = Store({url!r}, projection_interval_s=3600)
        for seq in range(1, 4):
            store.commit_batch([entry(seq)], [make_parent(f"P{{seq}}")])
        print(store._projector._process.pid, flush=True)
        os._exit(0)       # no close: the process is simply gone
    """)
    result = subprocess.run([sys.executable, "-c", router], capture_output=True, text=True, timeout=60,
                            cwd=str(Path(__file__).resolve().parents[2]))
    assert result.returncode == 0, result.stderr
    projector = int(result.stdout.split()[-1])
    assert wait_for(lambda: projected(url) == (3, 3)), "the last catch-up ran"
    assert wait_for(lambda: subprocess.run(["kill", "-0", str(projector)], capture_output=True).returncode != 0)
