"""``touchstream forget``: erase a person from ClickHouse and report the rows removed per table."""

from __future__ import annotations

from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from embedded.clickhouse import EmbeddedClickHouse
from schemas import jsonio
from schemas.settings import Settings
from sinks.client import connect
from sinks.erasure import Erasure, Subject, erase

__all__ = ["forget"]


def _report(result: Erasure, fmt: str, dry_run: bool) -> None:
    if fmt == "json":
        typer.echo(
            jsonio.dumps(
                {
                    "person_ids": result.person_ids,
                    "anonymous_ids": result.anonymous_ids,
                    "deleted": result.deleted,
                    "total": result.total,
                    "dry_run": dry_run,
                }
            ).decode()
        )
        return
    table = Table(title="would delete" if dry_run else "deleted")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in result.deleted.items():
        table.add_row(name, str(count))
    table.add_row("total", str(result.total), style="bold")
    console = Console()
    console.print(f"person ids: {', '.join(result.person_ids) or '-'}; devices: {len(result.anonymous_ids)}")
    console.print(table)


def forget(
    email: Annotated[str, typer.Option(help="the person's email")] = "",
    person_id: Annotated[str, typer.Option("--person-id")] = "",
    anonymous_id: Annotated[str, typer.Option("--anonymous-id")] = "",
    output: Annotated[Literal["table", "json"], typer.Option("--format")] = "table",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count, delete nothing")] = False,
) -> None:
    """Erase a person (all their ids, rows and identity links) from ClickHouse."""
    if not (email or person_id or anonymous_id):
        typer.echo("give --email, --person-id or --anonymous-id", err=True)
        raise typer.Exit(2)
    settings = Settings()
    subject = Subject(email=email, person_id=person_id, anonymous_id=anonymous_id)
    if settings.clickhouse_url is None:
        with EmbeddedClickHouse(settings.home) as server:
            result = erase(connect(server.url), settings.clickhouse_database, subject, dry_run=dry_run)
    else:
        result = erase(
            connect(settings.clickhouse_url), settings.clickhouse_database, subject, dry_run=dry_run
        )
    _report(result, output, dry_run)
    raise typer.Exit(0)
