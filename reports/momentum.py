"""Momentum: weekly series of the CMO's metrics with a noise-aware trend and the change vs before.

Reads the ``momentum`` view twice: in 7-day buckets for the series (the trend: Theil-Sen over the
weeks, :func:`attribution.trend.trend`) and in ``compare_weeks``-long buckets for the change of the
latest such span vs the one before, so ratios (CAC, win rate) are recomputed from the span's sums
rather than averaged over weeks. Weeks are ISO weeks ending with the last complete one: a week still
running would read as a drop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from attribution.trend import Trend, period_change, trend
from reports.errors import ReportOptionError
from reports.queries import Reader

__all__ = ["METRICS", "Metric", "MomentumRow", "last_complete_week", "momentum"]


@dataclass(frozen=True, slots=True)
class Metric:
    key: str  # column of the momentum view
    label: str
    higher_is_better: bool = True
    money: bool = False
    ratio: bool = False  # shown as a percentage

    def format(self, value: float | None) -> str:
        """The value as a reader wants it: a percentage, whole money, or one decimal for small counts."""
        if value is None:
            return "–"
        if self.ratio:
            return f"{value:.1%}"
        return f"{value:,.0f}" if self.money or abs(value) >= 100 else f"{value:,.1f}"


METRICS: tuple[Metric, ...] = (
    Metric("velocity_per_day", "pipeline velocity / day", money=True),
    Metric("opportunities", "opportunities"),
    Metric("win_rate", "win rate", ratio=True),
    Metric("avg_deal", "average deal", money=True),
    Metric("cycle_days", "sales cycle (days)", higher_is_better=False),
    Metric("cac", "CAC", higher_is_better=False, money=True),
    Metric("cost_per_lead", "cost per lead", higher_is_better=False, money=True),
    Metric("direct_visits", "direct traffic"),
    Metric("branded_search", "branded search"),
    Metric("share_of_voice", "share of voice", ratio=True),
    Metric("accounts_engaged", "new accounts engaged"),
    Metric("dg_influenced_opportunities", "opps influenced by demand gen"),
)


@dataclass(frozen=True, slots=True)
class MomentumRow:
    metric: Metric
    weeks: list[date]
    series: list[float | None]  # one value per week, oldest first; None = undefined that week
    current: float | None  # the latest ``compare_weeks`` span
    previous: float | None  # the span before it
    change: float | None  # relative: 0.25 = +25 %
    trend: Trend
    compare_weeks: int = 4  # length of the current and previous spans


def last_complete_week(today: date) -> date:
    """Monday of the last ISO week that has ended by ``today``."""
    return today - timedelta(days=today.weekday() + 7)


def _read(reader: Reader, since: date, until: date, bucket_days: int) -> list[dict[str, object]]:
    sql = (
        "SELECT * FROM {db}.momentum(since = %(since)s, until = %(until)s, bucket_days = %(days)s) "
        "ORDER BY bucket"
    )
    rows, columns = reader.rows_with_columns(sql, {"since": since, "until": until, "days": bucket_days})
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _value(row: dict[str, object], key: str) -> float | None:
    value = row.get(key)
    return None if value is None else float(value)  # type: ignore[arg-type]


def momentum(reader: Reader, weeks: int, today: date, compare_weeks: int = 4) -> list[MomentumRow]:
    """One row per metric over the ``weeks`` complete weeks before ``today``'s week."""
    if weeks < 2:
        raise ReportOptionError(f"--weeks must be at least 2, got {weeks}")
    if not 1 <= compare_weeks <= weeks // 2:
        raise ReportOptionError(
            f"--compare must be between 1 and half of --weeks ({weeks // 2}), got {compare_weeks}"
        )
    until = last_complete_week(today) + timedelta(days=7)
    since = until - timedelta(days=7 * weeks)
    weekly = _read(reader, since, until, 7)
    span_start = until - timedelta(days=14 * compare_weeks)
    spans = _read(reader, span_start, until, 7 * compare_weeks)
    out = []
    for metric in METRICS:
        series = [_value(row, metric.key) for row in weekly]
        previous, current = (_value(row, metric.key) for row in spans)
        out.append(
            MomentumRow(
                metric,
                [row["bucket"] for row in weekly],  # type: ignore[misc]
                series,
                current,
                previous,
                period_change(current, previous),
                trend(series, higher_is_better=metric.higher_is_better, window=weeks),
                compare_weeks,
            )
        )
    return out
