"""What every reporting command shares: the running stack's reader, the format check, exit codes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import typer

from cli import running
from reports.errors import ClickHouseUnavailableError, QueryFailedError, ReportOptionError
from reports.queries import Reader
from schemas.settings import Settings

__all__ = ["check_format", "echo_text", "open_reader", "user_errors"]


def check_format(fmt: str, allowed: Sequence[str] = ("table", "json", "csv")) -> None:
    if fmt not in allowed:
        raise ReportOptionError(f"--format must be {', '.join(allowed[:-1])} or {allowed[-1]}, got {fmt!r}")


def open_reader(settings: Settings) -> Reader:
    """A reader on the configured ClickHouse, else the running `touchstream up`'s (NoStackError if none)."""
    client, target = running.connect_clickhouse(settings)
    return Reader(client, target.database)


@contextmanager
def user_errors() -> Iterator[None]:
    """The reason on stderr and exit 2 for a bad option or no stack to read, exit 1 for a failed query."""
    try:
        yield
    except (ReportOptionError, ClickHouseUnavailableError, running.NoStackError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except QueryFailedError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


def echo_text(text: str | None) -> None:
    """JSON / CSV text as ``render`` returned it, with exactly one final newline."""
    text = text or ""
    typer.echo(text, nl=not text.endswith("\n"))
