"""The monitor's ClickHouse reads: opportunities with first touch, intake windows, open alerts.

Values are bound by clickhouse-driver; times travel as epoch milliseconds because the driver renders
``datetime`` parameters to whole seconds. Only the database name is spliced in, after validation,
since identifiers cannot be bound.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from clickhouse_driver import Client
from clickhouse_driver.errors import Error as ClickHouseError

from alerts.errors import AlertQueryError
from alerts.velocity import Opportunity
from schemas import tables

__all__ = [
    "epoch_ms",
    "fetch_firing",
    "fetch_intake_windows",
    "fetch_opportunities",
    "qualified",
    "run_query",
]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WEEK_MS = 7 * 86_400_000
OPPORTUNITY_STAGES = ("opportunity", "closed_won", "closed_lost")
CLOSED_STAGES = ("closed_won", "closed_lost")
# Events may reach ClickHouse late (offline SDK queues, backfills); intake scans touchpoints whose
# event time is at most this much older than the oldest window, which bounds the partition scan.
_LATE_ARRIVAL = timedelta(days=7)


def qualified(database: str, table: str) -> str:
    if not _IDENT.match(database):
        raise AlertQueryError(f"unusable ClickHouse database name {database!r}")
    return f"`{database}`.`{table}`"


def epoch_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def run_query(client: Client, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    try:
        return list(client.execute(sql, params))
    except (ClickHouseError, OSError, EOFError) as exc:
        raise AlertQueryError(f"monitor query failed: {exc}") from exc


def fetch_opportunities(client: Client, database: str, end: datetime, since: datetime) -> list[Opportunity]:
    """Opportunities with activity in ``(since, end]``, as of ``end``, with first-touch channel."""
    conversions = qualified(database, tables.CONVERSIONS)
    journeys = qualified(database, tables.ACCOUNT_JOURNEYS)
    # An opportunity is keyed by opportunity_id; CRMs that send none get one per account.
    sql = f"""
        WITH opps AS (
            SELECT
                if(opportunity_id != '', opportunity_id, concat('account:', account_id)) AS opp,
                argMin(account_id, ts) AS account,
                min(ts) AS opened_at,
                countIf(stage IN %(closed)s) > 0 AS is_closed,
                minIf(ts, stage IN %(closed)s) AS closed_at,
                countIf(stage = 'closed_won') > 0 AS won,
                argMaxIf(amount, ts, amount > 0) AS deal_amount
            FROM {conversions} FINAL
            WHERE stage IN %(stages)s AND toUnixTimestamp64Milli(ts) <= %(end_ms)s
            GROUP BY opp
            HAVING toUnixTimestamp64Milli(max(ts)) > %(since_ms)s
        )
        SELECT o.opp, o.opened_at, o.is_closed, o.closed_at, o.won, o.deal_amount, f.channel, f.category
        FROM opps AS o
        LEFT JOIN (
            SELECT account_id,
                   argMin(channel, (ts, event_id)) AS channel,
                   argMin(channel_category, (ts, event_id)) AS category
            FROM {journeys}
            WHERE account_id IN (SELECT account FROM opps) AND toUnixTimestamp64Milli(ts) <= %(end_ms)s
            GROUP BY account_id
        ) AS f ON f.account_id = o.account
    """
    params = {
        "stages": OPPORTUNITY_STAGES,
        "closed": CLOSED_STAGES,
        "end_ms": epoch_ms(end),
        "since_ms": epoch_ms(since),
    }
    return [
        Opportunity(
            key=opp,
            opened_at=_utc(opened),
            closed_at=_utc(closed_at) if is_closed else None,
            won=bool(won),
            amount=float(amount),
            channel=channel or "",
            category=category or "",
        )
        for opp, opened, is_closed, closed_at, won, amount, channel, category in run_query(
            client, sql, params
        )
    ]


def fetch_intake_windows(
    client: Client,
    database: str,
    end: datetime,
    window: timedelta,
    weeks: int,
    dimensions: Sequence[str],
) -> dict[tuple[str, str], list[int]]:
    """Events received in ``(end - window, end]`` and the same slot 1..``weeks`` weeks earlier.

    Returns ``{(dimension, value): [count_now, count_1_week_ago, ...]}``; a key seen in any of the
    windows gets zeros for the others, which is how a silent source shows up.
    """
    touchpoints = qualified(database, tables.TOUCHPOINTS)
    oldest = end - timedelta(weeks=weeks) - window
    # age = how long before `end` an event arrived; it falls in week k's window when
    # k = age // week and age % week < window. One scan, no per-week subqueries.
    sql = f"""
        SELECT dv.1 AS dim, dv.2 AS val, intDiv(age, %(week_ms)s) AS week, count() AS n
        FROM (
            SELECT source, type, channel,
                   %(end_ms)s - toUnixTimestamp64Milli(
                       if(toUnixTimestamp64Milli(received_at) > 0, received_at, ts)) AS age
            FROM {touchpoints} FINAL
            WHERE toDate(ts) >= toDate(fromUnixTimestamp64Milli(%(scan_from_ms)s))
        )
        ARRAY JOIN [('source', source), ('type', type), ('channel', channel)] AS dv
        WHERE age >= 0 AND age < %(span_ms)s AND modulo(age, %(week_ms)s) < %(window_ms)s
              AND dv.1 IN %(dims)s AND dv.2 != ''
        GROUP BY dim, val, week
    """
    params = {
        "week_ms": _WEEK_MS,
        "end_ms": epoch_ms(end),
        "scan_from_ms": epoch_ms(oldest - _LATE_ARRIVAL),
        "span_ms": (weeks + 1) * _WEEK_MS,
        "window_ms": int(window.total_seconds() * 1000),
        "dims": tuple(dimensions),
    }
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * (weeks + 1))
    for dim, val, week, n in run_query(client, sql, params):
        counts[(str(dim), str(val))][int(week)] = int(n)
    return dict(counts)


def fetch_firing(client: Client, database: str) -> list[tuple[str, str, datetime]]:
    """(kind, subject, fired_at) of every alert whose latest row is still ``firing``."""
    alerts = qualified(database, tables.ALERTS)
    sql = f"""
        SELECT kind, subject, maxIf(ts, state = 'firing') AS fired_at
        FROM {alerts} FINAL
        GROUP BY kind, subject
        HAVING argMax(state, ts) = 'firing'
    """
    return [(str(k), str(s), _utc(f)) for k, s, f in run_query(client, sql, {})]
