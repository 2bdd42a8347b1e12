"""Rendering: JSON and CSV exactly, the rich table, the html report's charts and its self-containment."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from rich.console import Console

from attribution import MODELS
from attribution.trend import trend
from cli.momentum import sparkline
from reports import svg
from reports.credits import AttributionResult, Credit, ReportRequest
from reports.errors import ReportOptionError
from reports.html import HtmlInputs, render_html
from reports.momentum import METRICS, MomentumRow, last_complete_week
from reports.period import Period, parse_since
from reports.render import Column, render
from reports.rows import attribution_rows

ROWS = [
    {"channel": "email", "conversions": 1.5, "share": 0.75, "note": "a,b"},
    {"channel": "podcast", "conversions": 0.5, "share": 0.25, "note": None},
]


def test_json_is_exact_and_keeps_only_the_columns() -> None:
    text = render(ROWS, ["channel", "conversions"], "json")
    assert text == '[{"channel":"email","conversions":1.5},{"channel":"podcast","conversions":0.5}]'


def test_csv_is_exact_with_quoting_and_empty_nulls() -> None:
    text = render(ROWS, ["channel", Column("share", number=".1%"), "note"], "csv")
    assert text == 'channel,share,note\nemail,0.75,"a,b"\npodcast,0.25,\n'


def test_table_prints_formatted_cells_and_returns_none() -> None:
    console = Console(record=True, width=100)
    columns = ["channel", Column("share", number=".1%"), Column("change", signed_percent=True)]
    rows = [{"channel": "email", "share": 0.75, "change": -0.125}, {"channel": "video", "share": 0.0}]
    assert render(rows, columns, "table", "Credits", console) is None
    out = console.export_text()
    assert "Credits" in out and "75.0%" in out and "-12.5 %" in out and "–" in out


def test_unknown_format_is_an_option_error() -> None:
    with pytest.raises(ReportOptionError):
        render(ROWS, ["channel"], "xml")


def _result(models: tuple[str, ...], by: str = "channel") -> AttributionResult:
    period = Period(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC))
    result = AttributionResult(ReportRequest(models, by=by), period, conversions=3, revenue=900.0)
    for model in models:
        result.credits += [
            Credit(model, "email", "lead_gen", 2.0, 600.0),
            Credit(model, "podcast", "demand_gen", 1.0, 300.0),
        ]
    return result


def test_attribution_rows_for_one_model_and_side_by_side() -> None:
    result = _result(("linear",))
    result.spend = {"email": 500.0, "paid_search": 120.0}  # paid_search: spend that bought nothing
    rows, columns = attribution_rows(result)
    assert rows == [
        {"channel": "email", "category": "lead_gen", "conversions": 2.0, "share": 0.6667, "revenue": 600.0,
         "spend": 500.0, "cost_per_conversion": 250.0, "roas": 1.2},
        {"channel": "podcast", "category": "demand_gen", "conversions": 1.0, "share": 0.3333,
         "revenue": 300.0, "spend": 0.0, "cost_per_conversion": None, "roas": None},
        {"channel": "paid_search", "category": "lead_gen", "conversions": 0.0, "share": 0.0, "revenue": 0.0,
         "spend": 120.0, "cost_per_conversion": None, "roas": 0.0},
    ]  # fmt: skip
    assert [c.key for c in columns] == [
        "channel", "category", "conversions", "share", "revenue", "spend", "cost_per_conversion", "roas"
    ]  # fmt: skip
    side = _result(("first", "markov"), by="campaign")
    side.spend = {"podcast": 150.0}
    rows, columns = attribution_rows(side)
    assert rows == [
        {"campaign": "email", "spend": 0.0, "first": 2.0, "markov": 2.0, "cost_per_conversion_first": None,
         "roas_first": None, "cost_per_conversion_markov": None, "roas_markov": None},
        {"campaign": "podcast", "spend": 150.0, "first": 1.0, "markov": 1.0,
         "cost_per_conversion_first": 150.0, "roas_first": 2.0, "cost_per_conversion_markov": 150.0,
         "roas_markov": 2.0},
    ]  # fmt: skip
    assert [c.key for c in columns] == ["campaign", "spend", "first", "markov"]  # the terminal table
    _, wide = attribution_rows(side, wide=True)
    assert [c.key for c in wide][4:] == [
        "cost_per_conversion_first", "cost_per_conversion_markov", "roas_first", "roas_markov"
    ]  # fmt: skip


def _momentum_rows() -> list[MomentumRow]:
    weeks = [date(2024, 1, 1), date(2024, 1, 8), date(2024, 1, 15), date(2024, 1, 22)]
    series: list[float | None] = [1.0, None, 3.0, 4.0]
    return [MomentumRow(m, weeks, series, 7.0, 1.0, 6.0, trend(series), 2) for m in METRICS]


def test_html_has_one_svg_per_chart_and_nothing_external() -> None:
    result = _result(MODELS)
    page = render_html(
        HtmlInputs(
            result=result,
            channel_result=result,
            funnel=[("email", "lead", 4), ("email", "closed_won", 1), ("podcast", "lead", 2)],
            weekly=[(date(2024, 1, 1), "lead_gen", 2.0), (date(2024, 1, 8), "demand_gen", 1.0)],
            momentum=_momentum_rows(),
        )
    )
    assert page.count("<svg") == len(MODELS) + 3 + len(METRICS)  # a sparkline per momentum metric
    assert "last 2 weeks" in page and "+600.0 %" in page and "700.0%" in page  # win rate 7.0 as a ratio
    assert page.count("</svg>") == page.count("<svg")
    assert not re.search(r"https?://|<script|<link|<img|src=|url\(", page)
    assert "no data for this period" not in page
    assert "67%" in page  # email's share of credited conversions in the demand-gen vs lead-gen split
    assert "Spend and return" in page and "ROAS per model" not in page  # no spend: nothing to compare
    assert "no spend or credited pipeline in this period" in page  # no mix rows given
    mix_row = {"category": "lead_gen", "spend_share": 0.6, "pipeline_share": 0.3, "revenue_share": None,
               "sentence": "lead gen: 60 % of spend, 30 % of pipeline, n/a of revenue"}  # fmt: skip
    page = render_html(HtmlInputs(result=result, channel_result=result, mix=[mix_row]))
    assert "lead gen: 60 % of spend, 30 % of pipeline" in page and "60.0 %" in page and "n/a" in page
    result.spend = {"email": 300.0}
    page = render_html(HtmlInputs(result=result, channel_result=result))
    assert '<td class="n">300</td>' in page and "ROAS per model" in page
    assert '<td class="n">2.00</td>' in page  # email's ROAS: 600 revenue on 300 spend


def test_html_escapes_names() -> None:
    result = _result(("linear",))
    result.credits.append(Credit("linear", "<b>x</b>", "", 0.5, 0.0))
    page = render_html(HtmlInputs(result=result, channel_result=result))
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_since_parses_relative_and_absolute_periods() -> None:
    now = datetime(2024, 5, 31, 12, tzinfo=UTC)
    assert parse_since("30d", now) == Period(datetime(2024, 5, 1, 12, tzinfo=UTC), now)
    assert parse_since("2w", now).start == datetime(2024, 5, 17, 12, tzinfo=UTC)
    assert parse_since("2024-05-01", now).start == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_since("30d", now).previous() == Period(
        datetime(2024, 4, 1, 12, tzinfo=UTC), now.replace(day=1)
    )
    for bad in ("0d", "soon", "2024-06-01"):
        with pytest.raises(ReportOptionError):
            parse_since(bad, now)


def test_sparklines_leave_gaps_for_undefined_weeks() -> None:
    assert sparkline([0.0, None, 5.0, 10.0]) == "▁ ▄█"
    assert sparkline([None, None]) == "  " and sparkline([2.0, 2.0]) == "▄▄"
    line = svg.sparkline([1.0, 2.0, None, 4.0, 5.0], "x")
    assert line.count("<polyline") == 2 and "<circle" in line  # two runs around the gap, the latest dot
    assert "<polyline" not in svg.sparkline([None, 3.0], "x")


def test_last_complete_week_is_the_monday_of_the_week_before() -> None:
    assert last_complete_week(date(2026, 12, 3)) == date(2026, 11, 23)  # a Thursday
    assert last_complete_week(date(2026, 11, 30)) == date(2026, 11, 23)  # a Monday: last week ended Sunday
