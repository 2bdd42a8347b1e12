# ruff: noqa: E501 - fixtures, user agents and SQL clauses read best on one line
"""SIGKILL a worker mid-stream, restart it: no credit lost or changed, journey state back from the changelog."""

from __future__ import annotations

import pytest

from tests.integration.streams.streams_harness import Workers, produce, read_until
from tests.integration.streams.streams_journey import Journey

pytestmark = pytest.mark.integration


def _expected(journeys: list[Journey]) -> dict[tuple[str, str, str], float]:
    out = {}
    for j in journeys:
        for stage, conversion in (("lead", j.form), ("opportunity", j.opportunity)):
            for model, shares in j.expected(stage).items():
                for event_id, share in shares.items():
                    out[(conversion["event_id"], model, event_id)] = share
    return out


def test_kill_and_restart_loses_and_doubles_nothing(workers: Workers, kafka_bootstrap: str) -> None:
    t = workers.topics
    journeys = [Journey(account=f"acct{i}.io") for i in range(24)]
    first, second = journeys[:12], journeys[12:]
    per_lead = sum(len(v) for v in first[0].expected("lead").values())

    proc = workers.start()
    produce(kafka_bootstrap, t.events, [e for j in first for e in j.before_lead()])
    read_until(kafka_bootstrap, t.credits, lambda rs: len(rs) >= per_lead * 6, timeout_s=60)
    proc.kill()  # SIGKILL: no clean leave, no final commit
    proc.wait()
    produce(kafka_bootstrap, t.events, [e for j in second for e in j.before_lead()])
    workers.start()
    lead_ids = {j.form["event_id"] for j in journeys}

    def leads_done(rs: list[dict]) -> bool:
        return {r["conversion_id"] for r in rs} >= lead_ids and len(rs) >= per_lead * len(journeys)

    read_until(kafka_bootstrap, t.credits, leads_done, timeout_s=90)
    # Opportunities only need the journeys the first worker built before it died: recovered state.
    send_opportunities_and_check_credits(kafka_bootstrap, workers, journeys)


def latest_credits(records: list[dict]) -> dict[tuple[str, str, str], float]:
    """Fold credit records as ClickHouse does (0007): the highest revision per key, zero rows dropped.

    A redelivery must reproduce a revision exactly: one (key, revision) never carries two credits.
    """
    latest: dict[tuple[str, str, str], tuple[int, float]] = {}
    for r in records:
        key = (r["conversion_id"], r["model"], r["event_id"])
        old = latest.get(key)
        if old is not None and old[0] == r["revision"]:
            assert old[1] == r["credit"], f"redelivery changed {key} at revision {r['revision']}"
        if old is None or r["revision"] > old[0]:
            latest[key] = (r["revision"], r["credit"])
    return {key: share for key, (_, share) in latest.items() if share != 0}


def send_opportunities_and_check_credits(
    kafka_bootstrap: str, workers: Workers, journeys: list[Journey]
) -> None:
    """Send each journey's opportunity; the latest revisions are the expected credits, and a
    redelivery never changes a revision."""
    t = workers.topics
    produce(kafka_bootstrap, t.events, [j.opportunity for j in journeys])
    expected = _expected(journeys)
    records = read_until(
        kafka_bootstrap, t.credits, lambda rs: set(latest_credits(rs)) == set(expected), timeout_s=60
    )
    seen = latest_credits(records)
    assert set(seen) == set(expected), (sorted(set(seen) ^ set(expected)), workers.log())
    for key, share in expected.items():
        assert seen[key] == pytest.approx(share, abs=1e-9), key
