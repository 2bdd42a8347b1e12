"""Per-entity journey state: touches in event-time order, pruned by the lookback windows.

An entity is an account (``a:``), or a person / visitor whose account is not known yet; the latter
buffer touches until a link forwards them to their parent (see :mod:`streams.identity`). State is
plain lists so it serializes to compact JSON for the changelogged table.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from schemas.channels import Category

__all__ = ["DAY", "Conversion", "JourneyState", "Pending", "Touchpoint", "Windows"]

DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class Windows:
    """Lookback per category in seconds, plus how late an event may arrive and still be placed.

    ``allowed_lateness_s`` defaults (``None``) to the longest lookback: a touch that arrives as late as
    a conversion can look back still revises that conversion's credits (see ``streams.revisions``).
    """

    demand_gen_s: float = 90 * DAY
    lead_gen_s: float = 30 * DAY
    allowed_lateness_s: float | None = None

    def lookback(self, category: str) -> float:
        return self.demand_gen_s if category == Category.DEMAND_GEN else self.lead_gen_s

    @property
    def longest_s(self) -> float:
        return max(self.demand_gen_s, self.lead_gen_s)

    @property
    def lateness_s(self) -> float:
        return self.longest_s if self.allowed_lateness_s is None else self.allowed_lateness_s


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


@dataclass(frozen=True, slots=True)
class Conversion:
    event_id: str
    ts: float
    stage: str
    person: str = ""
    amount: float = 0.0
    currency: str = ""
    opportunity_id: str = ""

    def to_json(self) -> list[object]:
        return [
            self.event_id,
            self.ts,
            self.stage,
            self.person,
            self.amount,
            self.currency,
            self.opportunity_id,
        ]

    @classmethod
    def from_json(cls, raw: list[object]) -> Conversion:
        eid, ts, stage, person, amount, currency, opp = raw
        return cls(str(eid), float(ts), str(stage), str(person), float(amount), str(currency), str(opp))  # type: ignore[arg-type]


@dataclass(slots=True)
class Pending:
    """A conversion still inside the lateness horizon: what its credits were last computed from.

    ``revision`` counts the real changes of its credit inputs (``digest`` is a stable hash of them);
    ``seen`` lists, in first-credited order, every event id a revision credited (``""`` = the
    ``(none)`` row) and ``credited`` per model a bitmask over ``seen`` of the ids that model credited
    in some revision (a model absent = all of ``seen``), so a later revision zeroes exactly the rows
    of touches that left. See :mod:`streams.revisions`.
    """

    conversion: Conversion
    lead_signal: bool = False  # a lead form / CRM lead stage: counts only if it is the earliest lead
    revision: int = 0
    digest: str = ""
    seen: list[str] = field(default_factory=list)
    credited: dict[str, int] = field(default_factory=dict)

    def earlier(self) -> dict[str, list[str]]:
        """model -> ids some revision credited (models without a mask: every id of ``seen``)."""
        out: dict[str, list[str]] = {}
        for model, mask in self.credited.items():
            out[model] = [eid for i, eid in enumerate(self.seen) if mask >> i & 1]
        return out

    def to_json(self) -> list[object]:
        masks = {model: format(mask, "x") for model, mask in self.credited.items()}
        return [self.conversion.to_json(), self.lead_signal, self.revision, self.digest, self.seen, masks]

    @classmethod
    def from_json(cls, raw: list[object]) -> Pending:
        conv, lead_signal, revision, digest, seen = raw[:5]
        masks: dict[str, str] = raw[5] if len(raw) > 5 else {}  # type: ignore[assignment]
        return cls(
            Conversion.from_json(conv),  # type: ignore[arg-type]
            bool(lead_signal),
            int(revision),  # type: ignore[call-overload]
            str(digest),
            [str(s) for s in seen],  # type: ignore[attr-defined]
            {str(model): int(mask, 16) for model, mask in masks.items()},
        )


@dataclass(slots=True)
class JourneyState:
    """Touches of one entity, its forwarding link, CRM markers and event-time watermark."""

    touches: list[Touchpoint] = field(default_factory=list)
    parent: str = ""  # entity this one forwards to ('' = none): the latest link not revoked
    parent_ts: float = 0.0
    links: dict[str, float] = field(default_factory=dict)  # parent -> latest link time
    revoked: set[str] = field(default_factory=set)  # parents whose link `identity unlink` revoked
    # A device (``v:``) keeps its touches and, per touch, the person stage 1 stamped it with: the touch
    # belongs to that person while the device is not shared and that link is not revoked, else to the
    # device's parent (streams.stage_journey, docs/identity.md).
    stamps: dict[str, str] = field(default_factory=dict)  # event id -> person entity
    shared: bool = False  # a shared device (schemas.guards) links to nobody
    lead: tuple[float, str] | None = None  # (ts, conversion id) of the earliest lead-creating conversion
    opportunity: tuple[float, str] | None = None
    watermark: float = 0.0  # highest event time seen
    pending: dict[str, Pending] = field(default_factory=dict)  # conversion id -> still revisable

    def add(self, touch: Touchpoint, windows: Windows) -> bool:
        """Insert in order (late events too); False if already present or too old to matter."""
        self.watermark = max(self.watermark, touch.ts)
        if touch.ts < self.watermark - windows.lookback(touch.category) - windows.lateness_s:
            return False
        i = bisect.bisect_left(self.touches, touch)
        if i < len(self.touches) and self.touches[i].event_id == touch.event_id:
            return False  # redelivered
        if any(t.event_id == touch.event_id for t in self.touches):
            return False  # redelivered with a different ts (should not happen; be safe)
        self.touches.insert(i, touch)
        return True

    def prune(self, windows: Windows) -> int:
        """Drop touches no conversion can credit any more, and conversions no late touch can revise.

        A touch at most ``lateness_s`` behind the watermark (``horizon`` on) revises the conversions at
        or after it, so those stay pending; their windows reach back ``lookback`` before the horizon,
        which is what the touches keep. Older conversions are final.
        """
        horizon = self.watermark - windows.lateness_s
        kept = [t for t in self.touches if t.ts >= horizon - windows.lookback(t.category)]
        dropped = len(self.touches) - len(kept)
        self.touches = kept
        if self.stamps and dropped:
            self.stamps = {t.event_id: self.stamps[t.event_id] for t in kept if t.event_id in self.stamps}
        for cid in [c for c, p in self.pending.items() if p.conversion.ts < horizon]:
            del self.pending[cid]
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
        """Apply a link; True if the entity's parent changed.

        Every link is kept (its latest time per parent) so that revoking one can fall back to the
        next; the parent is the latest ``(ts, parent)`` of the links not revoked, ties by parent key,
        so the result is the same in every arrival order.
        """
        if ts <= self.links.get(parent, float("-inf")):
            return False
        self.links[parent] = ts
        return self._choose()

    def revoke(self, parent: str, revoked: bool) -> bool:
        """Revoke (or restore) the link to ``parent`` (``touchstream identity unlink / relink``);
        True if the entity's parent changed. A revoked link stays revoked when asserted again."""
        if revoked:
            self.revoked.add(parent)
        else:
            self.revoked.discard(parent)
        return self._choose()

    def set_shared(self, shared: bool) -> bool:
        """Mark a device shared (or no longer); True if its parent changed."""
        self.shared = shared
        return self._choose()

    def device_dest(self, event_id: str) -> str:
        """Where a device's touch belongs: its stamped person if that still holds, else the parent."""
        stamp = self.stamps.get(event_id, "")
        if stamp and not self.shared and stamp not in self.revoked:
            return stamp
        return self.parent

    def _choose(self) -> bool:
        live = [(ts, parent) for parent, ts in self.links.items() if parent not in self.revoked]
        # A device known as a person goes by that person, as account_journeys does; a link straight to
        # an account (an account-only identify, a role address) counts only while it knows nobody.
        people = [link for link in live if link[1].startswith("p:")]
        live = people or live
        ts, parent = max(live) if live and not self.shared else (0.0, "")
        changed = parent != self.parent
        self.parent, self.parent_ts = parent, ts
        return changed

    def to_json(self) -> dict[str, object]:
        return {
            "t": [t.to_json() for t in self.touches],
            "p": [self.parent, self.parent_ts],
            "k": self.links,
            "l": list(self.lead) if self.lead else None,
            "o": list(self.opportunity) if self.opportunity else None,
            "w": self.watermark,
            "c": [p.to_json() for p in self.pending.values()],
            **({"r": sorted(self.revoked)} if self.revoked else {}),
            **({"s": self.stamps} if self.stamps else {}),
            **({"h": True} if self.shared else {}),
        }

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> JourneyState:
        link: list[object] = raw["p"]  # type: ignore[assignment]
        parent, parent_ts = link
        lead, opp = raw.get("l"), raw.get("o")
        # State written before links were kept ("k") knew only the latest link.
        links: dict[str, float] = raw.get("k") or ({str(parent): float(parent_ts)} if parent else {})  # type: ignore[assignment, arg-type]
        return cls(
            touches=[Touchpoint.from_json(t) for t in raw["t"]],  # type: ignore[attr-defined]
            parent=str(parent),
            parent_ts=float(parent_ts),  # type: ignore[arg-type]
            links={str(k): float(v) for k, v in links.items()},
            revoked={str(r) for r in raw.get("r") or ()},  # type: ignore[attr-defined]
            stamps={str(k): str(v) for k, v in (raw.get("s") or {}).items()},  # type: ignore[attr-defined]
            shared=bool(raw.get("h")),
            lead=(float(lead[0]), str(lead[1])) if lead else None,  # type: ignore[index]
            opportunity=(float(opp[0]), str(opp[1])) if opp else None,  # type: ignore[index]
            watermark=float(raw["w"]),  # type: ignore[arg-type]
            pending={p.conversion.event_id: p for p in map(Pending.from_json, raw.get("c") or [])},  # type: ignore[call-overload]
        )
