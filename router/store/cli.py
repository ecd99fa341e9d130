"""`router store ...`: check the journal, rebuild the projections from it."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

console = Console(width=None if sys.stdout.isatty() else 140)


def _open(config_path: Path, store_url: str | None):
    from router.app import load_settings
    from router.store.store import Store

    store = Store(store_url or load_settings(config_path).store_url())
    store.migrate()
    return store


@click.group(help="The store: the journal and the projections built from it.")
def store() -> None:
    pass


@store.command(help="Rebuild parents, children, fills, positions and meta from the journal alone; check the "
                    "stored projection against it first. Run it with the router stopped. Exit 1 on a mismatch.")
@click.option("--store", "store_url", help="SQLAlchemy URL (default: the configured store).")
@click.option("--check-only", is_flag=True, help="Compare only; leave the stored projection as it is.")
@click.pass_obj
def rebuild(config_path: Path, store_url: str | None, check_only: bool) -> None:
    from router.store.rebuild import rebuild as run_rebuild

    with _open(config_path, store_url) as target:
        report = run_rebuild(target, write=not check_only)
    table = Table(title=f"journal: {report.journal_entries} entries, {report.state_records} state records, "
                        f"last seq {report.last_seq}; projection watermark {report.watermark}")
    for column in ("table", "rows", "missing", "extra", "differing", "first problem"):
        table.add_column(column)
    for name, check in report.tables.items():
        first = (f"missing {check.missing[0]}" if check.missing else f"extra {check.extra[0]}" if check.extra
                 else f"{check.differing[0][0]}: {check.differing[0][1]}" if check.differing else "")
        table.add_row(name, str(check.rows), str(len(check.missing)), str(len(check.extra)),
                      str(len(check.differing)), first)
    console.print(table)
    for problem in report.invariants[:20]:
        console.print(f"[red]invariant:[/red] {problem}", highlight=False)
    if report.damage:
        console.print(f"[red]{report.damage}[/red]: nothing written", highlight=False)
    verdict = "projection matches the journal" if report.ok else "MISMATCH"
    console.print(f"{verdict}; {'rewritten from the journal' if report.written else 'not rewritten'}",
                  highlight=False)
    sys.exit(0 if report.ok else 1)


@store.command(help="Check every journal entry's CRC; report damage with its seq. Exit 1 on damage.")
@click.option("--store", "store_url", help="SQLAlchemy URL (default: the configured store).")
@click.pass_obj
def check(config_path: Path, store_url: str | None) -> None:
    with _open(config_path, store_url) as target:
        damage = target.check_journal()
        last = target.last_journal_seq()
    if damage is None:
        console.print(f"journal intact: {last} entries checked", highlight=False)
        return
    console.print(damage.describe(), highlight=False)
    sys.exit(1)
