"""``touchstream self-reported``: what buyers say brought them, beside first-touch credit, per channel."""

from __future__ import annotations

import typer
from rich.console import Console

from cli.reporting import check_format, echo_text, open_reader, user_errors
from reports.period import parse_since
from reports.render import Column, render
from reports.self_reported import self_reported_rows
from schemas.settings import Settings

__all__ = ["self_reported"]

_COLUMNS = (
    Column("channel"),
    Column("respondents"),
    Column("self_reported_share", "self-reported", number=".1%"),
    Column("first_touch_conversions", "first touch", number=",.1f"),
    Column("first_touch_share", "first-touch share", number=".1%"),
)


def self_reported(
    since: str = typer.Option("90d", "--since", help="start of the period: 90d, 12w or 2024-05-01"),
    stage: str = typer.Option("lead", "--stage", help="conversions whose first-touch credit is compared"),
    fmt: str = typer.Option("table", "--format", help="table, json or csv"),
) -> None:
    """'How did you hear about us?' answers (mapped to channels) next to first-touch credit: the share
    of respondents naming each channel and the channel's share of first-touch credit at the stage."""
    settings = Settings()
    with user_errors():
        check_format(fmt)
        period = parse_since(since)
        rows = self_reported_rows(open_reader(settings), period, stage)
    if fmt != "table":
        echo_text(render(rows, _COLUMNS, fmt))
        return
    title = f"Self-reported vs first touch ({stage}) · {period.label()}"
    render(rows, _COLUMNS, "table", title, Console())
