"""``touchstream kpis``: demand-gen and lead-gen KPIs for a period, with change vs the previous one."""

from __future__ import annotations

import typer
from rich.console import Console

from cli import running
from reports.errors import ClickHouseUnavailableError, QueryFailedError, ReportOptionError
from reports.kpis import kpi_rows
from reports.period import parse_since
from reports.queries import Reader
from reports.render import Column, render
from schemas.settings import Settings

__all__ = ["kpis"]

_COLUMNS = (
    Column("kpi", "KPI"),
    Column("current"),
    Column("previous"),
    Column("change", "change", signed_percent=True),
)
_GROUP_TITLES = {"demand_gen": "Demand gen", "lead_gen": "Lead gen"}


def kpis(
    since: str = typer.Option("30d", "--since", help="start of the period: 30d, 12w or 2024-05-01"),
    fmt: str = typer.Option("table", "--format", help="table, json or csv"),
) -> None:
    """Demand-gen and lead-gen KPI tables for the period and the equal period before it."""
    settings = Settings()
    console = Console()
    try:
        if fmt not in ("table", "json", "csv"):
            raise ReportOptionError(f"--format must be table, json or csv, got {fmt!r}")
        period = parse_since(since)
        client, target = running.connect_clickhouse(settings)
        reader = Reader(client, target.database)
        rows = kpi_rows(reader, period)
    except (ReportOptionError, ClickHouseUnavailableError, running.NoStackError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except QueryFailedError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    if fmt != "table":
        text = render(rows, (Column("group"), *_COLUMNS), fmt)
        typer.echo(text, nl=not (text or "").endswith("\n"))
        return
    previous = period.previous()
    for group, title in _GROUP_TITLES.items():
        subset = [r for r in rows if r["group"] == group]
        render(subset, _COLUMNS, "table", f"{title} · {period.label()} vs {previous.label()}", console)
