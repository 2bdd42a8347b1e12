"""The ``momentum`` view and `touchstream momentum` on a hand-checked four-week dataset.

Weeks W0..W3 are the four complete ISO weeks before today's (the command ends with the last complete
week). Accounts (day offsets from each week's Monday):
  A: lead W0+0, opportunity W0+1 10:00, closed_won W2+2 10:00 (1000)    cycle 15 days
  B: lead W0+0, opportunity W1+1, closed_lost W2+3
  C: lead W1+0, opportunity W2+1 10:00, closed_won W3+1 10:00 (3000)    cycle 7 days
Spend: W0 100, W2 200, W3 300 (none in W1). Touches: direct page views W0 ×2 (A) and W3 ×1 (bot ×1,
not counted); a branded search W1 (B); mentions W2: brand ×3, competitor ×1; first touches A W0, B W1,
C W2. Linear opportunity credits: A's holds a demand-gen touch, B's only lead gen, C's both.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from attribution.trend import trend
from cli.main import app
from reports.momentum import last_complete_week
from schemas import jsonio
from sinks.client import connect
from sinks.migrate import apply_migrations

pytestmark = pytest.mark.integration

TODAY = datetime.now(UTC).date()
W = [last_complete_week(TODAY) - timedelta(days=7 * (3 - i)) for i in range(4)]  # W0..W3


def at(week: int, day: int, hour: int = 10) -> datetime:
    return datetime.combine(W[week] + timedelta(days=day), time(hour), UTC)


TOUCH_COLUMNS = "event_id, ts, anonymous_id, account_id, type, channel, channel_category, is_bot, is_branded_search, is_competitor"  # noqa: E501
TOUCHES = [
    ("d1", at(0, 2), "a1", "A", "page_view", "direct", "direct", False, False, False),
    ("d2", at(0, 3), "a1", "A", "page_view", "direct", "direct", False, False, False),
    ("d3", at(3, 0), "a1", "A", "page_view", "direct", "direct", False, False, False),
    ("bot", at(3, 1), "x1", "", "page_view", "direct", "direct", True, False, False),
    ("s1", at(1, 2), "b1", "B", "page_view", "paid_search", "lead_gen", False, True, False),
    ("c1", at(2, 0), "c1", "C", "page_view", "podcast", "demand_gen", False, False, False),
    *[(f"m{i}", at(2, 4), "", "", "mention", "other", "demand_gen", False, False, False) for i in range(3)],
    ("m9", at(2, 4), "", "", "mention", "other", "demand_gen", False, False, True),
]
CONVERSIONS = [
    ("lA", at(0, 0), "A", "lead", 0.0),
    ("lB", at(0, 0), "B", "lead", 0.0),
    ("lC", at(1, 0), "C", "lead", 0.0),
    ("oA", at(0, 1), "A", "opportunity", 1000.0),
    ("oB", at(1, 1), "B", "opportunity", 500.0),
    ("oC", at(2, 1), "C", "opportunity", 3000.0),
    ("wA", at(2, 2), "A", "closed_won", 1000.0),
    ("xB", at(2, 3), "B", "closed_lost", 0.0),
    ("wC", at(3, 1), "C", "closed_won", 3000.0),
]
OPENED = {"oA": at(0, 1), "oB": at(1, 1), "oC": at(2, 1)}
CREDITS = [  # (conversion, event, category, credit)
    ("oA", "d1", "direct", 0.5),
    ("oA", "c0", "demand_gen", 0.5),
    ("oB", "s1", "lead_gen", 1.0),
    ("oC", "c1", "demand_gen", 0.5),
    ("oC", "s2", "lead_gen", 0.5),
]
SPEND = [("p0", W[0], 100.0), ("p2", W[2] + timedelta(days=3), 200.0), ("p3", W[3], 300.0)]


@pytest.fixture(scope="module")
def database(clickhouse_url: str) -> Iterator[str]:
    name = f"ts_momentum_{uuid.uuid4().hex[:10]}"
    apply_migrations(connect(clickhouse_url), name)
    db = connect(clickhouse_url, database=name)
    for _ in range(2):  # redelivered: FINAL must count each once
        db.execute(f"INSERT INTO touchpoints ({TOUCH_COLUMNS}) VALUES", TOUCHES)
        db.execute(
            "INSERT INTO conversions (conversion_id, ts, account_id, stage, amount) VALUES", CONVERSIONS
        )
        db.execute(
            "INSERT INTO attribution_credits (conversion_id, stage, model, event_id, channel_category, "
            "credit, conversion_ts, ts, account_id) VALUES",
            [(c, "opportunity", "linear", e, cat, cr, OPENED[c], OPENED[c], "") for c, e, cat, cr in CREDITS],
        )
        spend = [(e, d, "paid_search", c) for e, d, c in SPEND]
        db.execute("INSERT INTO spend (event_id, date, channel, cost) VALUES", spend)
    yield name
    connect(clickhouse_url).execute(f"DROP DATABASE IF EXISTS {name}")


def view(clickhouse_url: str, database: str, since: date, until: date, days: int) -> list[dict[str, Any]]:
    rows, types = connect(clickhouse_url, database=database).execute(
        "SELECT * FROM momentum(since = %(s)s, until = %(u)s, bucket_days = %(d)s)",
        {"s": since, "u": until, "d": days},
        with_column_types=True,
    )
    return [dict(zip([t[0] for t in types], row, strict=True)) for row in rows]


def test_weekly_buckets_hand_checked(clickhouse_url: str, database: str) -> None:
    weeks = view(clickhouse_url, database, W[0], W[3] + timedelta(days=7), 7)
    assert [w["bucket"] for w in weeks] == W
    col = {key: [w[key] for w in weeks] for key in weeks[0]}
    assert col["opportunities"] == [1, 1, 1, 0]
    assert col["win_rate"] == [None, None, 0.5, 1.0]  # W2: A won, B lost; W3: C won
    assert (col["wins"], col["closed"], col["won_total"]) == ([0, 0, 1, 1], [0, 0, 2, 1], [0, 0, 1000, 3000])
    assert col["cycle_days_total"] == [0, 0, pytest.approx(15.0), pytest.approx(7.0)]
    assert col["avg_deal"] == [None, None, 1000.0, 3000.0]
    assert col["cycle_days"] == [None, None, pytest.approx(15.0), pytest.approx(7.0)]
    assert col["velocity_per_day"] == [None, None, pytest.approx(1 * 0.5 * 1000 / 15), 0.0]
    assert col["leads"] == [2, 1, 0, 0]
    assert col["customers"] == [0, 0, 1, 1]
    assert col["spend"] == [100.0, 0.0, 200.0, 300.0]
    assert col["cost_per_lead"] == [50.0, None, None, None]  # W1: no spend; W2, W3: no leads
    assert col["cac"] == [None, None, 200.0, 300.0]
    assert col["direct_visits"] == [2, 0, 0, 1]  # the bot's direct visit is not counted
    assert col["branded_search"] == [0, 1, 0, 0]
    assert col["share_of_voice"] == [None, None, 0.75, None]
    assert col["accounts_engaged"] == [1, 1, 1, 0]
    assert col["dg_influenced_opportunities"] == [1, 0, 1, 0]
    assert col["credited_opportunities"] == [1, 1, 1, 0]


def test_an_empty_period_has_its_buckets(clickhouse_url: str, database: str) -> None:
    start = W[0] - timedelta(days=70)
    weeks = view(clickhouse_url, database, start, start + timedelta(days=20), 7)  # 3 buckets, last partial
    assert [w["bucket"] for w in weeks] == [start, start + timedelta(days=7), start + timedelta(days=14)]
    assert {w["opportunities"] for w in weeks} == {0} and {w["win_rate"] for w in weeks} == {None}


def run(clickhouse_url: str, database: str, home: Path, *args: str) -> Any:
    env = {
        "TOUCHSTREAM_CLICKHOUSE_URL": clickhouse_url,
        "TOUCHSTREAM_CLICKHOUSE_DATABASE": database,
        "TOUCHSTREAM_HOME": str(home),
    }
    result = CliRunner().invoke(app, ["momentum", *args], env=env)
    return result


def test_momentum_command_compares_spans_and_labels_trends(
    clickhouse_url: str, database: str, tmp_path: Path
) -> None:
    result = run(clickhouse_url, database, tmp_path, "--weeks", "4", "--compare", "2", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {r["metric"]: r for r in jsonio.loads(result.stdout)}
    assert rows["opportunities"]["weeks"] == [w.isoformat() for w in W]
    assert rows["opportunities"]["series"] == [1, 1, 1, 0]
    # Spans: W0-W1 vs W2-W3, ratios recomputed from each span's sums.
    assert (rows["opportunities"]["previous"], rows["opportunities"]["current"]) == (2, 1)
    assert rows["opportunities"]["change"] == -0.5
    assert rows["win_rate"]["previous"] is None and rows["win_rate"]["current"] == pytest.approx(2 / 3)
    assert rows["cac"]["current"] == 250.0 and rows["cac"]["previous"] is None
    assert rows["cost_per_lead"]["previous"] == pytest.approx(100 / 3)
    assert rows["cycle_days"]["current"] == pytest.approx(11.0)
    assert rows["velocity_per_day"]["current"] == pytest.approx(1 * (2 / 3) * 2000 / 11)
    assert rows["direct_visits"]["change"] == -0.5
    for key, row in rows.items():
        expected = trend(row["series"], higher_is_better=row["higher_is_better"], window=4)
        assert row["trend"] == expected.label, key
    assert rows["velocity_per_day"]["trend"] == "insufficient data"  # two defined weeks
    assert rows["cac"]["higher_is_better"] is False

    table = run(clickhouse_url, database, tmp_path, "--weeks", "4", "--compare", "2")
    assert table.exit_code == 0, table.output
    assert "pipeline velocity" in table.stdout and "-50.0 %" in table.stdout and "66.7%" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 80  # CliRunner's terminal: nothing cut
    csv = run(clickhouse_url, database, tmp_path, "--weeks", "4", "--compare", "2", "--format", "csv")
    assert (
        csv.stdout.splitlines()[0]
        == "metric,label,current,previous,change,trend,slope_per_week,higher_is_better"
    )


def test_bad_options_are_exit_2(clickhouse_url: str, database: str, tmp_path: Path) -> None:
    result = run(clickhouse_url, database, tmp_path, "--weeks", "4", "--compare", "3")
    assert result.exit_code == 2 and "--compare must be between 1 and half of --weeks" in result.output
