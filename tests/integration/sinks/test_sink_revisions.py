# ruff: noqa: E501 - SQL clauses read best on one line
"""Credit revisions in ClickHouse (0007): the latest revision is what tables, views and reports return.

The records come from the real journey stage (a conversion first, its touches late, one erased, an
earlier lead signal late) and go in through the sink's raw insert, newest revision first, so an older
revision arriving after a newer one must not win.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from attribution import RULE_BASED_MODELS, Touch, credit
from schemas import jsonio
from sinks.client import connect
from sinks.migrate import apply_migrations, available_migrations
from sinks.parse import raw_insert_sql
from sinks.rows import SPECS_BY_TOPIC
from streams.config import StreamConfig
from streams.journeys import Conversion, Touchpoint
from streams.stage_journey import process_entities

CONFIG = StreamConfig.build()
DAY = 86_400.0
T = dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC).timestamp()
ACCOUNT = b"a:revisions.example"
PODCAST = Touchpoint(T - 2 * DAY, "rev-podcast", "podcast", "demand_gen", "pod-1")
SEARCH = Touchpoint(T - 1 * DAY, "rev-search", "paid_search", "lead_gen", "brand")
OPP = Conversion("rev-opp", T, "opportunity", amount=1000.0, currency="USD")
FORM = Conversion("rev-form", T - 3600, "lead")
CRM_LEAD = Conversion("rev-crm-lead", T - 3 * DAY, "lead")


def _stream_records() -> list[tuple[str, bytes]]:
    """(topic, payload) of every record the journey stage emits for the story, one batch per step."""
    steps: list[list[object]] = [
        ["c", OPP.to_json(), False],
        ["c", FORM.to_json(), True],
        ["t", SEARCH.to_json()],
        ["t", PODCAST.to_json()],
        ["x", [SEARCH.event_id], False],
        ["c", CRM_LEAD.to_json(), True],  # earlier lead signal, late: the form stops counting
    ]
    state: dict[str, bytes] = {}
    sent: list[tuple[str, bytes]] = []
    for item in steps:
        out = process_entities(CONFIG, [(ACCOUNT, jsonio.dumps([item]))], state.get)
        state.update({k: v for k, (v, _) in out.writes.items() if v is not None})
        sent += [(topic, value) for topic, _, value in out.sends]
    return sent


def _insert(client, database: str, records: list[tuple[str, bytes]]) -> None:
    for topic, payload in records:  # one insert (one part) per record: FINAL must merge them
        spec = SPECS_BY_TOPIC[topic]
        client.execute(raw_insert_sql(spec, database), [[payload.decode()]], columnar=True)


def _expected(model: str, journey: list[Touchpoint], conversion: Conversion) -> dict[str, float]:
    """The pure model on the event-time journey: the lead marker (CRM lead, T - 3 d) precedes every
    touch, so no touch marks lead creation; the last touch marks the opportunity's."""
    touches = [
        Touch(
            t.event_id, t.ts, t.channel, t.campaign, t.category, is_opportunity_creation=i == len(journey) - 1
        )
        for i, t in enumerate(journey)
    ]
    shares: dict[str, float] = {}
    for touch, share in credit(model, touches, conversion_ts=conversion.ts, half_life_days=7.0):
        if share > 0:
            shares[touch.channel] = shares.get(touch.channel, 0.0) + share
    return shares


def test_views_and_tables_return_the_latest_revision(own_ch, own_db) -> None:
    records = _stream_records()
    revisions = [jsonio.loads(v)["revision"] for t, v in records if t == CONFIG.topics.conversions]
    assert max(revisions) >= 3  # the opportunity was revised: (none), search, search+podcast, podcast
    _insert(own_ch, own_db, list(reversed(records)))

    for _ in range(2):  # before and after the parts are merged
        rows = own_ch.execute(
            "SELECT channel, conversions, revenue, touched_conversions FROM attribution_by_channel("
            "model = 'linear', stage = 'opportunity', since = '2026-03-01', until = '2026-04-01')"
        )
        assert rows == [("podcast", pytest.approx(1.0), pytest.approx(1000.0), 1)]
        for model in RULE_BASED_MODELS:
            got = dict(
                own_ch.execute(
                    "SELECT channel, sum(credit) FROM attribution_credits FINAL "
                    "WHERE conversion_id = %(c)s AND model = %(m)s AND credit != 0 GROUP BY channel",
                    {"c": OPP.event_id, "m": model},
                )
            )
            assert got == pytest.approx(_expected(model, [PODCAST], OPP)), model
        # The earlier CRM lead counts; the form, counted first, was revised to deleted.
        leads = own_ch.execute(
            "SELECT conversion_id FROM conversions FINAL WHERE stage = 'lead' ORDER BY conversion_id"
        )
        assert leads == [(CRM_LEAD.event_id,)]
        form_credit = own_ch.execute(
            "SELECT sum(credit) FROM attribution_credits FINAL WHERE conversion_id = %(c)s",
            {"c": FORM.event_id},
        )
        assert form_credit == [(0.0,)]
        (none,) = own_ch.execute(
            "SELECT sum(credit) FROM attribution_credits FINAL WHERE channel = '(none)' AND stage = 'opportunity'"
        )
        assert none == (0.0,)  # the (none) row of the first revision was zeroed by the later ones
        own_ch.execute("OPTIMIZE TABLE attribution_credits FINAL")
        own_ch.execute("OPTIMIZE TABLE conversions FINAL")


