"""Credit on conversion: a journey window in, a conversion row and credit rows out (pure).

Which events convert (decided here, documented in docs/streams.md):
* ``crm_stage`` lead, mql, sql, opportunity, closed_won -> a conversion of that stage, credited;
  closed_lost -> a conversion row (for win rates) without credits.
* ``form_submit`` of kind demo_request, trial, contact or gated_content -> a ``lead`` conversion.
  A lead form and a CRM ``lead`` stage are two signals of one lead: only the account's first lead
  signal converts (later ones are touches, not new leads).
Every stage from lead on marks lead creation, opportunity / closed_won mark opportunity creation;
the touch at or just before each mark is flagged for w_shaped and full_path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from attribution import RULE_BASED_MODELS, Touch, credit
from schemas.events import LEAD_FORM_KINDS
from streams.journeys import JourneyState, Touchpoint, Windows
from streams.rows import ConversionRow, CreditRow

__all__ = [
    "CREDITED_STAGES",
    "LEAD_FORM_KINDS",
    "Conversion",
    "apply_markers",
    "assemble",
]

CREDITED_STAGES = frozenset({"lead", "mql", "sql", "opportunity", "closed_won"})
_OPPORTUNITY_STAGES = frozenset({"opportunity", "closed_won"})
_REVENUE_STAGES = _OPPORTUNITY_STAGES


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


def assemble(
    state: JourneyState,
    conversion: Conversion,
    account_id: str,
    windows: Windows,
    half_life_days: float,
    models: tuple[str, ...] = RULE_BASED_MODELS,
) -> tuple[ConversionRow, list[CreditRow]]:
    """The conversion row and one credit row per credited touch and model (deterministic)."""
    record = ConversionRow(
        conversion_id=conversion.event_id,
        ts=_utc(conversion.ts),
        account_id=account_id,
        person_id=conversion.person,
        stage=conversion.stage,
        amount=conversion.amount,
        currency=conversion.currency,
        opportunity_id=conversion.opportunity_id,
    )
    if conversion.stage not in CREDITED_STAGES:
        return record, []
    window = state.window(conversion.ts, windows)
    lead_touch = _at_or_before(window, state.lead, conversion.ts)
    opp_touch = _at_or_before(window, state.opportunity, conversion.ts)
    journey = [
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
    revenue = conversion.amount if conversion.stage in _REVENUE_STAGES else 0.0
    conversion_dt = _utc(conversion.ts)
    credits: list[CreditRow] = []
    for model in models:
        for touch, share in credit(
            model, journey, conversion_ts=conversion.ts, half_life_days=half_life_days
        ):
            if share <= 0.0:
                continue
            credits.append(
                CreditRow(
                    conversion_id=conversion.event_id,
                    stage=conversion.stage,
                    model=model,
                    event_id=touch.event_id,
                    ts=_utc(touch.ts),
                    account_id=account_id,
                    channel=touch.channel,
                    channel_category=touch.category,
                    utm_campaign=touch.campaign,
                    credit=share,
                    revenue_credit=share * revenue,
                    conversion_ts=conversion_dt,
                )
            )
    return record, credits
