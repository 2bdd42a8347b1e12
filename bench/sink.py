"""Sink benchmark: Kafka -> ClickHouse rows/s beside a bare clickhouse-driver insert, and view latency.

Run: ``python -m bench.sink [--rows 500000] [--touchpoints 10000000] [--accounts 100000] [--views-only]
[--runs 3]``. Starts its own embedded broker and ClickHouse in a temporary directory (``--views-only``: the
view latency part alone, no broker). Timings on a shared 2-core machine are noisy.
"""
# ruff: noqa: E501  (SQL text reads better unwrapped)

from __future__ import annotations

import argparse
import asyncio
import math
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from clickhouse_driver import Client
from kafka import KafkaConsumer, KafkaProducer

from embedded.clickhouse import EmbeddedClickHouse
from embedded.kafka import EmbeddedKafka
from reports.identity import graph_around
from reports.momentum import momentum
from reports.queries import Reader
from schemas import jsonio, topics
from sinks.client import connect
from sinks.migrate import apply_migrations
from sinks.parse import raw_insert_sql
from sinks.rows import SPECS_BY_TOPIC, decode, to_columns
from sinks.view_files import split_statements
from streams.admin import ensure_topics

SPEC = SPECS_BY_TOPIC[topics.TOUCHPOINTS]
CHANNELS = "['paid_search','organic_search','paid_social','organic_social','email','podcast','video','events','direct']"


def payloads(n: int) -> list[bytes]:
    return [
        jsonio.dumps(
            {
                "v": 1,
                "event_id": f"{uuid.UUID(int=i)}",
                "ts": f"2026-03-{1 + i % 28:02d}T10:{i % 60:02d}:00.000Z",
                "anonymous_id": f"anon-{i % 5000}",
                "account_id": f"acct-{i % 1000}.example",
                "type": "page_view",
                "channel": "organic_search",
                "channel_category": "lead_gen",
                "utm_source": "google",
                "url": f"https://acme.example/p/{i % 300}",
                "referrer": "https://www.google.com/",
                "received_at": "2026-03-01T10:00:00.100Z",
            }
        )
        for i in range(n)
    ]


def fetch_rates(bootstrap: str, topic: str, n: int) -> tuple[float, float]:
    """Messages/s of a bare fetch loop (no decoding) with kafka-python and with aiokafka, as the sink sets them."""
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False,
        fetch_max_bytes=64 << 20, max_partition_fetch_bytes=16 << 20, max_poll_records=50_000,
    )  # fmt: skip
    got, started = 0, 0.0
    while got < n:
        records = consumer.poll(timeout_ms=500)
        started = started or (time.perf_counter() if records else 0.0)
        got += sum(len(v) for v in records.values())
    kafka_python = n / (time.perf_counter() - started)
    consumer.close()

    async def aio() -> float:
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False,
            check_crcs=False, fetch_max_bytes=64 << 20, max_partition_fetch_bytes=16 << 20,
        )  # fmt: skip
        await consumer.start()
        got, started = 0, 0.0
        while got < n:
            records = await consumer.getmany(timeout_ms=500, max_records=50_000)
            started = started or (time.perf_counter() if records else 0.0)
            got += sum(len(v) for v in records.values())
        await consumer.stop()
        return n / (time.perf_counter() - started)

    return kafka_python, asyncio.run(aio())


SINK_SCRIPT = """
import signal, sys
from bench.sink import SPEC
from sinks.consumer import Sink, SinkConfig
boot, url, topic, group = sys.argv[1:5]
sink = Sink(SinkConfig(boot, url, "bench", group_id=group, routes={topic: SPEC}, embedded_broker=True))
signal.signal(signal.SIGTERM, lambda *_: sink.stop.set())
sink.run()
"""


