"""Per-account journeys cut into conversion paths: what Markov, Shapley and the rule-based recompute eat.

Rules (the unit tests pin each one):

* a *converting* path is the account's touches with ``conversion.ts - lookback <= ts <= conversion.ts``
  (a touch at the conversion's own instant, e.g. the demo-request form, counts), one path per
  conversion of the stage inside the period, so an account with two opportunities has two paths;
* a *non-converting* path belongs to an account that has touches inside the period but no conversion
  of the stage there; it is the account's period touches within ``lookback`` of its latest one, so it
  is cut the same way a converting path is cut at its conversion;
* touches are ordered by (ts, event_id) and accounts with an empty id (never identified) are skipped;
* a conversion with no touch in its window stays out of the paths and is counted as ``unattributed``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from attribution.journey import Touch

__all__ = [
    "Conversion",
    "ConversionPaths",
    "JourneyTouch",
    "build_paths",
    "converting_journeys",
    "marked_touches",
]

NO_CAMPAIGN = "(none)"


@dataclass(frozen=True, slots=True)
class JourneyTouch:
    account_id: str
    ts: float  # epoch seconds, UTC
    event_id: str
    channel: str
    campaign: str = ""
    category: str = ""

    def key(self, by: str) -> str:
        """The state this touch is in a path: its channel, or its campaign for ``--by campaign``."""
        if by == "campaign":
            return self.campaign or NO_CAMPAIGN
        return self.channel


@dataclass(frozen=True, slots=True)
class Conversion:
    conversion_id: str
    account_id: str
    ts: float  # epoch seconds, UTC
    amount: float = 0.0


@dataclass(slots=True)
class ConversionPaths:
    """Paths (converting first, then non-converting) with 1 / 0 conversions, as the models take them."""

    paths: list[tuple[str, ...]] = field(default_factory=list)
    conversions: list[int] = field(default_factory=list)
    revenue: float = 0.0  # amount of the converting paths
    unattributed: int = 0  # conversions in the period without any touch in their window

    @property
    def converted(self) -> int:
        return sum(self.conversions)


def _by_account(touches: Iterable[JourneyTouch]) -> dict[str, list[JourneyTouch]]:
    grouped: dict[str, list[JourneyTouch]] = defaultdict(list)
    for touch in touches:
        if touch.account_id:
            grouped[touch.account_id].append(touch)
    for journey in grouped.values():
        journey.sort(key=lambda t: (t.ts, t.event_id))
    return grouped


def _window(journey: list[JourneyTouch], lo: float, hi: float) -> list[JourneyTouch]:
    """Touches with lo <= ts <= hi of a (ts, event_id)-sorted journey."""
    stamps = [t.ts for t in journey]
    return journey[bisect_left(stamps, lo) : bisect_right(stamps, hi)]


def converting_journeys(
    touches: Iterable[JourneyTouch],
    conversions: Sequence[Conversion],
    start: float,
    end: float,
    lookback_s: float,
) -> list[tuple[Conversion, list[JourneyTouch]]]:
    """Every conversion with start <= ts < end beside its touches in [ts - lookback, ts], ordered."""
    journeys = _by_account(touches)
    out = []
    for conversion in sorted(conversions, key=lambda c: (c.ts, c.conversion_id)):
        if not (start <= conversion.ts < end) or not conversion.account_id:
            continue
        journey = journeys.get(conversion.account_id, [])
        out.append((conversion, _window(journey, conversion.ts - lookback_s, conversion.ts)))
    return out


def build_paths(
    touches: Iterable[JourneyTouch],
    conversions: Sequence[Conversion],
    start: float,
    end: float,
    lookback_s: float,
    by: str = "channel",
) -> ConversionPaths:
    """Converting and non-converting paths of channels (or campaigns) for the data-driven models."""
    touches = list(touches)
    result = ConversionPaths()
    converted_accounts = set()
    for conversion, journey in converting_journeys(touches, conversions, start, end, lookback_s):
        converted_accounts.add(conversion.account_id)
        if not journey:
            result.unattributed += 1
            continue
        result.paths.append(tuple(t.key(by) for t in journey))
        result.conversions.append(1)
        result.revenue += conversion.amount
    for account, journey in sorted(_by_account(touches).items()):
        if account in converted_accounts:
            continue
        in_period = [t for t in journey if start <= t.ts < end]
        if not in_period:
            continue
        cut = _window(in_period, in_period[-1].ts - lookback_s, in_period[-1].ts)
        result.paths.append(tuple(t.key(by) for t in cut))
        result.conversions.append(0)
    return result


def marked_touches(
    journey: Sequence[JourneyTouch], lead_ts: float | None, opportunity_ts: float | None
) -> list[Touch]:
    """The journey as ``attribution.Touch``es with lead / opportunity creation markers.

    The creation point of a stage is the account's latest touch at or before the stage's first
    conversion (Bizible's convention); no such touch, or no such conversion, means no marker.
    """

    def creator(moment: float | None) -> int | None:
        if moment is None:
            return None
        before = [i for i, t in enumerate(journey) if t.ts <= moment]
        return before[-1] if before else None

    lead, opportunity = creator(lead_ts), creator(opportunity_ts)
    return [
        Touch(
            event_id=t.event_id,
            ts=t.ts,
            channel=t.channel,
            campaign=t.campaign,
            category=t.category,
            is_lead_creation=i == lead,
            is_opportunity_creation=i == opportunity,
        )
        for i, t in enumerate(journey)
    ]
