"""``touchstream momentum``: is it getting better? Weekly CMO metrics with trend and change."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.console import Console

from attribution.trend import INSUFFICIENT
from cli.reporting import check_format, echo_text, open_reader, user_errors
from reports.momentum import MomentumRow, momentum
from reports.render import Column, render
from schemas import jsonio
from schemas.settings import Settings

__all__ = ["momentum_command", "sparkline"]

_BLOCKS = "▁▂▃▄▅▆▇█"
WIDE = 100  # terminal columns from which the table also shows the span before


def sparkline(series: list[float | None]) -> str:
    """One block per week scaled between the series' min and max; a blank for an undefined week."""
    known = [v for v in series if v is not None]
    if not known:
        return " " * len(series)
    low, high = min(known), max(known)
    span = high - low
    return "".join(
        " " if v is None else _BLOCKS[int((v - low) / span * (len(_BLOCKS) - 1)) if span else 3]
        for v in series
    )


def _row(r: MomentumRow) -> dict[str, object]:
    return {
        "metric": r.metric.key,
        "label": r.metric.label,
        "current": r.current,
        "previous": r.previous,
        "change": r.change,
        "trend": r.trend.label,
        "slope_per_week": r.trend.slope,
        "higher_is_better": r.metric.higher_is_better,
    }


def momentum_command(
    weeks: int = typer.Option(12, "--weeks", help="complete weeks in the series (the trend's window)"),
    compare: int = typer.Option(4, "--compare", help="weeks in the latest span compared with the one before"),
    fmt: str = typer.Option("table", "--format", help="table, json or csv"),
) -> None:
    """Pipeline velocity and its factors, CAC, CPL, direct traffic, branded search, share of voice,
    new accounts and demand-gen influence: weekly series, trend (improving / flat / worsening, only
    when larger than the noise) and the last span vs the one before."""
    settings = Settings()
    console = Console()
    with user_errors():
        check_format(fmt)
        rows = momentum(open_reader(settings), weeks, datetime.now(UTC).date(), compare)
    if fmt == "json":
        weeks_of = [w.isoformat() for w in rows[0].weeks] if rows else []
        payload = [{**_row(r), "weeks": weeks_of, "series": r.series} for r in rows]
        echo_text(jsonio.dumps(payload).decode())
        return
    if fmt == "csv":
        echo_text(render([_row(r) for r in rows], list(_row(rows[0])) if rows else ["metric"], "csv"))
        return
    flat = [
        {
            **_row(r),
            "weekly": sparkline(r.series),
            "current": r.metric.format(r.current),
            "previous": r.metric.format(r.previous),
            "trend": "too few weeks" if r.trend.label == INSUFFICIENT else r.trend.label,
        }
        for r in rows
    ]
    first = rows[0].weeks[0] if rows and rows[0].weeks else None
    title = f"Momentum · {weeks} weeks from {first:%d %b %Y}" if first else "Momentum"
    columns = [
        Column("label", "metric"),
        Column("weekly"),
        Column("current", f"last {compare} wk"),
        Column("previous", f"{compare} wk before"),
        Column("change", signed_percent=True),
        Column("trend"),
    ]
    if console.width < WIDE:  # an 80-column terminal: the change says enough about the span before
        columns = [c for c in columns if c.key != "previous"]
    render(flat, columns, "table", title, console)