def run_sinks(ch_url: str, bootstrap: str, topic: str, n: int, workers: int) -> float:
    """Rows/s of ``workers`` sink processes (one group) landing the topic, from their first insert on.

    Timed from the first rows seen in ClickHouse (the group join, ~5 s, is not sink throughput) to
    the last, which includes waiting for the final partial batch (TOUCHSTREAM_SINK_BATCH_SECONDS).
    """
    client = connect(ch_url)
    client.execute("TRUNCATE TABLE bench.touchpoints")
    group = f"bench-{uuid.uuid4().hex[:8]}"
    procs = [
        subprocess.Popen([sys.executable, "-c", SINK_SCRIPT, bootstrap, ch_url, topic, group])
        for _ in range(workers)
    ]
    try:
        while (first := int(client.execute("SELECT count() FROM bench.touchpoints")[0][0])) == 0:
            time.sleep(0.01)
        started = time.perf_counter()
        while client.execute("SELECT count() FROM bench.touchpoints")[0][0] < n:
            time.sleep(0.05)
        return (n - first) / (time.perf_counter() - started)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(60)


def bench_sink(ch_url: str, bootstrap: str, n: int) -> None:
    data = payloads(n)
    client = connect(ch_url)
    apply_migrations(client, "bench")
    # Where the old sink spent its time: JSON -> checked columns in Python, per row.
    started = time.perf_counter()
    columns = to_columns(SPEC, [decode(SPEC, p) for p in data])
    python_decode = n / (time.perf_counter() - started)
    # Baseline: the same rows, already columnar, straight into ClickHouse with clickhouse-driver.
    started = time.perf_counter()
    for i in range(0, n, 50_000):
        client.execute(SPEC.insert_sql("bench"), [c[i : i + 50_000] for c in columns], columnar=True)
    bare = n / (time.perf_counter() - started)
    client.execute("TRUNCATE TABLE bench.touchpoints")
    # What the sink does instead: raw payloads in, ClickHouse parses and checks them.
    started = time.perf_counter()
    for i in range(0, n, 50_000):
        client.execute(raw_insert_sql(SPEC, "bench"), [data[i : i + 50_000]], columnar=True)
    raw = n / (time.perf_counter() - started)
    client.execute("TRUNCATE TABLE bench.touchpoints")
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    ensure_topics(bootstrap, 4, [topic])
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=50, batch_size=512 * 1024)
    for i, value in enumerate(data):
        producer.send(topic, key=str(i % 97).encode(), value=value)
    producer.flush()
    producer.close()
    kafka_python, aiokafka = fetch_rates(bootstrap, topic, n)
    e2e = {workers: run_sinks(ch_url, bootstrap, topic, n, workers) for workers in (1, 2)}
    print(
        f"fetch only, {n:,} messages: aiokafka {aiokafka:,.0f}/s | kafka-python {kafka_python:,.0f}/s | "
        f"ratio {aiokafka / kafka_python:.2f}"
    )
    print(
        f"insert: raw JSON parsed by ClickHouse {raw:,.0f} rows/s | bare columnar clickhouse-driver insert "
        f"{bare:,.0f} rows/s | ratio {raw / bare:.2f} | (Python decode to columns alone: {python_decode:,.0f} rows/s)"
    )
    for workers, rate in e2e.items():
        print(
            f"sink Kafka->ClickHouse, {workers} process(es): {rate:,.0f} rows/s | bare clickhouse-driver insert: "
            f"{bare:,.0f} rows/s | ratio {rate / bare:.2f} (target >= 200k rows/s)"
        )


