"""Views moved from the numbered migrations to sinks/views: the same rows on upgraded and fresh databases.

``schema_0007/`` is a verbatim copy of sinks/migrations 0001..0007 as they were while the views lived in
them. Three databases hold the same small dataset: one built by those old files, one built by the old
0001..0006 and then upgraded by today's ``apply_migrations`` (0007 + the view files), one fresh from
today's ``apply_migrations``. Every view must answer the same rows on all three.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sink_dataset as dataset
from clickhouse_driver import Client

from embedded.clickhouse import EmbeddedClickHouse
from sinks import view_files
from sinks.client import connect
from sinks.errors import MigrationError
from sinks.migrate import apply_migrations, available_migrations
from sinks.view_files import available_views, parse_view, split_statements

OLD_SCHEMA = Path(__file__).parent / "schema_0007"
PERIOD = "since = '2026-03-01', until = '2026-05-01'"
RULES = "lookback_days = 90, lead_gen_days = 30, half_life_days = 7"
QUERIES = {
    "account_journeys": "account_journeys",
    "attribution_by_channel": f"attribution_by_channel(model = 'linear', stage = 'closed_won', {PERIOD})",
    "attribution_by_campaign": f"attribution_by_campaign(model = 'linear', stage = 'closed_won', {PERIOD})",
    "demand_gen_kpis": "demand_gen_kpis(since = '2026-03-01', until = '2026-04-01')",
    "demand_gen_influence": f"demand_gen_influence({PERIOD}, lookback_days = 90)",
    "sales_velocity": f"sales_velocity({PERIOD})",
    "lead_gen_kpis": f"lead_gen_kpis({PERIOD})",
    "funnel_by_first_touch": f"funnel_by_first_touch({PERIOD}, window_days = 90)",
    "device_people": "device_people",
    "person_accounts": "person_accounts",
    "account_first_touches": "account_first_touches",
    "rule_credits_between": f"rule_credits_between(stage = 'closed_won', {PERIOD}, {RULES})",
    "rule_credits": f"rule_credits(stage = 'mql', {RULES})",
    "momentum": "momentum(since = '2026-02-23', until = '2026-04-06', bucket_days = 7)",
    "self_reported_by_channel": f"self_reported_by_channel(stage = 'closed_won', {PERIOD})",
    "identity_match_rate": f"identity_match_rate({PERIOD})",
    "marketing_mix_by_channel": f"marketing_mix_by_channel(model = 'linear', {PERIOD})",
    "marketing_mix": f"marketing_mix(model = 'linear', {PERIOD})",
    "shared_devices": "shared_devices",
    "device_links": "device_links",
    "identity_flags": "identity_flags",
}
# Views added after the split: the old schema has no such view to compare with.
NEW_SINCE = {
    "momentum",
    "self_reported_by_channel",
    "identity_match_rate",
    "marketing_mix_by_channel",
    "marketing_mix",
    "shared_devices",
    "device_links",
    "identity_flags",
}
# Views 0007 redefined (credit != 0): the only ones whose rows an upgrade may change.
CHANGED_BY_0007 = {"attribution_by_channel", "attribution_by_campaign"}
CREDIT_COLUMNS = (
    "conversion_id, stage, model, event_id, ts, account_id, channel, channel_category, utm_campaign, credit, "
    "revenue_credit, conversion_ts"
)
WON = dataset.at("04-01", "10:00")
# Views that gained columns after the split (spend, cost_per_conversion, roas, and rows for channels
# with spend but no credit): compared on the old columns of the rows the old view had.
# account_journeys gained in_journey (0009).
EXTENDED_SINCE = {"attribution_by_channel": 4, "attribution_by_campaign": 5, "account_journeys": 14}
SPEND_ONLY_ROWS = {"attribution_by_channel", "attribution_by_campaign"}  # rows of spend without credit


def credit(
    event: str, at: str, channel: str, category: str, campaign: str, share: float
) -> tuple[object, ...]:
    day, hhmm = at.split()
    ts = dataset.at(day, hhmm)
    return ("c-a-won", "closed_won", "linear", event, ts, "acme.example", channel, category, campaign,
            share, share * 12000.0, WON)  # fmt: skip


CREDITS = [
    credit("a1", "03-01 10:00", "podcast", "demand_gen", "", 0.5),
    credit("a3", "03-05 09:00", "paid_search", "lead_gen", "brand-q1", 0.5),
    # A touch that left the credit set (credit 0): 0007's views no longer count its conversion.
    credit("a2", "03-01 10:10", "organic_search", "lead_gen", "", 0.0),
]


def apply_old_schema(client: Client, database: str, up_to: int) -> None:
    """What the old apply_migrations did: each old file's statements once, recorded in schema_migrations."""
    client.execute(f"CREATE DATABASE {database}")
    client.execute(
        f"CREATE TABLE {database}.schema_migrations (version UInt32, name String, "
        "applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = ReplacingMergeTree ORDER BY version"
    )
    for path in sorted(OLD_SCHEMA.glob("*.sql")):
        version = int(path.name[:4])
        if version > up_to:
            continue
        for statement in split_statements(path.read_text()):
            client.execute(statement.replace("{db}", database))
        client.execute(
            f"INSERT INTO {database}.schema_migrations (version, name) VALUES", [(version, path.name)]
        )


