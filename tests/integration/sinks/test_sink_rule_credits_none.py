"""rule_credits_between credits a conversion without a touch in its window to '(none)', as the stream does.

Two closed_won conversions in March: one with two touches in its window, one whose account's only touch
is older than every lookback. Every rule model must give the second one a single '(none)' row with the
whole credit and revenue, so per model the credits add up to the number of conversions.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.integration

MODELS = ("first", "last", "linear", "time_decay", "u_shaped", "w_shaped", "full_path")


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"2026-{day}T10:00:00+00:00").astimezone(UTC)


def test_a_conversion_without_touches_is_credited_to_none(own_ch) -> None:
    own_ch.execute(
        "INSERT INTO touchpoints (event_id, ts, account_id, type, channel, channel_category, utm_source) "
        "VALUES",
        [
            ("t1", at("03-01"), "a.example", "page_view", "paid_search", "lead_gen", "google"),
            ("t2", at("03-05"), "a.example", "page_view", "podcast", "demand_gen", "pod"),
            ("old", at("01-02"), "b.example", "page_view", "paid_search", "lead_gen", "google"),
        ],
    )
    own_ch.execute(
        "INSERT INTO conversions (conversion_id, ts, account_id, stage, amount) VALUES",
        [
            ("won-a", at("03-10"), "a.example", "closed_won", 100.0),
            ("won-b", at("03-12"), "b.example", "closed_won", 40.0),
        ],
    )
    rows = own_ch.execute(
        "SELECT model, conversion_id, event_id, channel, credit, revenue_credit FROM rule_credits_between("
        "stage = 'closed_won', since = '2026-03-01', until = '2026-04-01', lookback_days = 30, "
        "lead_gen_days = 30, half_life_days = 7) ORDER BY model, conversion_id, event_id"
    )
    none = [r for r in rows if r[1] == "won-b"]
    assert none == [(m, "won-b", "", "(none)", 1.0, 40.0) for m in sorted(MODELS)]
    for model in MODELS:
        credits = [r[4] for r in rows if r[0] == model]
        assert sum(credits) == pytest.approx(2.0), model  # two conversions
        assert {r[2] for r in rows if r[0] == model and r[1] == "won-a"} <= {"t1", "t2"}
