"""Mix: spend share vs attributed-pipeline share vs closed-won-revenue share per group, in words.

Pure: rows of (group, spend, pipeline, revenue) for one period and model in, shares and a
sentence per group out. A share is ``None`` when the column's total is 0 (nothing to share), so a
period without spend is not reported as "0 % of spend". Groups are categories (demand gen / lead
gen / direct) or channels; a zero-spend channel (organic, direct) has spend share 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["MixInput", "MixRow", "mix", "describe"]

GAP_POINTS = 10.0  # a gap of at least this many percentage points is named in the sentence


@dataclass(frozen=True, slots=True)
class MixInput:
    group: str
    spend: float
    pipeline: float
    revenue: float


@dataclass(frozen=True, slots=True)
class MixRow:
    group: str
    spend_share: float | None
    pipeline_share: float | None
    revenue_share: float | None
    sentence: str


def _share(value: float, total: float) -> float | None:
    return value / total if total > 0 else None


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{share * 100:.0f} %"


def describe(group: str, spend: float | None, pipeline: float | None, revenue: float | None) -> str:
    """'lead gen: 78 % of spend, 31 % of pipeline, 20 % of revenue' plus the gap when large."""
    text = f"{group}: {_pct(spend)} of spend, {_pct(pipeline)} of pipeline, {_pct(revenue)} of revenue"
    if spend is not None and pipeline is not None:
        gap = (pipeline - spend) * 100
        if gap >= GAP_POINTS:
            text += f" — earns {gap:.0f} points more pipeline than its spend"
        elif gap <= -GAP_POINTS:
            text += f" — {-gap:.0f} points more spend than pipeline"
    return text


def mix(rows: Sequence[MixInput]) -> list[MixRow]:
    """Shares per group (rows with the same group are summed), largest spend first."""
    merged: dict[str, list[float]] = {}
    for row in rows:
        acc = merged.setdefault(row.group, [0.0, 0.0, 0.0])
        acc[0] += row.spend
        acc[1] += row.pipeline
        acc[2] += row.revenue
    totals = [sum(v[i] for v in merged.values()) for i in range(3)]
    out = []
    for group, (spend, pipeline, revenue) in merged.items():
        s, p, r = _share(spend, totals[0]), _share(pipeline, totals[1]), _share(revenue, totals[2])
        out.append(MixRow(group, s, p, r, describe(group, s, p, r)))
    out.sort(key=lambda r: (-(r.spend_share or 0.0), r.group))
    return out
