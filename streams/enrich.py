"""Enrichment: one validated event -> its channel, bot flag, touchpoint record and journey touch."""

from __future__ import annotations

from dataclasses import dataclass

from attribution.self_reported import UNKNOWN, normalise
from schemas.events import (
    LEAD_FORM_KINDS,
    CrmStageEvent,
    EngagementEvent,
    Event,
    FormSubmitEvent,
    IdentifyEvent,
    MentionEvent,
    PageViewEvent,
    SpendEvent,
)
from schemas.records import SpendRecord
from streams.bots import is_bot
from streams.classify import Classification, classify, same_site
from streams.credit import Conversion
from streams.journeys import Touchpoint
from streams.rows import SelfReportRow, TouchpointRow
from streams.rules import Rules

__all__ = ["Enriched", "enrich", "enters_journey", "spend_record"]

_TOUCH_TYPES = (PageViewEvent, EngagementEvent, MentionEvent, FormSubmitEvent)


@dataclass(frozen=True, slots=True)
class Enriched:
    """What one event contributes, given who it was stitched to."""

    record: TouchpointRow | None  # for touchstream.touchpoints
    touch: Touchpoint | None  # for the journey (None: not a marketing touch, or a bot)
    conversion: Conversion | None
    first_lead_only: bool = False  # a lead form converts only if it is the journey's first lead
    self_report: SelfReportRow | None = None  # for touchstream.self-reports: the event's answer


def _classify(rules: Rules, event: Event, click_ids: dict[str, str | None]) -> Classification:
    explicit = event.channel if isinstance(event, EngagementEvent | MentionEvent) else None
    return classify(
        rules,
        explicit_channel=explicit,
        click_ids=click_ids,
        utm_source=event.utm.source,
        utm_medium=event.utm.medium,
        utm_term=event.utm.term,
        url=event.context.url,
        referrer=event.context.referrer,
    )


def enters_journey(
    event_type: str, channel: str, *, bot: bool, tagged: bool, url: str | None, referrer: str | None
) -> bool:
    """Which touchpoints enter journeys (live, and when :mod:`streams.rebuild` reloads them).

    Bots never do. Internal navigation (same-site referrer, no campaign tags) is a page of the
    session the landing page already counted; a form posted on the site without its own source
    tags is a conversion marker, not a new touch (its session's source gets the credit)."""
    if bot:
        return False
    if event_type in ("page_view", "form_submit"):
        if not tagged and same_site(url, referrer):
            return False
        if event_type == "form_submit" and channel == "direct":
            return False
    return True


def _journey_touch(
    event: Event, c: Classification, bot: bool, click_ids: dict[str, str | None]
) -> Touchpoint | None:
    tagged = bool(event.utm.source or event.utm.medium or any(click_ids.values()))
    if not enters_journey(
        event.type, c.channel, bot=bot, tagged=tagged, url=event.context.url, referrer=event.context.referrer
    ):
        return None
    return Touchpoint(
        event.ts.timestamp(), str(event.event_id), c.channel, c.category, event.utm.campaign or ""
    )


def _self_reported(rules: Rules, event: Event) -> tuple[str, str]:
    """The "How did you hear about us?" answer of a form or CRM event and its channel (``unknown``: no
    keyword matched); ``("", "")`` when the event carries none."""
    answer = event.self_reported if isinstance(event, FormSubmitEvent | CrmStageEvent) else None
    if not answer:
        return "", ""
    channel = normalise(answer, rules.self_reported)
    return answer, channel.value if channel else UNKNOWN


def _self_report(event: Event, answer: str, channel: str, person: str, account: str) -> SelfReportRow | None:
    if not answer:
        return None
    return SelfReportRow(
        event_id=str(event.event_id),
        ts=event.ts,
        source="crm" if isinstance(event, CrmStageEvent) else "form",
        anonymous_id=event.anonymous_id or "",
        person_id=person,
        account_id=account,
        answer=answer,
        channel=channel,
    )


def enrich(rules: Rules, event: Event, person: str, account: str) -> Enriched:
    """Classify and build outputs for a stitched event (pure). Identify and spend give no touchpoint."""
    conversion: Conversion | None = None
    if isinstance(event, CrmStageEvent):
        conversion = Conversion(
            event_id=str(event.event_id),
            ts=event.ts.timestamp(),
            stage=event.stage,
            person=person,
            amount=event.amount or 0.0,
            currency=event.currency or "",
            opportunity_id=event.opportunity_id or "",
        )
        # A lead form and the CRM's own "lead" stage are two signals of one lead: whichever comes
        # first is the account's lead conversion, the other is not counted again. The answer is kept
        # either way: it is a fact about the buyer, not about this conversion.
        answer, answer_channel = _self_reported(rules, event)
        return Enriched(
            None,
            None,
            conversion,
            first_lead_only=event.stage == "lead",
            self_report=_self_report(event, answer, answer_channel, person, account),
        )
    if isinstance(event, IdentifyEvent | SpendEvent) or not isinstance(event, _TOUCH_TYPES):
        return Enriched(None, None, None)
    click_ids = event.click_ids.model_dump()
    c = _classify(rules, event, click_ids)
    bot = is_bot(rules, event.context.user_agent)
    event_id = str(event.event_id)
    answer, answer_channel = _self_reported(rules, event)
    record = TouchpointRow(
        event_id=event_id,
        ts=event.ts,
        anonymous_id=event.anonymous_id or "",
        person_id=person,
        account_id=account,
        type=event.type,
        channel=c.channel.value,
        channel_category=c.category.value,
        engagement_kind=event.kind if isinstance(event, EngagementEvent) else "",
        utm_source=event.utm.source or "",
        utm_medium=event.utm.medium or "",
        utm_campaign=event.utm.campaign or "",
        utm_content=event.utm.content or "",
        utm_term=event.utm.term or "",
        url=event.context.url or "",
        referrer=event.context.referrer or "",
        country=event.context.country or "",
        source=event.source or "",
        is_bot=bot,
        is_branded_search=c.is_branded_search,
        received_at=event.received_at,
        duration_s=(event.duration_s or 0.0) if isinstance(event, EngagementEvent) else 0.0,
        form_kind=event.form_kind if isinstance(event, FormSubmitEvent) else "",
        brand=event.brand if isinstance(event, MentionEvent) else "",
        is_competitor=event.competitor if isinstance(event, MentionEvent) else False,
        reach=(event.reach or 0) if isinstance(event, MentionEvent) else 0,
        self_reported=answer,
        self_reported_channel=answer_channel,
    )
    touch = _journey_touch(event, c, bot, click_ids)
    if isinstance(event, MentionEvent) and not (event.anonymous_id or person or account):
        touch = None  # a public mention nobody can be tied to: share of voice only
    first_lead = isinstance(event, FormSubmitEvent) and event.form_kind in LEAD_FORM_KINDS and not bot
    if first_lead:
        conversion = Conversion(str(event.event_id), event.ts.timestamp(), "lead", person=person)
    # A bot's form answer is no buyer's word.
    report = None if bot else _self_report(event, answer, answer_channel, person, account)
    return Enriched(record, touch, conversion, first_lead_only=first_lead, self_report=report)


def spend_record(event: SpendEvent) -> SpendRecord:
    return SpendRecord(
        event_id=str(event.event_id),
        date=event.date,
        channel=event.channel.value,
        utm_campaign=event.campaign or "",
        cost=event.cost,
        currency=event.currency,
    )
