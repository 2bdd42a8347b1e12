"""Channel classification: explicit channel > click ids > UTM rules > referrer host > direct."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qs, urlsplit

from schemas.channels import Category, Channel, category_of
from streams.rules import Rules

__all__ = ["Classification", "classify", "host_of", "same_site"]

_SEARCH = (Channel.ORGANIC_SEARCH, Channel.PAID_SEARCH)


@dataclass(frozen=True, slots=True)
class Classification:
    channel: Channel
    category: Category
    is_branded_search: bool = False


@lru_cache(maxsize=65_536)
def host_of(url: str | None) -> str:
    """Lowercased host without ``www.``; '' for empty or unparsable URLs."""
    if not url:
        return ""
    try:
        host = urlsplit(url if "//" in url else f"//{url}").hostname or ""
    except ValueError:
        return ""
    if any(c.isspace() for c in host):  # free text, not a host (ClickHouse's domain() agrees)
        return ""
    return host.removeprefix("www.")


def same_site(url: str | None, referrer: str | None) -> bool:
    """Whether the referrer is the page's own site (internal navigation), subdomains included."""
    page, ref = host_of(url), host_of(referrer)
    if not page or not ref:
        return False
    return ref == page or ref.endswith("." + page) or page.endswith("." + ref)


def _host_matches(host: str, pattern: str) -> bool:
    if pattern.endswith("."):  # "google." matches google.com, google.co.uk, news.google.de
        return host.startswith(pattern) or f".{pattern}" in f".{host}"
    return host == pattern or host.endswith("." + pattern)


@lru_cache(maxsize=65_536)
def _referrer_channel(rules: Rules, host: str) -> Channel | None:
    for pattern, channel in rules.referrers:
        if _host_matches(host, pattern):
            return channel
    return None


def _utm_rule(rules: Rules, source: str, medium: str) -> tuple[Channel, Category] | None:
    for rule in rules.utm:
        if rule.mediums and medium not in rule.mediums:
            continue
        if rule.sources and source not in rule.sources:
            continue
        if not rule.mediums and not rule.sources:
            continue
        return rule.channel, rule.category
    return None


def _branded(rules: Rules, term: str | None, referrer: str | None) -> bool:
    if not rules.brand_terms:
        return False
    texts = [term.lower()] if term else []
    if referrer and "?" in referrer:
        query = parse_qs(urlsplit(referrer).query)
        texts.extend(v.lower() for p in rules.search_query_params for v in query.get(p, ()))
    return any(brand in text for text in texts for brand in rules.brand_terms)


def classify(
    rules: Rules,
    *,
    explicit_channel: str | None = None,
    click_ids: dict[str, str | None] | None = None,
    utm_source: str | None = None,
    utm_medium: str | None = None,
    utm_term: str | None = None,
    url: str | None = None,
    referrer: str | None = None,
) -> Classification:
    """Pure: the channel, its category and whether it is a branded search, by the rules' precedence."""
    channel: Channel | None = None
    category: Category | None = None
    if explicit_channel:
        channel = Channel(explicit_channel)
    if channel is None and click_ids:
        channel = next((c for name, c in rules.click_ids if click_ids.get(name)), None)
    if channel is None and (utm_source or utm_medium):
        hit = _utm_rule(rules, (utm_source or "").strip().lower(), (utm_medium or "").strip().lower())
        if hit is not None:
            channel, category = hit
        else:
            channel = Channel.OTHER  # tagged, but with tags no rule knows: not direct, not organic
    if channel is None and referrer and not same_site(url, referrer):
        host = host_of(referrer)
        if host:
            channel = _referrer_channel(rules, host) or Channel.REFERRAL
    if channel is None:
        channel = Channel.DIRECT
    branded = channel in _SEARCH and _branded(rules, utm_term, referrer)
    return Classification(channel, category or category_of(channel), branded)
