"""Read pipeline results back from ClickHouse for the dashboard and the end-to-end test."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from clickhouse_driver import Client

from schemas import tables

__all__ = ["NON_TOUCH_TYPES", "journeys_from_clickhouse", "table_counts"]

# Rows of these types are not marketing touches a buyer had (CRM, spend, identity, brand chatter).
NON_TOUCH_TYPES = ("identify", "crm_stage", "spend", "mention")
COUNTED_TABLES = (
    tables.TOUCHPOINTS,
    tables.IDENTITIES,
    tables.CONVERSIONS,
    tables.ATTRIBUTION_CREDITS,
    tables.SPEND,
    tables.ALERTS,
    tables.PRODUCT_EVENTS,
)


def table_counts(client: Client, database: str) -> dict[str, int]:
    """Row count per analyst table (raw rows; duplicates collapse under FINAL)."""
    counts = {}
    for table in COUNTED_TABLES:
        rows: list[tuple[Any, ...]] = client.execute(f"SELECT count() FROM `{database}`.`{table}`")
        counts[table] = int(rows[0][0])
    return counts


def journeys_from_clickhouse(
    client: Client, database: str, stage: str = "mql"
) -> tuple[list[tuple[str, ...]], list[int]]:
    """Per account: channels of its touches before its first ``stage`` conversion, and converted (0/1).

    Built from ``account_journeys`` (identities resolved at query time) and ``conversions``, the
    input ``attribution.markov.markov`` and ``attribution.shapley.shapley`` take.
    """
    first: dict[str, datetime] = dict(
        client.execute(
            f"SELECT account_id, min(ts) FROM `{database}`.`{tables.CONVERSIONS}` FINAL "
            "WHERE stage = %(stage)s AND account_id != '' GROUP BY account_id",
            {"stage": stage},
        )
    )
    paths: dict[str, list[str]] = defaultdict(list)
    rows = client.execute(
        f"SELECT account_id, ts, channel FROM `{database}`.`{tables.ACCOUNT_JOURNEYS}` "
        "WHERE account_id != '' AND type NOT IN %(skip)s ORDER BY account_id, ts, event_id",
        {"skip": NON_TOUCH_TYPES},
    )
    for account, ts, channel in rows:
        cut = first.get(account)
        if cut is None or ts < cut:
            paths[account].append(channel)
    accounts = sorted(paths)
    return [tuple(paths[a]) for a in accounts], [int(a in first) for a in accounts]
