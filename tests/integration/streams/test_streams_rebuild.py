# ruff: noqa: E501 - fixtures, user agents and SQL clauses read best on one line
"""State rebuilt from ClickHouse (embedded broker restarted empty): a new conversion credits the old touches."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
from clickhouse_driver import Client

from schemas import tables
from schemas.settings import Settings
from streams.admin import ensure_topics
from streams.rebuild import rebuild_state
from tests.integration.streams.streams_harness import Workers, produce, read_until
from tests.integration.streams.streams_journey import DAY, Journey, _ts
from tests.integration.streams.test_streams_journey import _assert_credits, _credits

pytestmark = pytest.mark.integration


def _at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["ts"])


def _touchpoint(
    j: Journey, event: dict[str, Any], channel: str, category: str, identified: bool
) -> tuple[object, ...]:
    ctx = event.get("context", {})
    return (event["event_id"], _at(event), j.anon, j.email if identified else "", j.account if identified else "",
            event["type"], channel, category, ctx.get("url", ""), ctx.get("referrer", ""), False)  # fmt: skip


def _seed_clickhouse(ch: Client, j: Journey) -> None:
    """The rows the sink holds for the journey up to its demo form, as the live workers wrote them:
    touches before the identify carry no person or account (the view resolves them), and the
    internal page and the form itself are touchpoint rows that never entered the journey."""
    rows = [
        _touchpoint(j, j.linkedin, "organic_social", "demand_gen", False),
        _touchpoint(j, j.podcast, "podcast", "demand_gen", False),
        _touchpoint(j, j.search, "organic_search", "lead_gen", False),
        _touchpoint(j, j.internal, "direct", "direct", False),
        _touchpoint(j, j.form, "direct", "direct", True),
    ]
    ch.execute(
        f"INSERT INTO {tables.TOUCHPOINTS} (event_id, ts, anonymous_id, person_id, account_id, type, channel, channel_category, url, referrer, is_bot) VALUES",
        rows,
    )
    at = _at(j.form)
    ch.execute(
        f"INSERT INTO {tables.IDENTITIES} (anonymous_id, person_id, account_id, email, updated_at) VALUES",
        [(j.anon, j.email, j.account, j.email, at), ("", j.email, j.account, j.email, at)],
    )
    ch.execute(
        f"INSERT INTO {tables.CONVERSIONS} (conversion_id, ts, account_id, person_id, stage, amount, currency, opportunity_id) VALUES",
        [(j.form["event_id"], at, j.account, j.email, "lead", 0.0, "", "")],
    )


def test_rebuilt_journey_credits_the_touches_from_clickhouse(
    ch: Client, clickhouse_url: str, ch_database: str, workers: Workers, kafka_bootstrap: str
) -> None:
    j = Journey(account=f"rb-{uuid.uuid4().hex[:8]}.io")
    _seed_clickhouse(ch, j)
    t = workers.topics
    ensure_topics(kafka_bootstrap, 4, t.all())
    sent = rebuild_state(clickhouse_url, ch_database, kafka_bootstrap, Settings(), topics=t)
    assert sent >= 3  # the account's journey, the person's link to it and the visitor's to the person
    workers.start()
    produce(kafka_bootstrap, t.events, [j.opportunity])
    expected = j.expected("opportunity")
    n = sum(len(v) for v in expected.values())
    opp_id, lead_id = j.opportunity["event_id"], j.form["event_id"]

    def opportunity(rs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in rs if r["conversion_id"] == opp_id]

    records = read_until(kafka_bootstrap, t.credits, lambda rs: len(opportunity(rs)) >= n, timeout_s=60)
    assert len(opportunity(records)) == n, workers.log()
    _assert_credits(_credits(records, opp_id), expected)
    assert {r["account_id"] for r in records} == {j.account}
    # The lead still inside the lookback came back as a revisable conversion: re-credited from the
    # rebuilt journey at a revision above the stored one (0), with the same answer.
    lead = [r for r in records if r["conversion_id"] == lead_id]
    assert lead and {r["revision"] for r in lead} == {2}
    credited = [r for r in lead if r["credit"] != 0]  # zero rows: ids a revision > 1 does not credit
    _assert_credits(_credits(credited, lead_id), j.expected("lead"))
    # The rebuilt links route the visitor's next touch through its person to the account without a new identify.
    video = {"event_id": str(uuid.uuid4()), "type": "engagement", "ts": _ts(j.base + 31 * DAY), "anonymous_id": j.anon,
             "channel": "video", "kind": "video"}  # fmt: skip
    won = {
        **j.opportunity,
        "event_id": str(uuid.uuid4()),
        "stage": "closed_won",
        "ts": _ts(j.base + 32 * DAY),
    }
    produce(kafka_bootstrap, t.events, [video])

    def forwarded(items: list[Any]) -> bool:  # to v:<anon>, p:<person>, then the account (by the links)
        return sum(video["event_id"] in str(i) for i in items) >= 3

    read_until(kafka_bootstrap, t.by_account, forwarded, timeout_s=30)
    produce(kafka_bootstrap, t.events, [won])
    records = read_until(
        kafka_bootstrap,
        t.credits,
        lambda rs: any(r["conversion_id"] == won["event_id"] for r in rs),
        timeout_s=60,
    )
    won_credits = _credits(records, won["event_id"])
    assert won_credits["last"] == {video["event_id"]: 1.0}, workers.log()
    assert won_credits["first"] == {j.linkedin["event_id"]: 1.0}
