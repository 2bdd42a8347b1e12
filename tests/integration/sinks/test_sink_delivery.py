"""The sink lands every record exactly once in what analysts read: redelivery, kill -9, ClickHouse restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid

from kafka import KafkaConsumer, KafkaProducer

from embedded.clickhouse import EmbeddedClickHouse
from schemas import jsonio, topics
from schemas.records import DeadLetter
from sinks import metrics
from sinks.client import connect
from sinks.consumer import Sink, SinkConfig
from sinks.migrate import apply_migrations
from sinks.rows import SPECS_BY_TOPIC

TOUCHPOINTS = SPECS_BY_TOPIC[topics.TOUCHPOINTS]


def touch(prefix: str, i: int) -> bytes:
    return jsonio.dumps(
        {
            "v": 1,
            "event_id": f"{prefix}-{i}",
            "ts": f"2026-03-{1 + i % 28:02d}T10:00:00.{i % 1000:03d}Z",
            "anonymous_id": f"anon-{i % 50}",
            "type": "page_view",
            "channel": "organic_search",
            "channel_category": "lead_gen",
            "url": f"https://acme.example/p/{i}",
            "received_at": None,
        }
    )


def produce(bootstrap: str, topic: str, payloads: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, acks="all")
    for i, value in enumerate(payloads):
        producer.send(topic, key=str(i % 13).encode(), value=value)
    producer.flush(30)
    producer.close()


def counts(ch, prefix: str) -> tuple[int, int]:
    """(rows analysts see, raw stored rows) for event ids with this prefix."""
    seen = ch.execute(
        "SELECT count() FROM touchpoints FINAL WHERE startsWith(event_id, %(p)s)", {"p": prefix}
    )
    raw = ch.execute("SELECT count() FROM touchpoints WHERE startsWith(event_id, %(p)s)", {"p": prefix})
    return seen[0][0], raw[0][0]


def wait_for(predicate, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def run_sink(config: SinkConfig) -> tuple[Sink, threading.Thread]:
    sink = Sink(config)
    thread = threading.Thread(target=sink.run, daemon=True)
    thread.start()
    return sink, thread


def config(bootstrap, url, db, topic, group, **kw) -> SinkConfig:
    return SinkConfig(
        bootstrap,
        url,
        db,
        group_id=group,
        routes={topic: TOUCHPOINTS},
        embedded_broker=True,
        batch_seconds=0.3,
        **kw,
    )


def test_redelivery_counts_once_and_poison_goes_to_dead_letter(
    kafka_bootstrap, topic_factory, clickhouse_url, own_db, own_ch
):
    topic, dead = topic_factory(), topic_factory(partitions=1, prefix="dl")
    prefix = f"rd{uuid.uuid4().hex[:6]}"
    n = 3000
    good = [touch(prefix, i) for i in range(n)]
    poison = [
        b"not json",
        jsonio.dumps({"event_id": "x", "type": "page_view"}),  # missing ts, channel...
        jsonio.dumps({**jsonio.loads(touch(prefix, 0)), "event_id": f"{prefix}-bad", "is_bot": "yes"}),
    ]
    produce(kafka_bootstrap, topic, good + good[:500] + poison)  # 500 duplicates in the stream itself
    group = f"g-{uuid.uuid4().hex[:8]}"
    sink, thread = run_sink(
        config(kafka_bootstrap, clickhouse_url, own_db, topic, group, dead_letter_topic=dead)
    )
    wait_for(lambda: counts(own_ch, prefix)[0] == n, what="first delivery")
    wait_for(lambda: all(b.empty for b in sink.batches.values()), what="commit")
    sink.stop.set()
    thread.join(30)
    # Forced redelivery of everything: a new group reads the topic again from the start.
    sink2, thread2 = run_sink(
        config(kafka_bootstrap, clickhouse_url, own_db, topic, f"{group}-again", dead_letter_topic=dead)
    )
    wait_for(
        lambda: (
            sink2.lag.get(topic) == 0
            and all(b.empty for b in sink2.batches.values())
            and sum(sink2.next_offset.values()) == n + 500 + 3
        ),
        what="redelivery consumed",
    )
    sink2.stop.set()
    thread2.join(30)
    seen, raw = counts(own_ch, prefix)
    assert seen == n
    assert raw >= n
    assert own_ch.execute(
        "SELECT count() FROM account_journeys WHERE startsWith(event_id, %(p)s)", {"p": prefix}
    ) == [(n,)]
    letters = read_all(kafka_bootstrap, dead, expected=6)  # 3 poison rows x 2 deliveries
    reasons = sorted({(d.reason.split(":")[0], d.errors[0]["field"] if d.errors else "") for d in letters})
    assert reasons == [
        ("expected bool", "is_bot"),
        ("missing", "channel,channel_category,ts"),
        ("not JSON", ""),
    ]
    assert all(d.stage == "sink" and d.topic == topic for d in letters)


def read_all(bootstrap: str, topic: str, expected: int) -> list[DeadLetter]:
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=5000
    )
    out = []
    for message in consumer:
        out.append(DeadLetter.model_validate_json(message.value))
        if len(out) == expected:
            break
    consumer.close()
    assert len(out) == expected
    return out


SINK_SCRIPT = textwrap.dedent("""
    import signal, sys
    from schemas import topics
    from sinks.consumer import Sink, SinkConfig
    from sinks.rows import SPECS_BY_TOPIC
    boot, url, db, topic, group = sys.argv[1:6]
    sink = Sink(SinkConfig(boot, url, db, group_id=group, routes={topic: SPECS_BY_TOPIC[topics.TOUCHPOINTS]},
                           embedded_broker=True, batch_rows=500, batch_seconds=0.2))
    signal.signal(signal.SIGTERM, lambda *_: sink.stop.set())  # as cli/sink.py does
    sink.run()
