# ruff: noqa: E501 - fixtures read best on one line
"""First copy wins across a worker's SIGKILL and lost local state: the ``dedupe`` table comes back from its changelog."""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timedelta

import pytest

from streams.config import APP_ID
from streams.dedupe import REASON
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
