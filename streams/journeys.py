"""Per-entity journey state: touches in event-time order, pruned by the lookback windows.

An entity is an account (``a:``), or a person / visitor whose account is not known yet; the latter
buffer touches until a link forwards them to their parent (see :mod:`streams.identity`). State is
plain lists so it serializes to compact JSON for the changelogged table.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from schemas.channels import Category

__all__ = ["DAY", "JourneyState", "Touchpoint", "Windows"]

DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class Windows:
    """Lookback per category in seconds, plus how late an event may arrive and still be placed."""

    demand_gen_s: float = 90 * DAY
    lead_gen_s: float = 30 * DAY
    allowed_lateness_s: float = 7 * DAY

    def lookback(self, category: str) -> float:
        return self.demand_gen_s if category == Category.DEMAND_GEN else self.lead_gen_s

    @property
    def longest_s(self) -> float:
        return max(self.demand_gen_s, self.lead_gen_s)


@dataclass(frozen=True, slots=True, order=True)
class Touchpoint:
    """One journey touch; ordering is (ts, event_id), the order attribution uses."""

    ts: float
    event_id: str
    channel: str
    category: str
    campaign: str = ""

    def to_json(self) -> list[object]:
        return [self.ts, self.event_id, self.channel, self.category, self.campaign]

    @classmethod
    def from_json(cls, raw: list[object]) -> Touchpoint:
        ts, event_id, channel, category, campaign = raw
        return cls(float(ts), str(event_id), str(channel), str(category), str(campaign))  # type: ignore[arg-type]


@dataclass(slots=True)
class JourneyState:
    """Touches of one entity, its forwarding link, CRM markers and event-time watermark."""

    touches: list[Touchpoint] = field(default_factory=list)
    parent: str = ""  # entity this one forwards to ('' = none)
    parent_ts: float = 0.0
    lead: tuple[float, str] | None = None  # (ts, conversion id) of the earliest lead-creating conversion
    opportunity: tuple[float, str] | None = None
    watermark: float = 0.0  # highest event time seen
    lead_conversion: str = ""  # the conversion counted as this entity's lead (form or CRM lead stage)

    def add(self, touch: Touchpoint, windows: Windows) -> bool:
        """Insert in order (late events too); False if already present or too old to matter."""
        self.watermark = max(self.watermark, touch.ts)
        if touch.ts < self.watermark - windows.lookback(touch.category) - windows.allowed_lateness_s:
            return False
        i = bisect.bisect_left(self.touches, touch)
        if i < len(self.touches) and self.touches[i].event_id == touch.event_id:
            return False  # redelivered
        if any(t.event_id == touch.event_id for t in self.touches):
            return False  # redelivered with a different ts (should not happen; be safe)
        self.touches.insert(i, touch)
        return True

    def prune(self, windows: Windows) -> int:
        """Drop touches no conversion can credit any more; returns how many went."""
        horizon = self.watermark - windows.allowed_lateness_s
        kept = [t for t in self.touches if t.ts >= horizon - windows.lookback(t.category)]
        dropped = len(self.touches) - len(kept)
        self.touches = kept
        return dropped

    def mark(self, kind: str, ts: float, conversion_id: str) -> None:
        """Remember the earliest lead / opportunity creation (event time wins over arrival order)."""
        value = (ts, conversion_id)
        if kind == "lead" and (self.lead is None or value < self.lead):
            self.lead = value
        elif kind == "opportunity" and (self.opportunity is None or value < self.opportunity):
            self.opportunity = value

    def window(self, conversion_ts: float, windows: Windows) -> list[Touchpoint]:
        """Touches a conversion at ``conversion_ts`` can credit: not after it, inside their lookback."""
        end = bisect.bisect_right(self.touches, Touchpoint(conversion_ts, "\uffff", "", ""))
        return [t for t in self.touches[:end] if t.ts >= conversion_ts - windows.lookback(t.category)]

    def set_parent(self, parent: str, ts: float) -> bool:
        """Apply a link; a later link wins (people moving accounts), an older one is ignored."""
        if self.parent and ts < self.parent_ts:
            return False
        if parent == self.parent:
            self.parent_ts = max(self.parent_ts, ts)
            return False
        self.parent, self.parent_ts = parent, ts
        return True

    def to_json(self) -> dict[str, object]:
        return {
            "t": [t.to_json() for t in self.touches],
            "p": [self.parent, self.parent_ts],
            "l": list(self.lead) if self.lead else None,
            "o": list(self.opportunity) if self.opportunity else None,
            "w": self.watermark,
            "lc": self.lead_conversion,
        }

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> JourneyState:
        link: list[object] = raw["p"]  # type: ignore[assignment]
        parent, parent_ts = link
        lead, opp = raw.get("l"), raw.get("o")
        return cls(
            touches=[Touchpoint.from_json(t) for t in raw["t"]],  # type: ignore[attr-defined]
            parent=str(parent),
            parent_ts=float(parent_ts),  # type: ignore[arg-type]
            lead=(float(lead[0]), str(lead[1])) if lead else None,  # type: ignore[index]
            opportunity=(float(opp[0]), str(opp[1])) if opp else None,  # type: ignore[index]
            watermark=float(raw["w"]),  # type: ignore[arg-type]
            lead_conversion=str(raw.get("lc", "")),
        )
