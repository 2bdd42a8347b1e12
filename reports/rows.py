"""Attribution results as flat rows and columns for ``render`` (table, json, csv)."""

from __future__ import annotations

from reports.credits import AttributionResult
from reports.render import Column

__all__ = ["attribution_rows"]


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def attribution_rows(
    result: AttributionResult, wide: bool = False
) -> tuple[list[dict[str, object]], list[Column]]:
    """One model: key, category, conversions, share, revenue, spend, cost per conversion, ROAS.

    Several models: key, spend and one column of credited conversions per model; ``wide`` (json, csv)
    adds each model's ``cost_per_conversion_<model>`` and ``roas_<model>``, too wide for a terminal.
    Keys with spend and no credit are rows too, at zero conversions: spend that bought nothing shows.
    """
    noun = result.request.by
    models = result.request.models
    if len(models) == 1:
        returns = result.returns(models[0])
        total = sum(r.conversions for r in returns)
        rows: list[dict[str, object]] = [
            {
                noun: r.key,
                "category": r.category,
                "conversions": round(r.conversions, 4),
                "share": round(r.conversions / total, 4) if total else 0.0,
                "revenue": round(r.revenue, 2),
                "spend": round(r.spend, 2),
                "cost_per_conversion": _round(r.cost_per_conversion, 2),
                "roas": _round(r.roas, 4),
            }
            for r in returns
        ]
        columns = [Column(noun), Column("conversions", "credited"), Column("share", number=".1%")]
        columns += [
            Column("revenue", number=",.0f"),
            Column("spend", number=",.0f"),
            Column("cost_per_conversion", "cost/conv", number=",.0f"),
            Column("roas", "ROAS", number=",.2f"),
        ]
        if noun == "channel":
            columns.insert(1, Column("category"))
        return rows, columns
    per_model = {m: {r.key: r for r in result.returns(m)} for m in models}
    rows = []
    for key in result.keys():
        row: dict[str, object] = {noun: key, "spend": round(result.spend.get(key, 0.0), 2)}
        for m in models:
            r = per_model[m].get(key)
            row[m] = round(r.conversions, 4) if r else 0.0
            row[f"cost_per_conversion_{m}"] = _round(r.cost_per_conversion, 2) if r else None
            row[f"roas_{m}"] = _round(r.roas, 4) if r else None
        rows.append(row)
    columns = [Column(noun), Column("spend", number=",.0f"), *(Column(m) for m in models)]
    if wide:
        columns += [Column(f"cost_per_conversion_{m}") for m in models]
        columns += [Column(f"roas_{m}") for m in models]
    return rows, columns
