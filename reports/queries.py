"""Parameterised report queries against the contract tables; values are bound by clickhouse-driver.

Only the database name is put into the SQL text, because identifiers cannot be bound; it is checked
against a plain-identifier pattern first. Times are passed as epoch milliseconds (see ``period``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from clickhouse_driver import Client
from clickhouse_driver.errors import Error as ClickHouseError

from reports.errors import QueryFailedError, ReportOptionError
from reports.journeys import Conversion, JourneyTouch
from reports.period import Period
from schemas import tables

__all__ = ["FUNNEL_STAGES", "Reader"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
FUNNEL_STAGES: tuple[str, ...] = ("lead", "mql", "sql", "opportunity", "closed_won")
_MS = "fromUnixTimestamp64Milli(toInt64(%({name})s), 'UTC')"
_IN_PERIOD = f"{{col}} >= {_MS.format(name='start')} AND {{col}} < {_MS.format(name='end')}"


SPEND_DAY = "toDateTime(date, 'UTC')"  # a day's spend belongs to the period holding its midnight


def _in_period(column: str) -> str:
    return _IN_PERIOD.format(col=column)


class Reader:
    """Runs the report queries on one database through one clickhouse-driver client."""

    def __init__(self, client: Client, database: str) -> None:
        if not _IDENT.match(database):
            raise ReportOptionError(f"database name {database!r} is not a plain identifier")
        self.client = client
        self.database = database

    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """``sql`` with ``{db}`` set to the database and ``%(name)s`` bound from ``params``."""
        return self.rows_with_columns(sql, params)[0]

    def rows_with_columns(self, sql: str, params: dict[str, Any]) -> tuple[list[tuple[Any, ...]], list[str]]:
        """:meth:`rows` and the result's column names."""
        try:
            result, types = self.client.execute(
                sql.replace("{db}", self.database), params, with_column_types=True
            )
        except ClickHouseError as exc:
            message = str(exc).split("Stack trace:")[0].strip()
            raise QueryFailedError(f"report query failed: {message}", getattr(exc, "code", None)) from exc
        return list(result), [name for name, _ in types]

    @staticmethod
    def _span(period: Period) -> dict[str, Any]:
        return {"start": period.start_ms, "end": period.end_ms}

    def rule_credits(
        self, models: Sequence[str], stage: str, period: Period, by: str
    ) -> list[tuple[str, str, str, float, float]]:
        """(model, key, category, credited conversions, revenue) from ``attribution_credits``.

        FINAL keeps each key's latest revision; credit 0 marks a touch a later revision no longer
        credits (0007), so those rows are left out rather than shown as zero keys.
        """
        key = "if(utm_campaign = '', '(none)', utm_campaign)" if by == "campaign" else "channel"
        category = "''" if by == "campaign" else "any(channel_category)"
        sql = (
            f"SELECT model, {key} AS key, {category}, sum(credit), sum(revenue_credit) "
            f"FROM {{db}}.{tables.ATTRIBUTION_CREDITS} FINAL "
            f"WHERE stage = %(stage)s AND model IN %(models)s AND credit != 0 "
            f"AND {_in_period('conversion_ts')} "
            "GROUP BY model, key ORDER BY model, key"
        )
        params = {"stage": stage, "models": tuple(models), **self._span(period)}
        return [(m, k, c, float(cr), float(rv)) for m, k, c, cr, rv in self.rows(sql, params)]

    def weekly_credits(self, model: str, stage: str, period: Period) -> list[tuple[date, str, float]]:
        """(Monday of the week, channel category, credited conversions) for one rule-based model."""
        sql = (
            "SELECT toMonday(conversion_ts) AS week, channel_category, sum(credit) "
            f"FROM {{db}}.{tables.ATTRIBUTION_CREDITS} FINAL "
            f"WHERE stage = %(stage)s AND model = %(model)s AND credit != 0 "
            f"AND {_in_period('conversion_ts')} "
            "GROUP BY week, channel_category ORDER BY week, channel_category"
        )
        params = {"stage": stage, "model": model, **self._span(period)}
        return [(w, c, float(v)) for w, c, v in self.rows(sql, params)]

    def spend_by(self, by: str, period: Period) -> dict[str, float]:
        """Spend per channel (or per campaign, ``(none)`` without one) on the period's days.

        A day's spend belongs to the period holding its midnight, as in :meth:`kpi_values`.
        """
        key = "if(utm_campaign = '', '(none)', utm_campaign)" if by == "campaign" else "toString(channel)"
        sql = (
            f"SELECT {key} AS key, sum(cost) FROM {{db}}.{tables.SPEND} FINAL "
            f"WHERE {_in_period(SPEND_DAY)} GROUP BY key"
        )
        return {str(k): float(v) for k, v in self.rows(sql, self._span(period)) if v}

    def conversion_count(self, stage: str, period: Period) -> tuple[int, float]:
        """Conversions of ``stage`` in the period and their total amount."""
        sql = (
            f"SELECT count(), sum(amount) FROM {{db}}.{tables.CONVERSIONS} FINAL "
            f"WHERE stage = %(stage)s AND {_in_period('ts')}"
        )
        ((count, amount),) = self.rows(sql, {"stage": stage, **self._span(period)})
        return int(count), float(amount)

    def touches(self, period: Period) -> list[JourneyTouch]:
        """Identified accounts' journey touches in the period (``in_journey``: those the stream credits),
        identities resolved by ``account_journeys``."""
        sql = (
            "SELECT account_id, toUnixTimestamp64Milli(ts), event_id, channel, utm_campaign, "
            f"channel_category FROM {{db}}.{tables.ACCOUNT_JOURNEYS} "
            f"WHERE account_id != '' AND in_journey AND {_in_period('ts')}"
        )
        return [
            JourneyTouch(account, ms / 1000.0, event_id, channel, campaign, category)
            for account, ms, event_id, channel, campaign, category in self.rows(sql, self._span(period))
        ]

    def conversions(self, stage: str, period: Period) -> list[Conversion]:
        sql = (
            f"SELECT conversion_id, account_id, toUnixTimestamp64Milli(ts), amount "
            f"FROM {{db}}.{tables.CONVERSIONS} FINAL WHERE stage = %(stage)s AND {_in_period('ts')}"
        )
        return [
            Conversion(cid, account, ms / 1000.0, float(amount))
            for cid, account, ms, amount in self.rows(sql, {"stage": stage, **self._span(period)})
        ]

    def first_stage_times(self, stage: str, before: Period) -> dict[str, float]:
        """Per account, the epoch seconds of its first conversion of ``stage`` before the period ends."""
        sql = (
            f"SELECT account_id, toUnixTimestamp64Milli(min(ts)) FROM {{db}}.{tables.CONVERSIONS} FINAL "
            f"WHERE stage = %(stage)s AND account_id != '' AND ts < {_MS.format(name='end')} "
            "GROUP BY account_id"
        )
        return {
            account: ms / 1000.0 for account, ms in self.rows(sql, {"stage": stage, "end": before.end_ms})
        }

    def funnel(self, period: Period) -> list[tuple[str, str, int]]:
        """(first-touch channel, stage, accounts reaching the stage in the period)."""
        sql = (
            "WITH first_touch AS ("
            "  SELECT account_id, argMin(channel, (ts, event_id)) AS first_channel "
            f"  FROM {{db}}.{tables.ACCOUNT_JOURNEYS} "
            f"  WHERE account_id != '' AND ts < {_MS.format(name='end')} GROUP BY account_id) "
            "SELECT f.first_channel, c.stage, uniqExact(c.account_id) "
            f"FROM {{db}}.{tables.CONVERSIONS} AS c FINAL "
            "INNER JOIN first_touch AS f ON f.account_id = c.account_id "
            f"WHERE c.stage IN %(stages)s AND {_in_period('c.ts')} "
            "GROUP BY f.first_channel, c.stage ORDER BY f.first_channel, c.stage"
        )
        params = {"stages": FUNNEL_STAGES, **self._span(period)}
        return [(channel, stage, int(n)) for channel, stage, n in self.rows(sql, params)]

    def kpi_values(self, period: Period) -> dict[str, float]:
        """Raw KPI inputs for one period: touch, session, stage, spend and time-to-convert figures."""
        span = self._span(period)
        touch_sql = (
            "SELECT countIf(type = 'page_view'), uniqExactIf(anonymous_id, type = 'page_view'), "
            "countIf(type = 'engagement' AND engagement_kind = 'social'), "
            "countIf(type = 'engagement' AND engagement_kind = 'podcast'), "
            "countIf(type = 'engagement' AND engagement_kind = 'video'), "
            "countIf(type = 'engagement' AND engagement_kind IN ('event', 'webinar')), "
            "countIf(type = 'mention'), countIf(type = 'page_view' AND channel = 'direct'), "
            "countIf(is_branded_search) "
            f"FROM {{db}}.{tables.TOUCHPOINTS} FINAL WHERE NOT is_bot AND {_in_period('ts')}"
        )
        names = (
            "page_views",
            "visitors",
            "social",
            "podcast",
            "video",
            "events",
            "mentions",
            "direct",
            "branded",
        )
        values: dict[str, float] = dict(zip(names, map(float, self.rows(touch_sql, span)[0]), strict=True))
        # A session here is a visitor-day: the contract has no session id, and a day is what analysts
        # can reproduce in SQL. Engaged: two or more page views, or any engagement or form.
        session_sql = (
            "SELECT count(), countIf(views >= 2 OR actions > 0) FROM ("
            "  SELECT anonymous_id, toDate(ts) AS day, countIf(type = 'page_view') AS views, "
            "         countIf(type IN ('engagement', 'form_submit')) AS actions "
            f"  FROM {{db}}.{tables.TOUCHPOINTS} FINAL "
            f"  WHERE NOT is_bot AND anonymous_id != '' AND {_in_period('ts')} GROUP BY anonymous_id, day)"
        )
        ((sessions, engaged),) = self.rows(session_sql, span)
        values["sessions"], values["engaged_sessions"] = float(sessions), float(engaged)
        stage_sql = (
            f"SELECT stage, count(), sum(amount) FROM {{db}}.{tables.CONVERSIONS} FINAL "
            f"WHERE {_in_period('ts')} GROUP BY stage"
        )
        for stage in FUNNEL_STAGES:
            values[stage] = 0.0
        for stage, count, amount in self.rows(stage_sql, span):
            values[stage] = float(count)
            if stage == "closed_won":
                values["won_amount"] = float(amount)
        spend_sql = f"SELECT sum(cost) FROM {{db}}.{tables.SPEND} FINAL WHERE {_in_period(SPEND_DAY)}"
        values["spend"] = float(self.rows(spend_sql, span)[0][0])
        convert_sql = (
            "WITH first_touch AS ("
            f"  SELECT account_id, min(ts) AS first_ts FROM {{db}}.{tables.ACCOUNT_JOURNEYS} "
            "  WHERE account_id != '' GROUP BY account_id) "
            "SELECT count(), avg(dateDiff('millisecond', f.first_ts, c.ts)) / 86400000 "
            f"FROM {{db}}.{tables.CONVERSIONS} AS c FINAL "
            "INNER JOIN first_touch AS f ON f.account_id = c.account_id "
            f"WHERE c.stage = 'closed_won' AND f.first_ts <= c.ts AND {_in_period('c.ts')}"
        )
        ((converted, days),) = self.rows(convert_sql, span)
        values["days_to_close"] = float(days) if converted else float("nan")
        values.update(self._match_rate(span))
        return values

    def _match_rate(self, span: dict[str, Any]) -> dict[str, float]:
        """The identity_match_rate view's counts (sinks/views/identity_match_rate.sql) over a ms span."""
        touch_sql = (
            f"SELECT count(), countIf(account_id != '') FROM {{db}}.{tables.ACCOUNT_JOURNEYS} "
            "WHERE in_journey AND (anonymous_id != '' OR person_id != '' OR account_id != '') "
            f"AND {_in_period('ts')}"
        )
        ((touches, resolved),) = self.rows(touch_sql, span)
        conversion_sql = (
            "SELECT count(), countIf(touched) FROM ("
            "  SELECT stage, conversion_id, countIf(event_id != '') > 0 AS touched "
            f"  FROM {{db}}.{tables.ATTRIBUTION_CREDITS} FINAL "
            f"  WHERE model = 'linear' AND credit != 0 AND {_in_period('conversion_ts')} "
            "  GROUP BY stage, conversion_id)"
        )
        ((conversions, touched),) = self.rows(conversion_sql, span)
        # The guards at work (identity_match_rate's shared_devices / held_edges, docs/identity.md).
        shared_sql = (
            f"SELECT count() FROM {{db}}.{tables.SHARED_DEVICES} "
            f"WHERE first_at < {_MS.format(name='end')} AND last_at >= {_MS.format(name='start')}"
        )
        ((shared,),) = self.rows(shared_sql, span)
        held_sql = (
            f"SELECT count() FROM {{db}}.{tables.IDENTITY_EDGES} FINAL "
            f"WHERE held != '' AND {_in_period('updated_at')}"
        )
        ((held,),) = self.rows(held_sql, span)
        return {
            "shared_devices": float(shared),
            "held_edges": float(held),
            "touches": float(touches),
            "resolved_touches": float(resolved),
            "credited_conversions": float(conversions),
            "touched_conversions": float(touched),
        }