def test_a_conversion_without_touches_is_credited_to_none(own_ch, own_db) -> None:
    lonely = Conversion(f"rev-lonely-{uuid.uuid4().hex[:6]}", T, "sql")
    out = process_entities(
        CONFIG, [(b"a:lonely.example", jsonio.dumps([["c", lonely.to_json(), False]]))], {}.get
    )
    _insert(own_ch, own_db, [(t, v) for t, _, v in out.sends])
    rows = own_ch.execute(
        "SELECT model, event_id, channel, credit FROM attribution_credits FINAL WHERE conversion_id = %(c)s "
        "ORDER BY model",
        {"c": lonely.event_id},
    )
    assert rows == [(m, "", "(none)", 1.0) for m in sorted(RULE_BASED_MODELS)]


def test_0007_upgrades_an_existing_database(clickhouse_server) -> None:
    name = f"ts_upgrade_{uuid.uuid4().hex[:8]}"
    client = connect(clickhouse_server.url)
    try:
        client.execute(f"CREATE DATABASE {name}")
        for migration in available_migrations():
            if migration.version >= 7:
                continue
            for statement in migration.statements:
                client.execute(statement.replace("{db}", name))
        client.execute(
            f"CREATE TABLE {name}.schema_migrations (version UInt32, name String, applied_at DateTime64(3, 'UTC') "
            "DEFAULT now64(3)) ENGINE = ReplacingMergeTree ORDER BY version"
        )
        client.execute(
            f"INSERT INTO {name}.schema_migrations (version, name) VALUES",
            [(m.version, m.name) for m in available_migrations() if m.version < 7],
        )
        ts = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
        for credit_value in (0.25, 0.5):  # a redelivered credit: the later copy is the row
            client.execute(
                f"INSERT INTO {name}.attribution_credits (conversion_id, stage, model, event_id, ts, account_id, "
                "channel, channel_category, utm_campaign, credit, revenue_credit, conversion_ts) VALUES",
                [
                    (
                        "old-c",
                        "mql",
                        "linear",
                        "e1",
                        ts,
                        "acme.io",
                        "email",
                        "lead_gen",
                        "",
                        credit_value,
                        0.0,
                        ts,
                    )
                ],
            )
        client.execute(
            f"INSERT INTO {name}.conversions (conversion_id, ts, account_id, person_id, stage, amount, currency, "
            "opportunity_id) VALUES",
            [("old-c", ts, "acme.io", "", "mql", 0.0, "", "")],
        )
        assert apply_migrations(client, name) == [m.name for m in available_migrations() if m.version >= 7]
        assert client.execute(
            f"SELECT credit, revision FROM {name}.attribution_credits FINAL WHERE conversion_id = 'old-c'"
        ) == [(0.5, 0)]
        assert client.execute(f"SELECT conversion_id, revision, deleted FROM {name}.conversions FINAL") == [
            ("old-c", 0, False)
        ]
        engines = dict(
            client.execute(
                "SELECT name, engine_full FROM system.tables WHERE database = %(d)s "
                "AND name IN ('attribution_credits', 'conversions')",
                {"d": name},
            )
        )
        assert engines["attribution_credits"].startswith("ReplacingMergeTree(revision)")
        assert engines["conversions"].startswith("ReplacingMergeTree(revision, deleted)")
        assert apply_migrations(client, name) == []
    finally:
        client.execute(f"DROP DATABASE IF EXISTS {name}")
