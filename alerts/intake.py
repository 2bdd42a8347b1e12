"""Intake velocity: events per minute per source / type / channel against the same hour of week.

The query (:func:`alerts.queries.fetch_intake_windows`) counts events received in the current window
and in the same window 1..N weeks earlier; this module turns those counts into rates and a baseline.
The baseline is the median of the earlier weeks that had traffic in that slot, so one bad week (an
outage, a holiday) does not move it, and a source that did not exist yet does not drag it to zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import median

from alerts.detect import Observation, judge_drop
from alerts.rules import IntakeRule

__all__ = ["IntakeRate", "intake_observations", "intake_rates"]

KIND = "intake_drop"


@dataclass(frozen=True, slots=True)
class IntakeRate:
    dimension: str  # source | type | channel
    value: str
    per_minute: float
    baseline_per_minute: float
    expected_in_window: float  # baseline events in one window: the minimum-volume measure
    history_weeks: int  # earlier weeks with traffic in this slot

    @property
    def subject(self) -> str:
        return f"{self.dimension}={self.value}"


def intake_rates(
    windows: Mapping[tuple[str, str], Sequence[int]], window_minutes: int, min_history_weeks: int
) -> list[IntakeRate]:
    """``windows[(dim, value)]`` = counts for week offsets 0 (now), 1, 2, ...; one rate per key."""
    rates: list[IntakeRate] = []
    for (dim, value), counts in sorted(windows.items()):
        history = [c for c in counts[1:] if c > 0]
        expected = float(median(history)) if len(history) >= min_history_weeks else 0.0
        rates.append(
            IntakeRate(
                dimension=dim,
                value=value,
                per_minute=counts[0] / window_minutes,
                baseline_per_minute=expected / window_minutes,
                expected_in_window=expected,
                history_weeks=len(history),
            )
        )
    return rates


def intake_observations(rates: Sequence[IntakeRate], rule: IntakeRule, at: datetime) -> list[Observation]:
    """Judge each rate against its same-hour-of-week baseline."""
    out: list[Observation] = []
    for r in rates:
        verdict = judge_drop(
            r.per_minute,
            r.baseline_per_minute,
            r.expected_in_window,
            fire_below=rule.fire_below,
            resolve_above=rule.resolve_above,
            min_volume=rule.min_events,
        )
        change = r.per_minute / r.baseline_per_minute - 1 if r.baseline_per_minute > 0 else 0.0
        summary = (
            f"intake {r.subject} {change:+.0%} vs the same hour in earlier weeks: "
            f"{r.per_minute:.2f}/min vs {r.baseline_per_minute:.2f}/min over the last "
            f"{rule.window_minutes} min"
        )
        if r.per_minute == 0:
            summary += " (silent: no events received)"
        out.append(
            Observation(
                kind=KIND,
                subject=r.subject,
                at=at,
                value=r.per_minute,
                baseline=r.baseline_per_minute,
                verdict=verdict,
                summary=summary,
                labels=(("dimension", r.dimension), ("value", r.value)),
            )
        )
    return out
