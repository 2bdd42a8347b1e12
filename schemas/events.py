"""The event contract: every event type as a pydantic model, joined in one discriminated union.

Events arrive from the collector, or are produced straight to ``touchstream.events``; both paths
validate here, once. ``ts`` is normalised to UTC from RFC 3339 or epoch milliseconds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal, get_args
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from schemas import jsonio
from schemas.channels import Channel
from schemas.errors import FieldError, InvalidEvent

__all__ = [
    "LEAD_FORM_KINDS",
    "MAX_EVENT_BYTES",
    "MAX_FUTURE",
    "MAX_JSON_DEPTH",
    "MAX_PROPERTIES_BYTES",
    "ClickIds",
    "Context",
    "CrmStage",
    "CrmStageEvent",
    "EngagementEvent",
    "EngagementKind",
    "Event",
    "EventType",
    "FormSubmitEvent",
    "IdentifyEvent",
    "MentionEvent",
    "PageViewEvent",
    "SpendEvent",
    "Utm",
    "dump_event",
    "from_epoch_ms",
    "parse_event",
    "validation_errors",
]

MAX_EVENT_BYTES = 32 * 1024  # one event on the wire, as Segment allows
MAX_PROPERTIES_BYTES = 16 * 1024
MAX_PROPERTY_KEYS = 100
# Nesting allowed in properties / traits: well below what pydantic reads back from Kafka (200 levels
# for the whole event) and orjson writes (254); a produced event must parse again downstream.
MAX_JSON_DEPTH = 64
MAX_FUTURE = timedelta(days=1)  # clock skew we tolerate; anything later is a bug upstream
MIN_TS = datetime(2000, 1, 1, tzinfo=UTC)

EventType = Literal["page_view", "engagement", "mention", "identify", "form_submit", "crm_stage", "spend"]
CrmStage = Literal["lead", "mql", "sql", "opportunity", "closed_won", "closed_lost"]
# Form kinds whose submission creates a lead (the first lead signal of an account, form or CRM).
LEAD_FORM_KINDS = frozenset({"demo_request", "trial", "contact", "gated_content"})
EngagementKind = Literal["social", "podcast", "video", "webinar", "event", "content", "other"]


_EPOCH_RANGE = "epoch milliseconds out of range; send RFC 3339 or milliseconds since 1970 (UTC)"


def from_epoch_ms(value: int | float | str) -> datetime:
    """Epoch milliseconds (a number, or a string of ASCII digits) as an aware UTC datetime.

    The one conversion of numeric times, here and in :mod:`compat`: a value no datetime can hold
    (``1e308``, ``-1e20``, NaN, a 40-digit string) raises ``ValueError`` with a fixed reason, never
    the ``OverflowError`` / ``OSError`` ``datetime.fromtimestamp`` raises for it.
    """
    try:
        ms = int(value) if isinstance(value, str) else value
        return datetime.fromtimestamp(ms / 1000.0, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(_EPOCH_RANGE) from None


def _to_utc(value: Any) -> Any:
    """Accept epoch milliseconds (int/float/digit string) or RFC 3339; naive times are taken as UTC."""
    if isinstance(value, bool):
        return value  # let pydantic reject it
    if isinstance(value, int | float) or (isinstance(value, str) and value.isascii() and value.isdigit()):
        return from_epoch_ms(value)
    return value


def _check_ts(value: datetime) -> datetime:
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    # Compared before converting: astimezone() overflows on 0001-01-01+05:00 or 9999-12-31-05:00.
    if value < MIN_TS:
        raise ValueError("timestamp is before 2000-01-01; send RFC 3339 or epoch milliseconds")
    if value > datetime.now(UTC) + MAX_FUTURE:
        raise ValueError("timestamp is more than a day in the future; check the sender's clock")
    # Milliseconds, as ClickHouse stores them (DateTime64(3)): the stream then orders and ties touches
    # exactly as the SQL recomputations over stored rows do (ties broken by event id in both).
    return value.astimezone(UTC).replace(microsecond=value.microsecond // 1000 * 1000)


UtcDatetime = Annotated[datetime, BeforeValidator(_to_utc)]
ShortStr = Annotated[str, Field(min_length=1, max_length=256)]
LongStr = Annotated[str, Field(max_length=4096)]
# "How did you hear about us?" as the buyer typed it (forms, CRM fields); the stream maps it to a channel.
SelfReported = Annotated[str, Field(max_length=512)]
Domain = Annotated[
    str,
    Field(min_length=3, max_length=253, pattern=r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)+$"),
    BeforeValidator(lambda v: v.strip().lower().removeprefix("www.") if isinstance(v, str) else v),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Context(_Strict):
    url: LongStr | None = None
    referrer: LongStr | None = None
    user_agent: Annotated[str, Field(max_length=1024)] | None = None
    ip: Annotated[str, Field(max_length=64)] | None = None  # truncated or hashed by the collector
    locale: Annotated[str, Field(max_length=35)] | None = None
    title: Annotated[str, Field(max_length=1024)] | None = None
    country: Annotated[str, Field(max_length=2)] | None = None


class Utm(_Strict):
    source: ShortStr | None = None
    medium: ShortStr | None = None
    campaign: ShortStr | None = None
    content: ShortStr | None = None
    term: ShortStr | None = None


class ClickIds(_Strict):
    gclid: ShortStr | None = None
    li_fat_id: ShortStr | None = None
    fbclid: ShortStr | None = None
    msclkid: ShortStr | None = None


class _EventBase(_Strict):
    event_id: UUID
    ts: UtcDatetime
    anonymous_id: ShortStr | None = None
    person_id: ShortStr | None = None
    email: EmailStr | None = None
    account_domain: Domain | None = None
    context: Context = Field(default_factory=Context)
    utm: Utm = Field(default_factory=Utm)
    click_ids: ClickIds = Field(default_factory=ClickIds)
    properties: dict[str, Any] = Field(default_factory=dict)
    # Set by the collector, never trusted from clients: when it arrived and through which key.
    received_at: UtcDatetime | None = None
    source: Annotated[str, Field(max_length=64)] | None = None

    @field_validator("ts")
    @classmethod
    def _ts_in_range(cls, v: datetime) -> datetime:
        return _check_ts(v)

    @field_validator("email", mode="before")
    @classmethod
    def _lower_email(cls, v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("properties")
    @classmethod
    def _bounded_properties(cls, v: dict[str, Any]) -> dict[str, Any]:
        if len(v) > MAX_PROPERTY_KEYS:
            raise ValueError(f"at most {MAX_PROPERTY_KEYS} properties are allowed")
        if any(len(k) > 128 for k in v):
            raise ValueError("property names are limited to 128 characters")
        # dumps_checked: too deep (or a >64-bit integer) is this field's error, not a crash
        if len(jsonio.dumps_checked(v, MAX_JSON_DEPTH)) > MAX_PROPERTIES_BYTES:
            raise ValueError(f"properties exceed {MAX_PROPERTIES_BYTES} bytes as JSON")
        return v

    def partition_key(self) -> str:
        """Key that keeps one visitor's events in order on one partition."""
        return self.anonymous_id or self.person_id or self.email or self.account_domain or str(self.event_id)


