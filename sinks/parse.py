"""The raw insert: ClickHouse parses and checks a batch of JSON payloads itself.

Decoding JSON into columns in Python costs ~10 us a row, five times the whole budget of a 200k rows/s
sink, so the sink sends the payloads untouched as one ``String`` column (``input('raw String')``)
and the ``INSERT ... SELECT`` below extracts the columns in C++ with one ``JSONExtract`` per row.
Per-field checks (regexes, key maps) cost 20-100x that, so the check counts instead: every non-null
key must have been extracted (an unknown key or a value that did not convert leaves the count
short), as many string- and bool-valued keys as such columns were filled (so ClickHouse's lenient
conversions, 5 -> '5' or 1 -> true, do not pass), required columns not null, dates valid. The
counts read compact JSON (orjson's, as the stream workers write it); other spacing fails the check.
A failing row fails the whole insert (``throwIf``, nothing written) and the caller decodes that one
batch in Python, which is the authority on what is rejected and why (:mod:`sinks.writer`).
Known leniency left: a fraction in an integer column is truncated rather than rejected.
"""

from __future__ import annotations

from clickhouse_driver.util.escape import escape_param

from sinks.rows import Column, Kind, TableSpec

__all__ = ["REJECTED_CODE", "raw_insert_sql"]

REJECTED_CODE = 395  # FUNCTION_THROW_IF_VALUE_IS_NON_ZERO: some row failed the check
_MARK = "touchstream-sink: a row failed the type check"

# How each kind is extracted from the JSON object (dates as text: ClickHouse maps a bad date to 1970).
_EXTRACT = {
    Kind.STR: "String",
    Kind.FLOAT: "Float64",
    Kind.BOOL: "Bool",
    Kind.UINT: "UInt64",
    Kind.TS: "DateTime64(3, 'UTC')",
    Kind.DATE: "String",
}
_TEXT_KINDS = (Kind.STR, Kind.TS, Kind.DATE)  # JSON strings


def _typed(column: Column) -> str:
    """The column's extracted value, NULL when absent, null or not convertible."""
    value = f"r.{column.name}"
    return f"toDateOrNull({value})" if column.kind is Kind.DATE else value


def _default(column: Column) -> str:
    if column.kind is Kind.TS:
        return "toDateTime64(0, 3, 'UTC')"  # rows.py's default "1970-01-01T00:00:00Z"
    if column.kind is Kind.DATE:
        return f"toDate({escape_param(column.default, {})})"
    return str(escape_param(column.default, {}))


def _filled(columns: tuple[Column, ...] | list[Column]) -> str:
    return " + ".join(f"isNotNull(r.{c.name})" for c in columns) or "0"


def _checks(spec: TableSpec) -> str:
    text = [c for c in spec.columns if c.kind in _TEXT_KINDS]
    bools = [c for c in spec.columns if c.kind is Kind.BOOL]
    return " AND ".join([
        "startsWith(raw, '{')",
        "isValidJSON(raw)",
        # "v" (the record's schema version) is no column but a known key.
        f"JSONLength(raw) - countSubstrings(raw, ':null') = {_filled(spec.columns)} + isNotNull(r.v)",
        f"countSubstrings(raw, '\":\"') = {_filled(text)}",
        f"countSubstrings(raw, ':true') + countSubstrings(raw, ':false') = {_filled(bools)}",
        *(f"isNotNull(r.{c.name})" for c in spec.columns if c.required),
        *(f"(isNull(r.{c.name}) OR isNotNull({_typed(c)}))" for c in spec.columns if c.kind is Kind.DATE),
    ])  # fmt: skip


def raw_insert_sql(spec: TableSpec, database: str) -> str:
    """``INSERT ... SELECT`` over ``input('raw String')``: send one column of JSON payloads with it."""
    tuple_type = ", ".join(f"{c.name} Nullable({_EXTRACT[c.kind]})" for c in spec.columns)
    select = ", ".join(
        f"assumeNotNull({_typed(c)})" if c.required else f"ifNull({_typed(c)}, {_default(c)})"
        for c in spec.columns
    )
    # r is extracted in the innermost query: referenced there, each r.x would re-run JSONExtract.
    return (
        f"INSERT INTO {database}.{spec.table} ({', '.join(spec.names)}) SELECT {select} FROM ("
        f"SELECT r, throwIf(NOT ({_checks(spec)}), {escape_param(_MARK, {})}) AS rejected FROM ("
        f"SELECT raw, JSONExtract(raw, {escape_param(f'Tuple({tuple_type}, v Nullable(UInt64))', {})}) AS r "
        "FROM input('raw String'))) WHERE rejected = 0"
    )
