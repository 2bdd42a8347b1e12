"""One way to print report rows for every command: a rich table, JSON or CSV.

``render(rows, columns, fmt, title)`` returns the JSON / CSV text, or prints the table and returns
None. Columns are keys of the row dicts, or ``Column``s when a header or a number format is wanted;
formats only change the table (JSON and CSV carry the raw values so scripts get full precision).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from reports.errors import ReportOptionError
from schemas import jsonio

__all__ = ["FORMATS", "Column", "fit_columns", "render"]

FORMATS: tuple[str, ...] = ("table", "json", "csv")


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str = ""
    number: str = ",.2f"  # format spec for floats in the table
    signed_percent: bool = False  # a ratio shown as +12.3 % (changes vs the previous period)

    @property
    def header(self) -> str:
        return self.label or self.key.replace("_", " ")


def _columns(columns: Sequence[str | Column]) -> list[Column]:
    return [c if isinstance(c, Column) else Column(c) for c in columns]


def _cell(value: Any, column: Column) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        if column.signed_percent:
            return f"{value * 100:+.1f} %"
        return format(value, column.number)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _table(rows: Sequence[Mapping[str, Any]], columns: list[Column], title: str) -> Table:
    table = Table(title=title or None, title_justify="left", header_style="bold")
    for column in columns:
        numeric = any(
            isinstance(r.get(column.key), int | float) and not isinstance(r.get(column.key), bool)
            for r in rows
        )
        # Never shorten a number or a name to "1.…": narrow terminals wrap headers instead.
        width = max((len(_cell(r.get(column.key), column)) for r in rows), default=0)
        table.add_column(column.header, justify="right" if numeric else "left", no_wrap=True, min_width=width)
    for row in rows:
        table.add_row(*(_cell(row.get(c.key), c) for c in columns))
    return table


def fit_columns(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], console: Console, droppable: Sequence[str]
) -> list[Column]:
    """``columns`` without the first of ``droppable`` (in order) as long as the table is wider than the
    terminal: a narrow terminal loses whole low-priority columns, never the ends of the others."""
    kept = list(columns)
    for key in droppable:
        natural = console.measure(_table(rows, kept, ""), options=console.options.update(max_width=10_000))
        if natural.maximum <= console.width:
            break
        kept = [c for c in kept if c.key != key]
    return kept


def _csv(rows: Sequence[Mapping[str, Any]], columns: list[Column]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.key for c in columns])
    for row in rows:
        writer.writerow(["" if row.get(c.key) is None else row.get(c.key) for c in columns])
    return out.getvalue()


def render(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str | Column],
    fmt: str,
    title: str = "",
    console: Console | None = None,
) -> str | None:
    """JSON (a list of objects holding only ``columns``) or CSV text; for ``table``, print and return None."""
    cols = _columns(columns)
    if fmt == "json":
        return jsonio.dumps([{c.key: row.get(c.key) for c in cols} for row in rows]).decode()
    if fmt == "csv":
        return _csv(rows, cols)
    if fmt == "table":
        (console or Console()).print(_table(rows, cols, title))
        return None
    raise ReportOptionError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
