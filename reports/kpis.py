"""Demand-gen and lead-gen KPI tables for a period, each beside the previous period of equal length."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from reports.period import Period
from reports.queries import Reader

__all__ = ["KPIS", "Kpi", "kpi_rows"]

Values = dict[str, float]


def _ratio(numerator: str, denominator: str) -> Callable[[Values], float]:
    def compute(v: Values) -> float:
        return v[numerator] / v[denominator] if v[denominator] else math.nan

    return compute


def _raw(name: str) -> Callable[[Values], float]:
    return lambda v: v[name]


@dataclass(frozen=True, slots=True)
class Kpi:
    group: str  # demand_gen / lead_gen / identity
    name: str
    compute: Callable[[Values], float]
    is_count: bool = True  # printed as an integer


KPIS: tuple[Kpi, ...] = (
    Kpi("demand_gen", "website traffic (page views)", _raw("page_views")),
    Kpi("demand_gen", "unique visitors", _raw("visitors")),
    Kpi("demand_gen", "engaged sessions (visitor-days)", _raw("engaged_sessions")),
    Kpi("demand_gen", "engaged session rate", _ratio("engaged_sessions", "sessions"), is_count=False),
    Kpi("demand_gen", "social engagements", _raw("social")),
    Kpi("demand_gen", "podcast engagements", _raw("podcast")),
    Kpi("demand_gen", "video engagements", _raw("video")),
    Kpi("demand_gen", "event & webinar attendance", _raw("events")),
    Kpi("demand_gen", "brand mentions", _raw("mentions")),
    Kpi("demand_gen", "direct traffic (page views)", _raw("direct")),
    Kpi("demand_gen", "branded search touches", _raw("branded")),
    Kpi("lead_gen", "leads", _raw("lead")),
    Kpi("lead_gen", "MQLs", _raw("mql")),
    Kpi("lead_gen", "SQLs", _raw("sql")),
    Kpi("lead_gen", "opportunities", _raw("opportunity")),
    Kpi("lead_gen", "closed won", _raw("closed_won")),
    Kpi("lead_gen", "lead → MQL rate", _ratio("mql", "lead"), is_count=False),
    Kpi("lead_gen", "MQL → SQL rate", _ratio("sql", "mql"), is_count=False),
    Kpi("lead_gen", "spend", _raw("spend"), is_count=False),
    Kpi("lead_gen", "cost per lead", _ratio("spend", "lead"), is_count=False),
    Kpi("lead_gen", "CAC (spend / closed won)", _ratio("spend", "closed_won"), is_count=False),
    Kpi("lead_gen", "days first touch → closed won", _raw("days_to_close"), is_count=False),
    # identity_match_rate: how much identity stitching ties to accounts (docs/identity.md)
    Kpi("identity", "touches resolved to an account", _ratio("resolved_touches", "touches"), is_count=False),
    Kpi(
        "identity",
        "conversions with a touch in their window",
        _ratio("touched_conversions", "credited_conversions"),
        is_count=False,
    ),
    # The identity guards at work (docs/identity.md "Guards"): shared devices, links held back.
    Kpi("identity", "shared devices", _raw("shared_devices")),
    Kpi("identity", "identity links held back", _raw("held_edges")),
)


def _value(kpi: Kpi, values: Values) -> float | int | None:
    value = kpi.compute(values)
    if math.isnan(value):
        return None  # undefined (e.g. no leads to divide by), shown as "–" and null in JSON
    return int(value) if kpi.is_count else round(value, 4)


def kpi_rows(reader: Reader, period: Period) -> list[dict[str, object]]:
    """One row per KPI: group, kpi, current, previous, change (fraction; None when not comparable)."""
    now, before = reader.kpi_values(period), reader.kpi_values(period.previous())
    rows: list[dict[str, object]] = []
    for kpi in KPIS:
        current, previous = _value(kpi, now), _value(kpi, before)
        change = None
        if current is not None and previous:
            change = round((current - previous) / previous, 4)
        rows.append(
            {"group": kpi.group, "kpi": kpi.name, "current": current, "previous": previous, "change": change}
        )
    return rows
