"""Identity stitching health: match rates for the gauges, and accounts suddenly gaining many devices.

One shared laptop, a role address or a reseller's domain can glue strangers onto one account; the first
sign is an account whose device count jumps. Devices count by the event time of the edge that resolved
them (``identity_edges``), so a backfill of old history does not page anyone, and an account is resolved
the way ``account_journeys`` resolves it (the device's person, the person's latest account).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from clickhouse_driver import Client

from alerts.detect import Observation, judge_above
from alerts.queries import epoch_ms, qualified, run_query
from alerts.rules import IdentityRule
from schemas import tables

__all__ = [
    "DEVICE_JUMP_KIND",
    "MatchRate",
    "device_jump_observations",
    "fetch_device_jumps",
    "fetch_match_rate",
]

DEVICE_JUMP_KIND = "identity_device_jump"


@dataclass(frozen=True, slots=True)
class MatchRate:
    touches: int
    resolved_touches: int
    conversions: int
    touched_conversions: int
    shared_devices: int = 0  # devices the shared-device guard links to nobody (schemas/guards.py)
    held_edges: int = 0  # links a guard held back (role address, free-mail domain) in the window

    @property
    def touch_rate(self) -> float | None:
        return self.resolved_touches / self.touches if self.touches else None

    @property
    def conversion_rate(self) -> float | None:
        return self.touched_conversions / self.conversions if self.conversions else None


def fetch_match_rate(client: Client, database: str, now: datetime, window: timedelta) -> MatchRate:
    """The ``identity_match_rate`` view over the days ``[now - window, now]``."""
    since, until = (now - window).date(), (now + timedelta(days=1)).date()
    rows = run_query(
        client,
        "SELECT touches, resolved_touches, conversions, touched_conversions, shared_devices, held_edges "
        f"FROM {qualified(database, 'identity_match_rate')}(since = %(since)s, until = %(until)s)",
        {"since": since, "until": until},
    )
    return MatchRate(*(int(v) for v in (rows[0] if rows else (0, 0, 0, 0, 0, 0))))


def fetch_device_jumps(
    client: Client, database: str, now: datetime, window: timedelta, at_least: int
) -> dict[str, int]:
    """Accounts that gained ``at_least`` devices in ``(now - window, now]``: account -> new devices."""
    edges = qualified(database, tables.IDENTITY_EDGES)
    accounts = qualified(database, "person_accounts")
    rows = run_query(
        client,
        f"""
        SELECT pa.resolved_account AS account, uniqExact(e.device) AS devices
        FROM (
            SELECT anonymous_id AS device, argMax(person_id, (updated_at, person_id)) AS person,
                   max(updated_at) AS linked_at
            FROM {edges}
            WHERE anonymous_id != '' AND person_id != ''
              AND toUnixTimestamp64Milli(updated_at) <= %(end_ms)s
            GROUP BY anonymous_id
            HAVING toUnixTimestamp64Milli(linked_at) > %(since_ms)s
        ) AS e
        INNER JOIN {accounts} AS pa ON pa.person_id = e.person
        GROUP BY account
        HAVING devices >= %(at_least)s
        ORDER BY devices DESC, account
        """,
        {"end_ms": epoch_ms(now), "since_ms": epoch_ms(now - window), "at_least": at_least},
    )
    return {str(account): int(n) for account, n in rows}


def device_jump_observations(
    jumps: dict[str, int], firing: Iterable[str], rule: IdentityRule, now: datetime
) -> list[Observation]:
    """One observation per jumping account, and a 0 for each firing one that no longer jumps."""
    counts = dict(jumps)
    for subject in firing:
        counts.setdefault(subject.removeprefix("account="), 0)
    return [
        Observation(
            DEVICE_JUMP_KIND,
            f"account={account}",
            now,
            float(n),
            float(rule.device_jump),
            judge_above(n, fire_above=rule.device_jump - 1, resolve_below=rule.device_jump // 2),
            f"account {account} gained {n:,} devices in {rule.window_hours:g} h (limit {rule.device_jump:,}):"
            " check `touchstream identity show " + account + "` for a shared device or role address",
            (("account", account),),
        )
        for account, n in sorted(counts.items())
    ]
