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


def send_opportunities_and_check_credits(
    kafka_bootstrap: str, workers: Workers, journeys: list[Journey]
) -> None:
    """Send each journey's opportunity; every expected credit arrives, and a redelivery never changes one."""
    t = workers.topics
    produce(kafka_bootstrap, t.events, [j.opportunity for j in journeys])
    expected = _expected(journeys)
    records = read_until(
        kafka_bootstrap, t.credits,
        lambda rs: {(r["conversion_id"], r["model"], r["event_id"]) for r in rs} >= set(expected), timeout_s=60,
    )  # fmt: skip
    seen: dict[tuple[str, str, str], float] = {}
    for r in records:
        key = (r["conversion_id"], r["model"], r["event_id"])
        assert key not in seen or seen[key] == r["credit"], f"redelivery changed {key}"
        seen[key] = r["credit"]
    assert set(seen) == set(expected), workers.log()
    for key, share in expected.items():
        assert seen[key] == pytest.approx(share, abs=1e-9), key