class _Identified(_EventBase):
    """Events about someone: at least one identifier is required to place them in a journey."""

    @model_validator(mode="after")
    def _someone(self) -> _Identified:
        if not (self.anonymous_id or self.person_id or self.email or self.account_domain):
            raise ValueError("one of anonymous_id, person_id, email or account_domain is required")
        return self


class PageViewEvent(_Identified):
    type: Literal["page_view"]


class EngagementEvent(_Identified):
    """Social, podcast, video, webinar or event engagement, attributed to ``channel``."""

    type: Literal["engagement"]
    channel: Channel
    kind: EngagementKind = "other"
    duration_s: Annotated[float, Field(ge=0, le=86400 * 7)] | None = None


class MentionEvent(_EventBase):
    """A brand mention somewhere public; ``competitor`` marks share-of-voice comparisons."""

    type: Literal["mention"]
    brand: ShortStr
    competitor: bool = False
    channel: Channel = Channel.OTHER
    reach: Annotated[int, Field(ge=0)] | None = None


class IdentifyEvent(_EventBase):
    type: Literal["identify"]
    traits: dict[str, Any] = Field(default_factory=dict)

    @field_validator("traits")
    @classmethod
    def _encodable_traits(cls, v: dict[str, Any]) -> dict[str, Any]:
        if v:  # as for properties: what cannot be written to Kafka and read back is the sender's error
            jsonio.dumps_checked(v, MAX_JSON_DEPTH)
        return v

    @model_validator(mode="after")
    def _who(self) -> IdentifyEvent:
        if not (self.person_id or self.email):
            raise ValueError("identify needs person_id or email")
        return self


class FormSubmitEvent(_Identified):
    type: Literal["form_submit"]
    form_id: ShortStr
    form_kind: Literal[
        "gated_content", "demo_request", "contact", "newsletter", "webinar_registration", "trial", "other"
    ] = "other"
    self_reported: SelfReported | None = None


class CrmStageEvent(_EventBase):
    type: Literal["crm_stage"]
    stage: CrmStage
    amount: Annotated[float, Field(ge=0, le=1e12)] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    opportunity_id: ShortStr | None = None
    self_reported: SelfReported | None = None

    @model_validator(mode="after")
    def _whose(self) -> CrmStageEvent:
        if not (self.account_domain or self.person_id or self.email):
            raise ValueError("crm_stage needs account_domain, person_id or email")
        return self


class SpendEvent(_EventBase):
    type: Literal["spend"]
    date: date
    channel: Channel
    campaign: ShortStr | None = None
    cost: Annotated[float, Field(ge=0, le=1e12)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"


Event = Annotated[
    PageViewEvent
    | EngagementEvent
    | MentionEvent
    | IdentifyEvent
    | FormSubmitEvent
    | CrmStageEvent
    | SpendEvent,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
_EVENT_TYPES = frozenset(get_args(EventType))


def validation_errors(exc: ValidationError) -> list[FieldError]:
    """Field path and reason for every error, without echoing the offending input back."""
    out = []
    for err in exc.errors(include_input=False, include_url=False):
        parts = list(err["loc"])
        if parts and parts[0] in _EVENT_TYPES:  # drop the union tag pydantic puts first
            parts = parts[1:]
        loc = ".".join(str(p) for p in parts) or "$"
        out.append(FieldError(loc, err["msg"]))
    return out


def parse_event(data: bytes | str | dict[str, Any]) -> Event:
    """Validate one event from JSON bytes or an already-decoded dict; raises :class:`InvalidEvent`."""
    try:
        if isinstance(data, dict):
            return EVENT_ADAPTER.validate_python(data)
        if len(data) > MAX_EVENT_BYTES:
            raise InvalidEvent([FieldError("$", f"event exceeds {MAX_EVENT_BYTES} bytes")])
        return EVENT_ADAPTER.validate_json(data)
    except ValidationError as exc:
        raise InvalidEvent(validation_errors(exc)) from None


def dump_event(event: Event) -> bytes:
    """Compact JSON for Kafka; round-trips through :func:`parse_event`."""
    return event.model_dump_json(exclude_none=True, exclude_defaults=False).encode()
