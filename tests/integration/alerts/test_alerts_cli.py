"""`touchstream velocity` and `touchstream monitor --once` against a seeded database."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alert_support import fresh_database, insert_conversions
from clickhouse_driver import Client
from typer.testing import CliRunner

from cli.main import app
from embedded.clickhouse import EmbeddedClickHouse
from schemas import jsonio

pytestmark = pytest.mark.integration

AT = datetime(2031, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def seeded(clickhouse_server: EmbeddedClickHouse) -> Iterator[dict[str, str]]:
    for client, db in fresh_database(clickhouse_server):
        seed(client)
        yield {"TOUCHSTREAM_CLICKHOUSE_URL": clickhouse_server.url, "TOUCHSTREAM_CLICKHOUSE_DATABASE": db}


def seed(client: Client) -> None:
    rows: list[dict[str, object]] = []

    def add(key: str, stage: str, ts: datetime, amount: float = 0.0) -> None:
        rows.append(
            {
                "conversion_id": f"{key}-{stage}",
                "ts": ts,
                "account_id": key,
                "person_id": "",
                "stage": stage,
                "amount": amount,
                "currency": "USD",
                "opportunity_id": key,
            }
        )

    for i in range(4):  # now: 4 open, 2 won of 4 closed at 5,000 after 10 days
        add(f"open-{i}", "opportunity", AT - timedelta(days=2 + i))
        add(f"deal-{i}", "opportunity", AT - timedelta(days=20 + i))
        add(f"deal-{i}", "closed_won" if i % 2 else "closed_lost", AT - timedelta(days=10 + i), 5_000.0)
    insert_conversions(client, rows)


def test_velocity_json_and_csv(seeded: dict[str, str]) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["velocity", "--format", "json", "--segment", "overall", "--at", AT.isoformat()], env=seeded
    )
    assert result.exit_code == 0, result.output
    (row,) = jsonio.loads(result.stdout)["segments"]
    # 4 open x 5,000 x 50 % / mean(11, 13) = 12 days
    assert row["velocity"] == pytest.approx(4 * 5_000 * 0.5 / 10, abs=0.01)
    assert (row["open_opportunities"], row["win_rate"], row["cycle_days"]) == (4, 0.5, 10)
    assert row["baseline"] == 0  # nothing in the preceding window

    result = runner.invoke(app, ["velocity", "--format", "csv", "--at", AT.isoformat()], env=seeded)
    assert result.exit_code == 0, result.output
    assert [r["segment"] for r in csv.DictReader(io.StringIO(result.stdout))] == ["overall"]

    table = runner.invoke(app, ["velocity", "--at", AT.isoformat()], env=seeded)
    assert table.exit_code == 0 and "Pipeline velocity" in table.stdout
    # CliRunner's 80 columns: whole segment names and velocities, the factors left for wide terminals.
    assert "│ overall " in table.stdout and "--format json" in table.stdout
    assert "(baseline)" not in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 80
    wide = runner.invoke(app, ["velocity", "--at", AT.isoformat()], env={**seeded, "COLUMNS": "160"})
    assert "win rate (baseline)" in wide.stdout and "50% (0%)" in wide.stdout


def test_velocity_rejects_unknown_segment(seeded: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["velocity", "--segment", "region"], env=seeded)
    assert result.exit_code == 2


def test_monitor_once_runs_a_tick(seeded: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["monitor", "--once"], env={**seeded, "TOUCHSTREAM_KAFKA_BOOTSTRAP": ""})
    assert result.exit_code == 0, result.output
