"""Segment / RudderStack HTTP Tracking API messages mapped to contract events (pure: no I/O).

| call | becomes |
|---|---|
| ``page`` / ``screen`` | ``page_view`` (url, referrer, title; UTM from ``context.campaign`` or the url) |
| ``identify`` | ``identify`` (userId -> person, traits.email, company / website -> account) |
| ``group`` | ``identify`` tying the user to the account named by traits.website / domain / groupId |
| ``alias`` | ``identify`` merging previousId (as anonymous id) into userId |
| ``track`` | per :mod:`compat.names`; unmatched names become product events |
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from compat.errors import ForeignMessageError
from compat.fields import as_id, as_obj, as_str, as_time, corrected_ts
from compat.mapped import Mapped, foreign_event_id
from compat.names import TrackTable, apply_rule
from compat.urls import domain_of, url_tags
from schemas import jsonio
from schemas.errors import FieldError, JSONShapeError
from schemas.records import ProductEventRecord

__all__ = ["CALLS", "MAX_BATCH_BYTES", "MAX_MESSAGE_BYTES", "map_batch", "map_message"]

MAX_MESSAGE_BYTES = 32 * 1024  # Segment's documented limits, so SDK-side batching never trips ours
MAX_BATCH_BYTES = 500 * 1024
CALLS = ("track", "page", "screen", "identify", "group", "alias")
_CAMPAIGN_KEYS = {
    "name": "campaign",
    "source": "source",
    "medium": "medium",
    "content": "content",
    "term": "term",
}
_PAGE_KEYS = ("url", "referrer", "title")
_DEVICE_KEYS = (("user_agent", "userAgent", 1024), ("ip", "ip", 64), ("locale", "locale", 35))

Out = dict[str, Any] | ProductEventRecord


def _common(
    message: dict[str, Any], ctx: dict[str, Any], received_at: datetime, sent_at: datetime | None
) -> dict[str, Any]:
    """Fields every call carries: id, corrected time, ids, device context, e-mail from context.traits."""
    created = as_time(message.get("timestamp"), "timestamp") or as_time(
        message.get("originalTimestamp"), "originalTimestamp"
    )
    sent = as_time(message.get("sentAt"), "sentAt") or sent_at
    out: dict[str, Any] = {
        "event_id": foreign_event_id(message.get("messageId"), message),
        "ts": corrected_ts(created, sent, received_at),
    }
    if anonymous_id := as_id(message.get("anonymousId")):
        out["anonymous_id"] = anonymous_id
    if person_id := as_id(message.get("userId")):
        out["person_id"] = person_id
    context: dict[str, Any] = {}
    for ours, theirs, limit in _DEVICE_KEYS:
        # ``is not None`` first: most messages lack most keys, and this runs per message (profiled).
        if (raw := ctx.get(theirs)) is not None and (value := as_str(raw, limit)):
            context[ours] = value
    out["context"] = context
    traits = ctx.get("traits")
    if isinstance(traits, dict) and (email := as_str(traits.get("email"), 320)):
        out["email"] = email
    return out


def _sub(ctx: dict[str, Any], key: str) -> dict[str, Any]:
    """A context sub-object; a wrong type there is ignored, not fatal (browsers send odd contexts)."""
    value = ctx.get(key)
    return value if isinstance(value, dict) else {}


def _place(out: dict[str, Any], ctx: dict[str, Any], props: dict[str, Any], *, from_props: bool) -> None:
    """URL, referrer and title (``context.page`` first, then page properties), UTM and click ids.

    Runs for every page and mapped track: loops go over the keys present, not the keys possible, and
    skip absent values before calling :func:`as_str` (profiled: most of the mapping's cost).
    """
    page = _sub(ctx, "page")
    context = out["context"]
    for key in _PAGE_KEYS:
        value = as_str(raw, 4096) if (raw := page.get(key)) is not None else None
        if not value and from_props and (raw := props.get(key)) is not None:
            value = as_str(raw, 4096)
        if value:
            context[key] = value[:1024] if key == "title" else value
    from_url, out["click_ids"] = url_tags(context.get("url"))
    campaign = _sub(ctx, "campaign")
    for theirs, raw in campaign.items():
        if (ours := _CAMPAIGN_KEYS.get(theirs)) is not None and (value := as_str(raw, 256)):
            from_url[ours] = value  # context.campaign wins over the url's utm_* tags
    out["utm"] = from_url


def _account_domain(traits: dict[str, Any]) -> str | None:
    """traits.website / traits.domain, or the company's when ``company`` is an object or a domain."""
    company = traits.get("company")
    candidates = [traits.get("website"), traits.get("domain")]
    if isinstance(company, dict):
        candidates += [company.get("website"), company.get("domain")]
    else:
        candidates.append(company)
    for candidate in candidates:
        if domain := domain_of(candidate):
            return domain
    return None


def _page(message: dict[str, Any], out: dict[str, Any], ctx: dict[str, Any], table: TrackTable) -> Out:
    props = as_obj(message.get("properties"), "properties")
    _place(out, ctx, props, from_props=True)
    name = as_str(message.get("name"), 1024)
    if name and "title" not in out["context"]:
        out["context"]["title"] = name
    properties = {k: v for k, v in props.items() if k not in _PAGE_KEYS}
    if name:
        properties["name"] = name[:256]
    if (category := message.get("category")) is not None and (value := as_str(category, 256)):
        properties["category"] = value
    if message.get("type") == "screen":
        properties["screen"] = True
    out.update(type="page_view", properties=properties)
    return out


def _identify(message: dict[str, Any], out: dict[str, Any], ctx: dict[str, Any], table: TrackTable) -> Out:
    traits = as_obj(message.get("traits"), "traits") or as_obj(ctx.get("traits"), "context.traits")
    if email := as_str(traits.get("email"), 320):
        out["email"] = email
    if domain := _account_domain(traits):
        out["account_domain"] = domain
    out.update(type="identify", traits=traits)
    return out


def _group(message: dict[str, Any], out: dict[str, Any], ctx: dict[str, Any], table: TrackTable) -> Out:
    traits = as_obj(message.get("traits"), "traits")
    group_id = as_id(message.get("groupId"))
    domain = _account_domain(traits) or domain_of(group_id)
    if domain is None:
        raise ForeignMessageError.at(
            "traits.website",
            "group needs traits.website, traits.domain or a domain as groupId to name the account",
        )
    if "person_id" not in out and "email" not in out:
        raise ForeignMessageError.at(
            "userId", "group needs userId: an anonymous visitor joins an account via identify"
        )
    out.update(
        type="identify", account_domain=domain, properties={"group_id": group_id, "group_traits": traits}
    )
    return out


def _alias(message: dict[str, Any], out: dict[str, Any], ctx: dict[str, Any], table: TrackTable) -> Out:
    previous = as_id(message.get("previousId"))
    if previous is None:
        raise ForeignMessageError.at("previousId", "alias needs previousId")
    if "person_id" not in out:
        raise ForeignMessageError.at("userId", "alias needs userId")
    out.update(type="identify", anonymous_id=previous, properties={"alias": True})
    return out


def _track(message: dict[str, Any], out: dict[str, Any], ctx: dict[str, Any], table: TrackTable) -> Out:
    name = as_str(message.get("event"), 256)
    if name is None:
        raise ForeignMessageError.at("event", "track needs the event name")
    props = as_obj(message.get("properties"), "properties")
    rule = table.lookup(name)
    if rule is None:
        return ProductEventRecord(
            event_id=out["event_id"],
            ts=out["ts"],
            anonymous_id=out.get("anonymous_id", ""),
            person_id=out.get("person_id", ""),
            account_id=domain_of(as_id(ctx.get("groupId"))) or "",
            name=name,
            properties=_encoded(props, "properties"),
        )
    _place(out, ctx, props, from_props=False)
    if "email" not in out and (email := as_str(props.get("email"), 320)):
        out["email"] = email
    return apply_rule(out, name, props, rule)


def _encoded(value: dict[str, Any], field: str) -> str:
    try:
        return jsonio.dumps_checked(value).decode()
    except JSONShapeError as exc:
        raise ForeignMessageError.at(field, exc.reason) from None


_MAPPERS: dict[str, Callable[[dict[str, Any], dict[str, Any], dict[str, Any], TrackTable], Out]] = {
    "page": _page,
    "screen": _page,
    "identify": _identify,
    "group": _group,
    "alias": _alias,
    "track": _track,
}


def map_message(
    message: dict[str, Any],
    *,
    received_at: datetime,
    table: TrackTable,
    sent_at: datetime | None = None,
    call: str | None = None,
) -> Out:
    """One Segment message -> a contract event dict (still to validate) or a product event.

    ``call`` is the single-call endpoint's type (``/v1/track``), which wins over the body's.
    """
    kind = call or message.get("type")
    mapper = _MAPPERS.get(kind) if isinstance(kind, str) else None
    if mapper is None:
        raise ForeignMessageError.at("type", "expected one of " + ", ".join(CALLS))
    if call is not None:
        message["type"] = call
    ctx = as_obj(message.get("context"), "context")
    return mapper(message, _common(message, ctx, received_at, sent_at), ctx, table)


def map_batch(payload: dict[str, Any], *, received_at: datetime, table: TrackTable) -> Mapped:
    """A ``{"batch": [...], "sentAt": ...}`` body; each bad message is rejected alone, by index."""
    batch = payload.get("batch")
    if not isinstance(batch, list):
        raise ForeignMessageError.at("batch", "expected an array of messages")
    sent_at = as_time(payload.get("sentAt"), "sentAt")
    shared = payload.get("context") if isinstance(payload.get("context"), dict) else None
    out = Mapped()
    for index, message in enumerate(batch):
        if not isinstance(message, dict):
            out.reject(index, [FieldError("$", "a message must be a JSON object")])
            continue
        try:
            size = len(jsonio.dumps_checked(message))
        except JSONShapeError as exc:  # e.g. properties nested deeper than JSON can be written back
            out.reject(index, [exc.as_field_error()])
            continue
        if size > MAX_MESSAGE_BYTES:
            out.reject(index, [FieldError("$", f"message exceeds the {MAX_MESSAGE_BYTES // 1024} KB limit")])
            continue
        if shared is not None:  # the HTTP API lets a batch carry context for all its messages
            ctx = message.get("context")
            message["context"] = {**shared, **ctx} if isinstance(ctx, dict) else shared
        try:
            out.add(index, map_message(message, received_at=received_at, table=table, sent_at=sent_at))
        except ForeignMessageError as exc:
            out.reject(index, exc.errors)
    return out