GENERATE = [
    f"""INSERT INTO {{db}}.touchpoints (event_id, ts, anonymous_id, person_id, account_id, type, channel,
        channel_category, engagement_kind, utm_campaign, is_branded_search, is_competitor)
    SELECT toString(generateUUIDv4()), toDateTime64('2026-01-01 00:00:00', 3, 'UTC') + (rand() % (180 * 86400)),
        concat('anon-', toString(rand(1) % ({{accounts}} * 5))), '', '',
        ['page_view', 'page_view', 'page_view', 'engagement', 'form_submit', 'mention'][rand(2) % 6 + 1] AS tp,
        -- No direct form posts: they are no journey touch today (0009) and were one for the old views,
        -- whose answers are compared below.
        if(tp = 'form_submit' AND {CHANNELS}[rand(3) % 9 + 1] = 'direct', 'organic_search',
           {CHANNELS}[rand(3) % 9 + 1]) AS ch,
        multiIf(ch IN ('paid_search', 'organic_search', 'email'), 'lead_gen', ch = 'direct', 'direct', 'demand_gen'),
        ['social', 'podcast', 'video', 'webinar', 'event', 'content'][rand(4) % 6 + 1],
        concat('c', toString(rand(5) % 50)), rand(6) % 10 = 0, rand(7) % 4 = 0
    FROM numbers({{touchpoints}})""",
    """INSERT INTO {db}.identities (anonymous_id, person_id, account_id, updated_at)
    SELECT concat('anon-', toString(number)), concat('p-', toString(number % ({accounts} * 2))), '', now64(3)
    FROM numbers({accounts} * 5)""",
    """INSERT INTO {db}.identities (anonymous_id, person_id, account_id, updated_at)
    SELECT '', concat('p-', toString(number)), concat('acct-', toString(number % {accounts})), now64(3)
    FROM numbers({accounts} * 2)""",
    """INSERT INTO {db}.conversions (conversion_id, ts, account_id, stage, amount)
    SELECT concat(toString(number), '-', st), toDateTime64('2026-02-01 00:00:00', 3, 'UTC') + (rand() % (150 * 86400)) + idx * 86400 * 7,
        concat('acct-', toString(number)), st, if(st IN ('opportunity', 'closed_won'), 1000 + rand(1) % 50000, 0)
    FROM numbers({accounts}) ARRAY JOIN ['lead', 'mql', 'sql', 'opportunity', 'closed_won'] AS st, range(5) AS idx
    WHERE rand(2) % 6 >= idx""",
    """INSERT INTO {db}.attribution_credits (conversion_id, stage, model, event_id, channel, utm_campaign, credit,
        revenue_credit, conversion_ts)
    SELECT concat(toString(number % {accounts}), '-closed_won'), 'closed_won', 'linear', toString(number),
        {channels}[rand() % 9 + 1], concat('c', toString(rand(1) % 50)), 0.2, 100,
        toDateTime64('2026-02-01 00:00:00', 3, 'UTC') + (rand(2) % (150 * 86400))
    FROM numbers({accounts} * 5)""",
]

VIEWS = {
    # The columns the old definitions had (spend, cost_per_conversion and roas came later).
    "attribution_by_channel": "SELECT channel, conversions, revenue, touched_conversions FROM {db}.attribution_by_channel(model='linear', stage='closed_won', since='2026-01-01', until='2026-07-01') WHERE touched_conversions > 0",
    "demand_gen_kpis": "SELECT * FROM {db}.demand_gen_kpis(since='2026-03-01', until='2026-04-01')",
    "lead_gen_kpis": "SELECT * FROM {db}.lead_gen_kpis(since='2026-03-01', until='2026-04-01')",
    "demand_gen_influence": "SELECT * FROM {db}.demand_gen_influence(since='2026-03-01', until='2026-04-01', lookback_days=90)",
    "sales_velocity": "SELECT * FROM {db}.sales_velocity(since='2026-01-01', until='2026-07-01')",
    "funnel_by_first_touch": "SELECT * FROM {db}.funnel_by_first_touch(since='2026-01-01', until='2026-07-01', window_days=180)",
    "rule_credits (by channel)": "SELECT model, channel, sum(credit) FROM {db}.rule_credits(stage='closed_won', lookback_days=90, lead_gen_days=30, half_life_days=7) WHERE channel != '(none)' GROUP BY model, channel ORDER BY model, channel",
    "rule_credits_between (March)": "SELECT model, channel, sum(credit) FROM {db}.rule_credits_between(stage='closed_won', since='2026-03-01', until='2026-04-01', lookback_days=90, lead_gen_days=30, half_life_days=7) WHERE channel != '(none)' GROUP BY model, channel ORDER BY model, channel",
}
# What the 0003/0004 views need for the same answer where the name or parameters changed. Rule credits
# are compared without the '(none)' rows of touchless conversions, which the old definitions lacked.
LEGACY = {
    "rule_credits_between (March)": "SELECT model, channel, sum(credit) FROM {db}.rule_credits(stage='closed_won', lookback_days=90, lead_gen_days=30, half_life_days=7) WHERE toDate(conversion_ts) >= '2026-03-01' AND toDate(conversion_ts) < '2026-04-01' AND channel != '(none)' GROUP BY model, channel ORDER BY model, channel",
}


