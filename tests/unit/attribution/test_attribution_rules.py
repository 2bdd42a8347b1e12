"""Golden numbers for every rule-based model, worked out by hand, plus the edge cases."""

from __future__ import annotations

import pytest

from attribution import (
    RULE_BASED_MODELS,
    AttributionInputError,
    Touch,
    UnknownModelError,
    credit,
    first,
    full_path,
    last,
    last_non_direct,
    linear,
    time_decay,
    u_shaped,
    w_shaped,
)

DAY = 86_400.0


def journey5(lead: int | None = 2, opportunity: int | None = 3) -> list[Touch]:
    """a paid_search, b organic_social, c email, d direct, e direct, one day apart, given shuffled."""
    channels = ["paid_search", "organic_social", "email", "direct", "direct"]
    touches = [
        Touch(
            event_id="abcde"[i],
            ts=1_700_000_000.0 + i * DAY,
            channel=channels[i],
            is_lead_creation=i == lead,
            is_opportunity_creation=i == opportunity,
        )
        for i in range(5)
    ]
    return [touches[k] for k in (3, 0, 4, 2, 1)]


def by_model(model: str, journey: list[Touch], **kwargs: float) -> list[float]:
    return [c for _, c in credit(model, journey, **kwargs)]


def test_credit_returns_touches_in_ts_order() -> None:
    assert [t.event_id for t, _ in credit("linear", journey5())] == list("abcde")


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("first", [1, 0, 0, 0, 0]),
        ("last", [0, 0, 0, 0, 1]),
        ("linear", [0.2] * 5),
        ("u_shaped", [0.4, 0.2 / 3, 0.2 / 3, 0.2 / 3, 0.4]),
        ("w_shaped", [0.3, 0.05, 0.3, 0.3, 0.05]),
        ("full_path", [0.225, 0.1, 0.225, 0.225, 0.225]),
        ("last_non_direct", [0, 0, 1, 0, 0]),
    ],
)
def test_golden_five_touch_journey(model: str, expected: list[float]) -> None:
    assert by_model(model, journey5()) == pytest.approx(expected, abs=1e-12)


def test_time_decay_halves_per_half_life() -> None:
    # One day apart with a one-day half-life: weights 1/16, 1/8, 1/4, 1/2, 1 -> /31 * 16.
    got = by_model("time_decay", journey5(), half_life_days=1.0)
    assert got == pytest.approx([1 / 31, 2 / 31, 4 / 31, 8 / 31, 16 / 31], abs=1e-12)
    week = by_model("time_decay", journey5())
    weights = [2 ** (-(4 - i) / 7) for i in range(5)]
    assert week == pytest.approx([w / sum(weights) for w in weights], abs=1e-12)


def test_time_decay_conversion_ts_cancels_out() -> None:
    j = journey5()
    later = max(t.ts for t in j) + 30 * DAY
    assert time_decay(j, conversion_ts=later) == pytest.approx(time_decay(j), abs=1e-12)


def test_time_decay_survives_huge_gaps() -> None:
    j = [Touch("a", 0.0, "email"), Touch("b", 1e12, "email")]
    assert time_decay(j) == [0.0, 1.0]


@pytest.mark.parametrize("half_life", [0.0, -1.0, float("nan"), float("inf")])
def test_time_decay_rejects_bad_half_life(half_life: float) -> None:
    with pytest.raises(AttributionInputError):
        time_decay(journey5(), half_life_days=half_life)


def test_time_decay_rejects_non_finite_conversion_ts() -> None:
    with pytest.raises(AttributionInputError):
        time_decay(journey5(), conversion_ts=float("nan"))


@pytest.mark.parametrize("model", RULE_BASED_MODELS)
def test_empty_and_single_touch(model: str) -> None:
    assert credit(model, []) == []
    only = Touch("x", 5.0, "direct", is_lead_creation=True, is_opportunity_creation=True)
    assert credit(model, [only]) == [(only, 1.0)]


def test_two_touches() -> None:
    j = [Touch("b", 2.0, "email"), Touch("a", 1.0, "video")]
    assert u_shaped(j) == [0.5, 0.5]
    assert linear(j) == [0.5, 0.5]
    assert w_shaped(j) == [0.5, 0.5]  # no lead marker -> u_shaped
    assert first(j) == [1.0, 0.0] and last(j) == [0.0, 1.0]


def test_duplicate_timestamps_break_ties_by_event_id() -> None:
    j = [Touch("b", 10.0, "email"), Touch("a", 10.0, "video"), Touch("c", 10.0, "direct")]
    pairs = credit("first", j)
    assert [t.event_id for t, _ in pairs] == ["a", "b", "c"]
    assert pairs[0] == (j[1], 1.0)
    assert credit("last_non_direct", j)[1] == (j[0], 1.0)


def test_all_direct_last_non_direct_falls_back_to_last() -> None:
    j = [Touch("a", 1.0, "direct"), Touch("b", 2.0, "direct")]
    assert last_non_direct(j) == [0.0, 1.0]


def test_missing_lead_marker_falls_back_to_u_shaped() -> None:
    j = journey5(lead=None, opportunity=3)
    assert w_shaped(j) == u_shaped(j)
    assert full_path(j) == u_shaped(j)


def test_lead_without_opportunity() -> None:
    j = journey5(lead=2, opportunity=None)
    # w_shaped: first + lead share 90 % (45/45), b, d, e split 10 %.
    assert w_shaped(j) == pytest.approx([0.45, 0.1 / 3, 0.45, 0.1 / 3, 0.1 / 3], abs=1e-12)
    # full_path: first, lead, last 30 % each, b and d 5 % each.
    assert full_path(j) == pytest.approx([0.3, 0.05, 0.3, 0.05, 0.3], abs=1e-12)


def test_coinciding_markers_merge_their_shares() -> None:
    j = journey5(lead=0, opportunity=3)
    assert w_shaped(j) == pytest.approx([0.6, 0.1 / 3, 0.1 / 3, 0.3, 0.1 / 3], abs=1e-12)
    j = journey5(lead=0, opportunity=4)
    assert full_path(j) == pytest.approx([0.45, 0.1 / 3, 0.1 / 3, 0.1 / 3, 0.45], abs=1e-12)


def test_every_touch_an_anchor_spreads_remainder_over_anchors() -> None:
    j = [
        Touch("a", 1.0, "video", is_lead_creation=True),
        Touch("b", 2.0, "email", is_opportunity_creation=True),
    ]
    assert w_shaped(j) == pytest.approx([0.65, 0.35], abs=1e-12)
    # full_path: a = first + lead (0.45), b = opportunity + last (0.45), 5 % each on top.
    assert full_path(j) == pytest.approx([0.5, 0.5], abs=1e-12)


def test_earliest_marker_wins() -> None:
    j = journey5(lead=1, opportunity=3)
    doubled = [
        Touch(
            t.event_id,
            t.ts,
            t.channel,
            is_lead_creation=t.is_lead_creation or t.event_id == "c",
            is_opportunity_creation=t.is_opportunity_creation,
        )
        for t in j
    ]
    assert w_shaped(doubled) == w_shaped(j)


@pytest.mark.parametrize("name", ["markov", "shapley", "nope", ""])
def test_unknown_model(name: str) -> None:
    with pytest.raises(UnknownModelError) as info:
        credit(name, journey5())
    assert info.value.model == name
