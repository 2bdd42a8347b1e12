# ruff: noqa: E501 - fixtures, user agents and SQL clauses read best on one line
"""Channel classification precedence, bots and branded search."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.channels import Channel
from streams.bots import is_bot
from streams.classify import classify
from streams.errors import RulesError
from streams.rules import load_rules, parse_rules

RULES = load_rules(brand_terms=("northwind",))
SITE = "https://northwind.io/pricing"


@pytest.mark.parametrize(
    ("kwargs", "channel"),
    [
        ({"explicit_channel": "podcast", "utm_medium": "cpc", "click_ids": {"gclid": "x"}}, "podcast"),
        ({"click_ids": {"gclid": "x"}, "utm_medium": "email"}, "paid_search"),
        ({"click_ids": {"msclkid": "x"}}, "paid_search"),
        ({"click_ids": {"li_fat_id": "x"}}, "paid_social"),
        ({"click_ids": {"fbclid": "x"}, "referrer": "https://google.com/"}, "paid_social"),
        ({"utm_source": "linkedin", "utm_medium": "cpc"}, "paid_social"),
        ({"utm_source": "google", "utm_medium": "CPC"}, "paid_search"),
        ({"utm_medium": "email", "referrer": "https://google.com"}, "email"),
        ({"utm_medium": "podcast"}, "podcast"),
        ({"utm_medium": "video"}, "video"),
        ({"utm_medium": "social", "utm_source": "twitter"}, "organic_social"),
        ({"utm_medium": "display"}, "native_display"),
        ({"utm_medium": "native"}, "native_display"),
        ({"utm_medium": "webinar"}, "events"),
        ({"utm_medium": "review"}, "review_sites"),
        ({"utm_source": "g2"}, "review_sites"),
        ({"utm_medium": "weird-medium"}, "other"),
        ({"referrer": "https://www.google.co.uk/search?q=x"}, "organic_search"),
        ({"referrer": "https://duckduckgo.com/"}, "organic_search"),
        ({"referrer": "https://www.linkedin.com/feed/"}, "organic_social"),
        ({"referrer": "https://t.co/abc"}, "organic_social"),
        ({"referrer": "https://podcasts.apple.com/us/podcast/x"}, "podcast"),
        ({"referrer": "https://open.spotify.com/episode/1"}, "podcast"),
        ({"referrer": "https://www.youtube.com/watch?v=1"}, "video"),
        ({"referrer": "https://vimeo.com/1"}, "video"),
        ({"referrer": "https://www.g2.com/products/x"}, "review_sites"),
        ({"referrer": "https://www.capterra.com/p/1"}, "review_sites"),
        ({"referrer": "https://trustradius.com/x"}, "review_sites"),
        ({"referrer": "https://someblog.example.org/post"}, "referral"),
        ({"referrer": "https://northwind.io/", "url": SITE}, "direct"),
        ({"referrer": "https://app.northwind.io/", "url": SITE}, "direct"),
        ({}, "direct"),
    ],
)
def test_precedence(kwargs: dict, channel: str) -> None:
    assert classify(RULES, **kwargs).channel == channel


def test_category_from_rule_or_default() -> None:
    assert classify(RULES, referrer="https://google.com").category == "lead_gen"
    assert classify(RULES, explicit_channel="podcast").category == "demand_gen"
    assert classify(RULES).category == "direct"
    custom = parse_rules({"utm": [{"medium": ["lgf"], "channel": "paid_social", "category": "lead_gen"}]})
    assert classify(custom, utm_medium="lgf").category == "lead_gen"


def test_branded_search_from_term_or_query() -> None:
    assert classify(RULES, referrer="https://www.bing.com/search?q=Northwind+pricing").is_branded_search
    assert classify(RULES, click_ids={"gclid": "g"}, utm_term="northwind crm").is_branded_search
    assert not classify(RULES, referrer="https://www.bing.com/search?q=attribution+tools").is_branded_search
    # Only search channels can be branded searches.
    assert not classify(RULES, utm_medium="email", utm_term="northwind").is_branded_search


def test_bad_rules_name_the_entry() -> None:
    with pytest.raises(RulesError, match=r"utm\[0\]"):
        parse_rules({"utm": [{"medium": ["x"], "channel": "tv"}]})
    with pytest.raises(RulesError):
        parse_rules(["not", "a", "mapping"])


@pytest.mark.parametrize(
    "ua",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36",
        "curl/8.4.0",
        "python-requests/2.31.0",
        "facebookexternalhit/1.1",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    ],
)
def test_bots_flagged(ua: str) -> None:
    assert is_bot(RULES, ua)


@pytest.mark.parametrize(
    "ua",
    [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
        None,
        "",
    ],
)
def test_humans_not_flagged(ua: str | None) -> None:
    assert not is_bot(RULES, ua)


_text = st.one_of(st.none(), st.text(max_size=40))


@given(
    explicit=st.one_of(st.none(), st.sampled_from([c.value for c in Channel])),
    source=_text, medium=_text, term=_text, url=_text, referrer=_text,
    gclid=st.one_of(st.none(), st.just("g")),
)  # fmt: skip
def test_total_and_consistent(explicit, source, medium, term, url, referrer, gclid) -> None:  # type: ignore[no-untyped-def]
    c = classify(
        RULES, explicit_channel=explicit, click_ids={"gclid": gclid}, utm_source=source,
        utm_medium=medium, utm_term=term, url=url, referrer=referrer,
    )  # fmt: skip
    assert c.channel in set(Channel)
    if explicit:
        assert c.channel == explicit
    elif gclid:
        assert c.channel == "paid_search"
    if c.is_branded_search:
        assert c.channel in ("organic_search", "paid_search")
