"""The 0006 views (array rule credits, String-keyed first touches) re-attribute on a late identify."""

from __future__ import annotations

import datetime as dt

import pytest

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
PARAMS = "stage = 'closed_won', lookback_days = 90, lead_gen_days = 30, half_life_days = 7"
BETWEEN = f"rule_credits_between({PARAMS}, since = '2026-03-01', until = '2026-04-01')"
INSERT_TOUCHES = (
    "INSERT INTO touchpoints (event_id, ts, anonymous_id, person_id, type, channel, channel_category, "
    "is_bot) VALUES"
)
INSERT_IDENTITIES = "INSERT INTO identities (anonymous_id, person_id, account_id, updated_at) VALUES"


@pytest.fixture(scope="module", autouse=True)
def _loaded(own_ch):
    # Two anonymous devices touch at the same instant first (x-b on dev-1, x-a on dev-2): the tie goes to
    # the smaller event_id, as argMin(channel, (ts, event_id)) over account_journeys decides.
    touches = [
        ("x-b", T0, "dev-1", "", "page_view", "podcast", "demand_gen", False),
        ("x-a", T0, "dev-2", "", "page_view", "video", "demand_gen", False),
        ("x-c", T0 + dt.timedelta(days=2), "dev-1", "", "page_view", "email", "lead_gen", False),
        ("x-bot", T0 - dt.timedelta(days=1), "dev-1", "", "page_view", "direct", "direct", True),
    ]
    for _ in range(2):  # redelivered: FINAL must keep one copy of each
        own_ch.execute(INSERT_TOUCHES, touches)
    own_ch.execute(
        "INSERT INTO conversions (conversion_id, ts, account_id, stage, amount) VALUES",
        [
            ("x-lead", T0 + dt.timedelta(days=2), "xco.example", "lead", 0.0),
            ("x-won", T0 + dt.timedelta(days=10), "xco.example", "closed_won", 900.0),
        ],
    )


def credits(ch, model):
    rows = ch.execute(
        f"SELECT event_id, credit FROM {BETWEEN} WHERE model = %(m)s ORDER BY ts, event_id", {"m": model}
    )
    return [(e, round(c, 9)) for e, c in rows]


def test_late_identify_reattributes_rule_credits_and_first_touches(own_ch):
    lead_gen = "SELECT days_to_convert FROM lead_gen_kpis(since = '2026-03-01', until = '2026-04-01')"
    # Before the identify the win has no touch in its window: one '(none)' row per rule model.
    assert own_ch.execute(f"SELECT DISTINCT channel, credit FROM {BETWEEN}") == [("(none)", 1.0)]
    assert own_ch.execute(f"SELECT count() FROM {BETWEEN}") == [(7,)]
    assert own_ch.execute("SELECT count() FROM account_first_touches") == [(0,)]
    # The identify arrives after every touch and conversion: history joins xco.example at query time.
    own_ch.execute(
        INSERT_IDENTITIES,
        [("dev-1", "p-x", "", T0), ("dev-2", "p-x", "", T0), ("", "p-x", "xco.example", T0)],
    )
    journey = ["x-a", "x-b", "x-c"]
    assert credits(own_ch, "first") == list(zip(journey, [1.0, 0, 0], strict=True))
    assert credits(own_ch, "last") == list(zip(journey, [0, 0, 1.0], strict=True))
    assert credits(own_ch, "linear") == list(zip(journey, [round(1 / 3, 9)] * 3, strict=True))
    assert credits(own_ch, "u_shaped") == list(zip(journey, [0.4, 0.2, 0.4], strict=True))
    # Lead at x-c (the last touch at or before the lead), and the win is the opportunity's creation too
    # (the stream marks opportunity at the first opportunity or closed_won): its last touch, x-c again.
    # w_shaped: 30 % first (x-a), 30 % lead + 30 % opportunity (x-c), the remaining 10 % to x-b.
    assert credits(own_ch, "w_shaped") == list(zip(journey, [0.3, 0.1, 0.6], strict=True))
    assert own_ch.execute(f"SELECT sum(revenue_credit) FROM {BETWEEN} WHERE model = 'time_decay'") == [
        (pytest.approx(900.0),)
    ]
    first = own_ch.execute(
        "SELECT account_id, earliest, first_ts, first_event_id, first_channel FROM account_first_touches"
    )
    assert first == [("xco.example", (T0, "x-a", "video"), T0, "x-a", "video")]
    expected = own_ch.execute(
        "SELECT min(ts), argMin(event_id, (ts, event_id)) FROM account_journeys "
        "WHERE account_id = 'xco.example'"
    )
    assert expected == [(T0, "x-a")]
    assert own_ch.execute(lead_gen) == [(pytest.approx(10.0),)]
    # The person moves company: the latest link wins, and every view follows on the next query.
    own_ch.execute(INSERT_IDENTITIES, [("", "p-x", "other.example", T0 + dt.timedelta(days=30))])
    # Before the identify the win has no touch in its window: one '(none)' row per rule model.
    assert own_ch.execute(f"SELECT DISTINCT channel, credit FROM {BETWEEN}") == [("(none)", 1.0)]
    assert own_ch.execute(f"SELECT count() FROM {BETWEEN}") == [(7,)]
    assert own_ch.execute("SELECT account_id FROM account_first_touches") == [("other.example",)]
