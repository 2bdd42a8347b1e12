"""``touchstream migrate``: create or upgrade the ClickHouse schema (idempotent)."""

from __future__ import annotations

import typer
from rich.console import Console

from embedded.clickhouse import EmbeddedClickHouse
from schemas.settings import Settings
from sinks.client import connect
from sinks.migrate import apply_migrations

__all__ = ["migrate"]


def migrate() -> None:
    """Apply pending migrations to TOUCHSTREAM_CLICKHOUSE_URL (or the embedded server's data)."""
    settings = Settings()
    console = Console()
    if settings.clickhouse_url is None:
        with EmbeddedClickHouse(settings.home) as server:
            applied = apply_migrations(connect(server.url), settings.clickhouse_database)
    else:
        applied = apply_migrations(connect(settings.clickhouse_url), settings.clickhouse_database)
    if applied:
        for name in applied:
            console.print(f"applied {name}")
    else:
        console.print("schema is up to date")
    raise typer.Exit(0)
