"""A small hand-checked dataset: two accounts, their journeys, CRM stages, spend and mentions."""

from __future__ import annotations

import datetime as dt

from clickhouse_driver import Client


def at(day: str, hhmm: str = "00:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"2026-{day}T{hhmm}:00+00:00")


TP_COLUMNS = (
    "event_id, ts, anonymous_id, person_id, account_id, type, channel, channel_category, engagement_kind, "
    "form_kind, utm_campaign, is_bot, is_branded_search, is_competitor"
)
# event_id, ts, anonymous_id, person_id, type, channel, category, engagement_kind, form_kind, campaign,
# is_bot, is_branded_search, is_competitor
TOUCHES = [
    (
        "a1",
        at("03-01", "10:00"),
        "anon-a",
        "",
        "engagement",
        "podcast",
        "demand_gen",
        "podcast",
        "",
        "",
        0,
        0,
        0,
    ),
    (
        "a2",
        at("03-01", "10:10"),
        "anon-a",
        "",
        "page_view",
        "organic_search",
        "lead_gen",
        "",
        "",
        "",
        0,
        1,
        0,
    ),
    (
        "a3",
        at("03-05", "09:00"),
        "anon-a",
        "",
        "page_view",
        "paid_search",
        "lead_gen",
        "",
        "",
        "brand-q1",
        0,
        0,
        0,
    ),
    (
        "a4",
        at("03-05", "09:05"),
        "anon-a",
        "",
        "form_submit",
        "paid_search",
        "lead_gen",
        "",
        "gated_content",
        "brand-q1",
        0,
        0,
        0,
    ),
    ("a5", at("03-20", "12:00"), "anon-a", "p-a", "page_view", "direct", "direct", "", "", "", 0, 0, 0),
    (
        "a6",
        at("03-25", "12:00"),
        "anon-a",
        "p-a",
        "engagement",
        "events",
        "demand_gen",
        "webinar",
        "",
        "",
        0,
        0,
        0,
    ),
    (
        "a7",
        at("03-26", "12:00"),
        "anon-a",
        "p-a",
        "engagement",
        "organic_social",
        "demand_gen",
        "social",
        "",
        "",
        0,
        0,
        0,
    ),
    ("g1", at("03-02", "08:00"), "anon-g", "", "page_view", "paid_social", "demand_gen", "", "", "", 0, 0, 0),
    ("g2", at("03-02", "08:30"), "anon-g", "", "page_view", "direct", "direct", "", "", "", 0, 0, 0),
    ("g3", at("03-03", "08:00"), "anon-g", "", "page_view", "paid_social", "demand_gen", "", "", "", 1, 0, 0),
    ("m1", at("03-03"), "", "", "mention", "organic_social", "demand_gen", "", "", "", 0, 0, 0),
    ("m2", at("03-04"), "", "", "mention", "organic_social", "demand_gen", "", "", "", 0, 0, 1),
    ("m3", at("03-06"), "", "", "mention", "review_sites", "demand_gen", "", "", "", 0, 0, 0),
    ("d0", at("02-15"), "anon-x", "", "page_view", "direct", "direct", "", "", "", 0, 0, 0),
]
IDENTITIES = [
    ("anon-a", "p-a", "", "ann@acme.example", at("03-05", "09:05")),
    ("", "p-a", "acme.example", "ann@acme.example", at("03-05", "09:05")),
    ("anon-g", "p-g", "", "gus@globex.example", at("03-02", "08:30")),
    ("", "p-g", "globex.example", "gus@globex.example", at("03-02", "08:30")),
]
CONVERSIONS = [
    ("c-a-lead", at("03-05", "09:05"), "acme.example", "p-a", "lead", 0.0),
    ("c-a-mql", at("03-10"), "acme.example", "p-a", "mql", 0.0),
    ("c-a-sql", at("03-15"), "acme.example", "p-a", "sql", 0.0),
    ("c-a-opp", at("03-22", "10:00"), "acme.example", "p-a", "opportunity", 10000.0),
    ("c-a-won", at("04-01", "10:00"), "acme.example", "p-a", "closed_won", 12000.0),
    ("c-g-lead", at("03-02", "08:30"), "globex.example", "p-g", "lead", 0.0),
    ("c-g-mql", at("03-12"), "globex.example", "p-g", "mql", 0.0),
]
SPEND = [
    ("s1", dt.date(2026, 3, 1), "paid_search", "brand-q1", 300.0),
    ("s2", dt.date(2026, 3, 2), "paid_social", "", 200.0),
    ("s0", dt.date(2026, 2, 1), "paid_search", "brand-q1", 100.0),
]


def load(ch: Client, *, duplicate: bool = True) -> None:
    """Insert the dataset; ``duplicate`` inserts every row a second time, as a redelivery would."""
    for _ in range(2 if duplicate else 1):
        ch.execute(
            f"INSERT INTO touchpoints ({TP_COLUMNS}) VALUES",
            [
                (e, ts, anon, person, "", typ, ch_, cat, kind, form, camp, bool(bot), bool(br), bool(comp))
                for e, ts, anon, person, typ, ch_, cat, kind, form, camp, bot, br, comp in TOUCHES
            ],
        )
        ch.execute(
            "INSERT INTO identities (anonymous_id, person_id, account_id, email, updated_at) VALUES",
            IDENTITIES,
        )
        ch.execute(
            "INSERT INTO conversions (conversion_id, ts, account_id, person_id, stage, amount) VALUES",
            CONVERSIONS,
        )
        ch.execute("INSERT INTO spend (event_id, date, channel, utm_campaign, cost) VALUES", SPEND)
