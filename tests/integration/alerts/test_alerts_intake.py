"""Intake drops against the same hour of week: a silent source fires in time, quiet hours don't."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alert_support import Recorder, insert_touchpoints, touchpoint
from clickhouse_driver import Client

from alerts.detect import Alert
from alerts.monitor import Monitor
from alerts.notifiers.base import Dispatcher
from alerts.rules import Rules, load_rules

pytestmark = pytest.mark.integration

NOW = datetime(2031, 3, 12, 14, 0, tzinfo=UTC)  # a Wednesday afternoon
NIGHT = datetime(2031, 3, 12, 3, 0, tzinfo=UTC)  # the same Wednesday, 03:00
SUNDAY = datetime(2031, 3, 16, 15, 0, tzinfo=UTC)
HISTORY_START = NOW - timedelta(weeks=5, days=3)


def per_minute(at: datetime, busy: float) -> float:
    """A B2B week: busy on weekday working hours, a trickle at night and at weekends."""
    return busy if at.weekday() < 5 and 9 <= at.hour < 18 else 0.3


def seed(
    client: Client,
    source: str,
    busy: float,
    end: datetime,
    silent: tuple[tuple[datetime, datetime], ...] = (),
) -> None:
    rows = []
    at, carry = HISTORY_START, 0.0
    while at < end:
        carry += per_minute(at, busy)
        n = int(carry)
        carry -= n
        if not any(a <= at < b for a, b in silent):
            rows.extend(
                touchpoint(at + timedelta(seconds=60 * k / max(n, 1)), source=source) for k in range(n)
            )
        at += timedelta(minutes=1)
    insert_touchpoints(client, rows)


def source_rules() -> Rules:
    rules = load_rules()
    return rules.model_copy(update={"intake": rules.intake.model_copy(update={"dimensions": ["source"]})})


def run(monitor: Monitor, start: datetime, minutes: int) -> list[Alert]:
    out: list[Alert] = []
    for m in range(minutes + 1):
        out.extend(a for a in monitor.tick(start + timedelta(minutes=m)) if a.kind == "intake_drop")
    return out


def test_silent_source_fires_within_the_delay_and_recovers(alerts_db: tuple[Client, str]) -> None:
    client, db = alerts_db
    resume = NOW + timedelta(minutes=30)
    seed(client, "web-pixel", 6.0, NOW + timedelta(hours=1), silent=((NOW, resume),))
    seed(client, "crm-webhook", 4.0, NOW + timedelta(hours=1))
    rules = source_rules()
    r = rules.intake
    monitor = Monitor(client, db, rules, Dispatcher([Recorder()]))

    before = run(monitor, NOW - timedelta(minutes=20), 20)
    assert before == [], "normal traffic must not fire"
    during = run(monitor, NOW + timedelta(minutes=1), 29)
    assert [(a.subject, a.state) for a in during] == [("source=web-pixel", "firing")]
    fired = during[0]
    # Worst case: settle, then the window must lose (1 - fire_below) of its events, then `for`, then a tick.
    delay = timedelta(seconds=r.settle_seconds + r.window_minutes * 60 * (1 - r.fire_below) + r.for_s + 60)
    assert NOW < fired.ts <= NOW + delay
    assert fired.value < r.fire_below * fired.baseline
    assert fired.baseline == pytest.approx(6.0, rel=0.05)

    after = run(monitor, resume + timedelta(minutes=1), 29)
    assert [(a.subject, a.state) for a in after] == [("source=web-pixel", "resolved")]
    resolved = after[0]
    assert resolved.fired_at == fired.ts and resolved.message.startswith("[RESOLVED]")
    back = timedelta(
        seconds=r.settle_seconds + r.window_minutes * 60 * r.resolve_above + r.resolve_for_s + 60
    )
    assert resume < resolved.ts <= resume + back


def test_quiet_night_and_weekend_do_not_fire(alerts_db: tuple[Client, str]) -> None:
    client, db = alerts_db
    # The current week's night and Sunday afternoon are empty, as quiet slots often are.
    night = (NIGHT - timedelta(hours=1), NIGHT + timedelta(hours=1))
    sunday = (SUNDAY - timedelta(hours=1), SUNDAY + timedelta(hours=1))
    seed(client, "web-pixel", 6.0, SUNDAY + timedelta(hours=1), silent=(night, sunday))
    monitor = Monitor(client, db, source_rules(), Dispatcher([Recorder()]))
    assert run(monitor, NIGHT, 30) == []
    assert run(monitor, SUNDAY, 30) == []
    rate = {x.subject: x for x in monitor.intake}["source=web-pixel"]
    assert rate.per_minute == 0 and rate.baseline_per_minute == pytest.approx(0.3, abs=0.05)
