"""The self-contained html attribution report: inline CSS and SVG, nothing fetched when opened."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from html import escape

from reports import svg
from reports.credits import AttributionResult
from reports.momentum import MomentumRow
from reports.queries import FUNNEL_STAGES

__all__ = ["HtmlInputs", "render_html"]

CATEGORIES: tuple[str, ...] = ("demand_gen", "lead_gen", "direct")

_CSS = """
*{box-sizing:border-box}body{margin:0;background:#f4f5f7;color:#1f2430;
font:14px/1.45 Inter,"Segoe UI",Helvetica,Arial,sans-serif}
header{background:#1f2a44;color:#fff;padding:28px 40px}header h1{margin:0 0 4px;font-size:24px}
header p{margin:0;color:#c5cbe0}main{padding:24px 40px;max-width:1280px}
.cards{display:flex;gap:16px;margin-bottom:20px;flex-wrap:wrap}
.card{background:#fff;border-radius:8px;padding:14px 18px;min-width:180px;box-shadow:0 1px 2px #0001}
.card b{display:block;font-size:22px}.card span{color:#666;font-size:12px;text-transform:uppercase}
section{background:#fff;border-radius:8px;padding:18px 22px;margin-bottom:20px;box-shadow:0 1px 2px #0001}
section h2{margin:0 0 4px;font-size:17px}section p.note{margin:0 0 12px;color:#666;font-size:12px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(370px,1fr));gap:10px 28px}
.grid h3{margin:8px 0 4px;font-size:13px;color:#444}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:5px 8px;border-bottom:1px solid #eceef2}
th{text-align:left;color:#555;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
footer{color:#888;font-size:12px;padding:0 40px 30px}
"""


@dataclass(slots=True)
class HtmlInputs:
    """Everything on the page; the CLI gathers it with ``reports.queries`` and ``reports.credits``."""

    result: AttributionResult
    channel_result: AttributionResult  # the same models by channel, for the category shares
    funnel: list[tuple[str, str, int]] = field(default_factory=list)
    weekly: list[tuple[date, str, float]] = field(default_factory=list)
    trend_model: str = "linear"
    momentum: list[MomentumRow] = field(default_factory=list)
    # self_reported_by_channel rows: channel, respondents, self_reported_share, first_touch_share, ...
    self_reported: list[dict[str, object]] = field(default_factory=list)
    mix: list[dict[str, object]] = field(default_factory=list)  # reports.mix.mix_rows by category
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def _model_bars(result: AttributionResult, order: Sequence[str]) -> str:
    noun = "campaign" if result.request.by == "campaign" else "channel"
    charts = []
    for model in result.request.models:
        credits = result.by_model(model)[:12]
        items = [(c.key, c.conversions, svg.color_for(c.key, order)) for c in credits]
        chart = svg.hbars(items, f"{model}: conversions credited per {noun}")
        charts.append(f"<div><h3>{escape(model)}</h3>{chart}</div>")
    return f'<div class="grid">{"".join(charts)}</div>'


def _category_shares(result: AttributionResult) -> str:
    rows = []
    for model in result.request.models:
        parts: dict[str, float] = defaultdict(float)
        for c in result.by_model(model):
            parts[c.category or "direct"] += c.conversions
        rows.append((model, dict(parts)))
    return svg.share_bars(rows, CATEGORIES, "demand-gen vs lead-gen share of credited conversions")


def _funnel(funnel: list[tuple[str, str, int]]) -> str:
    counts = {(channel, stage): n for channel, stage, n in funnel}
    channels = sorted({c for c, _, _ in funnel}, key=lambda c: (-counts.get((c, "closed_won"), 0), c))
    return svg.funnel_matrix(channels, FUNNEL_STAGES, counts, "accounts per stage by first-touch channel")


def _trend(weekly: list[tuple[date, str, float]]) -> str:
    weeks: dict[date, dict[str, float]] = defaultdict(dict)
    for week, category, value in weekly:
        weeks[week][category or "direct"] = weeks[week].get(category or "direct", 0.0) + value
    columns = [(f"{w:%d %b}", weeks[w]) for w in sorted(weeks)]
    return svg.column_stack(columns, CATEGORIES, "credited conversions per week by category")


def _table(result: AttributionResult) -> str:
    models = result.request.models
    values = {(c.model, c.key): c.conversions for c in result.credits}
    head = "".join(f'<th style="text-align:right">{escape(m)}</th>' for m in models)
    body = "".join(
        f"<tr><td>{escape(key)}</td>"
        + "".join(f'<td class="n">{values.get((m, key), 0.0):,.2f}</td>' for m in models)
        + "</tr>"
        for key in result.keys()
    )
    noun = "campaign" if result.request.by == "campaign" else "channel"
    return f"<table><tr><th>{noun}</th>{head}</tr>{body}</table>"


def _money(value: float | None, spec: str = ",.0f") -> str:
    return "–" if value is None else format(value, spec)


def _returns(result: AttributionResult, model: str) -> str:
    """Spend beside credit for one model, then ROAS for every model (keys with spend only)."""
    noun = "campaign" if result.request.by == "campaign" else "channel"
    head = "".join(
        f'<th style="text-align:right">{h}</th>'
        for h in ("spend", "credited conversions", "cost / conversion", "revenue", "ROAS")
    )
    body = "".join(
        f'<tr><td>{escape(r.key)}</td><td class="n">{_money(r.spend)}</td>'
        f'<td class="n">{r.conversions:,.2f}</td><td class="n">{_money(r.cost_per_conversion)}</td>'
        f'<td class="n">{_money(r.revenue)}</td><td class="n">{_money(r.roas, ",.2f")}</td></tr>'
        for r in result.returns(model)
    )
    first = f"<h3>{escape(model)}</h3><table><tr><th>{noun}</th>{head}</tr>{body}</table>"
    paid = sorted(result.spend, key=lambda k: (-result.spend[k], k))
    if len(result.request.models) < 2 or not paid:
        return first
    roas = {m: {r.key: r.roas for r in result.returns(m)} for m in result.request.models}
    model_head = "".join(f'<th style="text-align:right">{escape(m)}</th>' for m in result.request.models)
    rows = "".join(
        f"<tr><td>{escape(key)}</td>"
        + "".join(f'<td class="n">{_money(roas[m].get(key), ",.2f")}</td>' for m in result.request.models)
        + "</tr>"
        for key in paid
    )
    return f"{first}<h3>ROAS per model</h3><table><tr><th>{noun}</th>{model_head}</tr>{rows}</table>"


_TREND_COLORS = {"improving": "#2a9d8f", "worsening": "#e15759"}


def _momentum(rows: list[MomentumRow]) -> str:
    if not rows:
        return '<p class="note">no data for this period</p>'
    span = rows[0].compare_weeks
    body = []
    for r in rows:
        change = "–" if r.change is None else f"{r.change * 100:+.1f} %"
        color = _TREND_COLORS.get(r.trend.label, "#666")
        body.append(
            f"<tr><td>{escape(r.metric.label)}</td><td>{svg.sparkline(r.series, r.metric.label)}</td>"
            f'<td class="n">{r.metric.format(r.current)}</td><td class="n">{r.metric.format(r.previous)}</td>'
            f'<td class="n">{change}</td><td style="color:{color}">{escape(r.trend.label)}</td></tr>'
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in ("metric", "weekly", f"last {span} weeks", f"{span} weeks before", "change", "trend")
    )
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _share_bar(share: object, color: str) -> str:
    value = float(share) if isinstance(share, int | float) else 0.0
    width = max(0.0, min(1.0, value)) * 160
    return (
        f'<td class="n">{value * 100:.1f} %</td><td><div style="background:{color};height:10px;'
        f'width:{width:.0f}px"></div></td>'
    )


def _count(value: object) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _self_reported(rows: list[dict[str, object]]) -> str:
    """What respondents said beside first-touch credit, a bar for each share."""
    if not any(_count(r.get("respondents")) for r in rows):
        return '<p class="note">no "How did you hear about us?" answers in this period</p>'
    head = "".join(
        f"<th>{h}</th>" for h in ("channel", "respondents", "self-reported", "", "first-touch credit", "")
    )
    body = "".join(
        f'<tr><td>{escape(str(r.get("channel")))}</td><td class="n">{_count(r.get("respondents")):,}</td>'
        f"{_share_bar(r.get('self_reported_share'), '#4e79a7')}"
        f"{_share_bar(r.get('first_touch_share'), '#f28e2b')}</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _mix(rows: list[dict[str, object]]) -> str:
    """Spend vs pipeline vs revenue share per category, bars side by side, and the gaps in words."""
    if not rows:
        return '<p class="note">no spend or credited pipeline in this period</p>'

    def cell(share: object, color: str) -> str:
        return (
            _share_bar(share, color) if isinstance(share, int | float) else '<td class="n">n/a</td><td></td>'
        )

    head = "".join(
        f"<th>{h}</th>" for h in ("category", "spend", "", "pipeline", "", "closed-won revenue", "")
    )
    body = "".join(
        f"<tr><td>{escape(str(r['category']).replace('_', ' '))}</td>"
        f"{cell(r['spend_share'], '#a0a4ab')}{cell(r['pipeline_share'], '#2a9d8f')}"
        f"{cell(r['revenue_share'], '#3d5a98')}</tr>"
        for r in rows
    )
    words = "".join(f"<li>{escape(str(r['sentence']))}</li>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table><ul>{words}</ul>"


def _card(label: str, value: str) -> str:
    return f'<div class="card"><span>{escape(label)}</span><b>{escape(value)}</b></div>'


def render_html(inputs: HtmlInputs) -> str:
    """The whole report page as one string."""
    result = inputs.result
    request = result.request
    order = result.keys()
    first_model = "linear" if "linear" in request.models else request.models[0]
    top = result.by_model(first_model)
    cards = "".join(
        (
            _card(f"{request.stage.replace('_', ' ')} conversions", f"{result.conversions:,}"),
            _card(f"{request.stage.replace('_', ' ')} amount", f"{result.revenue:,.0f}"),
            _card(f"top {request.by} ({first_model})", top[0].key if top else "–"),
            _card("spend", f"{sum(result.spend.values()):,.0f}"),
            _card("models", str(len(request.models))),
        )
    )
    lookback = f"{request.lookback_days} days" if request.lookback_days else "stream defaults (90/30 days)"
    sections = (
        (
            "Mix: spend vs pipeline vs revenue",
            "Each category's share of the period's spend, of attributed pipeline (opportunity amounts) "
            f"and of closed-won revenue ({inputs.trend_model} model); n/a where the period has none.",
            _mix(inputs.mix),
        ),
        (
            "Momentum",
            "Weekly, to the last complete week; trend = Theil-Sen slope, named only when larger than the "
            "series' noise (costs improve as they fall).",
            _momentum(inputs.momentum),
        ),
        (
            "Self-reported vs first touch",
            f"People's first 'How did you hear about us?' answer in the period, mapped to a channel "
            f"(unknown: no keyword matched), beside each channel's share of first-touch credit for "
            f"{request.stage} conversions.",
            _self_reported(inputs.self_reported),
        ),
        (
            "Demand gen vs lead gen",
            "Share of credited conversions by channel category, per model.",
            _category_shares(inputs.channel_result),
        ),
        (
            "First touch → closed won",
            "Accounts reaching each stage in the period, by the channel of their first touch.",
            _funnel(inputs.funnel),
        ),
        (
            "Trend by week",
            f"Credited {request.stage} conversions per week ({inputs.trend_model} model), by category.",
            _trend(inputs.weekly),
        ),
        (
            "Credited conversions per model",
            f"Attribution of {request.stage} conversions, top 12 channels or campaigns per model.",
            _model_bars(result, order),
        ),
        (
            "Spend and return",
            f"Spend in the period beside what it was credited with ({first_model} model first); "
            "cost per credited conversion and ROAS (credited revenue ÷ spend), – where nothing was spent.",
            _returns(result, first_model),
        ),
        ("The numbers", "Credited conversions per model.", _table(result)),
    )
    body = "".join(
        f'<section><h2>{escape(h)}</h2><p class="note">{escape(note)}</p>{content}</section>'
        for h, note, content in sections
    )
    title = f"Attribution report — {request.stage.replace('_', ' ')}"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>{escape(result.period.label())} · by {escape(request.by)} · "
        f"lookback {escape(lookback)}</p></header>"
        f'<main><div class="cards">{cards}</div>{body}</main>'
        f"<footer>Generated by Touchstream on {inputs.generated_at:%Y-%m-%d %H:%M} UTC.</footer>"
        "</body></html>"
    )
