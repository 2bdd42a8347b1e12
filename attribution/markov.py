"""Markov-chain attribution by removal effect (Anderl et al. 2016), solved exactly.

Follows ChannelAttribution's ``markov_model`` (Altomare & Loris) in how the chain is built:

* states are ``(start)``, ``(conversion)``, ``(null)`` and, for ``order`` k, windows of k consecutive
  channels of a path (a path shorter than k is one state made of all its channels);
* every path walks ``(start)`` -> its states -> ``(conversion)`` weighted by its conversions and
  ``(null)`` weighted by its nulls; transition probabilities are the normalised weighted counts;
* ``collapse_repeats=True`` (ChannelAttribution's behaviour: its encoder skips a state equal to the
  previous one) drops self-transitions, so ``A > A > B`` walks ``A -> B``; ``False`` keeps self-loops;
* removing channel c redirects every state containing c to ``(null)``; the removal effect is
  RE_c = 1 - P(conversion without c) / P(conversion), i.e. the share of converting walks visiting c,
  which is exactly what ChannelAttribution estimates by simulation;
* conversions are attributed in proportion RE_c / sum(RE).

Where ChannelAttribution simulates walks (capped at ``max_step``), this solves the absorbing chain
exactly: P(conversion) from the start row of (I - Q)^-1 R, one dense solve per removed channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from attribution.errors import AttributionInputError
from attribution.paths import CodedPaths, code_paths

__all__ = ["MarkovChain", "fit_chain", "markov", "markov_coded", "markov_removal_effects", "removal_effects"]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class MarkovChain:
    """Transition probabilities over [start, state 1..n, conversion, null] and each state's channels."""

    channels: tuple[str, ...]
    transitions: Floats  # (n + 3, n + 3) row-stochastic on the n + 1 transient rows
    members: Bools  # (n, len(channels)): which channels state i + 1 is made of
    total_conversions: float

    @property
    def n_states(self) -> int:
        return len(self.members)

    def conversion_probability(self, removed: int | None = None) -> float:
        """P(absorbed in conversion | start), with channel code ``removed`` redirected to null."""
        n = self.n_states
        keep = np.ones(n + 1, dtype=np.bool_)
        if removed is not None:
            keep[1:] = ~self.members[:, removed]
        q = self.transitions[: n + 1, : n + 1][np.ix_(keep, keep)]
        r = self.transitions[: n + 1, n + 1][keep]
        # Every transient state was seen on a path that got absorbed, so I - Q is non-singular.
        solution = np.linalg.solve(np.eye(len(q)) - q, r)
        return float(solution[0])


def _state_keys(cp: CodedPaths, order: int) -> tuple[Ints, Ints]:
    """Per window, an integer key of its k channels, and per path, its number of windows."""
    lengths = np.diff(cp.offsets)
    if order == 1:
        return cp.codes, lengths
    base = len(cp.channels) + 1  # digit 0 pads windows of paths shorter than the order
    if order * np.log2(base) >= 62:
        raise AttributionInputError(f"order {order} is too high for {len(cp.channels)} channels")
    path = cp.path_index
    pos = np.arange(len(cp.codes), dtype=np.int64) - cp.offsets[path]
    length = lengths[path]
    starts = pos <= np.maximum(length - order, 0)
    keys = np.zeros(len(cp.codes), dtype=np.int64)
    for j in range(order):
        inside = pos + j < length
        digit = np.where(inside, cp.codes[np.minimum(np.arange(len(cp.codes)) + j, len(cp.codes) - 1)] + 1, 0)
        keys = keys * base + digit
    return keys[starts], np.maximum(lengths - order + 1, 1)


def _members(unique_keys: Ints, order: int, n_channels: int) -> Bools:
    members = np.zeros((len(unique_keys), n_channels), dtype=np.bool_)
    if order == 1:
        members[np.arange(len(unique_keys)), unique_keys] = True
        return members
    base = n_channels + 1
    rest = unique_keys.copy()
    for _ in range(order):
        digit = rest % base
        rest //= base
        hit = digit > 0
        members[np.flatnonzero(hit), digit[hit] - 1] = True
    return members


def _number_states(keys: Ints) -> tuple[Ints, Ints]:
    """Distinct keys (sorted) and, per window, its state id 1..n (0 is reserved for the start)."""
    top = int(keys.max()) + 1 if len(keys) else 0
    if top <= 1 << 22:  # small key space: a lookup table beats sorting millions of keys
        present = np.flatnonzero(np.bincount(keys, minlength=top))
        lookup = np.zeros(top, dtype=np.int64)
        lookup[present] = np.arange(1, len(present) + 1)
        return present.astype(np.int64), lookup[keys]
    unique_keys, inverse = np.unique(keys, return_inverse=True)
    return unique_keys, inverse.astype(np.int64) + 1


