"""`touchstream report` and `touchstream kpis` against the session ClickHouse on a hand-checked dataset.

Times are relative to the test's start (``NOW``) because the commands report up to "now".
Journeys (days ago; opportunity is the stage under test):
  A: t1 20 paid_search/brand, t2 15 podcast/pod (engagement), t3 10 direct  -> opportunity cA 5 (1000)
  B: t6 100 organic_social (outside the 90-day lookback), t4 12 email/nurture, t5 8 paid_search/brand
                                                                              -> opportunity cB 2 (3000)
  C: t7 6 podcast, anonymous, resolved to C through identities                -> no opportunity
  D: t8 40 video (engagement)                                                  -> no opportunity
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from attribution.markov import markov
from attribution.shapley import shapley
from cli.main import app
from embedded.kafka import free_port
from reports.momentum import METRICS
from reports.period import parse_since
from reports.queries import Reader
from schemas import jsonio
from sinks.client import connect
from sinks.migrate import apply_migrations

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
THIRD = 1 / 3


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


TOUCH_COLUMNS = (
    "event_id, ts, anonymous_id, person_id, account_id, type, channel, channel_category, "
    "engagement_kind, utm_campaign, is_bot, is_branded_search"
)
TOUCHES = [
    ("t1", ago(20), "a1", "pa", "A", "page_view", "paid_search", "lead_gen", "", "brand", False, True),
    ("t2", ago(15), "a1", "pa", "A", "engagement", "podcast", "demand_gen", "podcast", "pod", False, False),
    ("t3", ago(10), "a1", "pa", "A", "page_view", "direct", "direct", "", "", False, False),
    ("t6", ago(100), "b1", "pb", "B", "page_view", "organic_social", "demand_gen", "", "", False, False),
    ("t4", ago(12), "b1", "pb", "B", "page_view", "email", "lead_gen", "", "nurture", False, False),
    ("t5", ago(8), "b1", "pb", "B", "page_view", "paid_search", "lead_gen", "", "brand", False, False),
    ("t7", ago(6), "c1", "", "", "page_view", "podcast", "demand_gen", "", "", False, False),
    ("t8", ago(40), "d1", "pd", "D", "engagement", "video", "demand_gen", "video", "", False, False),
    ("m1", ago(10), "", "", "", "mention", "other", "lead_gen", "", "", False, False),
    ("bot", ago(5), "x1", "", "", "page_view", "direct", "direct", "", "", True, False),
]
CONVERSIONS = [
    ("cA", ago(5), "A", "opportunity", 1000.0),
    ("cB", ago(2), "B", "opportunity", 3000.0),
    ("lA", ago(25), "A", "lead", 0.0),
    ("lB", ago(14), "B", "lead", 0.0),
    ("lC", ago(7), "C", "lead", 0.0),
    ("lD", ago(45), "D", "lead", 0.0),
    ("mA", ago(22), "A", "mql", 0.0),
    ("mB", ago(13), "B", "mql", 0.0),
    ("sA", ago(21), "A", "sql", 0.0),
    ("wA", ago(1), "A", "closed_won", 1000.0),
]
# What the stream would have written: linear and first for cA (t1, t2, t3) and cB (t4, t5).
CREDITS = [
    ("cA", "linear", "t1", "A", "paid_search", "lead_gen", "brand", THIRD, 1000 * THIRD, ago(5)),
    ("cA", "linear", "t2", "A", "podcast", "demand_gen", "pod", THIRD, 1000 * THIRD, ago(5)),
    ("cA", "linear", "t3", "A", "direct", "direct", "", THIRD, 1000 * THIRD, ago(5)),
    ("cB", "linear", "t4", "B", "email", "lead_gen", "nurture", 0.5, 1500.0, ago(2)),
    ("cB", "linear", "t5", "B", "paid_search", "lead_gen", "brand", 0.5, 1500.0, ago(2)),
    ("cA", "first", "t1", "A", "paid_search", "lead_gen", "brand", 1.0, 1000.0, ago(5)),
    ("cB", "first", "t4", "B", "email", "lead_gen", "nurture", 1.0, 3000.0, ago(2)),
]
# The paths the data-driven models must see (non-converting C and D at the end).
PATHS = [("paid_search", "podcast", "direct"), ("email", "paid_search"), ("podcast",), ("video",)]
PATH_CONVERSIONS = [1, 1, 0, 0]


@pytest.fixture(scope="module")
def database(clickhouse_url: str) -> Iterator[str]:
    """A database of its own: exact totals need tables no other test writes to."""
    name = f"ts_reports_{uuid.uuid4().hex[:10]}"
    client = connect(clickhouse_url)
    apply_migrations(client, name)
    db = connect(clickhouse_url, database=name)
    db.execute(f"INSERT INTO touchpoints ({TOUCH_COLUMNS}) VALUES", TOUCHES)
    db.execute(
        "INSERT INTO identities (anonymous_id, person_id, account_id, updated_at) VALUES",
        [("c1", "pc", "", ago(6)), ("", "pc", "C", ago(6))],
    )
    db.execute("INSERT INTO conversions (conversion_id, ts, account_id, stage, amount) VALUES", CONVERSIONS)
    db.execute(
        "INSERT INTO attribution_credits (conversion_id, stage, model, event_id, account_id, channel, "
        "channel_category, utm_campaign, credit, revenue_credit, conversion_ts, ts) VALUES",
        [(c[0], "opportunity", *c[1:], c[-1]) for c in CREDITS],
    )
    db.execute(
        "INSERT INTO spend (event_id, date, channel, utm_campaign, cost) VALUES",
        [
            ("s1", ago(10).date(), "paid_search", "brand", 300.0),
            ("s2", ago(3).date(), "paid_search", "brand", 150.0),
            ("s3", ago(45).date(), "paid_search", "brand", 100.0),
        ],
    )
    yield name
    client.execute(f"DROP DATABASE IF EXISTS {name}")


def run(clickhouse_url: str, database: str, home: Path, *args: str) -> Any:
    env = {
        "TOUCHSTREAM_CLICKHOUSE_URL": clickhouse_url,
        "TOUCHSTREAM_CLICKHOUSE_DATABASE": database,
        "TOUCHSTREAM_HOME": str(home),
    }
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return jsonio.loads(result.stdout) if "json" in args else result.stdout


def by_key(rows: list[dict[str, Any]], key: str = "channel") -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in rows}


def test_linear_by_channel_reads_the_stored_credits(
    clickhouse_url: str, database: str, tmp_path: Path
) -> None:
    rows = by_key(run(clickhouse_url, database, tmp_path, "report", "--model", "linear", "--format", "json"))
    assert set(rows) == {"paid_search", "podcast", "direct", "email"}
    assert rows["paid_search"]["conversions"] == pytest.approx(THIRD + 0.5, abs=1e-4)
    assert rows["paid_search"]["revenue"] == pytest.approx(1833.33, abs=0.01)
    assert rows["paid_search"]["share"] == pytest.approx((THIRD + 0.5) / 2, abs=1e-4)
    assert rows["podcast"]["conversions"] == pytest.approx(THIRD, abs=1e-4)
    assert rows["email"] == {
        "channel": "email", "category": "lead_gen", "conversions": 0.5, "share": 0.25, "revenue": 1500.0,
        "spend": 0.0, "cost_per_conversion": None, "roas": None,
    }  # fmt: skip
    # Spend on the period's days (s1 300 + s2 150 + s3 100) against paid_search's credit and revenue.
    assert rows["paid_search"]["spend"] == 550.0
    assert rows["paid_search"]["cost_per_conversion"] == pytest.approx(550 / (THIRD + 0.5), abs=0.01)
    assert rows["paid_search"]["roas"] == pytest.approx((1000 * THIRD + 1500) / 550, abs=1e-4)


def test_spend_without_credit_is_a_row(clickhouse_url: str, database: str, tmp_path: Path) -> None:
    # 30 days: s3 (45 days ago) is out; `last` has no stored credits, so spend is all there is.
    rows = run(
        clickhouse_url, database, tmp_path, "report", "--model", "last", "--since", "30d", "--format", "json"
    )
    assert rows == [
        {"channel": "paid_search", "category": "lead_gen", "conversions": 0.0, "share": 0.0, "revenue": 0.0,
         "spend": 450.0, "cost_per_conversion": None, "roas": 0.0},
    ]  # fmt: skip
    table = run(clickhouse_url, database, tmp_path, "report", "--model", "linear")
    assert "ROAS" in table and "cost/conv" in table  # at 80 columns too: the category gives way
    side = run(clickhouse_url, database, tmp_path, "report", "--model", "all")
    assert "models 1–4 of 10" in side and "models 9–10 of 10" in side and "shapley" in side
    assert max(len(line) for text in (table, side) for line in text.splitlines()) <= 80


def test_by_campaign(clickhouse_url: str, database: str, tmp_path: Path) -> None:
    out = run(
        clickhouse_url,
        database,
        tmp_path,
        "report",
        "--model",
        "linear",
        "--by",
        "campaign",
        "--format",
        "json",
    )
    rows = by_key(out, "campaign")
    assert {k: round(v["conversions"], 4) for k, v in rows.items()} == {
        "brand": 0.8333, "pod": 0.3333, "(none)": 0.3333, "nurture": 0.5
    }  # fmt: skip
    assert {k: v["spend"] for k, v in rows.items()} == {
        "brand": 550.0,
        "pod": 0.0,
        "(none)": 0.0,
        "nurture": 0.0,
    }
    assert rows["brand"]["roas"] == pytest.approx((1000 * THIRD + 1500) / 550, abs=1e-4)


def test_all_models_side_by_side(clickhouse_url: str, database: str, tmp_path: Path) -> None:
    rows = by_key(run(clickhouse_url, database, tmp_path, "report", "--model", "all", "--format", "json"))
    assert rows["email"]["first"] == 1.0 and rows["paid_search"]["first"] == 1.0
    assert rows["direct"]["first"] == 0.0 and rows["direct"]["linear"] == pytest.approx(THIRD, abs=1e-4)
    assert rows["email"]["last"] == 0.0  # no stored credits for `last` in this dataset
    assert rows["paid_search"]["spend"] == 550.0 and rows["email"]["spend"] == 0.0
    assert rows["paid_search"]["cost_per_conversion_first"] == 550.0  # cA's first touch: 1 conversion
    assert rows["paid_search"]["roas_first"] == pytest.approx(1000 / 550, abs=1e-4)
    assert rows["paid_search"]["roas_last"] == 0.0 and rows["email"]["roas_first"] is None
    expected_markov = markov(PATHS, PATH_CONVERSIONS)
    expected_shapley = shapley(PATHS, PATH_CONVERSIONS)
    for channel in ("paid_search", "podcast", "direct", "email"):
        assert rows[channel]["markov"] == pytest.approx(2 * expected_markov[channel], abs=1e-4)
        assert rows[channel]["shapley"] == pytest.approx(2 * expected_shapley[channel], abs=1e-4)
    assert rows["video"]["markov"] == 0.0  # only on a non-converting path
    assert "organic_social" not in rows  # t6 is outside B's 90-day lookback


def test_markov_equals_the_model_on_the_same_paths(
    clickhouse_url: str, database: str, tmp_path: Path
) -> None:
    out = run(
        clickhouse_url,
        database,
        tmp_path,
        "report",
        "--model",
        "markov",
        "--lookback",
        "90",
        "--format",
        "json",
    )
    expected = markov(PATHS, PATH_CONVERSIONS)
    assert {r["channel"]: r["conversions"] for r in out} == {
        c: pytest.approx(2 * share, abs=1e-4) for c, share in expected.items()
    }
    assert sum(r["revenue"] for r in out) == pytest.approx(4000.0, abs=0.05)


def test_rule_based_recompute_honours_the_lookback(
    clickhouse_url: str, database: str, tmp_path: Path
) -> None:
    # 9 days back: cA's window [14d, 5d] ago holds t3 only, cB's window [11d, 2d] ago holds t5 only.
    out = run(
        clickhouse_url,
        database,
        tmp_path,
        "report",
        "--model",
        "linear",
        "--lookback",
        "9",
        "--format",
        "json",
    )
    assert {r["channel"]: r["conversions"] for r in out} == {"direct": 1.0, "paid_search": 1.0}
    full = run(
        clickhouse_url,
        database,
        tmp_path,
        "report",
        "--model",
        "linear",
        "--lookback",
        "90",
        "--format",
        "csv",
    )
    assert full.splitlines()[0] == "channel,category,conversions,share,revenue,spend,cost_per_conversion,roas"
    assert "email,lead_gen,0.5,0.25,1500.0,0.0,," in full.splitlines()


def test_funnel_counts_accounts_per_first_touch_channel(clickhouse_url: str, database: str) -> None:
    reader = Reader(connect(clickhouse_url), database)
    funnel = set(reader.funnel(parse_since("90d")))
    assert funnel == {
        ("paid_search", "lead", 1), ("paid_search", "mql", 1), ("paid_search", "sql", 1),
        ("paid_search", "opportunity", 1), ("paid_search", "closed_won", 1),
        ("organic_social", "lead", 1), ("organic_social", "mql", 1), ("organic_social", "opportunity", 1),
        ("podcast", "lead", 1), ("video", "lead", 1),
    }  # fmt: skip


def test_html_report_is_written(clickhouse_url: str, database: str, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    run(clickhouse_url, database, tmp_path, "report", "--model", "all", "--format", "html", "--out", str(out))
    page = out.read_text()
    # One credit chart per model, category split, funnel, trend, and a sparkline per momentum metric.
    assert page.count("<svg") == 10 + 3 + len(METRICS)
    assert "Momentum" in page and "pipeline velocity" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert "paid_search" in page
    assert "Spend and return" in page and "ROAS per model" in page
    assert '<td class="n">550</td>' in page  # paid_search's spend beside its credit
    # The six rule-based models the dataset has no stored credits for; everything else has data.
    assert page.count("no data for this period") == 6


def test_kpis_against_hand_counts(clickhouse_url: str, database: str, tmp_path: Path) -> None:
    rows = {
        r["kpi"]: r
        for r in run(clickhouse_url, database, tmp_path, "kpis", "--since", "30d", "--format", "json")
    }
    expected = {
        "website traffic (page views)": (5, 0, None),
        "unique visitors": (3, 0, None),
        "engaged sessions (visitor-days)": (1, 1, 0.0),
        "engaged session rate": (round(1 / 6, 4), 1.0, round((1 / 6 - 1) / 1, 4)),
        "podcast engagements": (1, 0, None),
        "video engagements": (0, 1, -1.0),
        "brand mentions": (1, 0, None),
        "direct traffic (page views)": (1, 0, None),
        "branded search touches": (1, 0, None),
        "leads": (3, 1, 2.0),
        "MQLs": (2, 0, None),
        "SQLs": (1, 0, None),
        "opportunities": (2, 0, None),
        "closed won": (1, 0, None),
        "lead → MQL rate": (0.6667, 0.0, None),
        "MQL → SQL rate": (0.5, None, None),
        "spend": (450.0, 100.0, 3.5),
        "cost per lead": (150.0, 100.0, 0.5),
        "CAC (spend / closed won)": (450.0, None, None),
        "days first touch → closed won": (19.0, None, None),
    }
    got = {k: (rows[k]["current"], rows[k]["previous"], rows[k]["change"]) for k in expected}
    assert got == expected
    table = run(clickhouse_url, database, tmp_path, "kpis", "--since", "30d")
    assert "Demand gen" in table and "Lead gen" in table and "+200.0 %" in table


def test_no_clickhouse_is_exit_2(tmp_path: Path) -> None:
    env = {"TOUCHSTREAM_CLICKHOUSE_URL": "", "TOUCHSTREAM_HOME": str(tmp_path)}
    result = CliRunner().invoke(app, ["report"], env=env)
    assert result.exit_code == 2 and "touchstream up" in result.stderr
    env["TOUCHSTREAM_CLICKHOUSE_URL"] = f"clickhouse://default@127.0.0.1:{free_port()}"
    result = CliRunner().invoke(app, ["kpis"], env=env)
    assert result.exit_code == 2 and "does not answer" in result.stderr


def test_endpoints_json_is_used_when_no_url_is_set(
    clickhouse_url: str, database: str, tmp_path: Path
) -> None:
    (tmp_path / "endpoints.json").write_bytes(
        jsonio.dumps({"clickhouse_url": clickhouse_url, "clickhouse_database": database})
    )
    env = {"TOUCHSTREAM_CLICKHOUSE_URL": "", "TOUCHSTREAM_HOME": str(tmp_path)}
    result = CliRunner().invoke(app, ["report", "--model", "first", "--format", "csv"], env=env)
    assert result.exit_code == 0, result.output
    assert "email,lead_gen,1.0,0.5,3000.0,0.0,," in result.stdout.splitlines()
