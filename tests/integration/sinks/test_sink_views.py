"""Every analyst view returns hand-checked numbers on the small dataset (loaded twice: redelivery)."""

from __future__ import annotations

import math

import pytest
import sink_dataset as dataset

from attribution import rules
from attribution.journey import Touch

MARCH = "since = '2026-03-01', until = '2026-04-01'"
APRIL = "since = '2026-04-01', until = '2026-05-01'"


@pytest.fixture(scope="module", autouse=True)
def _loaded(own_ch):
    dataset.load(own_ch, duplicate=True)


def one(ch, sql):
    rows, cols = ch.execute(sql, with_column_types=True)
    assert len(rows) == 1
    return dict(zip([c[0] for c in cols], rows[0], strict=True))


def test_demand_gen_kpis(own_ch):
    k = one(own_ch, f"SELECT * FROM demand_gen_kpis({MARCH})")
    assert k["page_views"] == 5  # a2 a3 a5 g1 g2 (g3 is a bot, d0 is February)
    assert k["visitors"] == 2
    assert k["engaged_sessions"] == 5  # anon-a on 03-01, 03-05, 03-25, 03-26; anon-g on 03-02
    assert k["social_engagements"] == 1
    assert k["content_consumption"] == 1
    assert k["podcast_video_engagements"] == 1
    assert k["event_attendance"] == 1
    assert (k["brand_mentions"], k["competitor_mentions"]) == (2, 1)
    assert k["share_of_voice"] == pytest.approx(2 / 3)
    assert (k["direct_visits"], k["direct_visits_prev"]) == (2, 1)
    assert k["direct_traffic_growth"] == pytest.approx(1.0)
    assert k["branded_search_visits"] == 1


def test_lead_gen_kpis(own_ch):
    k = one(own_ch, f"SELECT * FROM lead_gen_kpis({MARCH})")
    assert (k["leads"], k["mqls"], k["sqls"], k["opportunities"], k["customers"]) == (2, 2, 1, 1, 0)
    assert k["lead_to_mql"] == pytest.approx(1.0)
    assert k["mql_to_sql"] == pytest.approx(0.5)
    assert k["spend"] == pytest.approx(500.0)
    assert k["cost_per_lead"] == pytest.approx(250.0)
    assert k["cac"] is None  # no customer in March
    assert k["lead_quality"] == pytest.approx(0.5)  # acme reached sql, globex did not
    april = one(own_ch, f"SELECT * FROM lead_gen_kpis({APRIL})")
    assert april["customers"] == 1
    assert april["days_to_convert"] == pytest.approx(31.0)  # a1 03-01 10:00 -> won 04-01 10:00


def test_influence_and_velocity(own_ch):
    inf = one(own_ch, f"SELECT * FROM demand_gen_influence({MARCH}, lookback_days = 90)")
    assert (inf["opportunities"], inf["influenced_opportunities"]) == (1, 1)
    assert (inf["pipeline"], inf["influenced_pipeline"]) == (10000.0, 10000.0)
    v = one(own_ch, f"SELECT * FROM sales_velocity({MARCH})")
    assert v["opportunities"] == 1
    assert v["win_rate"] == pytest.approx(1.0)
    assert v["avg_deal"] == pytest.approx(12000.0)
    assert v["cycle_days"] == pytest.approx(10.0)
    assert v["velocity_per_day"] == pytest.approx(1200.0)


def test_funnel_by_first_touch(own_ch):
    rows = own_ch.execute(f"SELECT * FROM funnel_by_first_touch({MARCH}, window_days = 180)")
    assert rows == [("paid_social", 1, 1, 1, 0, 0, 0, 0.0), ("podcast", 1, 1, 1, 1, 1, 1, 1.0)]


FEBRUARY = "since = '2026-02-01', until = '2026-03-01'"