""")


def test_kill_minus_nine_mid_batch_loses_and_doubles_nothing(
    kafka_bootstrap, topic_factory, clickhouse_url, own_db, own_ch
):
    topic, group = topic_factory(), f"g-{uuid.uuid4().hex[:8]}"
    prefix = f"k9{uuid.uuid4().hex[:6]}"
    n = 20000
    produce(kafka_bootstrap, topic, [touch(prefix, i) for i in range(n)])
    args = [sys.executable, "-c", SINK_SCRIPT, kafka_bootstrap, clickhouse_url, own_db, topic, group]
    first = subprocess.Popen(args, cwd=os.getcwd())
    try:
        wait_for(lambda: counts(own_ch, prefix)[1] >= 2000, what="some batches written")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert counts(own_ch, prefix)[1] < n  # it really died mid-way
    second = subprocess.Popen(args, cwd=os.getcwd())
    try:
        # The dead member holds its partitions until its session times out (6 s), then all is re-read.
        wait_for(lambda: counts(own_ch, prefix)[0] == n, timeout=90, what="all rows after restart")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    assert counts(own_ch, prefix)[0] == n


def test_clickhouse_restart_under_load_loses_nothing(kafka_bootstrap, topic_factory, tmp_path):
    server = EmbeddedClickHouse(tmp_path).start()
    tcp, http = server.tcp_port, server.http_port
    try:
        apply_migrations(connect(server.url), "restart")
        ch = connect(server.url, database="restart")
        topic, prefix, n = topic_factory(), "rs", 12000
        retries_before = metrics.RETRIES.labels("touchpoints")._value.get()
        sink, thread = run_sink(
            config(
                kafka_bootstrap,
                server.url,
                "restart",
                topic,
                f"g-{uuid.uuid4().hex[:8]}",
                batch_rows=1000,
                backoff_initial_s=0.1,
                backoff_max_s=0.5,
            )
        )
        produce(kafka_bootstrap, topic, [touch(prefix, i) for i in range(n // 2)])
        wait_for(lambda: counts(ch, prefix)[0] > 0, what="first rows")
        server.stop()
        producer = threading.Thread(
            target=produce, args=(kafka_bootstrap, topic, [touch(prefix, i) for i in range(n // 2, n)])
        )
        producer.start()
        wait_for(lambda: metrics.RETRIES.labels("touchpoints")._value.get() > retries_before, what="retries")
        producer.join(60)
        time.sleep(1.0)  # keep it down a little longer while the sink backs off
        server = EmbeddedClickHouse(tmp_path, tcp_port=tcp, http_port=http).start()
        ch = connect(server.url, database="restart")
        wait_for(lambda: counts(ch, prefix)[0] == n, timeout=60, what="all rows after the restart")
        sink.stop.set()
        thread.join(30)
        assert counts(ch, prefix)[0] == n
    finally:
        server.stop()


# (change to a valid touchpoint, what Python's check says). The raw insert may refuse more than
# Python does (that batch then takes the Python path), never less.
EDGES = [
    ({}, True), ({"received_at": None, "url": None}, True), ({"ts": "2026-03-01T10:00:00+02:00"}, True),
    ({"duration_s": 2}, True), ({"reach": 7, "is_bot": True}, True), ({"url": 'say "hi"\\ {x}:null'}, True),
    ({"is_bot": "yes"}, False), ({"is_bot": 1}, False), ({"url": 5}, False), ({"duration_s": "3.5"}, False),
    ({"ts": "yesterday"}, False), ({"ts": None}, False), ({"reach": -1}, False), ({"channel": None}, False),
    ({"utm_source": ["a"]}, False), ({"brand": {"a": 1}}, False), ({"extra_key": "x"}, True),
]  # fmt: skip


def test_raw_insert_never_accepts_what_python_rejects_and_stores_the_same_values(own_ch, own_db):
    from clickhouse_driver.errors import ServerException

    from sinks.parse import REJECTED_CODE, raw_insert_sql
    from sinks.rows import BadRowError, check_row, decode, to_columns

    prefix = f"px{uuid.uuid4().hex[:6]}"
    fast = []
    for i, (change, python_ok) in enumerate(EDGES):
        base = jsonio.loads(touch(prefix, i))
        payload = jsonio.dumps({**base, **change, "event_id": f"{prefix}-raw-{i}"})
        try:
            check_row(TOUCHPOINTS, decode(TOUCHPOINTS, payload))
        except BadRowError:
            assert not python_ok, change
        else:
            assert python_ok, change
            row = decode(TOUCHPOINTS, jsonio.dumps({**base, **change, "event_id": f"{prefix}-col-{i}"}))
            own_ch.execute(TOUCHPOINTS.insert_sql(own_db), to_columns(TOUCHPOINTS, [row]), columnar=True)
        try:
            own_ch.execute(raw_insert_sql(TOUCHPOINTS, own_db), [[payload]], columnar=True)
            fast.append(i)
        except ServerException as exc:
            assert exc.code == REJECTED_CODE, exc
            continue
        assert python_ok, f"raw insert accepted {change}"
    # Well-formed records take the fast path; ":null" inside a string or an unknown key defeat its counts.
    assert fast == [0, 1, 2, 3, 4]
    cols = ", ".join(c for c in TOUCHPOINTS.names if c != "event_id")
    stored = own_ch.execute(
        f"SELECT replaceOne(event_id, '-raw-', '-'), {cols} FROM touchpoints "
        "WHERE startsWith(event_id, %(p)s) ORDER BY event_id",
        {"p": f"{prefix}-raw-"},
    )
    expected = own_ch.execute(
        f"SELECT replaceOne(event_id, '-col-', '-'), {cols} FROM touchpoints "
        "WHERE startsWith(event_id, %(p)s) ORDER BY event_id",
        {"p": f"{prefix}-col-"},
    )
    assert len(stored) == 5 and stored == [r for r in expected if r[0] in {s[0] for s in stored}]
