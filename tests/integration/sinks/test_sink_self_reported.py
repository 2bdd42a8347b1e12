"""self_reported_by_channel against ClickHouse: form answers from the stream's enrichment, through the
sink's column mapping, beside first-touch credit per channel (hand-checked numbers)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from clickhouse_driver import Client

from schemas import topics
from schemas.events import parse_event
from sinks.rows import SPECS_BY_TOPIC, decode, to_columns
from streams.enrich import enrich
from streams.rows import encode
from streams.rules import load_rules

RULES = load_rules()
QUERY = "SELECT * FROM self_reported_by_channel(stage = 'lead', since = '2026-03-01', until = '2026-04-01')"


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def form(person: str, ts: datetime, answer: str | None, *, bot: bool = False) -> bytes:
    raw = {
        "event_id": str(uuid.uuid4()), "type": "form_submit", "ts": ts.isoformat(), "person_id": person,
        "anonymous_id": f"a-{person}", "form_id": "demo", "form_kind": "demo_request",
        "context": {"url": "https://example.com/demo", "referrer": "https://www.google.com/",
                    "user_agent": "Googlebot/2.1" if bot else "Mozilla/5.0"},
    }  # fmt: skip
    if answer is not None:
        raw["self_reported"] = answer
    enriched = enrich(RULES, parse_event(raw), person, f"{person}.example")
    assert enriched.record is not None
    return encode(enriched.record)


def credit(
    conversion: str, channel: str, share: float, model: str = "first", day: int = 5
) -> tuple[object, ...]:
    ts = at(day)
    return (conversion, "lead", model, f"e-{conversion}-{channel}", ts, "acct", channel, "demand_gen", "",
            share, 0.0, ts)  # fmt: skip


@pytest.fixture(scope="module")
def loaded(own_ch: Client) -> Client:
    spec = SPECS_BY_TOPIC[topics.TOUCHPOINTS]
    payloads = [
        form("p1", at(2), "Heard you on a PODCAST!!"),
        form("p1", at(9), "google"),  # a second answer: the first one counts
        form("p2", at(3), "  The Revenue Room (episode 12)  "),
        form("p3", at(4), "Linkedin post from a colleague"),
        form("p4", at(4), "asdf"),  # no keyword: unknown
        form("p5", at(6), None),  # the form did not ask: not a respondent
        form("p6", at(6), "podcast", bot=True),  # bots never count
        form("p7", datetime(2026, 4, 2, tzinfo=UTC), "podcast"),  # outside the period
    ]
    rows = [decode(spec, p) for p in payloads]
    rows.append(rows[0])  # a redelivered touchpoint: FINAL keeps one
    own_ch.execute(spec.insert_sql(own_ch.connection.database), to_columns(spec, rows), columnar=True)
    columns = (
        "conversion_id, stage, model, event_id, ts, account_id, channel, channel_category, utm_campaign, "
        "credit, revenue_credit, conversion_ts"
    )
    own_ch.execute(
        f"INSERT INTO attribution_credits ({columns}) VALUES",
        [
            credit("c1", "organic_search", 1.0),
            credit("c2", "organic_search", 1.0),
            credit("c3", "podcast", 1.0),
            credit("c4", "paid_search", 1.0),
            credit("c4", "podcast", 0.0),  # retracted: no longer counts
            credit("c5", "podcast", 1.0, model="linear"),  # another model
            credit("c6", "email", 1.0, day=31),
        ],
    )
    return own_ch


def test_stored_answer_and_channel(loaded: Client) -> None:
    got = loaded.execute(
        "SELECT person_id, self_reported, self_reported_channel FROM touchpoints FINAL "
        "WHERE person_id IN ('p2', 'p4', 'p5') ORDER BY person_id"
    )
    assert got == [
        ("p2", "The Revenue Room (episode 12)", "podcast"),
        ("p4", "asdf", "unknown"),
        ("p5", "", ""),
    ]


def test_self_reported_beside_first_touch(loaded: Client) -> None:
    rows = {r[0]: r[1:] for r in loaded.execute(QUERY)}
    # Respondents: p1 podcast (first answer), p2 podcast, p3 organic_social, p4 unknown -> 4.
    # First-touch credit at lead in March: organic_search 2, podcast 1, paid_search 1, email 1 -> 5.
    assert rows == {
        "podcast": (2, pytest.approx(0.5), 1.0, pytest.approx(0.2)),
        "organic_social": (1, pytest.approx(0.25), 0.0, pytest.approx(0.0)),
        "unknown": (1, pytest.approx(0.25), 0.0, pytest.approx(0.0)),
        "organic_search": (0, pytest.approx(0.0), 2.0, pytest.approx(0.4)),
        "paid_search": (0, pytest.approx(0.0), 1.0, pytest.approx(0.2)),
        "email": (0, pytest.approx(0.0), 1.0, pytest.approx(0.2)),
    }
    assert [r[0] for r in loaded.execute(QUERY)][:1] == ["podcast"]  # most respondents first


def test_empty_period_has_no_rows(loaded: Client) -> None:
    assert loaded.execute(QUERY.replace("2026-03-01", "2025-01-01").replace("2026-04-01", "2025-02-01")) == []
