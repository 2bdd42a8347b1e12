"""`touchstream self-reported` against ClickHouse: the view's rows for the period, in every format."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from schemas import jsonio
from sinks.client import connect
from sinks.migrate import apply_migrations

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
REPORT_COLUMNS = "event_id, ts, source, person_id, answer, channel"
CREDIT_COLUMNS = (
    "conversion_id, stage, model, event_id, ts, account_id, channel, channel_category, utm_campaign, credit, "
    "revenue_credit, conversion_ts"
)


def days_ago(n: int) -> datetime:
    return NOW - timedelta(days=n)


@pytest.fixture(scope="module")
def database(clickhouse_url: str) -> Iterator[str]:
    name = f"ts_selfrep_{uuid.uuid4().hex[:10]}"
    apply_migrations(connect(clickhouse_url), name)
    db = connect(clickhouse_url, database=name)
    db.execute(
        f"INSERT INTO self_reports ({REPORT_COLUMNS}) VALUES",
        [
            ("f1", days_ago(3), "form", "p1", "a podcast!", "podcast"),
            ("f2", days_ago(4), "crm", "p2", "Podcast", "podcast"),
            ("f3", days_ago(5), "form", "p3", "linkedin", "organic_social"),
            ("f4", days_ago(6), "form", "p4", "asdf", "unknown"),
            ("f5", days_ago(200), "form", "p5", "g2", "review_sites"),  # too old
        ],
    )
    credits = [
        (c, "lead", "first", f"e{c}", days_ago(9), c, ch, "lead_gen", "", 1.0, 0.0, days_ago(2))
        for c, ch in (("c1", "podcast"), ("c2", "organic_search"), ("c3", "organic_search"), ("c4", "email"))
    ]
    db.execute(f"INSERT INTO attribution_credits ({CREDIT_COLUMNS}) VALUES", credits)
    yield name
    connect(clickhouse_url).execute(f"DROP DATABASE IF EXISTS {name}")


def run(clickhouse_url: str, database: str, home: Path, *args: str) -> object:
    env = {
        "TOUCHSTREAM_CLICKHOUSE_URL": clickhouse_url,
        "TOUCHSTREAM_CLICKHOUSE_DATABASE": database,
        "TOUCHSTREAM_HOME": str(home),
    }
    return CliRunner().invoke(app, ["self-reported", *args], env=env)


def test_json_has_both_shares_per_channel(clickhouse_url: str, database: str, tmp_path: Path) -> None:
    result = run(clickhouse_url, database, tmp_path, "--since", "30d", "--format", "json")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    rows = {r["channel"]: r for r in jsonio.loads(result.output)}  # type: ignore[attr-defined]
    assert set(rows) == {"podcast", "organic_social", "unknown", "organic_search", "email"}
    assert rows["podcast"]["respondents"] == 2
    assert rows["podcast"]["self_reported_share"] == pytest.approx(0.5)
    assert rows["podcast"]["first_touch_share"] == pytest.approx(0.25)
    assert rows["organic_search"]["respondents"] == 0
    assert rows["organic_search"]["first_touch_share"] == pytest.approx(0.5)


def test_table_and_csv(clickhouse_url: str, database: str, tmp_path: Path) -> None:
    table = run(clickhouse_url, database, tmp_path, "--since", "30d")
    assert table.exit_code == 0, table.output  # type: ignore[attr-defined]
    assert "Self-reported vs first touch (lead)" in table.output  # type: ignore[attr-defined]
    assert "50.0%" in table.output and "25.0%" in table.output  # type: ignore[attr-defined]
    csv = run(clickhouse_url, database, tmp_path, "--since", "30d", "--format", "csv")
    header = csv.output.splitlines()[0]  # type: ignore[attr-defined]
    assert header.split(",")[:3] == ["channel", "respondents", "self_reported_share"]


def test_bad_stage_is_a_usage_error(clickhouse_url: str, database: str, tmp_path: Path) -> None:
    result = run(clickhouse_url, database, tmp_path, "--stage", "won")
    assert result.exit_code == 2 and "--stage must be one of" in result.output  # type: ignore[attr-defined]
