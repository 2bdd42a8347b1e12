"""``touchstream migrate``: create or upgrade the ClickHouse schema (idempotent)."""

from __future__ import annotations

from clickhouse_driver import Client
from rich.console import Console

from cli import running
from embedded.clickhouse import ANALYST_USER, EmbeddedClickHouse
from embedded.errors import EmbeddedServiceError
from schemas.guards import load_guards
from schemas.settings import Settings
from sinks.client import connect
from sinks.migrate import apply_migrations, apply_retention, ensure_analyst_user

__all__ = ["migrate"]


def _migrate(client: Client, database: str, settings: Settings, console: Console) -> None:
    applied = apply_migrations(client, database, load_guards(settings.identity_guards))
    for name in applied:
        console.print(f"applied {name}")
    if not applied:
        console.print("schema is up to date")
    console.print(apply_retention(client, database, settings.touchpoints_ttl_days))
    if settings.analyst_password is not None:
        password = settings.analyst_password.get_secret_value()
        if ensure_analyst_user(client, database, ANALYST_USER, password):
            console.print(f"read-only user {ANALYST_USER!r} can SELECT from {database}")
        else:
            console.print(
                f"[yellow]could not create user {ANALYST_USER!r} (no access management here)[/yellow]"
            )


def migrate() -> None:
    """Apply pending migrations to the configured or running ClickHouse (or a stopped home's data)."""
    settings = Settings()
    console = Console()
    try:
        if (
            not settings.clickhouse_url
            and running.read_endpoints(settings) is None
            and running.embedded_home_allowed(settings, fresh=True)
        ):
            with EmbeddedClickHouse(settings.home) as server:
                _migrate(connect(server.url), settings.clickhouse_database, settings, console)
            return
        client, target = running.connect_clickhouse(settings)
    except (running.NoStackError, EmbeddedServiceError) as exc:
        running.fail(str(exc))
    _migrate(client, target.database, settings, console)
