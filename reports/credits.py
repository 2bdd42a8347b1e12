"""Attributed conversions and revenue per channel (or campaign) for one or many models.

Rule-based models are read from ``attribution_credits`` (what the stream computed with its default
lookbacks) unless a lookback is given, in which case they are recomputed here from the journeys
with ``attribution.batch``. Markov and Shapley are always fitted here, over the period's converting
and non-converting paths (``reports.journeys``), and their shares are scaled by the conversions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np

from attribution import DATA_DRIVEN_MODELS, MODELS, RULE_BASED_MODELS
from attribution.batch import JourneyArrays, batch_credits
from attribution.markov import markov
from attribution.shapley import shapley
from reports.errors import ReportOptionError
from reports.journeys import Conversion, JourneyTouch, build_paths, converting_journeys, marked_touches
from reports.period import Period
from reports.queries import FUNNEL_STAGES, Reader
from schemas.channels import category_of

__all__ = ["DEFAULT_LOOKBACK_DAYS", "AttributionResult", "Credit", "ReportRequest", "Return", "attribute"]

DEFAULT_LOOKBACK_DAYS = 90  # the contract's demand-gen lookback, the longer of the two defaults
STAGES: tuple[str, ...] = FUNNEL_STAGES[1:]  # lead is no attribution outcome in the contract


@dataclass(frozen=True, slots=True)
class ReportRequest:
    models: tuple[str, ...]
    stage: str = "opportunity"
    by: str = "channel"
    lookback_days: int | None = None  # None: stored credits for rule-based, 90 days for data-driven
    half_life_days: float = 7.0

    def __post_init__(self) -> None:
        unknown = [m for m in self.models if m not in MODELS]
        if unknown or not self.models:
            raise ReportOptionError(f"unknown model {unknown}; expected one of {', '.join(MODELS)} or all")
        if self.stage not in STAGES:
            raise ReportOptionError(f"unknown stage {self.stage!r}; expected one of {', '.join(STAGES)}")
        if self.by not in ("channel", "campaign"):
            raise ReportOptionError(f"--by must be channel or campaign, got {self.by!r}")
        if self.lookback_days is not None and self.lookback_days < 1:
            raise ReportOptionError(f"--lookback must be at least 1 day, got {self.lookback_days}")


@dataclass(frozen=True, slots=True)
class Credit:
    model: str
    key: str  # channel or campaign
    category: str
    conversions: float
    revenue: float


@dataclass(frozen=True, slots=True)
class Return:
    """A key's credit next to its spend; the ratios are None where they divide by zero."""

    key: str
    category: str
    conversions: float
    revenue: float
    spend: float

    @property
    def cost_per_conversion(self) -> float | None:
        return self.spend / self.conversions if self.spend and self.conversions else None

    @property
    def roas(self) -> float | None:
        return self.revenue / self.spend if self.spend else None


@dataclass(slots=True)
class AttributionResult:
    request: ReportRequest
    period: Period
    credits: list[Credit] = field(default_factory=list)
    conversions: int = 0  # conversions of the stage in the period
    revenue: float = 0.0
    spend: dict[str, float] = field(default_factory=dict)  # per channel / campaign, days in the period

    def by_model(self, model: str) -> list[Credit]:
        """One model's credits, largest first (ties by key so output is stable)."""
        rows = [c for c in self.credits if c.model == model]
        return sorted(rows, key=lambda c: (-c.conversions, c.key))

    def keys(self) -> list[str]:
        """Every channel / campaign credited or paid for, by total credit over the models, then spend."""
        total: dict[str, float] = defaultdict(float)
        for c in self.credits:
            total[c.key] += c.conversions
        keys = set(total) | set(self.spend)
        return sorted(keys, key=lambda k: (-total.get(k, 0.0), -self.spend.get(k, 0.0), k))

    def returns(self, model: str) -> list[Return]:
        """One model's credit set against spend, per key: also keys with spend and no credit."""
        credits = {c.key: c for c in self.by_model(model)}
        out = []
        for key in [*credits, *sorted(k for k in self.spend if k not in credits)]:
            c = credits.get(key)
            category = c.category if c else (str(category_of(key)) if self.request.by == "channel" else "")
            out.append(
                Return(
                    key,
                    category,
                    c.conversions if c else 0.0,
                    c.revenue if c else 0.0,
                    self.spend.get(key, 0.0),
                )
            )
        return out


