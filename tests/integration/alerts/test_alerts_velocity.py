"""Seeded CRM history where one velocity factor drops per channel: the alert names that factor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from alert_support import Recorder, insert_conversions, insert_touchpoints, touchpoint
from clickhouse_driver import Client

from alerts.detect import Alert
from alerts.monitor import Monitor
from alerts.notifiers.base import Dispatcher
from alerts.notifiers.clickhouse import ClickHouseNotifier
from alerts.queries import fetch_opportunities
from alerts.rules import load_rules
from alerts.velocity import velocity_reports

pytestmark = pytest.mark.integration

NOW = datetime(2031, 3, 12, 14, 0, tzinfo=UTC)
WINDOW = timedelta(days=90)


@dataclass(frozen=True)
class Shape:
    open_n: int = 20
    closed_n: int = 20
    won_n: int = 10
    deal: float = 10_000.0
    cycle_days: float = 20.0


def seed_window(client: Client, tag: str, channel: str, category: str, end: datetime, shape: Shape) -> None:
    """Deals closed in the window's last 45 days (opened inside it) plus opportunities open at ``end``."""
    convs: list[dict[str, object]] = []
    touches: list[dict[str, object]] = []

    def opp(key: str, opened: datetime) -> None:
        touches.append(
            touchpoint(
                opened - timedelta(days=5), source="web", account_id=key, channel=channel, category=category
            )
        )
        convs.append(
            {
                "conversion_id": f"{key}-opp",
                "ts": opened,
                "account_id": key,
                "person_id": "",
                "stage": "opportunity",
                "amount": 0.0,
                "currency": "USD",
                "opportunity_id": key,
            }
        )

    for i in range(shape.closed_n):
        key = f"{tag}-closed-{i}"
        closed = end - timedelta(days=1 + i * 44 / shape.closed_n, hours=3)
        won = i * shape.won_n // shape.closed_n != (i + 1) * shape.won_n // shape.closed_n
        opp(key, closed - timedelta(days=shape.cycle_days))
        convs.append(
            {
                "conversion_id": f"{key}-close",
                "ts": closed,
                "account_id": key,
                "person_id": "",
                "stage": "closed_won" if won else "closed_lost",
                "amount": shape.deal if won else 0.0,
                "currency": "USD",
                "opportunity_id": key,
            }
        )
    for i in range(shape.open_n):
        opp(f"{tag}-open-{i}", end - timedelta(days=1 + i * 19 / shape.open_n, hours=5))
    insert_conversions(client, convs)
    insert_touchpoints(client, touches)


def seed(client: Client) -> None:
    base = Shape()
    scenarios = {
        "podcast": ("demand_gen", Shape(open_n=8)),  # fewer opportunities
        "paid_search": ("lead_gen", Shape(deal=4_000.0)),  # smaller deals
        "email": ("lead_gen", Shape(cycle_days=40.0)),  # longer cycles
        "video": ("demand_gen", base),  # control: unchanged
    }
    for channel, (category, now_shape) in scenarios.items():
        seed_window(client, f"{channel}-b", channel, category, NOW - WINDOW, base)
        seed_window(client, f"{channel}-n", channel, category, NOW, now_shape)


def test_factors_read_back_from_clickhouse(alerts_db: tuple[Client, str]) -> None:
    client, db = alerts_db
    seed(client)
    opps = fetch_opportunities(client, db, NOW, NOW - 2 * WINDOW)
    reports = {r.segment: r for r in velocity_reports(opps, NOW, WINDOW, 1, ["channel"])}
    podcast = reports["channel=podcast"]
    # Hand-worked: 20 open x 10,000 x 50 % / 20 days = 5,000/day before; 8 open now = 2,000/day.
    assert podcast.baseline.as_dict() == pytest.approx(
        {
            "open_opportunities": 20,
            "avg_deal_size": 10_000,
            "win_rate": 0.5,
            "cycle_days": 20,
            "velocity": 5_000,
        }
    )
    assert podcast.now.velocity == pytest.approx(2_000)
    assert reports["channel=email"].now.cycle_days == pytest.approx(40)
    assert reports["channel=paid_search"].now.avg_deal_size == pytest.approx(4_000)
    assert reports["channel=video"].ratio == pytest.approx(1.0)


def test_velocity_drop_fires_after_for_duration_naming_the_factor(alerts_db: tuple[Client, str]) -> None:
    client, db = alerts_db
    seed(client)
    rules = load_rules()
    recorder = Recorder()
    monitor = Monitor(client, db, rules, Dispatcher([recorder, ClickHouseNotifier(client, db)]))
    fired: dict[str, Alert] = {}
    for minutes in range(0, 31, 10):
        at = NOW + timedelta(minutes=minutes)
        changed = [a for a in monitor.tick(at) if a.kind == "velocity_drop"]
        if minutes < rules.velocity.for_minutes:
            assert changed == [], f"fired before for_minutes at +{minutes} min"
        fired.update({a.subject: a for a in changed})

    labels = {s: dict(a.labels) for s, a in fired.items()}
    assert labels["channel=podcast"]["factor"] == "open_opportunities"
    assert labels["channel=paid_search"]["factor"] == "avg_deal_size"
    assert labels["channel=email"]["factor"] == "cycle_days"
    assert labels["category=demand_gen"]["factor"] == "open_opportunities"
    assert "channel=video" not in fired
    assert all(a.state == "firing" for a in fired.values())
    assert "open opportunities -60%" in fired["channel=podcast"].message
    assert "sales-cycle length +100%" in fired["channel=email"].message
    assert fired["channel=podcast"].value == pytest.approx(2_000)
    assert fired["channel=podcast"].baseline == pytest.approx(5_000)

    rows = client.execute("SELECT subject, state FROM alerts FINAL WHERE kind = 'velocity_drop'")
    assert sorted(rows) == sorted((s, "firing") for s in fired)

    # A restarted monitor resumes the firing episodes instead of announcing them again.
    again = Recorder()
    restarted = Monitor(client, db, rules, Dispatcher([again, ClickHouseNotifier(client, db)]))
    assert restarted.restore() == len(fired)
    restarted.tick(NOW + timedelta(minutes=40))
    assert [a for a in again.alerts if a.kind == "velocity_drop"] == []