def test_attribution_by_channel_and_campaign(own_ch):
    credits = [
        ("cw", "closed_won", "linear", "a1", "podcast", "", 0.5, 6000.0, "04-01"),
        ("cw", "closed_won", "linear", "a3", "paid_search", "brand-q1", 0.25, 3000.0, "04-01"),
        ("cw", "closed_won", "linear", "a4", "paid_search", "brand-q1", 0.25, 3000.0, "04-01"),
        ("cw", "closed_won", "first", "a1", "podcast", "", 1.0, 12000.0, "04-01"),
        # A March conversion, in the month the dataset's spend was made (paid_search 300, paid_social 200).
        ("cm", "closed_won", "linear", "a3", "paid_search", "brand-q1", 0.5, 1000.0, "03-20"),
        ("cm", "closed_won", "linear", "a5", "paid_social", "", 0.5, 400.0, "03-20"),
    ]
    insert = (
        "INSERT INTO attribution_credits (conversion_id, stage, model, event_id, channel, utm_campaign, "
        "credit, revenue_credit, ts, conversion_ts, account_id, channel_category) VALUES"
    )
    rows = [(*c[:8], dataset.at("03-01"), dataset.at(c[8], "10:00"), "acme.example", "") for c in credits]
    own_ch.execute(insert, rows)
    own_ch.execute(insert, rows)  # redelivered

    def by(view: str, model: str, period: str) -> list[tuple[object, ...]]:
        sql = f"SELECT * FROM {view}(model = '{model}', stage = 'closed_won', {period})"
        rows = own_ch.execute(sql)
        # A session with join_use_nulls = 1 (some BI tools set it) gets the same zeros, not NULLs.
        assert own_ch.execute(sql, settings={"join_use_nulls": 1}) == rows
        return rows

    # (channel, conversions, revenue, touched, spend, cost per conversion, roas): no spend in April.
    assert by("attribution_by_channel", "linear", APRIL) == [
        ("paid_search", 0.5, 6000.0, 1, 0.0, None, None),
        ("podcast", 0.5, 6000.0, 1, 0.0, None, None),
    ]
    march = by("attribution_by_channel", "linear", MARCH)
    assert [r[:5] for r in march] == [
        ("paid_search", 0.5, 1000.0, 1, 300.0),
        ("paid_social", 0.5, 400.0, 1, 200.0),
    ]
    assert [r[5:] for r in march] == [
        (pytest.approx(600.0), pytest.approx(1000 / 300)),
        (pytest.approx(400.0), pytest.approx(2.0)),
    ]
    # Spend that bought nothing still shows: zero conversions, no cost per conversion, roas 0.
    assert by("attribution_by_channel", "linear", FEBRUARY) == [
        ("paid_search", 0.0, 0.0, 0, 100.0, None, 0.0)
    ]
    assert by("attribution_by_channel", "first", MARCH) == [
        ("paid_search", 0.0, 0.0, 0, 300.0, None, 0.0),
        ("paid_social", 0.0, 0.0, 0, 200.0, None, 0.0),
    ]
    assert by("attribution_by_campaign", "first", APRIL) == [
        ("podcast", "", 1.0, 12000.0, 1, 0.0, None, None)
    ]
    campaigns = by("attribution_by_campaign", "linear", MARCH)
    assert [r[:6] for r in campaigns] == [
        ("paid_search", "brand-q1", 0.5, 1000.0, 1, 300.0),
        ("paid_social", "", 0.5, 400.0, 1, 200.0),
    ]
    assert [r[6:] for r in campaigns] == [
        (pytest.approx(600.0), pytest.approx(1000 / 300)),
        (pytest.approx(400.0), pytest.approx(2.0)),
    ]


RULE_PARAMS = "stage = 'closed_won', lookback_days = 90, lead_gen_days = 30, half_life_days = 7"


def rule_credits(ch, model):
    rows = ch.execute(
        f"SELECT event_id, credit, revenue_credit FROM rule_credits({RULE_PARAMS}) "
        "WHERE model = %(m)s ORDER BY ts",
        {"m": model},
    )
    return [(e, round(c, 9)) for e, c, _ in rows], [r for _, _, r in rows]


