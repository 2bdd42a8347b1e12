"""Mix shares and sentences on a hand-computed dataset with a zero-spend channel."""

from __future__ import annotations

import pytest

from attribution.mix import MixInput, describe, mix


def test_hand_computed_mix_with_zero_spend_channel() -> None:
    rows = [
        MixInput("lead gen", 7_000, 20_000, 10_000),
        MixInput("lead gen", 800, 11_000, 0),  # same group twice: summed
        MixInput("demand gen", 2_200, 49_000, 30_000),
        MixInput("direct", 0, 20_000, 10_000),  # zero spend
    ]
    by = {r.group: r for r in mix(rows)}
    # totals: spend 10_000, pipeline 100_000, revenue 50_000
    assert by["lead gen"].spend_share == pytest.approx(0.78)
    assert by["lead gen"].pipeline_share == pytest.approx(0.31)
    assert by["lead gen"].revenue_share == pytest.approx(0.20)
    assert by["direct"].spend_share == 0.0
    assert by["direct"].pipeline_share == pytest.approx(0.20)
    assert by["lead gen"].sentence.startswith("lead gen: 78 % of spend, 31 % of pipeline, 20 % of revenue")
    assert "47 points more spend than pipeline" in by["lead gen"].sentence
    assert "27 points more pipeline" in by["demand gen"].sentence
    assert [r.group for r in mix(rows)] == ["lead gen", "demand gen", "direct"]


def test_no_spend_in_period_is_not_zero_percent() -> None:
    (row,) = mix([MixInput("direct", 0, 5, 0)])
    assert row.spend_share is None and row.revenue_share is None
    assert row.pipeline_share == 1.0
    assert row.sentence == "direct: n/a of spend, 100 % of pipeline, n/a of revenue"


def test_small_gap_not_named() -> None:
    assert describe("email", 0.30, 0.35, 0.3) == "email: 30 % of spend, 35 % of pipeline, 30 % of revenue"
