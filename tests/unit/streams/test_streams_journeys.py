# ruff: noqa: E501 - fixtures, user agents and SQL clauses read best on one line
"""Window pruning, late placement and credit assembly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution import RULE_BASED_MODELS
from streams.credit import NO_CHANNEL, Conversion, apply_markers, assemble
from streams.journeys import DAY, JourneyState, Pending, Touchpoint, Windows

W = Windows()
W7 = Windows(allowed_lateness_s=7 * DAY)  # lateness defaults to the longest lookback (90 d)


def test_lateness_defaults_to_the_longest_lookback() -> None:
    assert W.lateness_s == 90 * DAY and W7.lateness_s == 7 * DAY


@pytest.mark.parametrize(("windows", "kept"), [(W7, ["demand", "now"]), (W, ["demand", "lead", "now"])])
def test_pruning_keeps_each_category_for_its_lookback(windows: Windows, kept: list[str]) -> None:
    s = JourneyState()
    s.add(Touchpoint(0.0, "demand", "podcast", "demand_gen"), windows)
    s.add(Touchpoint(0.0, "lead", "email", "lead_gen"), windows)
    s.add(Touchpoint(50 * DAY, "now", "direct", "direct"), windows)
    s.prune(windows)
    assert [t.event_id for t in s.touches] == kept  # lead_gen > 30 d + lateness is gone
    s.add(Touchpoint(120 * DAY, "later", "video", "demand_gen"), W7)
    s.prune(W7)
    assert [t.event_id for t in s.touches] == ["later"]


def test_pruning_drops_conversions_no_late_touch_can_revise() -> None:
    s = JourneyState()
    s.pending["old"] = Pending(Conversion("old", 110 * DAY, "mql"))
    s.pending["new"] = Pending(Conversion("new", 115 * DAY, "mql"))
    s.add(Touchpoint(120 * DAY, "now", "video", "demand_gen"), W7)
    s.prune(W7)  # horizon 113 d: a touch late by at most 7 d cannot reach a conversion before it
    assert list(s.pending) == ["new"]
    assert s.touches[0].ts >= 113 * DAY - W7.demand_gen_s  # the window of "new" is still whole


def test_too_late_touch_is_refused() -> None:
    s = JourneyState()
    s.add(Touchpoint(200 * DAY, "now", "video", "demand_gen"), W)
    assert not s.add(Touchpoint(10 * DAY, "ancient", "video", "demand_gen"), W)


@given(st.lists(st.floats(0, 400 * DAY, allow_nan=False), min_size=1, max_size=60))
def test_state_stays_bounded_and_ordered(stamps: list[float]) -> None:
    s = JourneyState()
    for i, ts in enumerate(stamps):
        s.add(Touchpoint(ts, f"e{i}", "video", "demand_gen"), W)
        s.prune(W)
    assert s.touches == sorted(s.touches)
    assert all(t.ts >= s.watermark - W.demand_gen_s - W.lateness_s for t in s.touches)


def test_window_respects_category_lookbacks() -> None:
    s = JourneyState()
    for t in [Touchpoint(0.0, "pod", "podcast", "demand_gen"), Touchpoint(10 * DAY, "mail", "email", "lead_gen"),
              Touchpoint(45 * DAY, "search", "organic_search", "lead_gen"), Touchpoint(61 * DAY, "after", "video", "demand_gen")]:  # fmt: skip
        s.add(t, W)
    assert [t.event_id for t in s.window(60 * DAY, W)] == ["pod", "search"]


def test_assemble_marks_lead_and_sums_to_one_per_model() -> None:
    s = JourneyState()
    for i, ch in enumerate(["podcast", "organic_search", "email"]):
        s.add(Touchpoint(i * DAY, f"e{i}", ch, "demand_gen" if ch == "podcast" else "lead_gen", f"c{i}"), W)
    lead = Conversion("lead1", 1 * DAY + 60, "lead")
    apply_markers(s, lead)
    opp = Conversion("opp1", 3 * DAY, "opportunity", amount=1000.0, currency="USD")
    apply_markers(s, opp)
    record, credits = assemble(s, opp, "acme.io", W, 7.0)
    assert record.conversion_id == "opp1" and record.amount == 1000.0
    for model in RULE_BASED_MODELS:
        shares = [c for c in credits if c.model == model]
        assert sum(c.credit for c in shares) == pytest.approx(1.0)
        assert sum(c.revenue_credit for c in shares) == pytest.approx(1000.0)
    w = {c.event_id: c.credit for c in credits if c.model == "w_shaped"}
    # first e0, lead creation e1 (just before the lead at day 1 + 60 s), opportunity creation e2.
    assert w == pytest.approx({"e0": 0.3 + 0.1 / 3, "e1": 0.3 + 0.1 / 3, "e2": 0.3 + 0.1 / 3})
    again = assemble(s, opp, "acme.io", W, 7.0)
    assert again == (record, credits)  # deterministic: a redelivery reproduces identical records


def test_closed_lost_has_no_credits_and_empty_journey_none() -> None:
    s = JourneyState()
    s.add(Touchpoint(0.0, "e0", "podcast", "demand_gen"), W)
    assert assemble(s, Conversion("x", DAY, "closed_lost"), "a.io", W, 7.0)[1] == []
    # No touch in its window: the whole conversion goes to the (none) channel, one row per model.
    none = assemble(JourneyState(), Conversion("y", DAY, "sql"), "a.io", W, 7.0)[1]
    assert sorted(c.model for c in none) == sorted(RULE_BASED_MODELS)
    assert {(c.event_id, c.channel, c.credit) for c in none} == {("", NO_CHANNEL, 1.0)}
