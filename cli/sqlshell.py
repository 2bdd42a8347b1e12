"""The parts of ``touchstream sql`` that do not need a server: statement splitting and output.

``split_statements`` cuts SQL text at top-level ``;`` (not inside quotes, backticks or comments);
``complete`` tells the prompt whether the lines typed so far end a statement; ``format_result``
renders one result as csv / json text or a rich table.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import enum
import io
import ipaddress
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from schemas import jsonio

__all__ = ["FORMATS", "Result", "complete", "format_result", "plain", "split_statements"]

FORMATS = ("table", "csv", "json")


@dataclass(frozen=True, slots=True)
class Result:
    columns: list[tuple[str, str]]  # (name, ClickHouse type)
    rows: list[tuple[Any, ...]]


def _scan(text: str) -> tuple[list[str], str]:
    """(complete statements, the unterminated rest); quotes and comments are skipped over."""
    statements: list[str] = []
    start = i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"`":
            i += 1
            while i < n and text[i] != ch:
                i += 2 if text[i] == "\\" else 1
            i += 1
        elif text.startswith("--", i) or ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif ch == ";":
            statements.append(text[start:i])
            i += 1
            start = i
        else:
            i += 1
    return statements, text[start:]


def _meaningful(statement: str) -> bool:
    """False for whitespace and comments only."""
    stripped = statement.strip()
    while stripped:
        if stripped.startswith("--") or stripped.startswith("#"):
            end = stripped.find("\n")
            stripped = "" if end < 0 else stripped[end + 1 :].strip()
        elif stripped.startswith("/*"):
            end = stripped.find("*/")
            stripped = "" if end < 0 else stripped[end + 2 :].strip()
        else:
            return True
    return False


def split_statements(text: str) -> list[str]:
    """Every statement of ``text``, trimmed; the last one may lack its ``;``. Empty ones are dropped."""
    statements, rest = _scan(text)
    return [s.strip() for s in (*statements, rest) if _meaningful(s)]


def complete(text: str) -> bool:
    """True when ``text`` ends a statement: a top-level ``;`` with nothing but blanks/comments after."""
    statements, rest = _scan(text)
    return bool(statements) and not _meaningful(rest)


def plain(value: Any) -> Any:
    """A JSON-ready value: decimals as strings (exact), ip addresses and uuids as text, maps and
    tuples as objects and lists."""
    if value is None or isinstance(value, bool | int | float | str | dt.date | dt.datetime):
        return value
    if isinstance(value, decimal.Decimal | uuid.UUID | ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    return str(value)


def _text(value: Any) -> str:
    value = plain(value)
    if value is None:
        return "NULL"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return jsonio.dumps(value).decode()
    return str(value)


def _unique_names(columns: Sequence[tuple[str, str]]) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for name, _ in columns:
        count = seen.get(name, 0)
        seen[name] = count + 1
        names.append(name if count == 0 else f"{name}_{count + 1}")
    return names


def format_result(result: Result, fmt: str) -> str | Table:
    """csv (header + rows) or json (an array of objects, one per row) text, or a rich table."""
    if fmt == "json":
        names = _unique_names(result.columns)
        return jsonio.dumps([dict(zip(names, map(plain, row), strict=True)) for row in result.rows]).decode()
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([name for name, _ in result.columns])
        writer.writerows([_text(v) if v is not None else "" for v in row] for row in result.rows)
        return out.getvalue()
    numeric = ("Int", "UInt", "Float", "Decimal")
    table = Table(header_style="bold", caption=f"{len(result.rows):,} row(s)", caption_justify="left")
    for name, kind in result.columns:
        bare = kind.removeprefix("Nullable(").removeprefix("LowCardinality(")
        table.add_column(name, justify="right" if bare.startswith(numeric) else "left")
    for row in result.rows:
        table.add_row(*(_text(v) for v in row))
    return table