class _Journeys:
    """The period's touches and conversions, fetched once and shared by the models that need them."""

    def __init__(self, reader: Reader, request: ReportRequest, period: Period) -> None:
        self.lookback_s = float(request.lookback_days or DEFAULT_LOOKBACK_DAYS) * 86_400.0
        reach = Period(period.start - timedelta(seconds=self.lookback_s), period.end)
        self.period = period
        self.touches: list[JourneyTouch] = reader.touches(reach)
        self.conversions: list[Conversion] = reader.conversions(request.stage, period)
        self.categories = {t.key(request.by): t.category for t in self.touches if request.by == "channel"}
        self._reader = reader

    def recompute(self, models: list[str], by: str, half_life_days: float) -> list[Credit]:
        start, end = self.period.start.timestamp(), self.period.end.timestamp()
        pairs = [
            (c, j)
            for c, j in converting_journeys(self.touches, self.conversions, start, end, self.lookback_s)
            if j
        ]
        leads = self._reader.first_stage_times("lead", self.period)
        opportunities = self._reader.first_stage_times("opportunity", self.period)
        journeys = [
            marked_touches(j, leads.get(c.account_id), opportunities.get(c.account_id)) for c, j in pairs
        ]
        arrays = JourneyArrays.from_journeys(journeys)
        flat = [t for j in pairs for t in j[1]]  # same (ts, event_id) order as from_journeys keeps
        amounts = np.repeat([c.amount for c, _ in pairs], np.diff(arrays.offsets))
        out = []
        for model in models:
            credit = batch_credits(model, arrays, half_life_days)
            sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
            for touch, share, amount in zip(flat, credit, amounts, strict=True):
                acc = sums[touch.key(by)]
                acc[0] += float(share)
                acc[1] += float(share * amount)
            out += [Credit(model, k, self.categories.get(k, ""), v[0], v[1]) for k, v in sums.items()]
        return out

    def fit(self, model: str, by: str) -> list[Credit]:
        start, end = self.period.start.timestamp(), self.period.end.timestamp()
        paths = build_paths(self.touches, self.conversions, start, end, self.lookback_s, by)
        if not paths.converted:
            return []
        fitted = markov if model == "markov" else shapley
        shares = fitted(paths.paths, paths.conversions)
        return [
            Credit(model, k, self.categories.get(k, ""), s * paths.converted, s * paths.revenue)
            for k, s in shares.items()
        ]


def attribute(reader: Reader, request: ReportRequest, period: Period) -> AttributionResult:
    """Credits of every requested model for the request's stage and period."""
    result = AttributionResult(request, period)
    result.conversions, result.revenue = reader.conversion_count(request.stage, period)
    result.spend = reader.spend_by(request.by, period)
    rule = [m for m in request.models if m in RULE_BASED_MODELS]
    fitted = [m for m in request.models if m in DATA_DRIVEN_MODELS]
    if rule and request.lookback_days is None:
        for model, key, category, conv, revenue in reader.rule_credits(
            rule, request.stage, period, request.by
        ):
            result.credits.append(Credit(model, key, category, conv, revenue))
        rule = []
    if rule or fitted:
        journeys = _Journeys(reader, request, period)
        if rule:
            result.credits += journeys.recompute(rule, request.by, request.half_life_days)
        for model in fitted:
            result.credits += journeys.fit(model, request.by)
    return result
