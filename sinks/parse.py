"""The raw insert: ClickHouse parses and checks a batch of JSON payloads itself.

Decoding JSON into columns in Python costs ~10 us a row, five times the whole budget of a 200k rows/s
sink, so the sink sends the payloads untouched as one ``String`` column (``input('raw String')``)
and the ``INSERT ... SELECT`` below extracts the columns in C++. It checks every row as strictly as
:func:`sinks.rows.check_row` does in Python (JSON object, required keys not null, each value's JSON
type by its raw text, timestamps and dates that parse) and fails the whole insert with
``throwIf`` when one row does not pass. A failed insert wrote nothing, so the caller then decodes
that one batch in Python to split off the bad rows with their reasons (:mod:`sinks.writer`).
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
# What a present value's raw JSON text must look like: JSONExtract alone is lenient (5 -> '5',
# "3.5" -> 3.5, 1 -> true) where the Python check is not.
_RAW_FORM = {
    Kind.STR: "startsWith({v}, '\"')",
    Kind.FLOAT: "match({v}, '^-?[0-9]')",
    Kind.BOOL: "{v} IN ('true', 'false')",
    Kind.UINT: "match({v}, '^[0-9]+$')",
    Kind.TS: "match({v}, '^\"[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[T ][0-9]{{2}}:[0-9]{{2}}')",
    Kind.DATE: "match({v}, '^\"[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}\"$')",
}


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


def _check(column: Column) -> str:
    raw = f"m[{escape_param(column.name, {})}]"  # '' when the key is absent
    form = _RAW_FORM[column.kind].format(v=raw)
    valid = f"({form} AND isNotNull({_typed(column)}))"
    return valid if column.required else f"({raw} IN ('', 'null') OR {valid})"


def raw_insert_sql(spec: TableSpec, database: str) -> str:
    """``INSERT ... SELECT`` over ``input('raw String')``: send one column of JSON payloads with it."""
    tuple_type = ", ".join(f"{c.name} Nullable({_EXTRACT[c.kind]})" for c in spec.columns)
    select = ", ".join(
        f"assumeNotNull({_typed(c)})" if c.required else f"ifNull({_typed(c)}, {_default(c)})"
        for c in spec.columns
    )
    checks = " AND ".join(["startsWith(raw, '{')", "isValidJSON(raw)", *(_check(c) for c in spec.columns)])
    return (
        f"INSERT INTO {database}.{spec.table} ({', '.join(spec.names)}) SELECT {select} FROM ("
        f"SELECT JSONExtract(raw, {escape_param(f'Tuple({tuple_type})', {})}) AS r, "
        "mapFromArrays(arrayMap(x -> x.1, kv), arrayMap(x -> x.2, kv)) AS m, "
        f"throwIf(NOT ({checks}), {escape_param(_MARK, {})}) AS rejected "
        "FROM (SELECT raw, JSONExtractKeysAndValuesRaw(raw) AS kv FROM input('raw String'))"
        ") WHERE rejected = 0"
    )
