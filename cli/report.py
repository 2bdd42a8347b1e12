"""``touchstream report``: attribution by channel or campaign for one model or all side by side."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from attribution import MODELS, RULE_BASED_MODELS
from cli.reporting import check_format, echo_text, open_reader, user_errors
from reports.credits import AttributionResult, ReportRequest, attribute
from reports.html import HtmlInputs, render_html
from reports.mix import mix_rows
from reports.momentum import momentum
from reports.period import parse_since
from reports.queries import Reader
from reports.render import fit_columns, render
from reports.rows import attribution_rows
from reports.self_reported import self_reported_rows
from schemas.settings import Settings

__all__ = ["report"]

MOMENTUM_WEEKS = 12  # the html report's momentum section: weekly series of the last 12 complete weeks
# --model all in a table: the key and spend columns, then ~11 characters per model column.
MODEL_KEY_WIDTH, MODEL_COLUMN_WIDTH = 32, 11


def _html(reader: Reader, result: AttributionResult) -> str:
    request, period = result.request, result.period
    channel_result = result
    if request.by != "channel":  # the category split needs channels even for a campaign report
        channel_request = ReportRequest(
            request.models, request.stage, "channel", request.lookback_days, request.half_life_days
        )
        channel_result = attribute(reader, channel_request, period)
    # linear when it is among the models (the neutral reference), else the first rule-based one.
    rule_based = [m for m in request.models if m in RULE_BASED_MODELS]
    trend_model = "linear" if "linear" in rule_based or not rule_based else rule_based[0]
    return render_html(
        HtmlInputs(
            result=result,
            channel_result=channel_result,
            funnel=reader.funnel(period),
            weekly=reader.weekly_credits(trend_model, request.stage, period),
            trend_model=trend_model,
            momentum=momentum(reader, MOMENTUM_WEEKS, datetime.now(UTC).date()),
            self_reported=self_reported_rows(reader, period, request.stage),
            mix=mix_rows(reader, trend_model, "category", period) if trend_model in RULE_BASED_MODELS else [],
        )
    )


def report(
    model: str = typer.Option("linear", "--model", help=f"{', '.join(MODELS)} or all"),
    by: str = typer.Option("channel", "--by", help="channel or campaign"),
    stage: str = typer.Option("opportunity", "--stage", help="mql, sql, opportunity or closed_won"),
    since: str = typer.Option("90d", "--since", help="start of the period: 30d, 12w or 2024-05-01"),
    lookback: int | None = typer.Option(
        None,
        "--lookback",
        help="days of touches before a conversion (default: stream's 90/30; 90 for markov)",
    ),
    fmt: str = typer.Option("table", "--format", help="table, json, csv or html"),
    out: Annotated[
        Path | None, typer.Option("--out", help="html file (default $TOUCHSTREAM_HOME/report.html)")
    ] = None,
) -> None:
    """Attributed conversions and revenue per channel (or campaign) for a stage and period."""
    settings = Settings()
    console = Console()
    with user_errors():
        check_format(fmt, ("table", "json", "csv", "html"))
        models = MODELS if model == "all" else (model,)
        request = ReportRequest(models, stage, by, lookback, settings.time_decay_half_life_days)
        period = parse_since(since)
        reader = open_reader(settings)
        result = attribute(reader, request, period)
        if fmt == "html":
            target = out or settings.home / "report.html"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_html(reader, result), encoding="utf-8")
            console.print(f"report written to {target}")
            return
    rows, columns = attribution_rows(result, wide=fmt != "table")
    title = f"{stage} attribution by {by} · {period.label()} · {result.conversions:,} conversions"
    if fmt != "table":
        echo_text(render(rows, columns, fmt, title, console))
        return
    if len(request.models) == 1:
        # Spend, cost and ROAS matter more than the category, the share and the revenue.
        columns = fit_columns(rows, columns, console, ("category", "share", "revenue"))
        render(rows, columns, "table", title, console)
        return
    # Side by side, the models are split over tables that fit the terminal rather than cut off.
    fixed, per_model = columns[:2], columns[2:]
    per_table = max(1, (console.width - MODEL_KEY_WIDTH) // MODEL_COLUMN_WIDTH)
    for first in range(0, len(per_model), per_table):
        part = per_model[first : first + per_table]
        shown = f" · models {first + 1}–{first + len(part)} of {len(per_model)}"
        suffix = shown if per_table < len(per_model) else ""
        render(rows, [*fixed, *part], "table", title + suffix, console)
