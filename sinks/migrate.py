"""Apply the numbered SQL migrations in ``sinks/migrations`` once each, in order, then every view.

Numbered migrations hold what stores data (tables, materialized views, backfills) and run once; the
plain views live in ``sinks/views`` (one file each, :mod:`sinks.view_files`) and are re-applied on every
call, after the migrations. No migration reads a plain view, so a fresh database needs no view first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from clickhouse_driver import Client
from clickhouse_driver.errors import Error as ClickHouseError

from schemas import tables
from schemas.guards import IdentityGuards
from sinks.errors import MigrationError
from sinks.view_files import apply_views, split_statements

__all__ = ["Migration", "apply_migrations", "apply_retention", "available_migrations", "ensure_analyst_user"]

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def available_migrations() -> list[Migration]:
    out = []
    for entry in resources.files("sinks.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            out.append(Migration(int(match.group(1)), entry.name, split_statements(entry.read_text())))
    return sorted(out, key=lambda m: m.version)


def apply_migrations(
    client: Client, database: str = tables.DATABASE, guards: IdentityGuards | None = None
) -> list[str]:
    """Create ``database``, apply pending migrations, then (re)create every view.

    Returns the names of the migrations applied this time (views are applied on every call).
    ``guards``: the identity guards baked into the views (default: the bundled guard file).
    """
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
                code = getattr(exc, "code", "?")
                raise MigrationError(f"{migration.name} failed (code {code}): {message}") from exc
        client.execute(
            f"INSERT INTO {database}.{tables.SCHEMA_MIGRATIONS} (version, name) VALUES",
            [(migration.version, migration.name)],
        )
        applied.append(migration.name)
    apply_views(client, database, guards)
    return applied


def apply_retention(client: Client, database: str, touchpoints_ttl_days: int | None) -> str:
    """Set (or remove, with ``None``) the TTL of raw touchpoints; idempotent. Returns what it did.

    Applied at start-up rather than in a migration because it is a setting: changing
    TOUCHSTREAM_TOUCHPOINTS_TTL_DAYS and restarting is enough.
    """
    if not _IDENT.match(database):
        raise MigrationError(f"database name {database!r} is not a plain identifier")
    (ddl,) = client.execute(
        "SELECT create_table_query FROM system.tables WHERE database = %(db)s AND name = %(t)s",
        {"db": database, "t": tables.TOUCHPOINTS},
    )[0]
    current = re.search(r"TTL toDateTime\(ts\) \+ (?:toIntervalDay\((\d+)\)|INTERVAL (\d+) DAY)", ddl)
    current_days = int(current.group(1) or current.group(2)) if current else None
    if current_days == touchpoints_ttl_days and (current is not None or " TTL " not in ddl):
        return "unchanged"
    target = f"{database}.{tables.TOUCHPOINTS}"
    if touchpoints_ttl_days is None:
        client.execute(f"ALTER TABLE {target} REMOVE TTL")
        return "removed"
    days = int(touchpoints_ttl_days)  # an int, so safe to inline: DDL cannot take bound parameters
    # Parts are dropped whole when every row expired (partitions are monthly), which is cheap.
    client.execute(
        f"ALTER TABLE {target} MODIFY TTL toDateTime(ts) + INTERVAL {days} DAY",
        settings={"materialize_ttl_after_modify": 0},
    )
    return f"ttl {days} days"


def ensure_analyst_user(client: Client, database: str, user: str, password: str) -> bool:
    """Create the read-only analyst login on a server with SQL access management; False if not allowed.

    The embedded server defines ``analyst`` in its users.xml instead (read-only storage, so this
    returns False there). Production servers need ``access_management`` for Touchstream's user.
    """
    if not (_IDENT.match(database) and _IDENT.match(user)):
        raise MigrationError("database and user must be plain identifiers")
    try:
        client.execute(
            f"CREATE USER IF NOT EXISTS {user} IDENTIFIED BY %(pw)s SETTINGS readonly = 2", {"pw": password}
        )
        client.execute(f"GRANT SELECT ON {database}.* TO {user}")
    except ClickHouseError as exc:
        code = getattr(exc, "code", None)
        # 497 ACCESS_DENIED, 495 ACCESS_STORAGE_READONLY, 514 no writable access storage, 493 / 511 user
        # already defined elsewhere (users.xml).
        if code in (493, 495, 497, 511, 514):
            return False
        raise MigrationError(f"creating user {user} failed (code {code}): {exc}") from exc
    return True
