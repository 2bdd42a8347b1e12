"""Records the stream workers emit for the sink: one model per ClickHouse table.

They are internal contracts (``frozen``, ``extra="forbid"``, versioned by ``v``). Field names equal
ClickHouse column names so the sink maps them column-wise without a lookup table.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "AlertRecord",
    "ConversionRecord",
    "CreditRecord",
    "DeadLetter",
    "IdentityRecord",
    "ProductEventRecord",
    "SelfReportRecord",
    "SpendRecord",
    "TouchpointRecord",
]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: int = 1


class TouchpointRecord(_Record):
    event_id: str
    ts: datetime
    anonymous_id: str = ""
    person_id: str = ""
    account_id: str = ""
    type: str
    channel: str
    channel_category: Literal["demand_gen", "lead_gen", "direct"]
    engagement_kind: str = ""
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    utm_content: str = ""
    utm_term: str = ""
    url: str = ""
    referrer: str = ""
    country: str = ""
    source: str = ""  # the site/write key label the event came through (intake alerts)
    is_bot: bool = False
    is_branded_search: bool = False
    received_at: datetime | None = None
    # Type-specific facts the KPI views need (0 / "" when they do not apply).
    duration_s: float = 0.0  # engagement: seconds listened / watched / attended
    form_kind: str = ""  # form_submit: gated_content, demo_request, ...
    brand: str = ""  # mention: the brand named (ours or a competitor's: share of voice)
    is_competitor: bool = False  # mention: the brand is a competitor's
    reach: int = 0  # mention: audience size when known
    # form_submit: "How did you hear about us?" as typed, and the channel it maps to ('unknown': no
    # keyword of the mapping matched; '' when the form did not ask).
    self_reported: str = ""
    self_reported_channel: str = ""


class IdentityRecord(_Record):
    anonymous_id: str
    person_id: str
    account_id: str = ""
    email: str = ""
    updated_at: datetime
    # The merge log (migration 0010, identity_edges): the event that asserted the link and its kind
    # (identify, form, crm, group, alias, or the event type). Empty in records of older workers.
    event_id: str = ""
    source: str = ""
    # Why a guard held this link back ('' = applied): role_address, free_mail_domain, shared_device
    # (schemas.guards). Held records travel on touchstream.identity-held to identity_edges only.
    held: str = ""


class ConversionRecord(_Record):
    conversion_id: str
    ts: datetime
    account_id: str
    person_id: str = ""
    stage: str
    amount: float = 0.0
    currency: str = ""
    opportunity_id: str = ""
    # The stream revises a conversion when its journey changes; the table keeps the latest revision
    # (ReplacingMergeTree(revision, deleted)). ``deleted``: a lead signal that no longer counts.
    revision: int = 0
    deleted: bool = False


class CreditRecord(_Record):
    conversion_id: str
    stage: str
    model: str
    event_id: str
    ts: datetime  # of the credited touchpoint
    account_id: str
    channel: str
    channel_category: str
    utm_campaign: str = ""
    credit: float
    revenue_credit: float = 0.0
    conversion_ts: datetime
    revision: int = 0  # latest wins per (conversion, model, event id); 0-credit rows retract a touch


class SpendRecord(_Record):
    event_id: str
    date: date
    channel: str
    utm_campaign: str = ""
    cost: float
    currency: str = "USD"


class AlertRecord(_Record):
    alert_id: str
    ts: datetime
    kind: str
    subject: str
    state: Literal["firing", "resolved"] = "firing"
    value: float
    baseline: float
    message: str


class ProductEventRecord(_Record):
    event_id: str
    ts: datetime
    anonymous_id: str = ""
    person_id: str = ""
    account_id: str = ""
    name: str
    properties: str = "{}"  # JSON text; ClickHouse keeps it as String for analysts' JSONExtract


class SelfReportRecord(_Record):
    """One "How did you hear about us?" answer, from a form submission or a CRM stage change."""

    event_id: str
    ts: datetime
    source: Literal["form", "crm"]
    anonymous_id: str = ""
    person_id: str = ""
    account_id: str = ""
    answer: str  # as typed, up to 512 characters
    channel: str  # the mapped channel; 'unknown' when no keyword of the mapping matched


class DeadLetter(_Record):
    """What lands on ``touchstream.dead-letter``: who rejected it, why, and the original bytes."""

    stage: str  # collector | streams | sink
    reason: str
    errors: list[dict[str, str]] = []
    topic: str = ""
    original: str  # the rejected payload, UTF-8 (replacement chars if it was not text)
    at: datetime
    details: dict[str, Any] = {}
