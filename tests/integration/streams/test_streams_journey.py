# ruff: noqa: E501 - fixtures, user agents and SQL clauses read best on one line
"""A realistic journey through a real worker on the embedded broker: exact credits on the output topics."""

from __future__ import annotations

import pytest

from tests.integration.streams.streams_harness import Workers, produce, read_until
from tests.integration.streams.streams_journey import Journey

pytestmark = pytest.mark.integration


def _credits(records: list[dict], conversion_id: str) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for r in records:
        if r["conversion_id"] == conversion_id:
            out.setdefault(r["model"], {})[r["event_id"]] = r["credit"]
    return out


def _assert_credits(actual: dict[str, dict[str, float]], expected: dict[str, dict[str, float]]) -> None:
    assert set(actual) == set(expected)
    for model, shares in expected.items():
        assert set(actual[model]) == set(shares), model
        for event_id, share in shares.items():
            assert actual[model][event_id] == pytest.approx(share, abs=1e-9), (model, event_id)


def test_journey_credits_touchpoints_identities_and_dead_letters(
    workers: Workers, kafka_bootstrap: str
) -> None:
    t = workers.topics
    workers.start()
    journey = Journey()
    bot = {"event_id": "7b0c5c84-3f5e-4a43-9f44-1f9b8f1c0001", "type": "page_view", "ts": journey.search["ts"],
           "anonymous_id": "crawler-1", "context": {"url": "https://northwind.io/",
           "user_agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}}  # fmt: skip
    produce(kafka_bootstrap, t.events, [*journey.before_lead(), bot])
    produce(kafka_bootstrap, t.events, [])
    # A malformed event is dead-lettered, and the worker keeps going.
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    p.send(t.events, b'{"type": "page_view", "event_id": "nope"}', key=b"x")
    p.flush()
    p.close()

    lead_id = journey.form["event_id"]
    n_lead = sum(len(v) for v in journey.expected("lead").values())
    credits = read_until(kafka_bootstrap, t.credits, lambda rs: len(rs) >= n_lead, timeout_s=60)
    assert len(credits) == n_lead, workers.log()
    _assert_credits(_credits(credits, lead_id), journey.expected("lead"))
    assert {r["account_id"] for r in credits} == {journey.account}

    produce(kafka_bootstrap, t.events, [journey.opportunity])
    opp_id = journey.opportunity["event_id"]
    n_opp = sum(len(v) for v in journey.expected("opportunity").values())
    credits = read_until(kafka_bootstrap, t.credits, lambda rs: len(rs) >= n_lead + n_opp, timeout_s=30)
    opp = _credits(credits, opp_id)
    _assert_credits(opp, journey.expected("opportunity"))
    revenue = [
        r["revenue_credit"] for r in credits if r["conversion_id"] == opp_id and r["model"] == "linear"
    ]
    assert revenue == pytest.approx([50000 / 3] * 3)

    conversions = read_until(kafka_bootstrap, t.conversions, lambda rs: len(rs) >= 2, timeout_s=10)
    assert sorted((c["conversion_id"], c["stage"], c["account_id"]) for c in conversions) == sorted(
        [(lead_id, "lead", "acme.io"), (opp_id, "opportunity", "acme.io")]
    )
    touchpoints = read_until(kafka_bootstrap, t.touchpoints, lambda rs: len(rs) >= 6, timeout_s=10)
    by_id = {r["event_id"]: r for r in touchpoints}
    search = by_id[journey.search["event_id"]]
    assert (search["channel"], search["channel_category"], search["is_branded_search"]) == (
        "organic_search", "lead_gen", True,
    )  # fmt: skip
    assert by_id[journey.linkedin["event_id"]]["channel"] == "organic_social"
    assert by_id[journey.podcast["event_id"]]["channel_category"] == "demand_gen"
    assert by_id[bot["event_id"]]["is_bot"] is True
    identities = read_until(kafka_bootstrap, t.identities, lambda rs: len(rs) >= 2, timeout_s=10)
    shapes = {(r["anonymous_id"], r["person_id"], r["account_id"]) for r in identities}
    assert shapes == {(journey.anon, journey.email, "acme.io"), ("", journey.email, "acme.io")}
    letters = read_until(kafka_bootstrap, t.dead_letter, lambda rs: len(rs) >= 1, timeout_s=10)
    assert [d["reason"] for d in letters] == ["invalid event"]
    assert workers.procs[0].poll() is None  # still running
