"""Rule-based models for many journeys at once, vectorised over flat numpy arrays.

Journeys are laid out back to back: touch ``i`` of journey ``j`` sits at ``offsets[j] + i``, and within
a journey touches must already be in (ts, event_id) order (``JourneyArrays.from_journeys`` does that).
Each model returns one flat float64 array of credits, equal to what the per-journey function in
``attribution.rules`` returns for the same journey (the tests check every model to 1e-12).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from attribution.errors import AttributionInputError, UnknownModelError
from attribution.journey import DIRECT, Touch, sort_journey
from attribution.registry import RULE_BASED_MODELS
from attribution.rules import ANCHOR_SPREAD, SECONDS_PER_DAY

__all__ = ["JourneyArrays", "batch_credits"]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class JourneyArrays:
    """Many journeys as flat columns; ``offsets`` has one more entry than there are journeys."""

    offsets: Ints
    ts: Floats
    is_direct: Bools
    is_lead: Bools
    is_opportunity: Bools

    def __post_init__(self) -> None:
        n = len(self.ts)
        if len(self.offsets) == 0 or self.offsets[0] != 0 or self.offsets[-1] != n:
            raise AttributionInputError("offsets must start at 0 and end at the number of touches")
        if np.any(np.diff(self.offsets) < 0):
            raise AttributionInputError("offsets must be non-decreasing")
        if not len(self.is_direct) == len(self.is_lead) == len(self.is_opportunity) == n:
            raise AttributionInputError("every column must have one entry per touch")
        # Out-of-order touches would silently give credit to the wrong touch; checking costs one pass.
        step = np.diff(self.ts)
        boundary = np.zeros(max(n - 1, 0), dtype=np.bool_)
        inner = self.offsets[1:-1]
        boundary[inner[(inner > 0) & (inner < n)] - 1] = True
        if np.any((step < 0) & ~boundary):
            raise AttributionInputError("touches must be sorted by ts within each journey")

    @classmethod
    def from_journeys(cls, journeys: Sequence[Sequence[Touch]]) -> JourneyArrays:
        """Columns for ``journeys``, each sorted by (ts, event_id) like the per-journey models do."""
        ordered = [sort_journey(j) for j in journeys]
        touches = [t for j in ordered for t in j]
        lengths = np.fromiter((len(j) for j in ordered), dtype=np.int64, count=len(ordered))
        return cls(
            offsets=np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
            ts=np.array([t.ts for t in touches], dtype=np.float64),
            is_direct=np.array([t.channel == DIRECT for t in touches], dtype=np.bool_),
            is_lead=np.array([t.is_lead_creation for t in touches], dtype=np.bool_),
            is_opportunity=np.array([t.is_opportunity_creation for t in touches], dtype=np.bool_),
        )

    @property
    def n_journeys(self) -> int:
        return len(self.offsets) - 1


@dataclass(frozen=True, slots=True)
class _Layout:
    lengths: Ints  # per journey
    journey: Ints  # per touch: index of its journey
    pos: Ints  # per touch: position inside its journey
    n: Ints  # per touch: length of its journey


def _layout(arrays: JourneyArrays) -> _Layout:
    lengths = np.diff(arrays.offsets)
    journey = np.repeat(np.arange(arrays.n_journeys, dtype=np.int64), lengths)
    pos = np.arange(len(arrays.ts), dtype=np.int64) - arrays.offsets[journey]
    return _Layout(lengths=lengths, journey=journey, pos=pos, n=lengths[journey])


def _flag_position(flags: Bools, lay: _Layout, last: bool) -> Ints:
    """Per journey, the position of the first (or last) flagged touch, -1 when none is flagged."""
    out = np.full(len(lay.lengths), -1, dtype=np.int64)
    idx = np.flatnonzero(flags)
    if idx.size:
        owner = lay.journey[idx]
        change = owner[1:] != owner[:-1]
        keep = np.concatenate((change, [True])) if last else np.concatenate(([True], change))
        out[owner[keep]] = lay.pos[idx[keep]]
    return out


def _indicator(mask: Bools) -> Floats:
    return mask.astype(np.float64)


def _first(arrays: JourneyArrays, lay: _Layout) -> Floats:
    return _indicator(lay.pos == 0)


def _last(arrays: JourneyArrays, lay: _Layout) -> Floats:
    return _indicator(lay.pos == lay.n - 1)


def _linear(arrays: JourneyArrays, lay: _Layout) -> Floats:
    return 1.0 / lay.n


def _time_decay(arrays: JourneyArrays, lay: _Layout, half_life_days: float) -> Floats:
    if not (np.isfinite(half_life_days) and half_life_days > 0):
        raise AttributionInputError(f"half_life_days must be a positive number, got {half_life_days!r}")
    reference = arrays.ts[arrays.offsets[1:][lay.journey] - 1]  # latest touch, as in rules.time_decay
    weights = np.exp2(-(reference - arrays.ts) / (half_life_days * SECONDS_PER_DAY))
    totals = np.bincount(lay.journey, weights=weights, minlength=len(lay.lengths))
    return weights / totals[lay.journey]


def _u_shaped(arrays: JourneyArrays, lay: _Layout) -> Floats:
    ends = (lay.pos == 0) | (lay.pos == lay.n - 1)
    middle = 0.2 / np.maximum(lay.n - 2, 1)  # the max only dodges 0-division where n <= 2 is overridden
    shaped = np.where(ends, 0.4, middle)
    return np.where(lay.n <= 2, 1.0 / lay.n, shaped)


def _marker_model(arrays: JourneyArrays, lay: _Layout, with_last: bool) -> Floats:
    lead = _flag_position(arrays.is_lead, lay, last=False)
    opportunity = _flag_position(arrays.is_opportunity, lay, last=False)
    roles = (lay.pos == 0).astype(np.int64) + (lay.pos == lead[lay.journey])
    roles += lay.pos == opportunity[lay.journey]
    n_roles = 2 + (opportunity >= 0).astype(np.int64)
    if with_last:
        roles += lay.pos == lay.n - 1
        n_roles += 1
    share = ((1.0 - ANCHOR_SPREAD) / n_roles)[lay.journey]
    anchored = roles > 0
    distinct = np.bincount(lay.journey, weights=anchored, minlength=len(lay.lengths))[lay.journey]
    others = lay.n - distinct
    rest_others = ANCHOR_SPREAD / np.maximum(others, 1)
    rest_anchors = ANCHOR_SPREAD / np.maximum(distinct, 1)
    credits = np.where(
        others > 0,
        np.where(anchored, roles * share, rest_others),
        roles * share + rest_anchors,
    )
    credits = np.where(lay.n == 1, 1.0, credits)  # exactly 1.0, as in rules._marker_model
    return np.where(lead[lay.journey] >= 0, credits, _u_shaped(arrays, lay))


def _w_shaped(arrays: JourneyArrays, lay: _Layout) -> Floats:
    return _marker_model(arrays, lay, with_last=False)


def _full_path(arrays: JourneyArrays, lay: _Layout) -> Floats:
    return _marker_model(arrays, lay, with_last=True)


def _last_non_direct(arrays: JourneyArrays, lay: _Layout) -> Floats:
    winner = _flag_position(~arrays.is_direct, lay, last=True)
    winner = np.where(winner < 0, lay.lengths - 1, winner)
    return _indicator(lay.pos == winner[lay.journey])


_MODELS: dict[str, Callable[[JourneyArrays, _Layout], Floats]] = {
    "first": _first,
    "last": _last,
    "linear": _linear,
    "u_shaped": _u_shaped,
    "w_shaped": _w_shaped,
    "full_path": _full_path,
    "last_non_direct": _last_non_direct,
}


def batch_credits(model: str, arrays: JourneyArrays, half_life_days: float = 7.0) -> Floats:
    """Flat credits (one per touch, in the arrays' order) of a rule-based ``model`` for every journey."""
    lay = _layout(arrays)
    if model == "time_decay":
        return _time_decay(arrays, lay, half_life_days)
    try:
        function = _MODELS[model]
    except KeyError:
        raise UnknownModelError(model, RULE_BASED_MODELS) from None
    return function(arrays, lay)
