"""Attribution results as flat rows and columns for ``render`` (table, json, csv)."""

from __future__ import annotations

from reports.credits import AttributionResult
from reports.render import Column

__all__ = ["attribution_rows"]


def attribution_rows(result: AttributionResult) -> tuple[list[dict[str, object]], list[Column]]:
    """One model: key, category, conversions, share, revenue. Several: key and one column per model."""
    noun = result.request.by
    models = result.request.models
    if len(models) == 1:
        credits = result.by_model(models[0])
        total = sum(c.conversions for c in credits)
        rows: list[dict[str, object]] = [
            {
                noun: c.key,
                "category": c.category,
                "conversions": round(c.conversions, 4),
                "share": round(c.conversions / total, 4) if total else 0.0,
                "revenue": round(c.revenue, 2),
            }
            for c in credits
        ]
        columns = [Column(noun), Column("conversions", "credited conversions"), Column("share", number=".1%")]
        columns.append(Column("revenue", number=",.0f"))
        if noun == "channel":
            columns.insert(1, Column("category"))
        return rows, columns
    values = {(c.model, c.key): c.conversions for c in result.credits}
    rows = [{noun: key, **{m: round(values.get((m, key), 0.0), 4) for m in models}} for key in result.keys()]
    return rows, [Column(noun), *(Column(m) for m in models)]
