"""Mix views and `touchstream mix` on a hand-computed dataset (linear model).

June 2026: spend paid_search 600, paid_social 300, podcast 100 (1000). Pipeline (opportunity credit
amounts) paid_search 1000, podcast 2000 (3000). Closed-won revenue podcast 3000, organic_search 1000, a
channel without spend (4000). Excluded: a touch a later revision zeroed (credit 0) and the `first` model.
September: one opportunity with no touch, credited to '(none)' (category '' = direct), 500; no spend.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from schemas import jsonio
from sinks.client import connect
from sinks.migrate import apply_migrations

pytestmark = pytest.mark.integration

JUNE = datetime(2026, 6, 10, 12, tzinfo=UTC)
SEPTEMBER = datetime(2026, 9, 10, 12, tzinfo=UTC)
CREDITS = [  # conversion, stage, model, event, channel, category, credit, revenue_credit, when
    ("o1", "opportunity", "linear", "e1", "paid_search", "lead_gen", 0.5, 1000.0, JUNE),
    ("o1", "opportunity", "linear", "e2", "podcast", "demand_gen", 0.5, 2000.0, JUNE),
    ("o1", "opportunity", "linear", "e9", "paid_social", "demand_gen", 0.0, 0.0, JUNE),  # revised away
    ("w1", "closed_won", "linear", "e2", "podcast", "demand_gen", 0.75, 3000.0, JUNE),
    ("w1", "closed_won", "linear", "e3", "organic_search", "lead_gen", 0.25, 1000.0, JUNE),
    ("w1", "closed_won", "first", "e3", "organic_search", "lead_gen", 1.0, 4000.0, JUNE),  # other model
    ("o2", "opportunity", "linear", "", "(none)", "", 1.0, 500.0, SEPTEMBER),
]
SPEND = [("s1", date(2026, 6, 3), "paid_search", 600.0), ("s2", date(2026, 6, 4), "paid_social", 300.0),
         ("s3", date(2026, 6, 5), "podcast", 100.0)]  # fmt: skip


@pytest.fixture(scope="module")
def database(clickhouse_url: str) -> Iterator[str]:
    name = f"ts_mix_{uuid.uuid4().hex[:10]}"
    apply_migrations(connect(clickhouse_url), name)
    db = connect(clickhouse_url, database=name)
    for _ in range(2):  # redelivered: FINAL counts once
        db.execute(
            "INSERT INTO attribution_credits (conversion_id, stage, model, event_id, channel, "
            "channel_category, credit, revenue_credit, conversion_ts, ts, account_id) VALUES",
            [(*c[:8], c[8], c[8], "acme.example") for c in CREDITS],
        )
        db.execute("INSERT INTO spend (event_id, date, channel, cost) VALUES", SPEND)
    yield name
    connect(clickhouse_url).execute(f"DROP DATABASE IF EXISTS {name}")


def view(clickhouse_url: str, database: str, name: str, since: str, until: str) -> list[tuple[Any, ...]]:
    return connect(clickhouse_url, database=database).execute(
        f"SELECT * FROM {name}(model = 'linear', since = %(s)s, until = %(u)s)", {"s": since, "u": until}
    )


def test_channel_and_category_views_hand_computed(clickhouse_url: str, database: str) -> None:
    # (channel, category, spend, pipeline, revenue, spend share, pipeline share, revenue share)
    assert view(clickhouse_url, database, "marketing_mix_by_channel", "2026-06-01", "2026-07-01") == [
        ("paid_search", "lead_gen", 600.0, 1000.0, 0.0, 0.6, pytest.approx(1 / 3), 0.0),
        ("paid_social", "demand_gen", 300.0, 0.0, 0.0, 0.3, 0.0, 0.0),  # its only credit was revised to 0
        ("podcast", "demand_gen", 100.0, 2000.0, 3000.0, 0.1, pytest.approx(2 / 3), 0.75),
        ("organic_search", "lead_gen", 0.0, 0.0, 1000.0, 0.0, 0.0, 0.25),
    ]
    assert view(clickhouse_url, database, "marketing_mix", "2026-06-01", "2026-07-01") == [
        ("lead_gen", 600.0, 1000.0, 1000.0, 0.6, pytest.approx(1 / 3), 0.25),
        ("demand_gen", 400.0, 2000.0, 3000.0, 0.4, pytest.approx(2 / 3), 0.75),
    ]
    # No spend and no revenue in September: those shares are undefined, not 0 %.
    assert view(clickhouse_url, database, "marketing_mix", "2026-09-01", "2026-10-01") == [
        ("direct", 0.0, 500.0, 0.0, None, 1.0, None)
    ]
    assert view(clickhouse_url, database, "marketing_mix", "2026-01-01", "2026-02-01") == []


def run(clickhouse_url: str, database: str, home: Path, *args: str) -> Any:
    env = {"TOUCHSTREAM_CLICKHOUSE_URL": clickhouse_url, "TOUCHSTREAM_CLICKHOUSE_DATABASE": database,
           "TOUCHSTREAM_HOME": str(home)}  # fmt: skip
    return CliRunner().invoke(app, ["mix", *args], env=env)


def test_mix_command_names_the_gaps(clickhouse_url: str, database: str, tmp_path: Path) -> None:
    # June and September together: pipeline 3500 (1000 lead gen, 2000 demand gen, 500 direct).
    result = run(clickhouse_url, database, tmp_path, "--since", "2026-06-01", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {r["category"]: r for r in jsonio.loads(result.stdout)}
    assert rows["lead_gen"]["sentence"] == (
        "lead gen: 60 % of spend, 29 % of pipeline, 25 % of revenue — 31 points more spend than pipeline"
    )
    assert rows["demand_gen"]["sentence"] == (
        "demand gen: 40 % of spend, 57 % of pipeline, 75 % of revenue"
        " — earns 17 points more pipeline than its spend"
    )
    assert rows["direct"]["sentence"] == (
        "direct: 0 % of spend, 14 % of pipeline, 0 % of revenue — earns 14 points more pipeline than its"
        " spend"
    )
    assert (rows["direct"]["spend"], rows["direct"]["pipeline"]) == (0.0, 500.0)

    channels = run(
        clickhouse_url, database, tmp_path, "--since", "2026-06-01", "--by", "channel", "--format", "csv"
    )
    lines = channels.stdout.splitlines()
    assert (
        lines[0]
        == "channel,category,spend,spend_share,pipeline,pipeline_share,revenue,revenue_share,sentence"
    )
    assert any(line.startswith("organic_search,lead_gen,0.0,0.0,0.0,0.0,1000.0,0.25,") for line in lines)

    table = run(clickhouse_url, database, tmp_path, "--since", "2026-06-01")
    assert table.exit_code == 0, table.output
    assert "31 points more spend than pipeline" in " ".join(table.stdout.split())  # wrapped at 80
    assert max(len(line) for line in table.stdout.splitlines()) <= 80


def test_mix_rejects_data_driven_models_and_bad_groupings(
    clickhouse_url: str, database: str, tmp_path: Path
) -> None:
    assert run(clickhouse_url, database, tmp_path, "--model", "markov").exit_code == 2
    result = run(clickhouse_url, database, tmp_path, "--by", "campaign")
    assert result.exit_code == 2 and "--by must be category or channel" in result.output
