"""Apply the numbered SQL migrations in ``sinks/migrations`` once each, in order (idempotent)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from clickhouse_driver import Client
from clickhouse_driver.errors import Error as ClickHouseError

from schemas import tables
from sinks.errors import MigrationError

__all__ = ["Migration", "apply_migrations", "available_migrations"]

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def _split(sql: str) -> tuple[str, ...]:
    # Statements end with ';' at the end of a line; comments are dropped so they never count as one.
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return tuple(s.strip() for s in re.split(r";\s*(?:\n|$)", body) if s.strip())


def available_migrations() -> list[Migration]:
    out = []
    for entry in resources.files("sinks.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            out.append(Migration(int(match.group(1)), entry.name, _split(entry.read_text())))
    return sorted(out, key=lambda m: m.version)


def apply_migrations(client: Client, database: str = tables.DATABASE) -> list[str]:
    """Create ``database`` and apply pending migrations; returns the names applied this time."""
    if not _IDENT.match(database):
        raise MigrationError(f"database name {database!r} is not a plain identifier")
    # Identifiers cannot be bound as query parameters, hence the validated {db} substitution.
    client.execute(f"CREATE DATABASE IF NOT EXISTS {database}")
    client.execute(
        f"CREATE TABLE IF NOT EXISTS {database}.{tables.SCHEMA_MIGRATIONS} "
        "(version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        "ENGINE = ReplacingMergeTree ORDER BY version"
    )
    done = {row[0] for row in client.execute(f"SELECT version FROM {database}.{tables.SCHEMA_MIGRATIONS}")}
    applied = []
    for migration in available_migrations():
        if migration.version in done:
            continue
        for statement in migration.statements:
            try:
                client.execute(statement.replace("{db}", database))
            except ClickHouseError as exc:
                message = str(exc).split("Stack trace:")[0].strip()
                raise MigrationError(f"{migration.name} failed (code {getattr(exc, 'code', '?')}): {message}") from exc
        client.execute(
            f"INSERT INTO {database}.{tables.SCHEMA_MIGRATIONS} (version, name) VALUES",
            [(migration.version, migration.name)],
        )
        applied.append(migration.name)
    return applied