def load(server: EmbeddedClickHouse, database: str) -> None:
    ch = connect(server.url, database=database)
    dataset.load(ch, duplicate=True)
    ch.execute(f"INSERT INTO attribution_credits ({CREDIT_COLUMNS}) VALUES", CREDITS)


def view_rows(client: Client, database: str) -> dict[str, list[tuple[object, ...]]]:
    """Every view's rows; the views the database does not have are left out (an old schema)."""
    present = {name for (name,) in client.execute(f"SHOW TABLES FROM {database}")}
    rows = {}
    for name, query in QUERIES.items():
        if name in present:
            rows[name] = client.execute(f"SELECT * FROM {database}.{query} ORDER BY ALL")
    return rows


def as_old(rows: dict[str, list[tuple[object, ...]]]) -> dict[str, list[tuple[object, ...]]]:
    """Today's view rows in the shape the old 0007 views had (see EXTENDED_SINCE)."""
    out = {name: r for name, r in rows.items() if name not in NEW_SINCE}
    for name, width in EXTENDED_SINCE.items():
        # touched_conversions > 0: rows the old view had
        out[name] = [r[:width] for r in rows[name] if name not in SPEND_ONLY_ROWS or r[width - 1]]
    return out


@pytest.fixture(scope="module")
def databases(clickhouse_server: EmbeddedClickHouse) -> Iterator[dict[str, str]]:
    suffix = uuid.uuid4().hex[:8]
    names = {kind: f"ts_views_{kind}_{suffix}" for kind in ("old", "upgraded", "fresh")}
    yield names
    client = connect(clickhouse_server.url)
    for name in names.values():
        client.execute(f"DROP DATABASE IF EXISTS {name}")


@pytest.fixture(scope="module")
def old_rows(clickhouse_server, databases) -> dict[str, list[tuple[object, ...]]]:
    client = connect(clickhouse_server.url)
    apply_old_schema(client, databases["old"], up_to=7)
    load(clickhouse_server, databases["old"])
    return view_rows(client, databases["old"])


def test_every_view_is_queried() -> None:
    assert set(QUERIES) == {v.name for v in available_views()}


def test_old_dataset_fills_every_view(old_rows) -> None:
    # Each view answers something, so an equal answer below says something.
    assert {name for name, rows in old_rows.items() if not rows} == set()
    assert old_rows["attribution_by_channel"][0][3] == 1  # touched_conversions: the credit-0 touch is out


def test_upgrade_from_0006_answers_as_the_old_0007(clickhouse_server, databases, old_rows) -> None:
    client = connect(clickhouse_server.url)
    db = databases["upgraded"]
    apply_old_schema(client, db, up_to=6)
    load(clickhouse_server, db)
    before = view_rows(client, db)
    assert apply_migrations(client, db) == [m.name for m in available_migrations() if m.version >= 7]
    current = view_rows(client, db)
    after = as_old(current)
    assert set(current) == set(QUERIES) and set(after) == set(QUERIES) - NEW_SINCE
    for name in after:
        assert after[name] == old_rows[name], name
        if name not in CHANGED_BY_0007:
            assert after[name] == before[name], name
    assert (
        before["attribution_by_channel"] != after["attribution_by_channel"]
    )  # 0006 counted the credit-0 row
    assert apply_migrations(client, db) == []
    assert as_old(view_rows(client, db)) == old_rows
    # The spend of the period stands beside the credit (the dataset's March spend: 300 + 200).
    assert sum(r[4] for r in current["attribution_by_channel"]) == pytest.approx(500.0)


def test_fresh_database_answers_as_the_old_0007(clickhouse_server, databases, old_rows) -> None:
    client = connect(clickhouse_server.url)
    db = databases["fresh"]
    assert apply_migrations(client, db) == [m.name for m in available_migrations()]
    load(clickhouse_server, db)
    assert as_old(view_rows(client, db)) == old_rows


def test_a_failing_view_names_its_file(clickhouse_server, databases, old_rows, monkeypatch) -> None:
    broken = parse_view("broken", "CREATE OR REPLACE VIEW {db}.broken AS SELECT nope FROM {db}.touchpoints;")
    monkeypatch.setattr(view_files, "available_views", lambda: [broken])
    with pytest.raises(MigrationError, match=r"views/broken\.sql failed \(code 47\)"):
        apply_migrations(connect(clickhouse_server.url), databases["old"])
