"""Ad spend rows to ``spend`` events; one id per (date, channel, campaign): a re-sent day replaces it."""

from __future__ import annotations

from typing import Any

from collector.ids import stable_id

__all__ = ["event_from_spend"]


def event_from_spend(row: Any) -> Any:
    """``{date, channel, campaign, cost, currency}`` -> event dict; non-objects pass to validation."""
    if not isinstance(row, dict):
        return row
    raw = dict(row)
    raw["type"] = "spend"
    raw["event_id"] = stable_id("spend", row.get("date"), row.get("channel"), row.get("campaign"))
    if isinstance(row.get("date"), str) and "ts" not in raw:
        raw["ts"] = f"{row['date']}T00:00:00Z"
    return raw
