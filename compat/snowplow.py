"""Snowplow tracker protocol (tp2 POST ``payload_data`` and the ``GET /i`` pixel) mapped to contract events.

| ``e`` | becomes |
|---|---|
| ``pv`` page view | ``page_view`` (url, refr, page title; UTM and click ids from the url) |
| ``pp`` page ping | product event ``page_ping`` (engagement time for analysts, not a touchpoint) |
| ``se`` structured | by the action ``se_ac`` through :mod:`compat.names` |
| ``ue`` self-describing | by the event schema's name through :mod:`compat.names` |
| anything else | product event named after ``e`` |

Ids: ``eid`` -> event_id, ``duid`` (else ``nuid``) -> anonymous_id, ``uid`` -> person_id.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from compat.errors import ForeignMessageError
from compat.fields import as_id, as_str, as_time, corrected_ts, non_negative
from compat.mapped import Mapped, foreign_event_id
from compat.names import TrackTable, apply_rule
from compat.urls import url_tags
from schemas import jsonio
from schemas.errors import FieldError, JSONShapeError
from schemas.records import ProductEventRecord

__all__ = ["PAYLOAD_SCHEMA_PREFIX", "POST_PATH", "decode_base64_json", "map_payload", "map_post"]

POST_PATH = "/com.snowplowanalytics.snowplow/tp2"  # where trackers POST unless told otherwise
PAYLOAD_SCHEMA_PREFIX = "iglu:com.snowplowanalytics.snowplow/payload_data/"
_WEB_PAGE_SCHEMA = "iglu:com.snowplowanalytics.snowplow/web_page/"
_STRUCT_FIELDS = {
    "se_ca": "category",
    "se_ac": "action",
    "se_la": "label",
    "se_pr": "property",
    "se_va": "value",
}
_PING_FIELDS = ("pp_mix", "pp_max", "pp_miy", "pp_may")
_OTHER_NAMES = {"tr": "transaction", "ti": "transaction_item", "ad": "ad_impression"}

Out = dict[str, Any] | ProductEventRecord


def decode_base64_json(value: str, field: str) -> Any:
    """Trackers send URL-safe base64, often without padding; some send the standard alphabet."""
    text = value.strip().replace("+", "-").replace("/", "_")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return jsonio.loads(raw)
    except (binascii.Error, ValueError):
        raise ForeignMessageError.at(field, "expected base64-encoded JSON") from None


def _json_field(payload: Mapping[str, Any], plain: str, encoded: str) -> Any:
    if (text := as_str(payload.get(plain), 1 << 20)) is not None:
        try:
            return jsonio.loads(text)
        except jsonio.JSONDecodeError:
            raise ForeignMessageError.at(plain, "expected JSON") from None
    if (text := as_str(payload.get(encoded), 1 << 20)) is not None:
        return decode_base64_json(text, encoded)
    return None


def _page_view_id(payload: Mapping[str, Any]) -> str | None:
    """The browser tracker's page view id (web_page context), which ties pings to their page view."""
    contexts = _json_field(payload, "co", "cx")
    entries = contexts.get("data") if isinstance(contexts, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and str(entry.get("schema", "")).startswith(_WEB_PAGE_SCHEMA):
            data = entry.get("data")
            return as_str(data.get("id"), 64) if isinstance(data, dict) else None
    return None


def _self_describing(payload: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(event name, data) of a ``ue`` event: the name is the schema's, ``iglu:vendor/NAME/format/version``."""
    envelope = _json_field(payload, "ue_pr", "ue_px")
    inner = envelope.get("data") if isinstance(envelope, dict) else None
    schema = inner.get("schema") if isinstance(inner, dict) else None
    parts = schema.split("/") if isinstance(schema, str) else []
    if len(parts) != 4 or not parts[1]:
        raise ForeignMessageError.at(
            "ue_pr", "expected a self-describing event {schema: iglu:..., data: {...}}"
        )
    assert isinstance(inner, dict)
    data = inner.get("data")
    return parts[1], data if isinstance(data, dict) else {}


def _product(out: dict[str, Any], name: str, properties: dict[str, Any]) -> ProductEventRecord:
    try:  # properties of a ``ue`` event are the tracker's own JSON, possibly nested too deep to write
        encoded = jsonio.dumps_checked(properties).decode()
    except JSONShapeError as exc:
        raise ForeignMessageError.at("ue_pr", exc.reason) from None
    return ProductEventRecord(
        event_id=out["event_id"],
        ts=out["ts"],
        anonymous_id=out.get("anonymous_id", ""),
        person_id=out.get("person_id", ""),
        name=name,
        properties=encoded,
    )


def map_payload(payload: Mapping[str, Any], *, received_at: datetime, table: TrackTable) -> Out:
    """One tracker-protocol event (a dict of strings) -> a contract event dict or a product event."""
    kind = as_str(payload.get("e"), 8)
    if kind is None:
        raise ForeignMessageError.at("e", "missing event type")
    true_ts = as_time(payload.get("ttm"), "ttm")
    created, sent = as_time(payload.get("dtm"), "dtm"), as_time(payload.get("stm"), "stm")
    out: dict[str, Any] = {
        "event_id": foreign_event_id(payload.get("eid"), dict(payload)),
        "ts": true_ts or corrected_ts(created, sent, received_at, "dtm"),
    }
    anonymous = (
        payload.get("duid") or payload.get("domain_userid") or payload.get("nuid") or payload.get("tnuid")
    )
    if anonymous_id := as_id(anonymous):
        out["anonymous_id"] = anonymous_id
    if person_id := as_id(payload.get("uid")):
        out["person_id"] = person_id
    url = as_str(payload.get("url"))
    context = {
        "url": url,
        "referrer": as_str(payload.get("refr")),
        "title": as_str(payload.get("page"), 1024),
    }
    context |= {"user_agent": as_str(payload.get("ua"), 1024), "locale": as_str(payload.get("lang"), 35)}
    context["ip"] = as_str(payload.get("ip"), 64)
    out["context"] = {k: v for k, v in context.items() if v is not None}
    out["utm"], out["click_ids"] = url_tags(url)

    if kind == "pv":
        out.update(type="page_view", properties={})
        return out
    if kind == "pp":
        ping: dict[str, Any] = {"url": url, "page_view_id": _page_view_id(payload)}
        ping |= {f: non_negative(payload.get(f)) for f in _PING_FIELDS if payload.get(f) is not None}
        return _product(out, "page_ping", ping)
    if kind == "se":
        name = as_str(payload.get("se_ac"), 256)
        if name is None:
            raise ForeignMessageError.at("se_ac", "a structured event needs an action")
        props: dict[str, Any] = {
            ours: v for f, ours in _STRUCT_FIELDS.items() if (v := as_str(payload.get(f), 1024))
        }
    elif kind == "ue":
        name, props = _self_describing(payload)
    else:
        return _product(out, _OTHER_NAMES.get(kind, kind), {"e": kind})
    return _named(out, name, props, table)


def _named(out: dict[str, Any], name: str, props: dict[str, Any], table: TrackTable) -> Out:
    rule = table.lookup(name)
    return _product(out, name, props) if rule is None else apply_rule(out, name, props, rule)


def map_post(body: Any, *, received_at: datetime, table: TrackTable) -> Mapped:
    """A tp2 POST body ``{"schema": "...payload_data/...", "data": [{...}, ...]}``; bad events alone."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise ForeignMessageError.at("data", "expected a payload_data object with a data array")
    schema = body.get("schema")
    if schema is not None and not (isinstance(schema, str) and schema.startswith(PAYLOAD_SCHEMA_PREFIX)):
        raise ForeignMessageError.at("schema", f"expected {PAYLOAD_SCHEMA_PREFIX}...")
    out = Mapped()
    for index, payload in enumerate(body["data"]):
        if not isinstance(payload, dict):
            out.reject(index, [FieldError("$", "an event must be a JSON object")])
            continue
        try:
            out.add(index, map_payload(payload, received_at=received_at, table=table))
        except ForeignMessageError as exc:
            out.reject(index, exc.errors)
    return out
