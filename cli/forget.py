"""``touchstream forget``: erase a person from ClickHouse and from the stream workers' state."""

from __future__ import annotations

from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from cli import running
from schemas import jsonio
from schemas.settings import Settings
from sinks.erasure import Erasure, Subject, erase
from streams.erasure import ErasureRequestError, request_erasure

__all__ = ["forget"]


def _erase_stream_state(settings: Settings, result: Erasure) -> tuple[int | None, str]:
    """Send the workers their erasure commands; (commands sent or None, a note for the report)."""
    bootstrap = running.kafka_bootstrap(settings)
    if bootstrap is None:  # ClickHouse configured, no broker: the workers' state is not reachable
        return None, "stream state NOT erased: no broker configured or running (TOUCHSTREAM_KAFKA_BOOTSTRAP)"
    sent = request_erasure(
        bootstrap,
        result.anonymous_ids,
        [*result.person_ids, *result.emails],
        result.event_ids,
        result.accounts,
    )
    return sent, f"stream state: {sent} erasure commands sent to {bootstrap}"


def _report(result: Erasure, fmt: str, dry_run: bool, stream: int | None, note: str) -> None:
    if fmt == "json":
        typer.echo(
            jsonio.dumps(
                {
                    "person_ids": result.person_ids,
                    "anonymous_ids": result.anonymous_ids,
                    "deleted": result.deleted,
                    "total": result.total,
                    "stream_commands": stream,
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
    console.print(note)


def _erase_clickhouse(settings: Settings, subject: Subject, dry_run: bool) -> Erasure:
    """Erase on the configured or running ClickHouse (never a stopped home: its stream state would stay)."""
    try:
        client, target = running.connect_clickhouse(settings)
    except running.NoStackError as exc:
        running.fail(str(exc))
    return erase(client, target.database, subject, dry_run=dry_run)


def forget(
    email: Annotated[str, typer.Option(help="the person's email")] = "",
    person_id: Annotated[str, typer.Option("--person-id")] = "",
    anonymous_id: Annotated[str, typer.Option("--anonymous-id")] = "",
    output: Annotated[Literal["table", "json"], typer.Option("--format")] = "table",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count, delete nothing")] = False,
) -> None:
    """Erase a person (all their ids, rows and identity links) from ClickHouse and stream state."""
    if not (email or person_id or anonymous_id):
        typer.echo("give --email, --person-id or --anonymous-id", err=True)
        raise typer.Exit(2)
    settings = Settings()
    subject = Subject(email=email, person_id=person_id, anonymous_id=anonymous_id)
    result = _erase_clickhouse(settings, subject, dry_run)
    stream, note = None, "stream state: dry run, no erasure commands sent"
    if not dry_run:
        try:
            stream, note = _erase_stream_state(settings, result)
        except ErasureRequestError as exc:
            _report(result, output, dry_run, None, f"stream state NOT erased: {exc}")
            # ClickHouse no longer names the touches; they leave the journeys with the lookback window.
            typer.echo(f"stream state not erased: {exc}", err=True)
            raise typer.Exit(1) from exc
    _report(result, output, dry_run, stream, note)
    raise typer.Exit(0)
