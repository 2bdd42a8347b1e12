"""First copy wins, through `touchstream up`: a replayed event id dated another day never reaches ClickHouse.

Native ``/v1/batch`` events and a Segment ``messageId`` (the compat body on the same route) are
sent, credited, then sent again with another ``ts`` (a day earlier) and other properties. The old
pipeline wrote the replays as second ``touchpoints`` rows (the sorting key holds the date) and
recredited the form; now each replay is a dead letter with the reason, and every table is unchanged.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from compat.mapped import foreign_event_id
from schemas import jsonio, topics
from streams.dedupe import REASON
from tests.e2e.up_process import WRITE_KEY, UpProcess, demo_form, page_views
from tests.integration.streams.streams_harness import read_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def _segment(up: UpProcess, messages: list[dict[str, Any]]) -> None:
    reply = httpx.post(
        f"{up.endpoints['collector']}/v1/batch",
        content=jsonio.dumps({"batch": messages}),
        headers={"X-Write-Key": WRITE_KEY, "Content-Type": "application/json"},
        timeout=30,
    )
    assert reply.status_code < 300 and jsonio.loads(reply.content)["accepted"] == len(messages), reply.text


def _rows(up: UpProcess, query: str, ids: list[str]) -> list[tuple[Any, ...]]:
    return sorted(up.clickhouse().execute(query, {"ids": ids}))


def test_a_replayed_event_id_keeps_the_first_copy_everywhere(up_process: Callable[..., UpProcess]) -> None:
    up = up_process().start()
    device, domain = f"d-{uuid.uuid4().hex[:10]}", f"c{uuid.uuid4().hex[:8]}.com"
    views = page_views(device, 2, 30)
    form = demo_form(device, f"buyer@{domain}", domain, 10)
    message_id = f"seg-{uuid.uuid4().hex}"
    seg_id = foreign_event_id(message_id, None)
    now = datetime.now(UTC)
    segment_page = {
        "type": "page",
        "messageId": message_id,
        "anonymousId": device,
        "timestamp": (now - timedelta(minutes=20)).isoformat(),
        "properties": {"url": "https://example.com/pricing", "plan": "team"},
        "context": {"campaign": {"source": "podcast", "medium": "audio"}},
    }
    up.send([*views, form])
    _segment(up, [segment_page])
    ids = [views[0]["event_id"], views[1]["event_id"], form["event_id"], seg_id]
    up.wait_ids("touchpoints", ids)
    up.wait_ids("attribution_credits", [form["event_id"]], column="conversion_id")
    time.sleep(3)  # every credit of the form (one insert per sink batch)
    tp_query = (
        "SELECT event_id, ts, url, utm_source, received_at FROM touchpoints FINAL WHERE event_id IN %(ids)s"
    )
    credit_query = (
        "SELECT model, event_id, credit, revision FROM attribution_credits FINAL "
        "WHERE conversion_id IN %(ids)s"
    )
    conversion_query = (
        "SELECT conversion_id, ts, revision FROM conversions FINAL WHERE conversion_id IN %(ids)s"
    )
    touchpoints = _rows(up, tp_query, ids)
    credits = _rows(up, credit_query, [form["event_id"]])
    conversions = _rows(up, conversion_query, [form["event_id"]])
    assert len(touchpoints) == 4 and credits and len(conversions) == 1

    # The replays: another day, other properties / url / campaign; native and Segment.
    day_before = (datetime.fromisoformat(views[0]["ts"]) - timedelta(days=1)).isoformat()
    replay_view = {**views[0], "ts": day_before, "context": {"url": "https://example.com/other"}}
    replay_view["properties"] = {"replayed": True}
    replay_form = {**form, "ts": (datetime.fromisoformat(form["ts"]) - timedelta(days=1)).isoformat()}
    up.send([replay_view, replay_form])
    segment_replay = {
        **segment_page,
        "timestamp": (now - timedelta(days=1, minutes=20)).isoformat(),
        "properties": {"url": "https://example.com/replayed", "plan": "enterprise"},
        "context": {"campaign": {"source": "newsletter", "medium": "email"}},
    }
    _segment(up, [segment_replay])
    # A fresh event of the same device after them (same partition, so processed after the replays).
    marker = page_views(device, 1, 1)
    up.send(marker)

    letters = read_until(
        up.endpoints["kafka_bootstrap"],
        topics.DEAD_LETTER,
        lambda rs: sum(r["reason"] == REASON for r in rs) >= 3,
        timeout_s=120,
    )
    duplicates = [r for r in letters if r["reason"] == REASON]
    assert sorted(r["details"]["event_id"] for r in duplicates) == sorted(ids[:1] + ids[2:]), up.tail()
    assert all(
        r["reason"] == "duplicate event id: first copy kept" and r["stage"] == "streams" for r in duplicates
    )
    up.wait_ids("touchpoints", [marker[0]["event_id"]])
    time.sleep(4)  # the sink's batches of every output topic (1 s) have been written

    assert _rows(up, tp_query, ids) == touchpoints
    assert up.count_ids("touchpoints", ids) == (4, 4)
    assert _rows(up, credit_query, [form["event_id"]]) == credits
    assert _rows(up, conversion_query, [form["event_id"]]) == conversions
    journeys = up.clickhouse().execute(
        "SELECT event_id, ts FROM account_journeys WHERE event_id IN %(ids)s ORDER BY event_id", {"ids": ids}
    )
    assert len(journeys) == len({e for e, _ in journeys})  # one row per id, the first copy's time
    first_ts = {e: t for e, t, *_ in touchpoints}
    assert all(first_ts[e] == t for e, t in journeys)
