"""Shapley-value attribution over the *sets* of channels journeys touched.

The characteristic function is built from journeys grouped by their channel set T (order and
repeats ignored), following Zhao, Mahboobi & Bagheri (2018), "Shapley Value Methods for Attribution
Modeling in Online Advertising", building on Dalessandro et al. (2012):

* ``value="conversions"`` (default): v(S) = conversions of journeys whose channel set T ⊆ S. This is a
  sum of unanimity games, so the Shapley value has Zhao's closed form phi_i = sum_{T ∋ i} conv(T) / |T|
  (each journey's conversions split evenly over its distinct channels); the tests check that identity.
  phi sums to the total conversions (efficiency), so the shares sum to 1 and are never negative.
* ``value="conversion_rate"``: v(S) = conversions / journeys among journeys with T ⊆ S (0 when no
  journey qualifies). phi sums to the overall conversion rate but single values may be negative, and
  then so are the shares.

Up to ``max_exact_channels`` channels v is tabulated for all 2^n coalitions (a bincount over journey
bitmasks, then a subset-sum zeta transform) and phi is exact; above that, phi is estimated from
``samples`` seeded random permutations, each scored incrementally: a channel set enters a growing
coalition when its latest-ranked channel joins.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from attribution.errors import AttributionInputError
from attribution.paths import CodedPaths, code_paths

__all__ = ["ShapleyValue", "coalition_values", "shapley", "shapley_coded", "shapley_values"]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
ShapleyValue = Literal["conversions", "conversion_rate"]
_MAX_CHANNELS = 62  # channel sets are int64 bitmasks
_SAMPLE_CELLS = 4_000_000  # permutations x channel sets x channels scored per chunk, bounds memory


def _channel_sets(cp: CodedPaths) -> tuple[Ints, Floats, Floats]:
    """Distinct channel-set bitmasks with their conversions and journeys (conversions + nulls)."""
    n = len(cp.channels)
    if n > _MAX_CHANNELS:
        raise AttributionInputError(f"at most {_MAX_CHANNELS} channels are supported, got {n}")
    bits = np.left_shift(np.int64(1), cp.codes)
    masks = np.bitwise_or.reduceat(bits, cp.offsets[:-1]) if cp.n_paths else bits
    unique, inverse = np.unique(masks, return_inverse=True)
    conversions = np.bincount(inverse, weights=cp.conversions, minlength=len(unique)).astype(np.float64)
    journeys = np.bincount(inverse, weights=cp.conversions + cp.nulls, minlength=len(unique)).astype(
        np.float64
    )
    return unique.astype(np.int64), conversions, journeys


def _zeta(table: Floats, n: int) -> Floats:
    """In place: table[S] <- sum of table[T] over T ⊆ S (one vectorised pass per channel)."""
    for i in range(n):
        view = table.reshape(-1, 2, 1 << i)
        view[:, 1, :] += view[:, 0, :]
    return table


def _ratio(numerator: Floats, denominator: Floats) -> Floats:
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def coalition_values(cp: CodedPaths, value: ShapleyValue = "conversions") -> Floats:
    """v(S) for every coalition bitmask S of ``cp.channels`` (length 2^n)."""
    masks, conversions, journeys = _channel_sets(cp)
    n = len(cp.channels)
    numerator = np.zeros(1 << n, dtype=np.float64)
    numerator[masks] = conversions
    _zeta(numerator, n)
    if value == "conversions":
        return numerator
    denominator = np.zeros(1 << n, dtype=np.float64)
    denominator[masks] = journeys
    return _ratio(numerator, _zeta(denominator, n))


def _exact(v: Floats, n: int) -> Floats:
    size = np.arange(1 << n, dtype=np.int64)
    popcount = np.zeros(1 << n, dtype=np.int64)
    for i in range(n):
        popcount += (size >> i) & 1
    # Shapley weight |S|! (n - |S| - 1)! / n! for a coalition S not containing the player.
    weight = np.array([math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) for s in range(n)])
    phi = np.zeros(n, dtype=np.float64)
    for i in range(n):
        values = v.reshape(-1, 2, 1 << i)
        without = popcount.reshape(-1, 2, 1 << i)[:, 0, :]
        phi[i] = float(np.sum(weight[without] * (values[:, 1, :] - values[:, 0, :])))
    return phi


def _sampled(cp: CodedPaths, value: ShapleyValue, samples: int, seed: int) -> Floats:
    masks, conversions, journeys = _channel_sets(cp)
    n = len(cp.channels)
    members = ((masks[:, None] >> np.arange(n, dtype=np.int64)) & 1).astype(np.bool_)
    rng = np.random.default_rng(seed)
    phi = np.zeros(n, dtype=np.float64)
    chunk = max(1, _SAMPLE_CELLS // max(1, len(masks) * n))
    done = 0
    while done < samples:
        b = min(chunk, samples - done)
        order = rng.permuted(
            np.tile(np.arange(n, dtype=np.int64), (b, 1)), axis=1
        )  # order[p, k]: k-th player
        rank = np.argsort(order, axis=1)
        # A channel set counts in every prefix from the rank of its latest-joining channel onwards.
        entry = np.where(members[None, :, :], rank[:, None, :], -1).max(axis=2)
        cell = (np.arange(b, dtype=np.int64)[:, None] * n + entry).ravel()
        numerator = np.bincount(cell, np.tile(conversions, b), minlength=b * n).reshape(b, n).cumsum(axis=1)
        prefix = numerator
        if value == "conversion_rate":
            denominator = (
                np.bincount(cell, np.tile(journeys, b), minlength=b * n).reshape(b, n).cumsum(axis=1)
            )
            prefix = _ratio(numerator, denominator)
        marginal = np.diff(prefix, axis=1, prepend=0.0)  # v(empty coalition) is 0 in both variants
        phi += np.bincount(order.ravel(), weights=marginal.ravel(), minlength=n)
        done += b
    return phi / samples


def shapley_values(
    cp: CodedPaths,
    value: ShapleyValue = "conversions",
    max_exact_channels: int = 15,
    samples: int = 20_000,
    seed: int = 0,
) -> dict[str, float]:
    """Raw Shapley values per channel (they sum to v(all channels)), channels in sorted order."""
    if value not in ("conversions", "conversion_rate"):
        raise AttributionInputError(f"value must be 'conversions' or 'conversion_rate', got {value!r}")
    if samples < 1:
        raise AttributionInputError(f"samples must be >= 1, got {samples}")
    n = len(cp.channels)
    if n <= max_exact_channels:
        phi = _exact(coalition_values(cp, value), n)
    else:
        phi = _sampled(cp, value, samples, seed)
    return {channel: float(phi[i]) for i, channel in enumerate(cp.channels)}


def shapley_coded(
    cp: CodedPaths,
    value: ShapleyValue = "conversions",
    max_exact_channels: int = 15,
    samples: int = 20_000,
    seed: int = 0,
) -> dict[str, float]:
    """Channel -> share of the grand coalition's value (sums to 1; all 0 when that value is 0)."""
    values = shapley_values(cp, value, max_exact_channels, samples, seed)
    total = sum(values.values())
    return {channel: (phi / total if total != 0 else 0.0) for channel, phi in values.items()}


def shapley(
    paths: Sequence[Sequence[str]],
    conversions: Sequence[int | float],
    nulls: Sequence[int | float] | None = None,
    max_exact_channels: int = 15,
    samples: int = 20_000,
    seed: int = 0,
    value: ShapleyValue = "conversions",
) -> dict[str, float]:
    """Channel -> Shapley share of conversions; ``nulls=None`` as in ``attribution.paths.code_paths``."""
    cp = code_paths(paths, conversions, nulls)
    return shapley_coded(cp, value, max_exact_channels, samples, seed)
