"""Identity health in the monitor: an account suddenly glued to many devices fires and resolves; old
history backfilled in one go does not page; the match-rate gauges read the identity_match_rate view."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from alert_support import Recorder, insert_touchpoints, touchpoint
from clickhouse_driver import Client

from alerts.identity import DEVICE_JUMP_KIND, fetch_device_jumps
from alerts.metrics import MonitorMetrics
from alerts.monitor import Monitor
from alerts.notifiers.base import Dispatcher
from alerts.rules import load_rules

pytestmark = pytest.mark.integration

NOW = datetime(2031, 3, 12, 14, 0, tzinfo=UTC)
COLUMNS = "anonymous_id, person_id, account_id, email, updated_at, event_id, source"


def link(client: Client, device: str, person: str, account: str, at: datetime) -> None:
    """The two identity rows an identify makes: device -> person, person -> account."""
    client.execute(
        f"INSERT INTO identities ({COLUMNS}) VALUES",
        [
            (device, person, account, person, at, f"e-{device}-{at:%s}", "identify"),
            ("", person, account, person, at, f"e-{device}-{at:%s}", "identify"),
        ],
    )


def seed(client: Client) -> None:
    # A role address on a reseller's domain identified on 60 devices within the last day.
    for i in range(60):
        link(client, f"shared-{i}", "info@glued.example", "glued.example", NOW - timedelta(hours=20 - i / 10))
    # A normal account: three people, one device each, this morning.
    for i in range(3):
        link(client, f"acme-{i}", f"p{i}@acme.example", "acme.example", NOW - timedelta(hours=5))
    # A backfill of old history, imported today but dated months ago: not a jump.
    for i in range(80):
        link(client, f"old-{i}", f"u{i}@old.example", "old.example", NOW - timedelta(days=120, hours=i))
    # A device that identified for acme 10 days ago and today for glued counts once, for glued.
    link(client, "mover", "x@acme.example", "acme.example", NOW - timedelta(days=10))
    link(client, "mover", "info@glued.example", "glued.example", NOW - timedelta(hours=1))


def test_only_accounts_gaining_devices_in_the_window_count(alerts_db: tuple[Client, str]) -> None:
    client, db = alerts_db
    seed(client)
    day = timedelta(hours=24)
    assert fetch_device_jumps(client, db, NOW, day, 1) == {"glued.example": 61, "acme.example": 3}
    assert fetch_device_jumps(client, db, NOW, day, 50) == {"glued.example": 61}
    # Seen from the day the history happened, the backfill is a jump then, not now.
    assert fetch_device_jumps(client, db, NOW - timedelta(days=119), timedelta(days=5), 50) == {
        "old.example": 80
    }


def test_device_jump_fires_once_then_resolves(alerts_db: tuple[Client, str]) -> None:
    client, db = alerts_db
    seed(client)
    rules = load_rules()
    recorder = Recorder()
    monitor = Monitor(client, db, rules, Dispatcher([recorder]))
    fired = [a for a in monitor.tick(NOW) if a.kind == DEVICE_JUMP_KIND]
    assert [(a.subject, a.state, a.value) for a in fired] == [("account=glued.example", "firing", 61.0)]
    assert "identity show glued.example" in fired[0].message
    assert [a for a in monitor.tick(NOW + timedelta(minutes=10)) if a.kind == DEVICE_JUMP_KIND] == []
    # A day later nothing new arrived: the count falls to 0 and, after resolve_for, it resolves.
    later = NOW + timedelta(hours=25)
    changed = []
    for minutes in range(0, 70, 5):
        changed.extend(
            a for a in monitor.tick(later + timedelta(minutes=minutes)) if a.kind == DEVICE_JUMP_KIND
        )
    assert [(a.subject, a.state) for a in changed] == [("account=glued.example", "resolved")]


def test_match_rate_gauges(alerts_db: tuple[Client, str]) -> None:
    client, db = alerts_db
    metrics = MonitorMetrics()
    monitor = Monitor(client, db, load_rules(), Dispatcher([Recorder()]), metrics=metrics)
    monitor.tick(NOW)

    def gauge(of: str) -> float:
        value = metrics.registry.get_sample_value("touchstream_identity_match_rate", {"of": of})
        assert value is not None
        return value

    assert math.isnan(gauge("touches"))  # nothing to count is not 0 %
    insert_touchpoints(
        client,
        [
            touchpoint(NOW - timedelta(days=2), source="web", account_id="acme.example"),
            touchpoint(NOW - timedelta(days=2), source="web", account_id="acme.example"),
            touchpoint(NOW - timedelta(days=2), source="web"),
            touchpoint(NOW - timedelta(days=60), source="web"),  # outside the 30-day window
        ],
    )
    monitor.tick(NOW + timedelta(minutes=10))
    assert gauge("touches") == pytest.approx(2 / 3)
    assert monitor.match_rate is not None and monitor.match_rate.touches == 3


def test_shared_devices_gauge(alerts_db: tuple[Client, str]) -> None:
    """A kiosk identified as four people within a day (guard default: more than 3 in 30 days) is counted."""
    client, db = alerts_db
    metrics = MonitorMetrics()
    monitor = Monitor(client, db, load_rules(), Dispatcher([Recorder()]), metrics=metrics)

    def guarded(what: str) -> float:
        value = metrics.registry.get_sample_value("touchstream_identity_guarded", {"what": what})
        assert value is not None
        return value

    monitor.tick(NOW)
    before = guarded("shared_devices")
    at = NOW - timedelta(days=1)
    client.execute(
        f"INSERT INTO {db}.identities (anonymous_id, person_id, account_id, updated_at) VALUES",
        [
            ("kiosk-gauge", f"visitor-{i}@kiosk.example", "kiosk.example", at + timedelta(hours=i))
            for i in range(4)
        ],
    )
    monitor.tick(NOW + timedelta(minutes=10))
    assert guarded("shared_devices") == before + 1
    assert monitor.match_rate is not None and monitor.match_rate.shared_devices == before + 1
