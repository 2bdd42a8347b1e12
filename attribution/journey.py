"""A touch and the canonical (ts, event_id) order of a journey."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["DIRECT", "Touch", "sort_journey"]

# Same string as schemas.channels.Channel.DIRECT; kept literal so this hot module stays import-free.
DIRECT = "direct"


@dataclass(frozen=True, slots=True)
class Touch:
    """One marketing touchpoint of a journey, already classified into a contract channel."""

    event_id: str
    ts: float  # epoch seconds, UTC
    channel: str
    campaign: str = ""
    category: str = ""
    is_lead_creation: bool = False
    is_opportunity_creation: bool = False


def _order_key(touch: Touch) -> tuple[float, str]:
    return (touch.ts, touch.event_id)


def sort_journey(journey: Sequence[Touch]) -> list[Touch]:
    """The journey in (ts, event_id) order: ties on ts are broken by event_id, so output is deterministic."""
    return sorted(journey, key=_order_key)
