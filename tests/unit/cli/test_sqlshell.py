"""`touchstream sql` without a server: statements split at top-level `;`, output formats."""

from __future__ import annotations

import datetime as dt
import decimal
import ipaddress
import json
import uuid

from rich.console import Console
from rich.table import Table

from cli.sqlshell import Result, complete, format_result, split_statements


def test_split_keeps_semicolons_inside_quotes_and_comments() -> None:
    text = "SELECT 'a;b', \"c;d\", `e;f` -- g;h\n; /* i; j */ SELECT 2;\n-- only a comment;\n"
    assert split_statements(text) == ["SELECT 'a;b', \"c;d\", `e;f` -- g;h", "/* i; j */ SELECT 2"]


def test_split_handles_escapes_and_a_last_statement_without_semicolon() -> None:
    assert split_statements(r"SELECT 'it\'s; fine'; SELECT 3") == [r"SELECT 'it\'s; fine'", "SELECT 3"]
    assert split_statements(" ;; \n") == []


def test_complete_needs_a_top_level_semicolon_at_the_end() -> None:
    assert not complete("SELECT 1")
    assert not complete("SELECT ';")
    assert complete("SELECT 1;")
    assert complete("SELECT 1; -- done")
    assert not complete("SELECT 1; SELECT")


COLUMNS = [("n", "UInt64"), ("d", "Decimal(18, 2)"), ("when", "DateTime"), ("ip", "IPv4"),
           ("tags", "Array(String)"), ("id", "UUID"), ("n", "Nullable(String)")]  # fmt: skip
WHEN = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
ROW = (
    1,
    decimal.Decimal("1.50"),
    WHEN,
    ipaddress.IPv4Address("10.0.0.1"),
    ["a", "b"],
    uuid.UUID(int=1),
    None,
)
RESULT = Result(COLUMNS, [ROW])


def test_json_is_an_array_of_objects_with_exact_values() -> None:
    rows = json.loads(str(format_result(RESULT, "json")))
    assert rows == [
        {"n": 1, "d": "1.50", "when": "2024-05-01T12:00:00Z", "ip": "10.0.0.1", "tags": ["a", "b"],
         "id": str(uuid.UUID(int=1)), "n_2": None}
    ]  # fmt: skip


def test_csv_has_a_header_and_empty_nulls() -> None:
    assert str(format_result(RESULT, "csv")).splitlines() == [
        "n,d,when,ip,tags,id,n",
        f'1,1.50,2024-05-01T12:00:00+00:00,10.0.0.1,"[""a"",""b""]",{uuid.UUID(int=1)},',
    ]


def test_table_right_aligns_numbers_and_counts_rows() -> None:
    table = format_result(RESULT, "table")
    assert isinstance(table, Table)
    assert [c.justify for c in table.columns][:3] == ["right", "right", "left"]
    console = Console(width=200, record=True, color_system=None)
    console.print(table)
    text = console.export_text()
    assert "NULL" in text and "1 row(s)" in text and "10.0.0.1" in text
