"""``touchstream migrate``: create or upgrade the ClickHouse schema (idempotent)."""

from __future__ import annotations

from clickhouse_driver import Client
from rich.console import Console

from embedded.clickhouse import ANALYST_USER, EmbeddedClickHouse
from schemas.settings import Settings
from sinks.client import connect
from sinks.migrate import apply_migrations, apply_retention, ensure_analyst_user

__all__ = ["migrate"]


def _migrate(client: Client, settings: Settings, console: Console) -> None:
    applied = apply_migrations(client, settings.clickhouse_database)
    for name in applied:
        console.print(f"applied {name}")
    if not applied:
        console.print("schema is up to date")
    console.print(apply_retention(client, settings.clickhouse_database, settings.touchpoints_ttl_days))
    if settings.analyst_password is not None:
        password = settings.analyst_password.get_secret_value()
        if ensure_analyst_user(client, settings.clickhouse_database, ANALYST_USER, password):
            console.print(f"read-only user {ANALYST_USER!r} can SELECT from {settings.clickhouse_database}")
        else:
            console.print(
                f"[yellow]could not create user {ANALYST_USER!r} (no access management here)[/yellow]"
            )


def migrate() -> None:
    """Apply pending migrations to TOUCHSTREAM_CLICKHOUSE_URL (or the embedded server's data)."""
    settings = Settings()
    console = Console()
    if settings.clickhouse_url is None:
        with EmbeddedClickHouse(settings.home) as server:
            _migrate(connect(server.url), settings, console)
    else:
        _migrate(connect(settings.clickhouse_url), settings, console)