def install_legacy_views(
    client: Client, db: str, legacy_db: str, sql_file: str = "views_0003_0004.sql"
) -> None:
    """The views as old migrations defined them (``bench/<sql_file>``), in ``legacy_db``, over ``db``'s tables.

    A view naming another view of that file reads the ``legacy_db`` copy ({legacy} in the file).
    """
    client.execute(f"CREATE DATABASE IF NOT EXISTS {legacy_db}")
    for statement in split_statements((Path(__file__).parent / sql_file).read_text()):
        client.execute(statement.replace("{legacy}", legacy_db).replace("{db}", db))


def timed(client: Client, sql: str, runs: int) -> tuple[float, list[tuple[object, ...]]]:
    """Median seconds of ``runs`` runs after one warm-up, and the rows."""
    rows = client.execute(sql)
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        client.execute(sql)
        took.append(time.perf_counter() - started)
    return statistics.median(took), rows


def same(a: list[tuple[object, ...]], b: list[tuple[object, ...]]) -> bool:
    def close(x: object, y: object) -> bool:
        if isinstance(x, float) and isinstance(y, float):
            return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
        return x == y

    return len(a) == len(b) and all(
        len(r) == len(s) and all(map(close, r, s)) for r, s in zip(a, b, strict=True)
    )


def bench_views(ch_url: str, touchpoints: int, accounts: int, runs: int = 3) -> None:
    client = connect(ch_url, send_receive_timeout=600)
    db, legacy_db, fast_db = "bench_views", "bench_views_legacy", "bench_views_0005"
    apply_migrations(client, db)
    started = time.perf_counter()
    for sql in GENERATE:
        client.execute(sql.format(db=db, touchpoints=touchpoints, accounts=accounts, channels=CHANNELS))
    print(
        f"generated {touchpoints:,} touchpoints / {accounts:,} accounts in {time.perf_counter() - started:.1f}s"
    )
    install_legacy_views(client, db, legacy_db)
    install_legacy_views(client, db, fast_db, "views_0005.sql")
    in_0005 = {row[0] for row in client.execute(f"SHOW TABLES FROM {fast_db}")}
    # Background merges of the fresh 10M rows would slow whichever view runs first: let them settle.
    deadline = time.monotonic() + 300
    while client.execute("SELECT count() FROM system.merges WHERE database = %(db)s", {"db": db})[0][0]:
        if time.monotonic() > deadline:
            break
        time.sleep(1)
    baseline, _ = timed(client, f"SELECT channel, count() FROM {db}.touchpoints GROUP BY channel", 3)
    print(f"plain GROUP BY channel scan of all touchpoints: {baseline * 1000:.0f} ms (median of 3)")
    for name, sql in VIEWS.items():
        now, rows = timed(client, sql.format(db=db), runs)
        # The legacy views take up to ~20 s each here: one timed run is enough to show the ratio.
        before, legacy_rows = timed(client, LEGACY.get(name, sql).format(db=legacy_db), 1)
        # What ran before 0006: the 0005 view where 0005 defined one, else the 0003/0004 one.
        view = sql.split("{db}.", 1)[1].split("(", 1)[0]
        previous = sql.format(db=fast_db) if view in in_0005 else LEGACY.get(name, sql).format(db=legacy_db)
        before_0006, fast_rows = timed(client, previous, runs)
        print(
            f"{name:28s} {now * 1000:6.0f} ms (median of {runs}) | before 0006 {before_0006 * 1000:6.0f} ms "
            f"({before_0006 / now:4.1f}x) | 0003/0004 views {before * 1000:7.0f} ms ({before / now:5.1f}x) | "
            f"vs plain scan {now / baseline:4.1f}x | same answer: {same(rows, legacy_rows) and same(rows, fast_rows)} "
            "| target < 1000 ms"
        )
    bench_momentum(client, db, baseline, runs)
    bench_identity_show(client, db, baseline, runs)


