"""``touchstream mix``: spend share vs attributed-pipeline share vs closed-won-revenue share, in words."""

from __future__ import annotations

import typer
from rich.console import Console

from cli.reporting import check_format, echo_text, open_reader, user_errors
from reports.mix import mix_rows
from reports.period import parse_since
from reports.render import Column, fit_columns, render
from schemas.settings import Settings

__all__ = ["mix"]

_VALUES = ("spend", "spend_share", "pipeline", "pipeline_share", "revenue", "revenue_share", "sentence")


def mix(
    model: str = typer.Option("linear", "--model", help="a rule-based model with stored credits"),
    since: str = typer.Option("90d", "--since", help="start of the period: 30d, 12w or 2024-05-01"),
    by: str = typer.Option("category", "--by", help="category or channel"),
    fmt: str = typer.Option("table", "--format", help="table, json or csv"),
) -> None:
    """Spend share vs attributed-pipeline share vs closed-won-revenue share per category or channel,
    and where they part, in words ("lead gen: 78 % of spend, 31 % of pipeline")."""
    settings = Settings()
    console = Console()
    with user_errors():
        check_format(fmt)
        period = parse_since(since)
        rows = mix_rows(open_reader(settings), model, by, period)
    keys = ["category"] if by == "category" else ["channel", "category"]
    if fmt != "table":
        echo_text(render(rows, [*keys, *_VALUES], fmt))
        return
    columns = [
        *(Column(k) for k in keys),
        Column("spend", number=",.0f"),
        Column("spend_share", "% of spend", number=".0%"),
        Column("pipeline_share", "% of pipeline", number=".0%"),
        Column("revenue_share", "% of revenue", number=".0%"),
    ]
    title = f"Spend vs pipeline vs revenue by {by} · {model} · {period.label()}"
    render(rows, fit_columns(rows, columns, console, ("category", "spend")), "table", title, console)
    for row in rows:
        console.print(f"  {row['sentence']}")
