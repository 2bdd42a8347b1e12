"""``touchstream velocity``: pipeline velocity now vs its baseline, with its four factors."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from alerts.errors import AlertError
from alerts.queries import fetch_opportunities
from alerts.rules import load_rules
from alerts.velocity import FACTOR_LABELS, FACTORS, VelocityReport, velocity_reports
from cli import running
from schemas import jsonio
from schemas.settings import Settings

__all__ = ["velocity"]


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def _row(rep: VelocityReport) -> dict[str, object]:
    factor, change = rep.biggest_mover()
    row: dict[str, object] = {
        "segment": rep.segment,
        "velocity": round(rep.now.velocity, 2),
        "baseline": round(rep.baseline.velocity, 2),
        "change": round(rep.ratio - 1, 4),
    }
    for f in FACTORS:
        row[f] = round(float(getattr(rep.now, f)), 4)
        row[f"{f}_baseline"] = round(float(getattr(rep.baseline, f)), 4)
    row["biggest_mover"] = factor if rep.ratio < 1 else ""
    row["biggest_mover_change"] = round(change, 4) if rep.ratio < 1 else 0.0
    return row


def velocity(
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv")] = Format.TABLE,
    window_days: Annotated[int, typer.Option(help="rolling period (0 = from the alert rules)")] = 0,
    segment: Annotated[
        list[str] | None, typer.Option(help="overall, category and/or channel (repeatable; default all)")
    ] = None,
    at: Annotated[datetime | None, typer.Option(help="evaluate as of this UTC time (default: now)")] = None,
) -> None:
    """Velocity = open opportunities x average deal size x win rate / sales-cycle days."""
    settings = Settings()
    try:
        rule = load_rules(settings.alert_rules).velocity
    except AlertError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    segment = segment or ["overall", "category", "channel"]
    bad = sorted(set(segment) - {"overall", "category", "channel"})
    if bad:
        typer.echo(f"unknown segment kind(s): {', '.join(bad)}", err=True)
        raise typer.Exit(2)
    end = (at.replace(tzinfo=UTC) if at and at.tzinfo is None else at) or datetime.now(UTC)
    window = timedelta(days=window_days or rule.window_days)
    try:
        client, target = running.connect_clickhouse(settings)
    except running.NoStackError as exc:
        running.fail(str(exc))
    try:
        opps = fetch_opportunities(client, target.database, end, end - window * (rule.baseline_windows + 1))
    except AlertError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    reports = velocity_reports(opps, end, window, rule.baseline_windows, segment)
    rows = [_row(r) for r in reports]
    if fmt is Format.JSON:
        typer.echo(jsonio.dumps({"as_of": end, "window_days": window.days, "segments": rows}).decode())
    elif fmt is Format.CSV:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["segment"])
        writer.writeheader()
        writer.writerows(rows)
        typer.echo(out.getvalue(), nl=False)
    else:
        _print_table(reports, end, window)


WIDE = 130  # terminal columns from which the table also shows the four factors and their baselines


def _print_table(reports: list[VelocityReport], end: datetime, window: timedelta) -> None:
    console = Console()
    wide = console.width >= WIDE
    title = f"Pipeline velocity, {window.days}-day window to {end:%Y-%m-%d %H:%M} UTC"
    table = Table(title=title if wide else f"{title} (factors: a wider terminal or --format json)")
    table.add_column("segment", no_wrap=True)  # never "channel=…": the name is the point
    for col in ("velocity/day", "baseline", "change"):
        table.add_column(col, justify="right", no_wrap=True)
    if wide:
        for f in FACTORS:
            table.add_column(f"{FACTOR_LABELS[f]} (baseline)", justify="right")
    table.add_column("biggest mover")
    for rep in reports:
        factors = []
        for f in FACTORS if wide else ():
            now, base = float(getattr(rep.now, f)), float(getattr(rep.baseline, f))
            fmt = "{:.0%}" if f == "win_rate" else "{:,.1f}"
            factors.append(f"{fmt.format(now)} ({fmt.format(base)})")
        factor, change = rep.biggest_mover()
        mover = f"{FACTOR_LABELS[factor]} {change:+.0%}" if rep.ratio < 1 else ""
        table.add_row(
            rep.segment,
            f"{rep.now.velocity:,.0f}",
            f"{rep.baseline.velocity:,.0f}",
            f"{rep.ratio - 1:+.0%}",
            *factors,
            mover,
        )
    console.print(table)
    if not reports:
        console.print("no opportunities in the window")
