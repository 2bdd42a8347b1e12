"""Velocity factors on hand-worked opportunity sets; the factor impacts multiply to the ratio."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.velocity import (
    Opportunity,
    VelocityFactors,
    VelocityReport,
    factor_impacts,
    factors_at,
    segment_opportunities,
)

END = datetime(2031, 4, 1, tzinfo=UTC)
W = timedelta(days=90)


def d(days: float) -> datetime:
    return END - timedelta(days=days)


OPPS = [
    Opportunity("won-a", d(40), d(10), True, 12_000, "podcast", "demand_gen"),  # cycle 30
    Opportunity("won-b", d(30), d(20), True, 6_000, "email", "lead_gen"),  # cycle 10
    Opportunity("lost", d(50), d(5), False, 0, "email", "lead_gen"),
    Opportunity("open-1", d(3), None, False, 0, "podcast", "demand_gen"),
    Opportunity("open-2", d(60), d(-2), False, 0, "", ""),  # closes after END: still open at END
    Opportunity("stale", d(200), None, False, 0, "email", "lead_gen"),  # opened before the window
    Opportunity("old-won", d(150), d(95), True, 99_000, "email", "lead_gen"),  # closed before it
]


def test_factors_hand_worked() -> None:
    f = factors_at(OPPS, END, W)
    assert (f.open_opportunities, f.closed) == (2, 3)
    assert f.avg_deal_size == 9_000
    assert f.win_rate == pytest.approx(2 / 3)
    assert f.cycle_days == 20
    assert f.velocity == pytest.approx(2 * 9_000 * (2 / 3) / 20)


def test_segments_by_first_touch() -> None:
    seg = segment_opportunities(OPPS, ["overall", "category", "channel"])
    assert len(seg["overall"]) == len(OPPS)
    assert {o.key for o in seg["channel=podcast"]} == {"won-a", "open-1"}
    assert {o.key for o in seg["category=lead_gen"]} == {"won-b", "lost", "stale", "old-won"}
    assert "channel=" not in seg  # unknown first touch counts only overall


positive = st.floats(min_value=0.5, max_value=1e5)


@given(positive, positive, st.floats(0.05, 1), positive, positive, positive, st.floats(0.05, 1), positive)
def test_impacts_multiply_to_the_velocity_ratio(
    o1: float, a1: float, w1: float, c1: float, o2: float, a2: float, w2: float, c2: float
) -> None:
    now, base = VelocityFactors(o1, a1, w1, c1, 1), VelocityFactors(o2, a2, w2, c2, 1)
    product = 1.0
    for impact in factor_impacts(now, base).values():
        product *= impact
    assert product == pytest.approx(now.velocity / base.velocity, rel=1e-9)


def test_biggest_mover_is_the_most_harmful_factor() -> None:
    base = VelocityFactors(20, 10_000, 0.5, 20, 20)
    rep = VelocityReport("overall", VelocityFactors(18, 10_000, 0.5, 40, 20), base)
    assert rep.biggest_mover() == ("cycle_days", pytest.approx(1.0))
    rep = VelocityReport("overall", VelocityFactors(20, 10_000, 0.2, 22, 20), base)
    assert rep.biggest_mover() == ("win_rate", pytest.approx(-0.6))
    assert "win rate -60% (50% -> 20%)" in rep.summary()