def fit_chain(cp: CodedPaths, order: int = 1, collapse_repeats: bool = True) -> MarkovChain:
    """Estimate the k-order chain from coded paths with one weighted bincount over all transitions."""
    if order < 1:
        raise AttributionInputError(f"order must be >= 1, got {order}")
    weight = cp.conversions + cp.nulls
    used = weight > 0
    if not np.all(used):  # paths with neither conversions nor nulls carry no transition
        lengths = np.diff(cp.offsets)[used]
        offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        cp = CodedPaths(
            cp.channels,
            offsets,
            cp.codes[np.repeat(used, np.diff(cp.offsets))],
            cp.conversions[used],
            cp.nulls[used],
        )
        weight = weight[used]
    keys, windows = _state_keys(cp, order)
    unique_keys, states = _number_states(keys)
    n = len(unique_keys)
    starts = np.concatenate(([0], np.cumsum(windows)[:-1])).astype(np.int64)
    if collapse_repeats:
        keep = np.ones(len(states), dtype=np.bool_)
        keep[1:] = states[1:] != states[:-1]
        keep[starts] = True
        counts = np.add.reduceat(keep.astype(np.int64), starts) if len(starts) else starts
        states = states[keep]
        starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    ends = np.concatenate((starts[1:], [len(states)])) - 1
    owner = np.repeat(np.arange(len(starts), dtype=np.int64), ends - starts + 1)
    inner = np.ones(len(states), dtype=np.bool_)
    inner[ends] = False
    size = n + 3
    conversion, null = n + 1, n + 2
    source = np.concatenate(
        (np.zeros(len(starts), dtype=np.int64), states[inner], states[ends], states[ends])
    )
    target = np.concatenate(
        (states[starts], states[1:][inner[:-1]], np.full(len(ends), conversion), np.full(len(ends), null))
    )
    weights = np.concatenate((weight, weight[owner[inner]], cp.conversions, cp.nulls))
    counts2d = np.bincount(source * size + target, weights=weights, minlength=size * size).reshape(size, size)
    totals = counts2d.sum(axis=1, keepdims=True)
    transitions = np.divide(counts2d, totals, out=np.zeros_like(counts2d), where=totals > 0)
    return MarkovChain(
        cp.channels, transitions, _members(unique_keys, order, len(cp.channels)), float(cp.conversions.sum())
    )


def removal_effects(chain: MarkovChain) -> dict[str, float]:
    """RE_c = 1 - P(conversion without c) / P(conversion) for every channel (all 0 without conversions)."""
    base = chain.conversion_probability()
    if base <= 0:
        return dict.fromkeys(chain.channels, 0.0)
    # Clamp float noise: removing states can only lower the conversion probability.
    return {
        channel: min(1.0, max(0.0, 1.0 - chain.conversion_probability(code) / base))
        for code, channel in enumerate(chain.channels)
    }


def markov_coded(cp: CodedPaths, order: int = 1, collapse_repeats: bool = True) -> dict[str, float]:
    """Channel -> share of total conversions (sums to 1, or all 0 when nothing converted)."""
    effects = removal_effects(fit_chain(cp, order, collapse_repeats))
    total = sum(effects.values())
    return {channel: (effect / total if total > 0 else 0.0) for channel, effect in effects.items()}


def markov_removal_effects(
    paths: Sequence[Sequence[str]],
    conversions: Sequence[int | float],
    nulls: Sequence[int | float] | None = None,
    order: int = 1,
    collapse_repeats: bool = True,
) -> dict[str, float]:
    """Raw removal effects per channel (ChannelAttribution's ``removal_effects`` output)."""
    return removal_effects(fit_chain(code_paths(paths, conversions, nulls), order, collapse_repeats))


def markov(
    paths: Sequence[Sequence[str]],
    conversions: Sequence[int | float],
    nulls: Sequence[int | float] | None = None,
    order: int = 1,
    collapse_repeats: bool = True,
) -> dict[str, float]:
    """Channel -> share of total conversions; multiply by the total for attributed conversions.

    ``nulls=None``: each row is one journey and a non-converting one counts as one null (see
    ``code_paths``). Channels come out in sorted order.
    """
    return markov_coded(code_paths(paths, conversions, nulls), order, collapse_repeats)
