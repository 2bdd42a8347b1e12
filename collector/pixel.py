"""The tracking pixel: query parameters to one event dict, and the 1x1 GIF it answers with."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus, urlsplit

__all__ = [
    "ANON_COOKIE",
    "CLICK_ID_KEYS",
    "GIF",
    "UTM_KEYS",
    "campaign_fields",
    "event_from_params",
    "new_anonymous_id",
    "parse_query",
]

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
ANON_COOKIE = "ts_aid"
UTM_KEYS = ("source", "medium", "campaign", "content", "term")
CLICK_ID_KEYS = ("gclid", "li_fat_id", "fbclid", "msclkid")
_DIRECT = {"uid": "person_id", "em": "email", "ad": "account_domain"}
_CONTEXT = {"url": "url", "ref": "referrer", "title": "title", "lang": "locale"}


def campaign_fields(params: Mapping[str, str], url: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """UTM and click ids from explicit params, else from the landing URL's own query string."""
    from_url: dict[str, str] = {}
    if url and "?" in url:
        try:
            from_url = parse_query(urlsplit(url).query)
        except ValueError:
            from_url = {}
    utm = {k: v for k in UTM_KEYS if (v := params.get(f"utm_{k}") or from_url.get(f"utm_{k}"))}
    clicks = {k: v for k in CLICK_ID_KEYS if (v := params.get(k) or from_url.get(k))}
    return utm, clicks


def parse_query(query: str) -> dict[str, str]:
    """``parse_qsl(query, keep_blank_values=True)`` as a dict (last value wins), unquoting only
    what needs it: the pixel parses two query strings per hit and urllib's loop showed in profiles."""
    out: dict[str, str] = {}
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        out[name] = value
    return out


def event_from_params(params: Mapping[str, str], anonymous_id: str) -> dict[str, Any]:
    """``e`` (default page_view), url/ref/title, utm_* and click ids, uid/em/ad, ``p.<name>`` properties."""
    raw: dict[str, Any] = {
        "event_id": params.get("eid") or str(uuid.uuid4()),
        "type": params.get("e") or "page_view",
        "ts": params.get("ts") or _now_ms(),
        "anonymous_id": anonymous_id,
    }
    for param, name in _DIRECT.items():
        if params.get(param):
            raw[name] = params[param]
    context = {name: params[p] for p, name in _CONTEXT.items() if params.get(p)}
    if context:
        raw["context"] = context
    utm, clicks = campaign_fields(params, params.get("url"))
    if utm:
        raw["utm"] = utm
    if clicks:
        raw["click_ids"] = clicks
    if params.get("ch"):
        raw["channel"] = params["ch"]
    if params.get("kind"):
        raw["kind"] = params["kind"]
    props = {k[2:]: v for k, v in params.items() if k.startswith("p.") and len(k) > 2}
    if props:
        raw["properties"] = props
    return raw


def new_anonymous_id() -> str:
    return str(uuid.uuid4())


def _now_ms() -> int:
    return int(time.time() * 1000)
