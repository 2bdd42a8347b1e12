"""The embedded broker and ClickHouse server behave like the real thing for our clients."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

from clickhouse_driver import Client
from kafka import KafkaConsumer, KafkaProducer

from embedded.clickhouse import ANALYST_PASSWORD, ANALYST_USER, EmbeddedClickHouse
from sinks.client import connect
from sinks.migrate import apply_migrations, available_migrations


def test_produce_and_consume_keyed_through_embedded_broker(kafka_bootstrap, topic_factory, group_id):
    topic = topic_factory(partitions=4)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", compression_type="gzip")
    for i in range(200):
        producer.send(topic, key=f"visitor-{i % 7}".encode(), value=f"{i}".encode())
    producer.flush(10)
    producer.close()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=group_id,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=2000,
        consumer_timeout_ms=8000,
    )
    by_key: dict[bytes, list[int]] = {}
    partitions_of_key: dict[bytes, set[int]] = {}
    for msg in consumer:
        by_key.setdefault(msg.key, []).append(int(msg.value))
        partitions_of_key.setdefault(msg.key, set()).add(msg.partition)
        if sum(len(v) for v in by_key.values()) == 200:
            break
    consumer.close()
    assert sum(len(v) for v in by_key.values()) == 200
    # One key -> one partition -> order preserved: what the collector relies on.
    assert all(len(p) == 1 for p in partitions_of_key.values())
    assert all(values == sorted(values) for values in by_key.values())


def test_schema_migrates_idempotently_and_is_queryable(clickhouse_server, ch_database):
    client = connect(clickhouse_server.url)
    assert apply_migrations(client, ch_database) == []  # the session fixture applied them all
    tables = {row[0] for row in client.execute(f"SHOW TABLES FROM {ch_database}")}
    assert {
        "touchpoints",
        "identities",
        "conversions",
        "attribution_credits",
        "spend",
        "alerts",
        "product_events",
        "account_journeys",
        "touch_devices",
        "account_first_touches",
    } <= tables
    versions = client.execute(f"SELECT count() FROM {ch_database}.schema_migrations FINAL")[0][0]
    assert versions == len(available_migrations())


def test_account_journeys_resolves_identities_at_query_time(ch):
    ts = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    ch.execute(
        "INSERT INTO touchpoints (event_id, ts, anonymous_id, type, channel, channel_category, is_bot) "
        "VALUES",
        [
            ("aj-1", ts, "anon-aj", "page_view", "podcast", "demand_gen", False),
            ("aj-2", ts, "anon-bot", "page_view", "direct", "direct", True),
        ],
    )
    assert ch.execute("SELECT account_id FROM account_journeys WHERE event_id = 'aj-1'") == [("",)]
    # A late identify: the earlier anonymous touchpoint joins the account without being rewritten.
    ch.execute(
        "INSERT INTO identities (anonymous_id, person_id, account_id, email, updated_at) VALUES",
        [("anon-aj", "person-aj", "", "", ts), ("", "person-aj", "acme.example", "", ts)],
    )
    assert ch.execute("SELECT person_id, account_id FROM account_journeys WHERE event_id = 'aj-1'") == [
        ("person-aj", "acme.example")
    ]
    # The person moves company later: the latest link wins.
    ch.execute(
        "INSERT INTO identities (anonymous_id, person_id, account_id, email, updated_at) VALUES",
        [("", "person-aj", "globex.example", "", ts + dt.timedelta(days=1))],
    )
    assert ch.execute("SELECT account_id FROM account_journeys WHERE event_id = 'aj-1'") == [
        ("globex.example",)
    ]
    assert ch.execute("SELECT count() FROM account_journeys WHERE event_id = 'aj-2'") == [
        (0,)
    ]  # bots excluded


def test_redelivered_touchpoint_counts_once(ch):
    ts = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    row = ("dup-1", ts, "anon-dup", "page_view", "email", "lead_gen", False)
    insert = (
        "INSERT INTO touchpoints (event_id, ts, anonymous_id, type, channel, channel_category, is_bot) VALUES"
    )
    ch.execute(insert, [row])
    ch.execute(insert, [row])
    assert ch.execute("SELECT count() FROM account_journeys WHERE event_id = 'dup-1'") == [(1,)]


def test_analyst_user_is_read_only(clickhouse_server, ch_database):
    analyst = Client(
        "127.0.0.1", port=clickhouse_server.tcp_port, user=ANALYST_USER, password=ANALYST_PASSWORD
    )
    assert analyst.execute(f"SELECT count() >= 0 FROM {ch_database}.touchpoints") == [(1,)]
    # rule_credits carries a per-query setting, which readonly = 2 still allows.
    params = "stage = 'closed_won', lookback_days = 90, lead_gen_days = 30, half_life_days = 7"
    assert analyst.execute(f"SELECT count() >= 0 FROM {ch_database}.rule_credits({params})") == [(1,)]
    try:
        analyst.execute(f"INSERT INTO {ch_database}.alerts (alert_id) VALUES", [("x",)])
    except Exception as exc:  # noqa: BLE001 - the server's refusal is what we assert on
        assert "readonly" in str(exc).lower()
    else:
        raise AssertionError("analyst could write")


def test_clickhouse_data_survives_restart(tmp_path: Path):
    with EmbeddedClickHouse(tmp_path) as server:
        client = connect(server.url)
        apply_migrations(client, "persist")
        client.execute("INSERT INTO persist.alerts (alert_id, kind) VALUES", [("a1", "test")])
    with EmbeddedClickHouse(tmp_path) as server:
        assert connect(server.url).execute("SELECT alert_id FROM persist.alerts") == [("a1",)]


def test_children_die_with_their_parent(tmp_path: Path):
    """Orphan safety: SIGKILL the process that started the services; they must not survive it."""
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from embedded.clickhouse import EmbeddedClickHouse
        from embedded.kafka import EmbeddedKafka
        ch = EmbeddedClickHouse(Path({str(tmp_path)!r})).start()
        k = EmbeddedKafka(Path({str(tmp_path)!r})).start()
        print(ch._proc.pid, k._proc.pid, flush=True)
        time.sleep(60)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pids = [int(p) for p in parent.stdout.readline().split()]
    assert len(pids) == 2
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [p for p in pids if _alive(p)]
        time.sleep(0.1)
    assert alive == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is dead for our purpose
        return f.read().split()[2] != "Z"


def test_fast_views_resolve_identities_at_query_time(clickhouse_server):
    """The first-touch table and the backward-resolving views re-attribute on a late identify, like
    account_journeys, with no reload and no rewrite (private database: the views aggregate everything)."""
    db = f"ts_late_{uuid.uuid4().hex[:10]}"
    client = connect(clickhouse_server.url)
    apply_migrations(client, db)
    ch = connect(clickhouse_server.url, database=db)
    try:
        t0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
        insert = (
            "INSERT INTO touchpoints (event_id, ts, anonymous_id, person_id, type, channel, "
            "channel_category, is_bot) VALUES"
        )
        rows = [
            ("lt-1", t0, "anon-lt", "", "page_view", "podcast", "demand_gen", False),
            ("lt-2", t0 + dt.timedelta(days=1), "anon-lt", "", "page_view", "email", "lead_gen", False),
            (
                "lt-0",
                t0 - dt.timedelta(days=1),
                "anon-lt",
                "",
                "page_view",
                "direct",
                "direct",
                True,
            ),  # a bot
            ("lt-3", t0 + dt.timedelta(days=2), "", "person-lt", "page_view", "video", "demand_gen", False),
        ]
        ch.execute(insert, rows)
        ch.execute(insert, rows[:1])  # redelivered
        ch.execute(
            "INSERT INTO conversions (conversion_id, ts, account_id, stage, amount) VALUES",
            [("opp-lt", t0 + dt.timedelta(days=5), "acme.example", "opportunity", 500.0)],
        )
        influence = (
            "SELECT opportunities, influenced_opportunities FROM demand_gen_influence("
            "since = '2026-03-01', until = '2026-04-01', lookback_days = 90)"
        )
        assert ch.execute("SELECT count() FROM account_first_touches") == [(0,)]
        assert ch.execute(influence) == [(1, 0)]
        # person-lt's own touch (lt-3) counts as soon as person-lt joins acme; the device follows later.
        ch.execute(
            "INSERT INTO identities (anonymous_id, person_id, account_id, updated_at) VALUES",
            [("", "person-lt", "acme.example", t0)],
        )
        assert ch.execute("SELECT account_id, first_event_id, first_channel FROM account_first_touches") == [
            ("acme.example", "lt-3", "video")
        ]
        ch.execute(
            "INSERT INTO identities (anonymous_id, person_id, account_id, updated_at) VALUES",
            [("anon-lt", "person-lt", "", t0)],
        )
        expected = ch.execute(
            "SELECT account_id, min(ts), argMin(channel, (ts, event_id)) FROM account_journeys "
            "WHERE account_id != '' GROUP BY account_id"
        )
        assert expected == [("acme.example", t0, "podcast")]
        assert ch.execute("SELECT account_id, first_ts, first_channel FROM account_first_touches") == expected
        assert ch.execute(influence) == [(1, 1)]
        funnel = (
            "SELECT first_touch_channel, accounts, opportunities FROM funnel_by_first_touch("
            "since = '2026-03-01', until = '2026-04-01', window_days = 30)"
        )
        assert ch.execute(funnel) == [("podcast", 1, 0)]  # no lead / mql / sql before the opportunity
        # The person moves company: history follows, and acme has no first touch any more.
        ch.execute(
            "INSERT INTO identities (anonymous_id, person_id, account_id, updated_at) VALUES",
            [("", "person-lt", "globex.example", t0 + dt.timedelta(days=9))],
        )
        assert ch.execute("SELECT account_id FROM account_first_touches") == [("globex.example",)]
        assert ch.execute(influence) == [(1, 0)]
    finally:
        client.execute(f"DROP DATABASE IF EXISTS {db}")