def bench_identity_show(client: Client, db: str, baseline: float, runs: int, devices: int = 10_000) -> None:
    """`touchstream identity show <domain>` on an account with 10k devices (2k people, 5 devices each),
    among the generated 500k devices: the graph's four queries and its assembly."""
    people = devices // 5
    client.execute(
        f"INSERT INTO {db}.identities (anonymous_id, person_id, account_id, email, updated_at, event_id, source) "
        f"SELECT concat('big-dev-', toString(number)), concat('big-p-', toString(number % {people})), "
        "'big.example', '', now64(3), concat('e-', toString(number)), 'identify' "
        f"FROM numbers({devices})"
    )
    client.execute(
        f"INSERT INTO {db}.identities (anonymous_id, person_id, account_id, email, updated_at, event_id, source) "
        f"SELECT '', concat('big-p-', toString(number)), 'big.example', "
        "concat('p', toString(number), '@big.example'), now64(3), concat('e-p-', toString(number)), 'identify' "
        f"FROM numbers({people})"
    )
    reader = Reader(client, db)
    graph = graph_around(reader, "big.example")
    assert graph is not None and len(graph.devices) == devices, "the planted account's devices"
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        graph_around(reader, "big.example")
        took.append(time.perf_counter() - started)
    now = statistics.median(took)
    print(
        f"{'identity show (10k devices)':28s} {now * 1000:6.0f} ms (median of {runs}) | "
        f"vs plain scan {now / baseline:4.1f}x | {len(graph.devices):,} devices, {len(graph.people):,} people, "
        f"{len(graph.edges):,} edges | target < 1000 ms"
    )


def bench_momentum(client: Client, db: str, baseline: float, runs: int) -> None:
    """`touchstream momentum` over 12 months (52 weeks + the 4-week spans): both of its view queries."""
    reader = Reader(client, db)
    today = date(2027, 2, 1)  # 52 complete weeks back reach the generated February 2026 start
    rows = momentum(reader, 52, today)
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        momentum(reader, 52, today)
        took.append(time.perf_counter() - started)
    now = statistics.median(took)
    weeks = sum(1 for v in rows[1].series if v)
    print(
        f"{'touchstream momentum (52 wk)':28s} {now * 1000:6.0f} ms (median of {runs}) | "
        f"vs plain scan {now / baseline:4.1f}x | {weeks} weeks with opportunities | target < 2000 ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--touchpoints", type=int, default=10_000_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--views-only", action="store_true", help="only the view latency part (no broker)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per view (the median is printed)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.views_only:
            with EmbeddedClickHouse(Path(tmp)) as ch:
                bench_views(ch.url, args.touchpoints, args.accounts, args.runs)
            return
        with EmbeddedClickHouse(Path(tmp)) as ch, EmbeddedKafka(Path(tmp)) as kafka:
            bench_sink(ch.url, kafka.bootstrap, args.rows)
            bench_views(ch.url, args.touchpoints, args.accounts, args.runs)


if __name__ == "__main__":
    main()
