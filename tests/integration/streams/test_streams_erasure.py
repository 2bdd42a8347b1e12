# ruff: noqa: E501 - fixtures read best on one line
"""Forgetting a person through a real worker: their touches earn no later credit, a colleague's still do."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from streams.erasure import request_erasure
from tests.integration.streams.streams_harness import Workers, produce, read_until
from tests.integration.streams.streams_journey import Journey

pytestmark = pytest.mark.integration


def _ts(journey: Journey, days: float) -> str:
    return (journey.base + timedelta(days=days)).isoformat().replace("+00:00", "Z")


def _engagement(journey: Journey, anon: str, days: float, channel: str) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "type": "engagement", "ts": _ts(journey, days), "anonymous_id": anon,
            "channel": channel, "kind": "video" if channel == "video" else "podcast"}  # fmt: skip


def test_forgotten_person_gets_no_credit_and_their_device_starts_over(
    workers: Workers, kafka_bootstrap: str
) -> None:
    t = workers.topics
    workers.start()
    ann = Journey()  # LinkedIn, podcast, search, then Ann's demo form: the account's lead
    produce(kafka_bootstrap, t.events, ann.before_lead())
    n_lead = sum(len(v) for v in ann.expected("lead").values())
    lead = read_until(kafka_bootstrap, t.credits, lambda rs: len(rs) >= n_lead, timeout_s=60)
    assert {r["event_id"] for r in lead} == set(ann.touches()), workers.log()

    # Bob of the same account identifies first, so his touches go straight to the account's journey.
    bob = f"anon-bob-{uuid.uuid4().hex[:6]}"
    bob_touches = [_engagement(ann, bob, 24, "podcast"), _engagement(ann, bob, 26, "video")]
    identify = {"event_id": str(uuid.uuid4()), "type": "identify", "ts": _ts(ann, 1), "anonymous_id": bob,
                "email": f"bob@{ann.account}"}  # fmt: skip
    produce(kafka_bootstrap, t.events, [identify, *bob_touches])
    bob_ids = {e["event_id"] for e in bob_touches}
    read_until(
        kafka_bootstrap, t.touchpoints, lambda rs: bob_ids <= {r["event_id"] for r in rs}, timeout_s=30
    )

    sent = request_erasure(kafka_bootstrap, [ann.anon], [ann.email], ann.touches(), [ann.account], topics=t)
    assert sent == 5  # stage 1: visitor + person; stage 2: drop v: and p:, touches out of a:acme.io

    # Ann's device comes back: stage 1 no longer knows who it is.
    again = {"event_id": str(uuid.uuid4()), "type": "page_view", "ts": _ts(ann, 29), "anonymous_id": ann.anon,
             "context": {"url": "https://northwind.io/blog"}}  # fmt: skip
    produce(kafka_bootstrap, t.events, [again])
    rows = read_until(
        kafka_bootstrap,
        t.touchpoints,
        lambda rs: again["event_id"] in {r["event_id"] for r in rs},
        timeout_s=30,
    )
    row = next(r for r in rows if r["event_id"] == again["event_id"])
    assert (row["person_id"], row["account_id"]) == ("", ""), workers.log()

    produce(kafka_bootstrap, t.events, [ann.opportunity])
    opp_id = ann.opportunity["event_id"]

    def _latest(rs: list[dict[str, Any]]) -> dict[tuple[str, str], float]:
        """(model, event id) -> credit of the opportunity's latest revision, zero rows left out."""
        mine = [r for r in rs if r["conversion_id"] == opp_id]
        top = max((r["revision"] for r in mine), default=-1)
        return {
            (r["model"], r["event_id"]): r["credit"] for r in mine if r["revision"] == top and r["credit"]
        }

    def _opportunity_done(rs: list[dict[str, Any]]) -> bool:
        # The opportunity may be credited to (none) first, then revised when Bob's touches reach the
        # account through his device and person: wait for a revision that credits them.
        return {e for (m, e) in _latest(rs) if m == "linear"} >= bob_ids

    latest = _latest(read_until(kafka_bootstrap, t.credits, _opportunity_done, timeout_s=30))
    linear = {e: c for (m, e), c in latest.items() if m == "linear"}
    assert linear == pytest.approx({e: 0.5 for e in bob_ids}), workers.log()
    assert {e for (_, e) in latest} == bob_ids  # no model credits Ann's touches
    letters = read_until(kafka_bootstrap, t.dead_letter, lambda rs: False, timeout_s=1)
    assert letters == []
    assert workers.procs[0].poll() is None


def test_forget_cli_erases_clickhouse_then_sends_the_stream_commands(
    ch: Any, ch_database: str, clickhouse_url: str, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from cli.main import app
    from schemas import topics

    anon, person = f"anon-{uuid.uuid4().hex[:8]}", f"p-{uuid.uuid4().hex[:8]}"
    ch.execute(
        "INSERT INTO identities (anonymous_id, person_id, email, account_id) VALUES",
        [(anon, person, "z@zeta.example", "zeta.example")],
    )
    ch.execute("INSERT INTO touchpoints (event_id, anonymous_id, account_id, type, channel, channel_category) VALUES",
               [("z1", anon, "", "page_view", "direct", "direct"), ("z2", anon, "zeta.example", "page_view", "direct", "direct")])  # fmt: skip
    monkeypatch.setenv("TOUCHSTREAM_CLICKHOUSE_URL", clickhouse_url)
    monkeypatch.setenv("TOUCHSTREAM_CLICKHOUSE_DATABASE", ch_database)
    monkeypatch.setenv("TOUCHSTREAM_KAFKA_BOOTSTRAP", kafka_bootstrap)
    dry = CliRunner().invoke(app, ["forget", "--anonymous-id", anon, "--format", "json", "--dry-run"])
    assert dry.exit_code == 0 and '"stream_commands":null' in dry.output, dry.output
    out = CliRunner().invoke(app, ["forget", "--anonymous-id", anon, "--format", "json"])
    # events: visitor, person, e-mail; by-account: drop v:, p:<id>, p:<email>; touches out of a:zeta.example
    assert out.exit_code == 0 and '"stream_commands":7' in out.output, out.output
    assert ch.execute("SELECT count() FROM touchpoints WHERE anonymous_id = %(a)s", {"a": anon}) == [(0,)]
    wanted = {("v:" + anon,), ("p:" + person,), ("p:z@zeta.example",)}
    envelopes = read_until(
        kafka_bootstrap,
        topics.EVENTS,
        lambda rs: wanted <= {tuple(r.get("keys", ())) for r in rs},
        timeout_s=20,
    )
    assert wanted <= {tuple(r.get("keys", ())) for r in envelopes}
    items = read_until(
        kafka_bootstrap, topics.BY_ACCOUNT, lambda rs: [["x", ["z1", "z2"], False]] in rs, timeout_s=20
    )
    assert [["x", ["z1", "z2"], False]] in items
