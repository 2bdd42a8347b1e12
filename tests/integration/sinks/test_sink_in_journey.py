"""touchpoints.in_journey (migration 0009, an ALIAS) agrees with streams.enrich.enters_journey.

The SQL recomputations (rule_credits_between, account_journeys, reports' paths) must credit exactly the
touches the stream does; every combination of type, channel, bot flag, tags, page and referrer URL
below (URLs with and without scheme, www., subdomains, ports, user info, case, garbage) goes into
ClickHouse once and is compared with the Python rule.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime

import pytest

from streams.enrich import enters_journey

pytestmark = pytest.mark.integration

URLS = (
    "",
    "https://example.com/pricing",
    "https://WWW.Example.com/",
    "http://blog.example.com/post?x=1",
    "example.com/no-scheme",
    "https://user@example.com:8443/x",
    "https://www.other.org/",
    "https://example.com.evil.net/",
    "not a url",
    "https://news.google.com/",
)
TYPES = ("page_view", "form_submit", "engagement")
CHANNELS = ("direct", "paid_search", "organic_social")


def test_in_journey_alias_matches_the_stream_rule(own_ch) -> None:
    rows = []
    expected = {}
    combos = itertools.product(TYPES, CHANNELS, (False, True), (False, True), URLS, URLS)
    for kind, channel, bot, tagged, url, referrer in combos:
        event_id = str(uuid.uuid4())
        expected[event_id] = enters_journey(kind, channel, bot=bot, tagged=tagged, url=url, referrer=referrer)
        rows.append(
            (
                event_id,
                datetime(2026, 3, 1, tzinfo=UTC),
                kind,
                channel,
                bot,
                "x" if tagged else "",
                url,
                referrer,
            )
        )
    own_ch.execute(
        "INSERT INTO touchpoints (event_id, ts, type, channel, is_bot, utm_source, url, referrer) VALUES",
        rows,
    )
    got = dict(
        own_ch.execute(
            "SELECT event_id, in_journey FROM touchpoints WHERE event_id IN %(ids)s", {"ids": list(expected)}
        )
    )
    wrong = [(r, got[r[0]]) for r in rows if got[r[0]] != expected[r[0]]]
    assert not wrong, f"{len(wrong)} of {len(rows)} rows disagree, e.g. {wrong[:5]}"
    assert 0 < sum(expected.values()) < len(rows)  # both answers occur
