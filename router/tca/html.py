"""A static HTML report: the TCA's tables and its PNG plots on one page a desk opens in a browser
(`router tca --plots DIR` and `router backtest --report DIR` write it)."""
from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Iterable

from .report import TextTable

REPORT_HTML = "index.html"
_STYLE = """body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f0f0f0}caption{font-weight:bold;text-align:left;padding:.3em 0}.note{color:#666;font-size:.9em}
img{max-width:100%;margin:1em 0;display:block}"""


def table_html(table: TextTable) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in table.headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in table.rows)
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return f"<table><caption>{escape(table.title)}</caption><thead><tr>{head}</tr></thead>" \
           f"<tbody>{body}</tbody></table>{note}"


def write_html(directory: Path, title: str, tables: Iterable[TextTable], images: Iterable[Path] = (),
               summary: str = "") -> Path:
    """``directory``/index.html; images are linked by their path relative to it (keep them inside)."""
    directory.mkdir(parents=True, exist_ok=True)
    figures = "".join(f'<img src="{escape(Path(image).resolve().relative_to(directory.resolve()).as_posix())}" '
                      f'alt="{escape(Path(image).stem)}">' for image in images)
    intro = f"<p>{escape(summary)}</p>" if summary else ""
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>{intro}"
            + "".join(table_html(t) for t in tables) + figures + "</body></html>")
    path = directory / REPORT_HTML
    path.write_text(page, encoding="utf-8")
    return path
