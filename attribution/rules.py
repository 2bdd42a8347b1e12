"""Rule-based attribution models: one pure function per model, journey in, credits out.

Every function accepts the touches in any order, sorts them by (ts, event_id) and returns one
credit per touch *in that sorted order*; credits are >= 0 and sum to 1 (an empty journey -> []).

Position-based models with CRM markers (``w_shaped``, ``full_path``) follow one rule set:

* the lead-creation point is the earliest touch flagged ``is_lead_creation``; the opportunity point
  the earliest flagged ``is_opportunity_creation``;
* no lead marker -> the journey has not produced a lead, so the model falls back to ``u_shaped``;
* otherwise the anchor roles present (first, lead, [opportunity], [last for full_path]) share 90 %
  equally (w_shaped 30/30/30, full_path 22.5 x 4; with the opportunity missing: 45/45 and 30/30/30);
* roles landing on the same touch merge: that touch gets the sum of their shares;
* the remaining 10 % is spread evenly over the touches that are no anchor, or over the distinct
  anchor touches when every touch is one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from attribution.errors import AttributionInputError
from attribution.journey import DIRECT, Touch, sort_journey

__all__ = [
    "ANCHOR_SPREAD",
    "SECONDS_PER_DAY",
    "first",
    "full_path",
    "last",
    "last_non_direct",
    "linear",
    "time_decay",
    "u_shaped",
    "w_shaped",
]

SECONDS_PER_DAY = 86_400.0
# Share left for the touches between anchors in w_shaped / full_path (Bizible's convention).
ANCHOR_SPREAD = 0.1
_U_END = 0.4
_U_MIDDLE = 0.2


def first(journey: Sequence[Touch]) -> list[float]:
    """All credit to the earliest touch."""
    n = len(journey)
    return [1.0] + [0.0] * (n - 1) if n else []


def last(journey: Sequence[Touch]) -> list[float]:
    """All credit to the latest touch."""
    n = len(journey)
    return [0.0] * (n - 1) + [1.0] if n else []


def linear(journey: Sequence[Touch]) -> list[float]:
    """Equal credit to every touch."""
    n = len(journey)
    return [1.0 / n] * n if n else []


def time_decay(
    journey: Sequence[Touch], conversion_ts: float | None = None, half_life_days: float = 7.0
) -> list[float]:
    """Credit proportional to 2^(-(conversion_ts - ts) / half_life).

    After normalisation the factor 2^(-conversion_ts / half_life) cancels, so the credits depend only
    on the gaps between touches; ``conversion_ts`` (default: the last touch) is validated but does not
    change the result. Weights are taken relative to the latest touch so that old touches underflow
    to 0 one by one instead of all at once (which would divide 0 by 0).
    """
    if not (math.isfinite(half_life_days) and half_life_days > 0):
        raise AttributionInputError(f"half_life_days must be a positive number, got {half_life_days!r}")
    if conversion_ts is not None and not math.isfinite(conversion_ts):
        raise AttributionInputError(f"conversion_ts must be finite, got {conversion_ts!r}")
    if not journey:
        return []
    stamps = [t.ts for t in sort_journey(journey)]
    reference = stamps[-1]
    half_life = half_life_days * SECONDS_PER_DAY
    weights = [2.0 ** (-(reference - ts) / half_life) for ts in stamps]
    total = 0.0
    for w in weights:  # plain left-to-right sum, the same order as the batch path's bincount
        total += w
    return [w / total for w in weights]


def u_shaped(journey: Sequence[Touch]) -> list[float]:
    """40 % first, 40 % last, 20 % spread over the middle; 1 touch -> 100 %, 2 touches -> 50/50."""
    n = len(journey)
    if n <= 2:
        return [1.0 / n] * n if n else []
    return [_U_END] + [_U_MIDDLE / (n - 2)] * (n - 2) + [_U_END]


def _first_flagged(flags: list[bool]) -> int | None:
    return next((i for i, flag in enumerate(flags) if flag), None)


def _anchored(n: int, anchors: list[int]) -> list[float]:
    """Split 90 % equally over anchor roles (merging coinciding ones) and 10 % over the rest."""
    share = (1.0 - ANCHOR_SPREAD) / len(anchors)
    roles = [0] * n
    for position in anchors:
        roles[position] += 1
    distinct = sum(1 for r in roles if r)
    if distinct < n:
        rest = ANCHOR_SPREAD / (n - distinct)
        return [r * share if r else rest for r in roles]
    rest = ANCHOR_SPREAD / distinct
    return [r * share + rest for r in roles]


def _marker_model(journey: Sequence[Touch], with_last: bool) -> list[float]:
    ordered = sort_journey(journey)
    if len(ordered) <= 1:  # exactly 1.0 rather than 3 x 0.3 + 0.1 = 0.9999999999999999
        return [1.0] * len(ordered)
    lead = _first_flagged([t.is_lead_creation for t in ordered])
    if lead is None:
        return u_shaped(ordered)
    anchors = [0, lead]
    opportunity = _first_flagged([t.is_opportunity_creation for t in ordered])
    if opportunity is not None:
        anchors.append(opportunity)
    if with_last:
        anchors.append(len(ordered) - 1)
    return _anchored(len(ordered), anchors)


def w_shaped(journey: Sequence[Touch]) -> list[float]:
    """30 % first touch, 30 % lead creation, 30 % opportunity creation, 10 % over the others."""
    return _marker_model(journey, with_last=False)


def full_path(journey: Sequence[Touch]) -> list[float]:
    """22.5 % each to first, lead creation, opportunity creation and last touch; 10 % over the others."""
    return _marker_model(journey, with_last=True)


def last_non_direct(journey: Sequence[Touch]) -> list[float]:
    """All credit to the latest touch whose channel is not ``direct``; all-direct -> the latest touch."""
    ordered = sort_journey(journey)
    n = len(ordered)
    if not n:
        return []
    winner = next((i for i in range(n - 1, -1, -1) if ordered[i].channel != DIRECT), n - 1)
    credits = [0.0] * n
    credits[winner] = 1.0
    return credits
