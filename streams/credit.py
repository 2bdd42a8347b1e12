"""Credit on conversion: a journey window in, a conversion row and credit rows out (pure).

Which events convert (decided here, documented in docs/streams.md):
* ``crm_stage`` lead, mql, sql, opportunity, closed_won -> a conversion of that stage, credited;
  closed_lost -> a conversion row (for win rates) without credits.
* ``form_submit`` of kind demo_request, trial, contact or gated_content -> a ``lead`` conversion.
  A lead form and a CRM ``lead`` stage are two signals of one lead: only the account's earliest
  lead-creating conversion by event time counts (:func:`counts`); a later signal is no new lead.
Every stage from lead on marks lead creation, opportunity / closed_won mark opportunity creation;
the touch at or just before each mark is flagged for w_shaped and full_path.
A credited conversion with no touch in its window is credited whole to channel :data:`NO_CHANNEL`
(event id ``""``), so no conversion disappears from the credit tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from attribution import RULE_BASED_MODELS, Touch, credit
from schemas.events import LEAD_FORM_KINDS
from streams.journeys import Conversion, JourneyState, Touchpoint, Windows
from streams.rows import ConversionRow, CreditRow

__all__ = [
    "CREDITED_STAGES",
    "LEAD_FORM_KINDS",
    "NO_CHANNEL",
    "Conversion",
    "apply_markers",
    "assemble",
    "counts",
    "journey_of",
    "shares_of",
    "window_of",
]

NO_CHANNEL = "(none)"  # the channel of a conversion with no touch in its window

CREDITED_STAGES = frozenset({"lead", "mql", "sql", "opportunity", "closed_won"})
_OPPORTUNITY_STAGES = frozenset({"opportunity", "closed_won"})
_REVENUE_STAGES = _OPPORTUNITY_STAGES


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def apply_markers(state: JourneyState, conversion: Conversion) -> None:
    """Record lead / opportunity creation before crediting, so a conversion sees its own marker."""
    if conversion.stage in CREDITED_STAGES:
        state.mark("lead", conversion.ts, conversion.event_id)
    if conversion.stage in _OPPORTUNITY_STAGES:
        state.mark("opportunity", conversion.ts, conversion.event_id)


def _at_or_before(window: list[Touchpoint], marker: tuple[float, str] | None, until: float) -> str | None:
    if marker is None or marker[0] > until:
        return None
    candidates = [t for t in window if t.ts <= marker[0]]
    return candidates[-1].event_id if candidates else None


def counts(state: JourneyState, conversion: Conversion, lead_signal: bool) -> bool:
    """Whether the conversion counts: a lead signal only if it is the earliest lead-creating one."""
    return not lead_signal or (state.lead is not None and state.lead[1] == conversion.event_id)


def window_of(
    state: JourneyState, conversion: Conversion, windows: Windows
) -> tuple[list[Touchpoint], str | None, str | None]:
    """The touches the conversion credits, in order, and the ids marking lead / opportunity creation."""
    window = state.window(conversion.ts, windows)
    lead_touch = _at_or_before(window, state.lead, conversion.ts)
    opp_touch = _at_or_before(window, state.opportunity, conversion.ts)
    return window, lead_touch, opp_touch


def journey_of(state: JourneyState, conversion: Conversion, windows: Windows) -> list[Touch]:
    """The touches the conversion credits, in order, with the lead / opportunity creation flags."""
    window, lead_touch, opp_touch = window_of(state, conversion, windows)
    return [
        Touch(
            event_id=t.event_id,
            ts=t.ts,
            channel=t.channel,
            campaign=t.campaign,
            category=t.category,
            is_lead_creation=t.event_id == lead_touch,
            is_opportunity_creation=t.event_id == opp_touch,
        )
        for t in window
    ]


def shares_of(
    journey: list[Touch],
    conversion: Conversion,
    models: tuple[str, ...],
    half_life_days: float,
    counted: bool = True,
) -> dict[str, dict[str, float]]:
    """model -> {event id: credit > 0}; ``""`` (the :data:`NO_CHANNEL` row) when nothing is in the window."""
    out: dict[str, dict[str, float]] = {}
    credited = counted and conversion.stage in CREDITED_STAGES
    for model in models:
        shares: dict[str, float] = {}
        if credited and not journey:
            shares[""] = 1.0
        elif credited:
            for touch, share in credit(
                model, journey, conversion_ts=conversion.ts, half_life_days=half_life_days
            ):
                if share > 0.0:
                    shares[touch.event_id] = shares.get(touch.event_id, 0.0) + share
        out[model] = shares
    return out


def assemble(
    state: JourneyState,
    conversion: Conversion,
    account_id: str,
    windows: Windows,
    half_life_days: float,
    models: tuple[str, ...] = RULE_BASED_MODELS,
    *,
    revision: int = 0,
    counted: bool = True,
    earlier: Mapping[str, Iterable[str]] | None = None,
) -> tuple[ConversionRow, list[CreditRow]]:
    """The conversion row and its credit rows for one revision (deterministic).

    One row per credited touch and model; a counted, credited conversion without touches gets one
    :data:`NO_CHANNEL` row per model. Every id ``earlier[model]`` names (ids an earlier revision
    credited in that model) that this revision does not credit there gets a zero row, replacing its
    earlier credit in the ``ReplacingMergeTree(revision)`` table. A lead signal that no longer counts
    is ``deleted`` and has zero rows only.
    """
    record = ConversionRow(
        conversion_id=conversion.event_id,
        ts=_utc(conversion.ts),
        account_id=account_id,
        person_id=conversion.person,
        stage=conversion.stage,
        amount=conversion.amount,
        currency=conversion.currency,
        opportunity_id=conversion.opportunity_id,
        revision=revision,
        deleted=not counted,
    )
    if conversion.stage not in CREDITED_STAGES:
        return record, []
    journey = journey_of(state, conversion, windows) if counted else []
    by_id = {t.event_id: t for t in journey}
    stamps = {t.event_id: _utc(t.ts) for t in journey}  # one datetime per touch, not per row
    revenue = conversion.amount if conversion.stage in _REVENUE_STAGES else 0.0
    conversion_dt = _utc(conversion.ts)

    def row(model: str, event_id: str, share: float) -> CreditRow:
        touch = by_id.get(event_id)
        return CreditRow(
            conversion_id=conversion.event_id,
            stage=conversion.stage,
            model=model,
            event_id=event_id,
            ts=stamps[event_id] if touch else conversion_dt,
            account_id=account_id,
            channel=touch.channel if touch else (NO_CHANNEL if event_id == "" else ""),
            channel_category=touch.category if touch else "",
            utm_campaign=touch.campaign if touch else "",
            credit=share,
            revenue_credit=share * revenue,
            conversion_ts=conversion_dt,
            revision=revision,
        )

    credits: list[CreditRow] = []
    for model, shares in shares_of(journey, conversion, models, half_life_days, counted).items():
        credits.extend(row(model, eid, share) for eid, share in shares.items())
        gone = sorted(set((earlier or {}).get(model, ())) - shares.keys())
        credits.extend(row(model, eid, 0.0) for eid in gone)
    return record, credits
