"""Sink rows: a sink topic's JSON payload decoded into one ClickHouse row tuple, cheaply checked.

Validating 200k rows/s with pydantic is too slow, so each table's column list is derived once from
its ``schemas.records`` model (field names == column names) and every row is checked against it with
plain type tests: required keys when a message is decoded, then each column's JSON type over the
whole batch at once (``set(map(type, column))``). Only when a batch fails that check are its rows
examined one by one. A row that fails is a :class:`BadRowError` (it goes to the dead-letter topic);
anything that passes inserts without a client-side serialization error.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from dataclasses import dataclass, field

from pydantic import BaseModel

from schemas import jsonio, records, tables, topics
from sinks.errors import SinkError

__all__ = [
    "SPECS_BY_TOPIC",
    "BadRowError",
    "Column",
    "Kind",
    "TableSpec",
    "check_row",
    "decode",
    "spec_for",
    "to_columns",
]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)


class BadRowError(SinkError):
    """A payload that can never be inserted (not JSON, not an object, missing or mistyped field)."""

    def __init__(self, reason: str, field: str = "") -> None:
        self.reason, self.field = reason, field
        super().__init__(f"{field}: {reason}" if field else reason)


class Kind(enum.Enum):
    STR = "str"
    FLOAT = "float"
    BOOL = "bool"
    UINT = "uint"  # a non-negative JSON integer (UInt64 columns, e.g. a mention's reach)
    TS = "ts"  # RFC 3339 text -> int milliseconds, which clickhouse-driver writes as DateTime64(3) ticks
    DATE = "date"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind
    required: bool
    default: object


@dataclass(frozen=True, slots=True)
class TableSpec:
    table: str
    columns: tuple[Column, ...]
    # Precomputed for the per-message hot path.
    required: frozenset[str] = field(init=False)
    defaults: tuple[tuple[str, object], ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "required", frozenset(c.name for c in self.columns if c.required))
        object.__setattr__(self, "defaults", tuple((c.name, c.default) for c in self.columns))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def insert_sql(self, database: str) -> str:
        return f"INSERT INTO {database}.{self.table} ({', '.join(self.names)}) VALUES"


# Defaults in their JSON form, so they go through the same column conversion as sent values.
_DEFAULTS = {
    Kind.STR: "",
    Kind.FLOAT: 0.0,
    Kind.BOOL: False,
    Kind.UINT: 0,
    Kind.TS: "1970-01-01T00:00:00Z",
    Kind.DATE: "1970-01-01",
}


def _kind(annotation: object) -> Kind:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):  # ``datetime | None``
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(annotation) is typing.Literal:
        return Kind.STR
    kinds = {
        str: Kind.STR,
        float: Kind.FLOAT,
        bool: Kind.BOOL,
        int: Kind.UINT,
        dt.datetime: Kind.TS,
        dt.date: Kind.DATE,
    }
    return kinds[
        annotation  # type: ignore[index]  # a KeyError here means a record grew an unmapped field type
    ]


def spec_for(model: type[BaseModel], table: str) -> TableSpec:
    """The column list of ``table`` from its record model; ``v`` (schema version) is not a column."""
    columns = []
    for name, info in model.model_fields.items():
        if name == "v":
            continue
        kind = _kind(info.annotation)
        plain = not info.is_required() and info.default is not None and kind is not Kind.TS
        default = info.default if plain else _DEFAULTS[kind]
        columns.append(Column(name, kind, info.is_required(), default))
    return TableSpec(table, tuple(columns))


SPECS_BY_TOPIC: dict[str, TableSpec] = {
    topics.TOUCHPOINTS: spec_for(records.TouchpointRecord, tables.TOUCHPOINTS),
    topics.IDENTITIES: spec_for(records.IdentityRecord, tables.IDENTITIES),
    topics.CONVERSIONS: spec_for(records.ConversionRecord, tables.CONVERSIONS),
    topics.CREDITS: spec_for(records.CreditRecord, tables.ATTRIBUTION_CREDITS),
    topics.SPEND: spec_for(records.SpendRecord, tables.SPEND),
    topics.ALERTS: spec_for(records.AlertRecord, tables.ALERTS),
    topics.PRODUCT_EVENTS: spec_for(records.ProductEventRecord, tables.PRODUCT_EVENTS),
    topics.SELF_REPORTS: spec_for(records.SelfReportRecord, tables.SELF_REPORTS),
    topics.IDENTITY_HELD: spec_for(records.IdentityRecord, tables.IDENTITY_EDGES),
}


def _ts_ms(value: object, name: str = "") -> int:
    if type(value) is not str:
        raise BadRowError("expected an RFC 3339 timestamp string", name)
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadRowError("not an RFC 3339 timestamp", name) from exc
    if parsed.tzinfo is None:  # records are UTC by contract; a naive stamp is taken as UTC, not local
        parsed = parsed.replace(tzinfo=dt.UTC)
    return (parsed - _EPOCH) // _MS


def _date(value: object, name: str = "") -> dt.date:
    if type(value) is not str:
        raise BadRowError("expected an ISO date string", name)
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise BadRowError("not an ISO date", name) from exc


_JSON_TYPES: dict[Kind, frozenset[type]] = {
    Kind.STR: frozenset({str}),
    Kind.FLOAT: frozenset({float, int}),
    Kind.BOOL: frozenset({bool}),
    Kind.UINT: frozenset({int}),
}


def decode(spec: TableSpec, payload: bytes) -> tuple[object, ...]:
    """The payload's values in column order, not yet type-checked (see :func:`to_columns`).

    Raises :class:`BadRowError` when it is not a JSON object or lacks a required key.
    """
    try:
        obj = jsonio.loads(payload)
    except jsonio.JSONDecodeError as exc:
        raise BadRowError(f"not JSON: {exc}") from exc
    if type(obj) is not dict:
        raise BadRowError("not a JSON object")
    if not spec.required <= obj.keys():
        missing = sorted(spec.required - obj.keys())
        raise BadRowError("missing", ",".join(missing))
    return tuple([obj.get(name, default) for name, default in spec.defaults])


def _column(column: Column, values: tuple[object, ...]) -> list[object] | tuple[object, ...]:
    """Check (and convert) one column of a batch at C speed; raises BadRowError if any value is wrong."""
    kind = column.kind
    if not column.required and None in values:  # explicit JSON null in an optional field = its default
        values = tuple(column.default if v is None else v for v in values)
    if kind is Kind.TS:
        return [_ts_ms(v, column.name) for v in values]
    if kind is Kind.DATE:
        return [_date(v, column.name) for v in values]
    seen = set(map(type, values))
    if not seen <= _JSON_TYPES[kind]:
        raise BadRowError(f"expected {kind.value}", column.name)
    if kind is Kind.UINT and values and not 0 <= min(values) <= max(values) < 2**64:  # type: ignore[type-var, operator]  # all int, checked above
        raise BadRowError("out of UInt64 range", column.name)
    if kind is Kind.FLOAT and int in seen:
        return [float(v) for v in values]  # type: ignore[arg-type]  # checked int|float above
    return values


def to_columns(spec: TableSpec, rows: list[tuple[object, ...]]) -> list[list[object] | tuple[object, ...]]:
    """Transpose decoded rows into checked insert columns; :class:`BadRowError` if any row is bad."""
    if not rows:
        return [[] for _ in spec.columns]
    return [_column(c, values) for c, values in zip(spec.columns, zip(*rows, strict=True), strict=True)]


def check_row(spec: TableSpec, row: tuple[object, ...]) -> None:
    """The slow path: find what is wrong with one row (:class:`BadRowError`), used only when a batch fails."""
    for column, value in zip(spec.columns, row, strict=True):
        if value is None and column.required:
            raise BadRowError("null", column.name)
        _column(column, (value,))
