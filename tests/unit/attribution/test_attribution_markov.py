"""Markov removal effects: hand-worked chains and an independent value-iteration re-implementation."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from attribution.errors import AttributionInputError
from attribution.markov import markov, markov_removal_effects

CLASSIC_PATHS = [["C1", "C2", "C3"], ["C1"], ["C2", "C3"]]
CLASSIC_CONV = [1, 0, 0]
CLASSIC_NULL = [0, 1, 1]


def test_classic_three_path_example() -> None:
    # start -> C1 2/3, C2 1/3; C1 -> C2 1/2, null 1/2; C2 -> C3 1; C3 -> conversion 1/2, null 1/2.
    # P(conv) = 2/3 * 1/2 * 1/2 + 1/3 * 1/2 = 1/3.  Without C1: 1/3 * 1/2 = 1/6, RE = 1/2.
    # Without C2 or C3 nothing converts: RE = 1.  Shares: 0.5 / 2.5, 1 / 2.5, 1 / 2.5.
    effects = markov_removal_effects(CLASSIC_PATHS, CLASSIC_CONV, CLASSIC_NULL)
    assert effects == pytest.approx({"C1": 0.5, "C2": 1.0, "C3": 1.0}, abs=1e-12)
    shares = markov(CLASSIC_PATHS, CLASSIC_CONV, CLASSIC_NULL)
    assert shares == pytest.approx({"C1": 0.2, "C2": 0.4, "C3": 0.4}, abs=1e-12)


def test_order_two_sees_what_order_one_cannot() -> None:
    paths, conv, null = [["A", "B"], ["C", "B"]], [1, 0], [0, 1]
    # Order 1: B converts half the time whoever came before, so A and C look alike.
    assert markov(paths, conv, null) == pytest.approx({"A": 0.25, "B": 0.5, "C": 0.25}, abs=1e-12)
    # Order 2: states (A,B) -> conversion and (C,B) -> null; removing C changes nothing.
    assert markov_removal_effects(paths, conv, null, order=2) == pytest.approx(
        {"A": 1.0, "B": 1.0, "C": 0.0}, abs=1e-12
    )
    assert markov(paths, conv, null, order=2) == pytest.approx({"A": 0.5, "B": 0.5, "C": 0.0}, abs=1e-12)


def test_nulls_default_to_one_per_non_converting_journey() -> None:
    assert markov(CLASSIC_PATHS, CLASSIC_CONV) == markov(CLASSIC_PATHS, CLASSIC_CONV, CLASSIC_NULL)


def test_collapse_repeats_matches_pre_collapsed_paths() -> None:
    repeated = [["C1", "C1", "C2", "C2", "C2", "C3"], ["C1", "C1"], ["C2", "C3", "C3"]]
    assert markov(repeated, CLASSIC_CONV, CLASSIC_NULL) == pytest.approx(
        markov(CLASSIC_PATHS, CLASSIC_CONV, CLASSIC_NULL), abs=1e-12
    )
    kept = markov(repeated, CLASSIC_CONV, CLASSIC_NULL, collapse_repeats=False)
    assert sum(kept.values()) == pytest.approx(1.0)


def test_no_conversions_gives_zeros() -> None:
    assert markov(CLASSIC_PATHS, [0, 0, 0]) == {"C1": 0.0, "C2": 0.0, "C3": 0.0}


def test_bad_input() -> None:
    with pytest.raises(AttributionInputError):
        markov(CLASSIC_PATHS, [1, 0])
    with pytest.raises(AttributionInputError):
        markov(CLASSIC_PATHS, [1, -1, 0])
    with pytest.raises(AttributionInputError):
        markov(CLASSIC_PATHS, CLASSIC_CONV, order=0)


def reference_removal_effects(
    paths: list[list[str]], conv: list[int], null: list[int], order: int, collapse: bool
) -> dict[str, float]:
    """Independent version: tuple states, dict counts, value iteration instead of a linear solve."""
    counts: dict[tuple[str, ...], dict[tuple[str, ...], float]] = defaultdict(lambda: defaultdict(float))
    start, win, lose = ("(start)",), ("(conversion)",), ("(null)",)
    for path, c, n in zip(paths, conv, null, strict=True):
        if not path or c + n == 0:
            continue
        if len(path) < order:
            states = [tuple(path)]
        else:
            states = [tuple(path[i : i + order]) for i in range(len(path) - order + 1)]
        if collapse:
            states = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
        walk = [start, *states]
        for a, b in zip(walk, walk[1:], strict=False):
            counts[a][b] += c + n
        counts[walk[-1]][win] += c
        counts[walk[-1]][lose] += n

    def p_conv(removed: str | None) -> float:
        value: dict[tuple[str, ...], float] = defaultdict(float)
        value[win] = 1.0
        for _ in range(5000):
            delta = 0.0
            for state, row in counts.items():
                if removed is not None and removed in state:
                    continue  # redirected to null
                total = sum(row.values())
                new = sum(
                    w * (0.0 if removed is not None and removed in t else value[t]) for t, w in row.items()
                )
                new /= total
                delta = max(delta, abs(new - value[state]))
                value[state] = new
            if delta < 1e-15:
                break
        return value[start]

    channels = sorted({ch for p in paths for ch in p})
    base = p_conv(None)
    return {ch: 1.0 - p_conv(ch) / base for ch in channels}


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("collapse", [True, False])
def test_matches_independent_implementation(order: int, collapse: bool) -> None:
    rng = np.random.default_rng(order * 10 + collapse)
    channels = ["email", "video", "direct", "events", "podcast"]
    paths = [list(rng.choice(channels, size=rng.integers(1, 6))) for _ in range(300)]
    conv = [int(x) for x in rng.integers(0, 3, size=300)]
    null = [int(x) for x in rng.integers(0, 3, size=300)]
    got = markov_removal_effects(paths, conv, null, order=order, collapse_repeats=collapse)
    want = reference_removal_effects(paths, conv, null, order, collapse)
    assert got == pytest.approx(want, abs=1e-9)
    shares = markov(paths, conv, null, order=order, collapse_repeats=collapse)
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-12)
    assert all(v >= 0 for v in shares.values())
