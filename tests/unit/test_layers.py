"""The floors of ../shared/DESIGN.md, checked on every module's imports: nothing imports upward, and algos and
venues never import each other."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FLOORS = [
    ("router", "router.domain", "router.faults"),   # "router" alone is the package's empty __init__
    ("router.clock", "router.config", "router.market", "router.models", "router.risk", "router.positions"),
    ("venues", "algos", "router.hedge"),
    ("router.engine",),
    ("router.fix", "router.store", "router.tca", "router.pnl", "router.backtest", "router.cli", "router.app",
     "router.server", "router.demo", "router.__main__"),
]


def floor_of(module: str) -> int | None:
    if module == "router":
        return 0
    for level, prefixes in enumerate(FLOORS):
        if any(module == p or module.startswith(p + ".") for p in prefixes if p != "router"):
            return level
    return None


def project_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {n for n in names if n.split(".")[0] in ("router", "algos", "venues")}


MODULES = sorted(p for pkg in ("router", "algos", "venues") for p in (ROOT / pkg).rglob("*.py")
                 if "migrations" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_import_runs_back_down_a_floor(path):
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    own = floor_of(module)
    assert own is not None, f"{module} is on no floor"
    for imported in project_imports(path):
        theirs = floor_of(imported)
        assert theirs is not None and theirs <= own, f"{module} (floor {own}) imports {imported} (floor {theirs})"
        top = module.split(".")[0]
        assert not ({top, imported.split(".")[0]} == {"algos", "venues"}), f"{module} imports {imported}"
