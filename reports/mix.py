"""Mix rows for ``touchstream mix`` and the html report: the ``marketing_mix*`` views, in words.

The views give spend, attributed pipeline and closed-won revenue per category or channel for a model
and period; ``attribution.mix`` turns them into shares and a sentence per row. A day belongs to the
period holding its midnight (as spend does in ``reports.queries``), so the views' [since, until) dates
are the period's ends rounded up to a day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from attribution import RULE_BASED_MODELS
from attribution.mix import MixInput, mix
from reports.errors import ReportOptionError
from reports.period import Period
from reports.queries import Reader

__all__ = ["BY", "mix_rows", "view_dates"]

BY: tuple[str, ...] = ("category", "channel")


def _day_up(moment: datetime) -> date:
    day = moment.date()
    return day if moment.timetz().replace(tzinfo=None) == time() else day + timedelta(days=1)


def view_dates(period: Period) -> tuple[date, date]:
    """The [since, until) days whose midnight lies in the period."""
    return _day_up(period.start), _day_up(period.end)


def label(group: str) -> str:
    return group.replace("_", " ")


def mix_rows(reader: Reader, model: str, by: str, period: Period) -> list[dict[str, object]]:
    """One dict per category (or channel): raw spend / pipeline / revenue, the three shares, a sentence."""
    if model not in RULE_BASED_MODELS:
        raise ReportOptionError(f"--model must be one of {', '.join(RULE_BASED_MODELS)}, got {model!r}")
    if by not in BY:
        raise ReportOptionError(f"--by must be category or channel, got {by!r}")
    since, until = view_dates(period)
    view, keys = (
        ("marketing_mix", "category")
        if by == "category"
        else ("marketing_mix_by_channel", "channel, category")
    )
    sql = (
        f"SELECT {keys}, spend, pipeline, revenue "
        f"FROM {{db}}.{view}(model = %(model)s, since = %(since)s, until = %(until)s)"
    )
    found = reader.rows(sql, {"model": model, "since": since, "until": until})
    raw = {str(r[0]): (str(r[-4]), float(r[-3]), float(r[-2]), float(r[-1])) for r in found}
    shares = mix([MixInput(label(key), s, p, v) for key, (_, s, p, v) in raw.items()])
    by_label = {label(key): key for key in raw}
    out: list[dict[str, object]] = []
    for row in shares:
        key = by_label[row.group]
        category, spend, pipeline, revenue = raw[key]
        head: dict[str, object] = (
            {"category": key} if by == "category" else {"channel": key, "category": category}
        )
        out.append(
            {
                **head,
                "spend": spend,
                "spend_share": row.spend_share,
                "pipeline": pipeline,
                "pipeline_share": row.pipeline_share,
                "revenue": revenue,
                "revenue_share": row.revenue_share,
                "sentence": row.sentence,
            }
        )
    return out
