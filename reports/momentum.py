"""Momentum: weekly series of the CMO's metrics with a noise-aware trend and the change vs before.

Reads the ``momentum`` view once, in 7-day buckets: the series (the trend: Theil-Sen over the weeks,
:func:`attribution.trend.trend`) and, added up, the latest ``compare_weeks`` against the span before,
with ratios (CAC, win rate) recomputed from each span's sums rather than averaged over weeks. Weeks
are ISO weeks ending with the last complete one: a week still running would read as a drop.
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
    Metric("velocity_per_day", "pipeline velocity/day", money=True),
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
    Metric("dg_influenced_opportunities", "opps with demand gen"),
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


def _span(rows: list[dict[str, object]]) -> dict[str, float | None]:
    """The metrics of several buckets together: counts and sums added, ratios recomputed from them."""

    def total(key: str) -> float:
        return sum((_value(r, key) or 0.0) for r in rows)

    def ratio(top: float | None, bottom: float) -> float | None:
        return None if top is None or not bottom else top / bottom

    out: dict[str, float | None] = {
        key: total(key)
        for key in (
            "opportunities",
            "direct_visits",
            "branded_search",
            "accounts_engaged",
            "dg_influenced_opportunities",
        )
    }
    spend = total("spend") or None  # no spend: no cost per lead or CAC rather than 0
    out["win_rate"] = ratio(total("wins"), total("closed"))
    out["avg_deal"] = ratio(total("won_total"), total("wins"))
    out["cycle_days"] = ratio(total("cycle_days_total"), total("cycle_wins")) or None
    factors = (out["win_rate"], out["avg_deal"], out["cycle_days"])
    out["velocity_per_day"] = (
        None if None in factors else out["opportunities"] * factors[0] * factors[1] / factors[2]  # type: ignore[operator]
    )
    out["cost_per_lead"] = ratio(spend, total("leads"))
    out["cac"] = ratio(spend, total("customers"))
    mentions = total("brand_mentions") + total("competitor_mentions")
    out["share_of_voice"] = ratio(total("brand_mentions"), mentions)
    return out


def momentum(reader: Reader, weeks: int, today: date, compare_weeks: int = 4) -> list[MomentumRow]:
    """One row per metric over the ``weeks`` complete weeks before ``today``'s week (one query)."""
    if weeks < 2:
        raise ReportOptionError(f"--weeks must be at least 2, got {weeks}")
    if not 1 <= compare_weeks <= weeks // 2:
        raise ReportOptionError(
            f"--compare must be between 1 and half of --weeks ({weeks // 2}), got {compare_weeks}"
        )
    until = last_complete_week(today) + timedelta(days=7)
    weekly = _read(reader, until - timedelta(days=7 * weeks), until, 7)
    current, previous = _span(weekly[-compare_weeks:]), _span(weekly[-2 * compare_weeks : -compare_weeks])
    out = []
    for metric in METRICS:
        series = [_value(row, metric.key) for row in weekly]
        now, before = current[metric.key], previous[metric.key]
        out.append(
            MomentumRow(
                metric,
                [row["bucket"] for row in weekly],  # type: ignore[misc]
                series,
                now,
                before,
                period_change(now, before),
                trend(series, higher_is_better=metric.higher_is_better, window=weeks),
                compare_weeks,
            )
        )
    return out
