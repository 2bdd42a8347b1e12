# ruff: noqa: E501 - fixtures read best on one line
"""First copy wins across a worker's SIGKILL and lost local state: the ``dedupe`` table comes back from its changelog."""

from __future__ import annotations

import shutil
import time
import uuid
from datetime import datetime, timedelta

import pytest
from clickhouse_driver import Client

from schemas import tables
from schemas.settings import Settings
from streams.admin import ensure_topics
from streams.config import APP_ID
from streams.dedupe import REASON
from streams.rebuild import rebuild_state
from tests.integration.streams.streams_harness import Workers, produce, read_until
from tests.integration.streams.streams_journey import Journey

pytestmark = pytest.mark.integration


def test_replays_after_a_kill_and_a_state_wipe_are_dead_lettered(
    workers: Workers, kafka_bootstrap: str
) -> None:
    t = workers.topics
    journey = Journey()
    events = journey.before_lead()
    proc = workers.start()
    produce(kafka_bootstrap, t.events, events)
    read_until(
        kafka_bootstrap,
        t.credits,
        lambda rs: any(r["conversion_id"] == journey.form["event_id"] for r in rs),
        timeout_s=60,
    )
    time.sleep(4)  # past faust's offset commit (2.8 s), which flushes the changelogs first
    proc.kill()  # SIGKILL
    proc.wait()
    # The worker's local RocksDB goes too: the dedupe entries can only come back from the changelog.
    shutil.rmtree(workers.home / "streams" / f"{APP_ID}.{workers.suffix}-0")
    workers.start()

    def earlier(ts: str) -> str:
        return (datetime.fromisoformat(ts.replace("Z", "+00:00")) - timedelta(days=1)).isoformat()

    replays = [
        {**e, "ts": earlier(e["ts"]), "properties": {"replayed": True}}
        for e in events
        if e["type"] != "identify"
    ]
    produce(kafka_bootstrap, t.events, replays)
    letters = read_until(
        kafka_bootstrap,
        t.dead_letter,
        lambda rs: len({r["details"].get("event_id") for r in rs if r["reason"] == REASON}) >= len(replays),
        timeout_s=90,
    )
    # A set: a batch replayed after the rebalance that evicts the killed member dead-letters again.
    assert {r["details"]["event_id"] for r in letters if r["reason"] == REASON} == {
        e["event_id"] for e in replays
    }, workers.log()
    replayed_ts = {(e["event_id"], e["ts"][:19]) for e in replays}
    touchpoints = read_until(kafka_bootstrap, t.touchpoints, lambda rs: False, timeout_s=3)
    assert {r["event_id"] for r in touchpoints} == {e["event_id"] for e in replays}
    assert not {(r["event_id"], r["ts"][:19]) for r in touchpoints} & replayed_ts


def test_ids_re_seeded_from_clickhouse_drop_their_replays(
    ch: Client, clickhouse_url: str, ch_database: str, workers: Workers, kafka_bootstrap: str
) -> None:
    """After a lost broker log: `touchstream up` re-seeds from ClickHouse before starting the workers."""
    t = workers.topics
    anon = f"anon-{uuid.uuid4().hex[:8]}"
    first = {"event_id": str(uuid.uuid4()), "type": "page_view", "ts": "2025-12-01T10:00:00+00:00", "anonymous_id": anon,
             "context": {"url": "https://northwind.io/pricing"}}  # fmt: skip
    ch.execute(
        f"INSERT INTO {tables.TOUCHPOINTS} (event_id, ts, anonymous_id, type, channel, channel_category, url) VALUES",
        [
            (
                first["event_id"],
                datetime.fromisoformat(first["ts"]),
                anon,
                "page_view",
                "direct",
                "direct",
                "https://northwind.io/pricing",
            )
        ],
    )
    ensure_topics(kafka_bootstrap, 4, t.all())
    rebuild_state(clickhouse_url, ch_database, kafka_bootstrap, Settings(), topics=t)
    workers.start()
    replay = {**first, "ts": "2025-11-30T10:00:00+00:00", "context": {"url": "https://northwind.io/other"}}
    fresh = {**first, "event_id": str(uuid.uuid4()), "ts": "2025-12-01T11:00:00+00:00"}
    produce(kafka_bootstrap, t.events, [replay, fresh])
    touchpoints = read_until(
        kafka_bootstrap,
        t.touchpoints,
        lambda rs: any(r["event_id"] == fresh["event_id"] for r in rs),
        timeout_s=60,
    )
    assert [r["event_id"] for r in touchpoints] == [fresh["event_id"]], workers.log()
    letters = read_until(
        kafka_bootstrap, t.dead_letter, lambda rs: any(r["reason"] == REASON for r in rs), timeout_s=10
    )
    assert {r["details"]["event_id"] for r in letters if r["reason"] == REASON} == {first["event_id"]}
