"""The demo simulation: deterministic by seed, contract-valid, and carrying its ground truth."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from attribution.markov import markov
from attribution.shapley import shapley
from demo import GroundTruth, simulate
from demo.truth import DEMAND_CHANNELS
from schemas.channels import Channel
from schemas.events import parse_event

END = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def test_same_seed_same_events_and_different_seed_different_events() -> None:
    a = simulate(accounts=30, days=20, seed=3, end=END)
    b = simulate(accounts=30, days=20, seed=3, end=END)
    c = simulate(accounts=30, days=20, seed=4, end=END)
    assert [e.event for e in a.events] == [e.event for e in b.events]
    assert [r.body for r in a.requests()] == [r.body for r in b.requests()]
    assert {e.event["event_id"] for e in a.events}.isdisjoint(e.event["event_id"] for e in c.events)


def test_every_event_passes_the_contract_and_lies_in_the_window() -> None:
    sim = simulate(accounts=60, days=30, seed=11, end=END)
    ids = [e.event["event_id"] for e in sim.events]
    assert len(ids) == len(set(ids))
    for e in sim.events:
        event = parse_event(e.event)
        assert event.type == e.event["type"]
        if event.type != "spend":
            assert END - timedelta(days=30) <= event.ts <= END
    assert [e.ts for e in sim.events] == sorted(e.ts for e in sim.events)


def test_all_event_types_channels_and_stages_appear() -> None:
    sim = simulate(accounts=150, days=60, seed=5, end=END)
    exp = sim.expected
    assert set(exp.events_by_type) == {
        "page_view", "engagement", "mention", "identify", "form_submit", "crm_stage", "spend"
    }  # fmt: skip
    assert set(exp.conversions_by_stage) >= {"lead", "mql", "sql", "opportunity"}
    assert {"closed_won", "closed_lost"} & set(exp.conversions_by_stage)
    channels = Counter(e.channel for e in sim.events if e.channel)
    assert set(channels) >= set(DEMAND_CHANNELS) | {
        Channel.PAID_SEARCH,
        Channel.ORGANIC_SEARCH,
        Channel.EMAIL,
    }
    assert exp.bot_events > 0 and exp.accounts == 150
    assert exp.people == sum(len(c.committee) for c in sim.companies)


def test_stages_follow_the_funnel_per_account() -> None:
    sim = simulate(accounts=200, days=60, seed=8, end=END)
    order = ["lead", "mql", "sql", "opportunity"]
    per_account: dict[str, list[str]] = {}
    for e in sim.events:
        if e.event["type"] == "crm_stage":
            per_account.setdefault(e.account, []).append(e.event["stage"])
    for stages in per_account.values():
        main = [s for s in stages if s in order]
        assert main == order[: len(main)]
        if stages[-1] in ("closed_won", "closed_lost"):
            assert main == order


def _ranking(model: str, journeys: list) -> list[str]:
    paths = [j.channels for j in journeys if j.channels]
    conversions = [int(j.converted) for j in journeys if j.channels]
    fn = markov if model == "markov" else shapley
    shares = fn(paths, conversions)
    return sorted(shares, key=lambda c: -shares[c])


@pytest.mark.parametrize("model", ["markov", "shapley"])
def test_data_driven_models_recover_the_ground_truth(model: str) -> None:
    sim = simulate(accounts=2000, days=60, seed=1, end=END)
    assert _ranking(model, sim.journeys(observable_only=True))[0] == Channel.PODCAST


def test_a_different_ground_truth_is_recovered_too() -> None:
    lift = {c: 0.5 for c in DEMAND_CHANNELS} | {Channel.VIDEO: 8.0}
    truth = GroundTruth(lift=lift)
    assert truth.strongest == Channel.VIDEO
    sim = simulate(accounts=2000, days=60, seed=2, ground_truth=truth, end=END)
    assert _ranking("shapley", sim.journeys())[0] == Channel.VIDEO
    assert _ranking("markov", sim.journeys())[0] == Channel.VIDEO
