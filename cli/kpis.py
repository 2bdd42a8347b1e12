"""``touchstream kpis``: demand-gen and lead-gen KPIs for a period, with change vs the previous one."""

from __future__ import annotations

import typer
from rich.console import Console

from cli.reporting import check_format, echo_text, open_reader, user_errors
from reports.kpis import kpi_rows
from reports.period import parse_since
from reports.render import Column, render
from schemas.settings import Settings

__all__ = ["kpis"]

_COLUMNS = (
    Column("kpi", "KPI"),
    Column("current"),
    Column("previous"),
    Column("change", "change", signed_percent=True),
)
_GROUP_TITLES = {"demand_gen": "Demand gen", "lead_gen": "Lead gen", "identity": "Identity match rate"}


def kpis(
    since: str = typer.Option("30d", "--since", help="start of the period: 30d, 12w or 2024-05-01"),
    fmt: str = typer.Option("table", "--format", help="table, json or csv"),
) -> None:
    """Demand-gen and lead-gen KPI tables for the period and the equal period before it."""
    settings = Settings()
    console = Console()
    with user_errors():
        check_format(fmt)
        period = parse_since(since)
        rows = kpi_rows(open_reader(settings), period)
    if fmt != "table":
        echo_text(render(rows, (Column("group"), *_COLUMNS), fmt))
        return
    previous = period.previous()
    for group, title in _GROUP_TITLES.items():
        subset = [r for r in rows if r["group"] == group]
        render(subset, _COLUMNS, "table", f"{title} · {period.label()} vs {previous.label()}", console)
