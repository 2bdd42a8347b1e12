"""URL pieces other trackers leave to us: UTM tags and click ids from a query, a domain from a website."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

__all__ = ["CLICK_ID_KEYS", "UTM_KEYS", "click_ids_from_url", "domain_of", "url_tags", "utm_from_url"]

UTM_KEYS = ("source", "medium", "campaign", "content", "term")
CLICK_ID_KEYS = ("gclid", "li_fat_id", "fbclid", "msclkid")
# Same shape the contract's Domain accepts, so a value that passes here never fails validation.
_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)+$")


def _query(url: str | None) -> dict[str, str]:
    if not url or "?" not in url:
        return {}
    try:
        query = urlsplit(url).query
    except ValueError:
        return {}
    return {k.lower(): v for k, v in parse_qsl(query) if v}


def _utm(query: dict[str, str]) -> dict[str, str]:
    return {key: query[f"utm_{key}"][:256] for key in UTM_KEYS if f"utm_{key}" in query}


def _click_ids(query: dict[str, str]) -> dict[str, str]:
    return {key: query[key][:256] for key in CLICK_ID_KEYS if key in query}


def utm_from_url(url: str | None) -> dict[str, str]:
    """``utm_*`` parameters of ``url`` as contract ``utm`` fields (values cut to 256 chars)."""
    return _utm(_query(url))


def click_ids_from_url(url: str | None) -> dict[str, str]:
    return _click_ids(_query(url))


def url_tags(url: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """(UTM, click ids) of ``url``, its query parsed once (the hot path of every page view)."""
    query = _query(url)
    return (_utm(query), _click_ids(query)) if query else ({}, {})


def domain_of(value: object) -> str | None:
    """The bare host of a website, URL, domain or e-mail-less string; None when it is not one.

    ``https://www.Acme.com/pricing`` -> ``acme.com``; ``Acme Inc`` -> None (a name, not a domain).
    """
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if not text or " " in text or "@" in text:
        return None
    try:
        host = urlsplit(text if "//" in text else "//" + text).hostname or ""
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    host = host.removeprefix("www.").rstrip(".")
    return host if 3 <= len(host) <= 253 and _DOMAIN.match(host) else None
