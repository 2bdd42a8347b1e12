"""self_reported_by_channel against ClickHouse: form and CRM answers from the stream's enrichment, through
the sink's column mapping, beside first-touch credit per channel (hand-checked numbers)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from clickhouse_driver import Client

from schemas import topics
from schemas.events import parse_event
from sinks.migrate import apply_migrations
from sinks.rows import SPECS_BY_TOPIC, decode, to_columns
from streams.enrich import enrich
from streams.rows import encode
from streams.rules import load_rules

RULES = load_rules()
QUERY = "SELECT * FROM self_reported_by_channel(stage = 'lead', since = '2026-03-01', until = '2026-04-01')"


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


Payloads = tuple[bytes | None, bytes | None]  # (touchpoint, self-report) as the stream produces them


def crm(person: str, ts: datetime, answer: str, stage: str = "lead") -> Payloads:
    raw = {
        "event_id": str(uuid.uuid4()), "type": "crm_stage", "ts": ts.isoformat(), "person_id": person,
        "stage": stage, "self_reported": answer,
    }  # fmt: skip
    enriched = enrich(RULES, parse_event(raw), person, f"{person}.example")
    assert enriched.record is None  # a CRM stage change is a conversion, not a touch
    return None, encode(enriched.self_report) if enriched.self_report else None


def form(person: str, ts: datetime, answer: str | None, *, bot: bool = False) -> Payloads:
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
    return encode(enriched.record), encode(enriched.self_report) if enriched.self_report else None


def credit(
    conversion: str, channel: str, share: float, model: str = "first", day: int = 5
) -> tuple[object, ...]:
    ts = at(day)
    return (conversion, "lead", model, f"e-{conversion}-{channel}", ts, "acct", channel, "demand_gen", "",
            share, 0.0, ts)  # fmt: skip


@pytest.fixture(scope="module")
def loaded(own_ch: Client) -> Client:
    payloads = [
        form("p1", at(2), "Heard you on a PODCAST!!"),
        form("p1", at(9), "google"),  # a second answer: the first one counts
        form("p2", at(3), "  The Revenue Room (episode 12)  "),
        form("p3", at(4), "Linkedin post from a colleague"),
        form("p4", at(4), "asdf"),  # no keyword: unknown
        form("p5", at(6), None),  # the form did not ask: not a respondent
        form("p6", at(6), "podcast", bot=True),  # bots never count
        form("p7", datetime(2026, 4, 2, tzinfo=UTC), "podcast"),  # outside the period
        crm("p1", at(1), "g2 review"),  # a CRM answer before p1's form: the first answer wins
        crm("p8", at(7), "Saw your webinar", stage="mql"),  # a CRM-only respondent
        crm("p3", at(8), "podcast"),  # p3 said LinkedIn first, on the form
    ]
    for topic, column in ((topics.TOUCHPOINTS, 0), (topics.SELF_REPORTS, 1)):
        spec = SPECS_BY_TOPIC[topic]
        rows = [decode(spec, p[column]) for p in payloads if p[column] is not None]
        rows.append(rows[0])  # a redelivered record: FINAL keeps one
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


def test_every_answer_is_stored_once_with_its_source(loaded: Client) -> None:
    got = loaded.execute(
        "SELECT person_id, source, answer, channel FROM self_reports FINAL ORDER BY person_id, ts"
    )
    assert got == [
        ("p1", "crm", "g2 review", "review_sites"),
        ("p1", "form", "Heard you on a PODCAST!!", "podcast"),
        ("p1", "form", "google", "organic_search"),
        ("p2", "form", "The Revenue Room (episode 12)", "podcast"),
        ("p3", "form", "Linkedin post from a colleague", "organic_social"),
        ("p3", "crm", "podcast", "podcast"),
        ("p4", "form", "asdf", "unknown"),
        ("p7", "form", "podcast", "podcast"),
        ("p8", "crm", "Saw your webinar", "events"),
    ]  # p5 was not asked, p6 is a bot


def test_self_reported_beside_first_touch(loaded: Client) -> None:
    rows = {r[0]: r[1:] for r in loaded.execute(QUERY)}
    # Respondents by first answer: p1 review_sites (CRM, before the form), p2 podcast, p3
    # organic_social (form, before CRM), p4 unknown, p8 events (CRM only) -> 5.
    # First-touch credit at lead in March: organic_search 2, podcast 1, paid_search 1, email 1 -> 5.
    assert rows == {
        "podcast": (1, pytest.approx(0.2), 1.0, pytest.approx(0.2)),
        "review_sites": (1, pytest.approx(0.2), 0.0, pytest.approx(0.0)),
        "events": (1, pytest.approx(0.2), 0.0, pytest.approx(0.0)),
        "organic_social": (1, pytest.approx(0.2), 0.0, pytest.approx(0.0)),
        "unknown": (1, pytest.approx(0.2), 0.0, pytest.approx(0.0)),
        "organic_search": (0, pytest.approx(0.0), 2.0, pytest.approx(0.4)),
        "paid_search": (0, pytest.approx(0.0), 1.0, pytest.approx(0.2)),
        "email": (0, pytest.approx(0.0), 1.0, pytest.approx(0.2)),
    }
    # Most respondents first, then most first-touch credit.
    assert [r[0] for r in loaded.execute(QUERY)][:2] == ["podcast", "events"]


def test_empty_period_has_no_rows(loaded: Client) -> None:
    assert loaded.execute(QUERY.replace("2026-03-01", "2025-01-01").replace("2026-04-01", "2025-02-01")) == []


def test_upgrade_backfills_form_answers_from_touchpoints(own_ch: Client, own_db: str) -> None:
    """A database that stored answers on touchpoints only (0008) gets them into self_reports (0012)."""
    spec = SPECS_BY_TOPIC[topics.TOUCHPOINTS]
    touch, _ = form("old", at(2), "a podcast")
    bot, _ = form("oldbot", at(2), "podcast", bot=True)
    silent, _ = form("quiet", at(2), None)
    rows = [decode(spec, p) for p in (touch, bot, silent) if p is not None]
    own_ch.execute(spec.insert_sql(own_db), to_columns(spec, rows), columnar=True)
    # As if 0012 had not run yet: forget it and its table, then migrate again.
    own_ch.execute(f"DROP TABLE {own_db}.self_reports")
    own_ch.execute(f"DELETE FROM {own_db}.schema_migrations WHERE version = 12")
    assert apply_migrations(own_ch, own_db) == ["0012_self_reports.sql"]
    got = own_ch.execute(
        "SELECT person_id, source, answer, channel FROM self_reports FINAL "
        "WHERE person_id IN ('old', 'oldbot', 'quiet')"
    )
    assert got == [("old", "form", "a podcast", "podcast")]  # the bot's and the unasked form are not
