"""Trend label on synthetic series: exact lines, outliers, trendless noise, real slopes, gaps."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution.trend import (
    FLAT,
    IMPROVING,
    INSUFFICIENT,
    WORSENING,
    period_change,
    theil_sen,
    trend,
)

slopes = st.floats(min_value=0.05, max_value=100) | st.floats(min_value=-100, max_value=-0.05)
levels = st.floats(min_value=-1000, max_value=1000)
lengths = st.integers(min_value=4, max_value=26)


@given(slope=slopes, level=levels, n=lengths)
def test_exact_line_is_directional_and_slope_recovered(slope: float, level: float, n: int) -> None:
    series = [level + slope * i for i in range(n)]
    up = trend(series, window=n)
    assert up.slope == pytest.approx(slope, rel=1e-6)
    assert up.label == (IMPROVING if slope > 0 else WORSENING)
    down = trend(series, window=n, higher_is_better=False)
    assert down.label == (WORSENING if slope > 0 else IMPROVING)


@given(level=levels, n=lengths)
def test_constant_series_is_flat(level: float, n: int) -> None:
    assert trend([level] * n).label == FLAT


@given(slope=slopes, level=levels, n=st.integers(min_value=8, max_value=26), data=st.data())
def test_one_outlier_does_not_move_the_slope(slope: float, level: float, n: int, data: st.DataObject) -> None:
    series = [level + slope * i for i in range(n)]
    at = data.draw(st.integers(min_value=0, max_value=n - 1))
    series[at] += data.draw(st.sampled_from([-1, 1])) * 1e6
    t = trend(series, window=n)
    assert t.slope == pytest.approx(slope, rel=1e-6)
    assert t.label == (IMPROVING if slope > 0 else WORSENING)


@given(scale=st.floats(min_value=0.01, max_value=1e4), shift=levels, seed=st.integers(0, 2**32))
def test_label_invariant_to_units_and_level(scale: float, shift: float, seed: int) -> None:
    rng = random.Random(seed)
    series = [0.3 * i + rng.gauss(0, 1) for i in range(12)]
    base = trend(series).label
    assert trend([shift + scale * y for y in series]).label == base
    flipped = {IMPROVING: WORSENING, WORSENING: IMPROVING, FLAT: FLAT}[base]
    assert trend([-y for y in series]).label == flipped


def test_trendless_noise_rarely_labelled() -> None:
    """False alarms on 12 weeks of pure Gaussian noise stay under 10 % (measured ~6.5 % at z=3)."""
    rng = random.Random(20)
    labels = [trend([100 + rng.gauss(0, 10) for _ in range(12)]).label for _ in range(2000)]
    false_alarm = sum(label != FLAT for label in labels) / len(labels)
    assert false_alarm < 0.10
    # a rule ignoring the noise would call nearly every one of these a trend
    assert sum(label == IMPROVING for label in labels) == pytest.approx(
        sum(label == WORSENING for label in labels), abs=60
    )


def test_real_slope_in_noise_is_detected() -> None:
    """A slope of 1 noise-sigma per week over 12 weeks is found almost always, in its direction."""
    rng = random.Random(21)
    labels = [trend([100 + 10 * i + rng.gauss(0, 10) for i in range(12)]).label for _ in range(500)]
    assert sum(label == IMPROVING for label in labels) / len(labels) > 0.95
    assert WORSENING not in labels
    cac = [trend([500 - 10 * i + rng.gauss(0, 10) for i in range(12)], higher_is_better=False)
           for _ in range(200)]  # fmt: skip
    assert sum(t.label == IMPROVING for t in cac) / len(cac) > 0.95


def test_small_slope_buried_in_noise_is_flat() -> None:
    rng = random.Random(22)
    labels = [trend([100 + 0.05 * i + rng.gauss(0, 10) for i in range(12)]).label for _ in range(500)]
    assert sum(label == FLAT for label in labels) / len(labels) > 0.85


def test_gaps_keep_their_position_and_too_few_points() -> None:
    # an empty week (None) is skipped, not read as zero: the line 2*i is still exact
    series: list[float | None] = [0, 2, None, 6, 8, None, 12]
    t = trend(series)
    assert t.slope == pytest.approx(2.0)
    assert t.points == 5
    assert t.label == IMPROVING
    assert trend([1.0, None, 3.0, None]).label == INSUFFICIENT
    assert trend([]).label == INSUFFICIENT


def test_window_uses_only_the_last_periods() -> None:
    series = [100 - 10 * i for i in range(10)] + [float(i) for i in range(8)]
    assert trend(series, window=8).label == IMPROVING
    assert trend(series, window=18).label == WORSENING


def test_theil_sen_hand_computed() -> None:
    # pairwise slopes of (0,1),(1,3),(2,2),(3,5): 2, 0.5, 4/3, -1, 1, 3 -> median (1 + 4/3) / 2
    slope, intercept = theil_sen([0, 1, 2, 3], [1, 3, 2, 5])
    assert slope == pytest.approx(7 / 6)
    residual_offsets = [1, 3 - 7 / 6, 2 - 14 / 6, 5 - 21 / 6]
    assert intercept == pytest.approx(sorted(residual_offsets)[1] / 2 + sorted(residual_offsets)[2] / 2)
    with pytest.raises(ValueError):
        theil_sen([1, 1], [2, 3])


def test_period_change() -> None:
    assert period_change(125, 100) == pytest.approx(0.25)
    assert period_change(50, -100) == pytest.approx(1.5)
    assert period_change(10, 0) is None
    assert period_change(None, 3) is None
