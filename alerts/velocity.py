"""Sales pipeline velocity and its four factors, overall and per first-touch segment.

velocity ($/day) = open qualified opportunities x average deal size x win rate / sales-cycle days.
Factors are measured over a rolling window ending at ``end``: opportunities opened in the window and
still open at ``end``; deals closed in the window for deal size (won), win rate (won / closed) and
cycle length (opened -> won, days). The baseline is the mean of each factor over the preceding
windows, and its velocity is computed from those means, so the velocity ratio is exactly the product
of the factor ratios and "which factor moved most" is well defined.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import fmean

__all__ = [
    "FACTORS",
    "Opportunity",
    "VelocityFactors",
    "VelocityReport",
    "baseline_factors",
    "factors_at",
    "segment_opportunities",
    "velocity_reports",
]

FACTORS: tuple[str, ...] = ("open_opportunities", "avg_deal_size", "win_rate", "cycle_days")
FACTOR_LABELS = {
    "open_opportunities": "open opportunities",
    "avg_deal_size": "average deal size",
    "win_rate": "win rate",
    "cycle_days": "sales-cycle length",
}
_DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class Opportunity:
    """One opportunity as read from CRM stage events, with its account's first-touch channel."""

    key: str
    opened_at: datetime
    closed_at: datetime | None
    won: bool
    amount: float
    channel: str = ""
    category: str = ""


@dataclass(frozen=True, slots=True)
class VelocityFactors:
    open_opportunities: float
    avg_deal_size: float
    win_rate: float
    cycle_days: float
    closed: float  # deals closed in the window: the volume behind deal size and win rate

    @property
    def velocity(self) -> float:
        # Same-day deals would divide by zero; a cycle under a day counts as one day.
        return self.open_opportunities * self.avg_deal_size * self.win_rate / max(self.cycle_days, 1.0)

    def as_dict(self) -> dict[str, float]:
        return {**{f: float(getattr(self, f)) for f in FACTORS}, "velocity": self.velocity}


def factors_at(opps: Iterable[Opportunity], end: datetime, window: timedelta) -> VelocityFactors:
    """The four factors over ``(end - window, end]``."""
    start = end - window
    open_count = 0
    won_amounts: list[float] = []
    won_cycles: list[float] = []
    closed = 0
    for o in opps:
        if start < o.opened_at <= end and (o.closed_at is None or o.closed_at > end):
            open_count += 1
        if o.closed_at is not None and start < o.closed_at <= end:
            closed += 1
            if o.won:
                won_amounts.append(o.amount)
                won_cycles.append(max(0.0, (o.closed_at - o.opened_at).total_seconds() / _DAY_S))
    return VelocityFactors(
        open_opportunities=open_count,
        avg_deal_size=fmean(won_amounts) if won_amounts else 0.0,
        win_rate=len(won_amounts) / closed if closed else 0.0,
        cycle_days=fmean(won_cycles) if won_cycles else 0.0,
        closed=closed,
    )


def baseline_factors(
    opps: Sequence[Opportunity], end: datetime, window: timedelta, windows: int
) -> VelocityFactors:
    """Mean of each factor over the ``windows`` windows before ``end - window``."""
    past = [factors_at(opps, end - k * window, window) for k in range(1, windows + 1)]
    return VelocityFactors(
        open_opportunities=fmean(p.open_opportunities for p in past),
        avg_deal_size=fmean(p.avg_deal_size for p in past),
        win_rate=fmean(p.win_rate for p in past),
        cycle_days=fmean(p.cycle_days for p in past),
        closed=fmean(p.closed for p in past),
    )


def factor_impacts(now: VelocityFactors, base: VelocityFactors) -> dict[str, float]:
    """Each factor's multiplicative effect on velocity (< 1 = it pulled velocity down).

    A longer cycle lowers velocity, so its impact is baseline / now; the others are now / baseline.
    Their product is the velocity ratio (cycles floored at one day, as in the velocity itself).
    """
    impacts: dict[str, float] = {}
    for f in FACTORS:
        n, b = float(getattr(now, f)), float(getattr(base, f))
        if f == "cycle_days":
            n, b = max(n, 1.0), max(b, 1.0)
            impacts[f] = b / n
        else:
            impacts[f] = n / b if b > 0 else 1.0
    return impacts


@dataclass(frozen=True, slots=True)
class VelocityReport:
    segment: str  # "overall", "category=demand_gen", "channel=podcast"
    now: VelocityFactors
    baseline: VelocityFactors

    @property
    def ratio(self) -> float:
        b = self.baseline.velocity
        return self.now.velocity / b if b > 0 else 1.0

    @property
    def volume(self) -> float:
        return self.baseline.open_opportunities + self.baseline.closed

    def biggest_mover(self) -> tuple[str, float]:
        """The factor that pulled velocity down most, with its own relative change (-0.4 = -40 %)."""
        impacts = factor_impacts(self.now, self.baseline)
        factor = min(FACTORS, key=lambda f: impacts[f])
        b = float(getattr(self.baseline, factor))
        change = float(getattr(self.now, factor)) / b - 1.0 if b > 0 else 0.0
        return factor, change

    def summary(self) -> str:
        factor, change = self.biggest_mover()
        before, after = getattr(self.baseline, factor), getattr(self.now, factor)
        return (
            f"pipeline velocity ({self.segment}) {self.ratio - 1:+.0%} vs baseline: "
            f"{self.now.velocity:,.0f}/day vs {self.baseline.velocity:,.0f}/day; "
            f"biggest mover: {FACTOR_LABELS[factor]} {change:+.0%} "
            f"({_fmt(factor, before)} -> {_fmt(factor, after)})"
        )


def _fmt(factor: str, x: float) -> str:
    return f"{x:.0%}" if factor == "win_rate" else f"{x:,.1f}"


def segment_opportunities(opps: Sequence[Opportunity], kinds: Iterable[str]) -> dict[str, list[Opportunity]]:
    """Split by first-touch segment; accounts with no known first touch count only in ``overall``."""
    out: dict[str, list[Opportunity]] = defaultdict(list)
    for kind in kinds:
        if kind == "overall":
            out["overall"] = list(opps)
            continue
        for o in opps:
            label = o.category if kind == "category" else o.channel
            if label:
                out[f"{kind}={label}"].append(o)
    return dict(out)


def velocity_reports(
    opps: Sequence[Opportunity], end: datetime, window: timedelta, windows: int, kinds: Iterable[str]
) -> list[VelocityReport]:
    """One report per segment, now vs baseline."""
    return [
        VelocityReport(seg, factors_at(group, end, window), baseline_factors(group, end, window, windows))
        for seg, group in sorted(segment_opportunities(opps, kinds).items())
    ]