def test_rule_credits_hand_checked(own_ch):
    # Journey of the closed_won (04-01 10:00): a2 is lead-gen and older than 30 days, so it is out.
    journey = ["a1", "a3", "a4", "a5", "a6", "a7"]
    first, _ = rule_credits(own_ch, "first")
    assert first == list(zip(journey, [1.0, 0, 0, 0, 0, 0], strict=True))
    last, _ = rule_credits(own_ch, "last")
    assert [c for _, c in last] == [0, 0, 0, 0, 0, 1.0]
    linear, revenue = rule_credits(own_ch, "linear")
    assert [c for _, c in linear] == [round(1 / 6, 9)] * 6
    assert sum(revenue) == pytest.approx(12000.0)
    u, _ = rule_credits(own_ch, "u_shaped")
    assert [c for _, c in u] == [0.4, 0.05, 0.05, 0.05, 0.05, 0.4]
    # Lead created at a4 (form at 03-05 09:05), opportunity at a5 (last touch before 03-22 10:00).
    w, _ = rule_credits(own_ch, "w_shaped")
    assert [c for _, c in w] == [0.3, round(0.1 / 3, 9), 0.3, 0.3, round(0.1 / 3, 9), round(0.1 / 3, 9)]
    full, _ = rule_credits(own_ch, "full_path")
    assert [c for _, c in full] == [0.225, 0.05, 0.225, 0.225, 0.05, 0.225]


def test_rule_credits_match_python_models(own_ch):
    """The SQL models and attribution/rules.py agree on the same journey."""
    stamps = {e: ts.timestamp() for e, ts, *_ in dataset.TOUCHES}
    channels = {e: ch for e, _, _, _, _, ch, *_ in dataset.TOUCHES}
    touches = [
        Touch(e, stamps[e], channels[e], is_lead_creation=e == "a4", is_opportunity_creation=e == "a5")
        for e in ["a1", "a3", "a4", "a5", "a6", "a7"]
    ]
    expected = {
        "first": rules.first(touches),
        "last": rules.last(touches),
        "linear": rules.linear(touches),
        "time_decay": rules.time_decay(touches, half_life_days=7.0),
        "u_shaped": rules.u_shaped(touches),
        "w_shaped": rules.w_shaped(touches),
        "full_path": rules.full_path(touches),
    }
    for model, credits in expected.items():
        got, _ = rule_credits(own_ch, model)
        assert [c for _, c in got] == pytest.approx(credits, abs=1e-9), model
        assert math.isclose(sum(c for _, c in got), 1.0, abs_tol=1e-8)  # of 9-digit roundings


def test_shorter_lookback_changes_the_journey(own_ch):
    rows = own_ch.execute(
        "SELECT event_id FROM rule_credits(stage = 'closed_won', lookback_days = 10, lead_gen_days = 10, "
        "half_life_days = 7) WHERE model = 'first'"
    )
    assert sorted(r[0] for r in rows) == ["a6", "a7"]  # a5 (03-20 12:00) is 12 days before


def test_account_first_touches_match_account_journeys(own_ch):
    """The per-device first-touch table gives what min / argMin over account_journeys gives."""
    expected = own_ch.execute(
        "SELECT account_id, min(ts), argMin(event_id, (ts, event_id)), argMin(channel, (ts, event_id)) "
        "FROM account_journeys WHERE account_id != '' GROUP BY account_id ORDER BY account_id"
    )
    assert expected == [
        ("acme.example", dataset.at("03-01", "10:00"), "a1", "podcast"),
        ("globex.example", dataset.at("03-02", "08:00"), "g1", "paid_social"),
    ]
    got = own_ch.execute(
        "SELECT account_id, first_ts, first_event_id, first_channel FROM account_first_touches "
        "ORDER BY account_id"
    )
    assert got == expected


def test_rule_credits_between_takes_the_period_of_conversions(own_ch):
    params = "stage = 'closed_won', lookback_days = 90, lead_gen_days = 30, half_life_days = 7"
    april = own_ch.execute(
        f"SELECT event_id, credit FROM rule_credits_between({params}, {APRIL}) "
        "WHERE model = 'linear' ORDER BY ts"
    )
    assert [e for e, _ in april] == ["a1", "a3", "a4", "a5", "a6", "a7"]  # the won deal of 04-01
    assert own_ch.execute(f"SELECT count() FROM rule_credits_between({params}, {MARCH})") == [(0,)]
