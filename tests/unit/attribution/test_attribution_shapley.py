"""Shapley values over channel sets: hand-worked games, the axioms, brute force and sampling."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from attribution.errors import AttributionInputError
from attribution.paths import code_paths
from attribution.shapley import ShapleyValue, coalition_values, shapley, shapley_values


def test_two_channels_by_hand() -> None:
    # v(A) = 2, v(B) = 1, v(AB) = 2 + 1 + 3 = 6.
    # phi_A = 1/2 (2 - 0) + 1/2 (6 - 1) = 3.5; phi_B = 1/2 (1 - 0) + 1/2 (6 - 2) = 2.5.
    paths, conv = [["A"], ["B"], ["B", "A", "A"]], [2, 1, 3]
    assert shapley_values(code_paths(paths, conv)) == pytest.approx({"A": 3.5, "B": 2.5}, abs=1e-12)
    assert shapley(paths, conv) == pytest.approx({"A": 3.5 / 6, "B": 2.5 / 6}, abs=1e-12)


def test_three_channels_by_hand() -> None:
    # Zhao et al.'s simplified form: each journey's conversions split evenly over its channels.
    # A: 1 + 2/2 + 3/3 = 3, B: 2/2 + 3/3 = 2, C: 3/3 = 1.
    paths, conv = [["A"], ["A", "B"], ["C", "B", "A"]], [1, 2, 3]
    assert shapley_values(code_paths(paths, conv)) == pytest.approx({"A": 3, "B": 2, "C": 1}, abs=1e-12)
    assert shapley(paths, conv) == pytest.approx({"A": 0.5, "B": 1 / 3, "C": 1 / 6}, abs=1e-12)


def test_conversion_rate_variant_by_hand() -> None:
    # Journeys: {A} 1 of 2 convert, {B} 0 of 2, {A,B} 3 of 4.
    # v(A) = 1/2, v(B) = 0, v(AB) = 4/8 = 1/2.
    # phi_A = 1/2 (1/2) + 1/2 (1/2 - 0) = 1/2; phi_B = 1/2 (0) + 1/2 (1/2 - 1/2) = 0.
    paths, conv, null = [["A"], ["B"], ["A", "B"]], [1, 0, 3], [1, 2, 1]
    got = shapley_values(code_paths(paths, conv, null), value="conversion_rate")
    assert got == pytest.approx({"A": 0.5, "B": 0.0}, abs=1e-12)


def brute_force(
    paths: list[list[str]], conv: list[int], null: list[int], value: ShapleyValue
) -> dict[str, float]:
    channels = sorted({c for p in paths for c in p})

    def v(coalition: frozenset[str]) -> float:
        rows = [(c, n) for p, c, n in zip(paths, conv, null, strict=True) if p and set(p) <= coalition]
        won = sum(c for c, _ in rows)
        if value == "conversions":
            return float(won)
        seen = sum(c + n for c, n in rows)
        return won / seen if seen else 0.0

    phi = dict.fromkeys(channels, 0.0)
    for order in itertools.permutations(channels):
        members: frozenset[str] = frozenset()
        for ch in order:
            phi[ch] += v(members | {ch}) - v(members)
            members = members | {ch}
    return {ch: x / math.factorial(len(channels)) for ch, x in phi.items()}


def random_journeys(n_channels: int, rows: int, seed: int) -> tuple[list[list[str]], list[int], list[int]]:
    rng = np.random.default_rng(seed)
    names = [f"ch{i:02d}" for i in range(n_channels)]
    paths = [list(rng.choice(names, size=rng.integers(1, 5))) for _ in range(rows)]
    conv = [int(x) for x in rng.integers(0, 3, size=rows)]
    null = [int(x) for x in rng.integers(0, 4, size=rows)]
    return paths, conv, null


@pytest.mark.parametrize("value", ["conversions", "conversion_rate"])
def test_exact_matches_brute_force(value: ShapleyValue) -> None:
    paths, conv, null = random_journeys(5, 200, seed=1)
    got = shapley_values(code_paths(paths, conv, null), value=value)
    assert got == pytest.approx(brute_force(paths, conv, null, value), abs=1e-12)


@pytest.mark.parametrize("value", ["conversions", "conversion_rate"])
def test_efficiency(value: ShapleyValue) -> None:
    paths, conv, null = random_journeys(8, 500, seed=2)
    cp = code_paths(paths, conv, null)
    v = coalition_values(cp, value)
    assert sum(shapley_values(cp, value=value).values()) == pytest.approx(v[-1] - v[0], abs=1e-9)
    if value == "conversions":
        assert v[-1] == sum(conv)


def test_symmetry_and_null_player() -> None:
    # X and Y always appear together; D only in journeys that never convert.
    paths = [["X", "Y", "A"], ["Y", "X"], ["A"], ["D", "A"], ["D"]]
    conv, null = [3, 2, 1, 0, 0], [1, 1, 1, 4, 2]
    got = shapley_values(code_paths(paths, conv, null))
    assert got["X"] == pytest.approx(got["Y"], abs=1e-12)
    assert got["D"] == 0.0
    shares = shapley(paths, conv, null)
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-12)


def test_sampling_agrees_with_exact_on_ten_channels() -> None:
    paths, conv, null = random_journeys(10, 2000, seed=3)
    exact = shapley(paths, conv, null)
    sampled = shapley(paths, conv, null, max_exact_channels=5, samples=4000, seed=7)
    assert sampled == pytest.approx(exact, abs=0.01)
    assert sum(sampled.values()) == pytest.approx(1.0, abs=1e-9)
    # Seeded: the same seed gives the same estimate.
    assert shapley(paths, conv, null, max_exact_channels=5, samples=500, seed=7) == shapley(
        paths, conv, null, max_exact_channels=5, samples=500, seed=7
    )


def test_sampled_conversion_rate_close_to_exact() -> None:
    paths, conv, null = random_journeys(7, 1000, seed=4)
    exact = shapley(paths, conv, null, value="conversion_rate")
    sampled = shapley(paths, conv, null, value="conversion_rate", max_exact_channels=3, samples=6000)
    assert sampled == pytest.approx(exact, abs=0.03)


def test_no_conversions_and_bad_arguments() -> None:
    assert shapley([["A"], ["B"]], [0, 0]) == {"A": 0.0, "B": 0.0}
    with pytest.raises(AttributionInputError):
        shapley([["A"]], [1], samples=0)
    with pytest.raises(AttributionInputError):
        shapley([["A"]], [1], value="revenue")  # type: ignore[arg-type]


def test_conversions_variant_is_an_even_split_over_distinct_channels() -> None:
    paths, conv, null = random_journeys(12, 3000, seed=5)
    want: dict[str, float] = {}
    for p, c in zip(paths, conv, strict=True):
        for ch in set(p):
            want[ch] = want.get(ch, 0.0) + c / len(set(p))
    got = shapley_values(code_paths(paths, conv, null))
    assert got == pytest.approx(want, abs=1e-9)
