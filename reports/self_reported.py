"""Self-reported vs first touch: the ``self_reported_by_channel`` view for a period and stage."""

from __future__ import annotations

from datetime import timedelta

from reports.errors import ReportOptionError
from reports.period import Period
from reports.queries import FUNNEL_STAGES, Reader

__all__ = ["self_reported_rows"]

_SQL = "SELECT * FROM {db}.self_reported_by_channel(stage = %(stage)s, since = %(since)s, until = %(until)s)"


def self_reported_rows(reader: Reader, period: Period, stage: str = "lead") -> list[dict[str, object]]:
    """One dict per channel: respondents, self_reported_share, first_touch_conversions, first_touch_share.

    The view works on whole days: the period's first day through the day it ends (today, for ``30d``).
    """
    if stage not in FUNNEL_STAGES:
        raise ReportOptionError(f"--stage must be one of {', '.join(FUNNEL_STAGES)}, got {stage!r}")
    since, until = period.start.date(), period.end.date() + timedelta(days=1)
    rows, columns = reader.rows_with_columns(_SQL, {"stage": stage, "since": since, "until": until})
    return [dict(zip(columns, row, strict=True)) for row in rows]
