"""Path building for the data-driven models: lookback cut, non-converting accounts, ordering."""

from __future__ import annotations

from reports.journeys import Conversion, JourneyTouch, build_paths, converting_journeys, marked_touches

DAY = 86_400.0
START, END = 100 * DAY, 200 * DAY


def touch(account: str, day: float, event_id: str, channel: str, campaign: str = "") -> JourneyTouch:
    return JourneyTouch(account, day * DAY, event_id, channel, campaign, "")


def test_converting_path_keeps_only_touches_inside_the_lookback() -> None:
    touches = [
        touch("A", 120, "e1", "email"),  # 30 days before the conversion: out with a 20-day lookback
        touch("A", 131, "e2", "podcast"),
        touch("A", 150, "e3", "direct"),  # at the conversion instant: in
        touch("A", 151, "e4", "video"),  # after the conversion: out
    ]
    paths = build_paths(touches, [Conversion("c1", "A", 150 * DAY, 500.0)], START, END, 20 * DAY)
    assert paths.paths == [("podcast", "direct")]
    assert paths.conversions == [1]
    assert paths.revenue == 500.0


def test_lookback_boundary_is_inclusive() -> None:
    touches = [touch("A", 130, "e1", "email"), touch("A", 129.999, "e0", "video")]
    paths = build_paths(touches, [Conversion("c1", "A", 150 * DAY)], START, END, 20 * DAY)
    assert paths.paths == [("email",)]


def test_touches_are_ordered_by_ts_then_event_id() -> None:
    touches = [
        touch("A", 140, "b", "video"),
        touch("A", 140, "a", "email"),
        touch("A", 130, "z", "podcast"),
    ]
    paths = build_paths(touches, [Conversion("c1", "A", 150 * DAY)], START, END, 90 * DAY)
    assert paths.paths == [("podcast", "email", "video")]


def test_non_converting_accounts_give_paths_with_zero_conversions() -> None:
    touches = [
        touch("A", 140, "a1", "email"),
        touch("B", 110, "b1", "video"),  # 50 days before B's last touch: cut by the 30-day lookback
        touch("B", 150, "b2", "podcast"),
        touch("B", 160, "b3", "events"),
        touch("C", 50, "c1", "email"),  # only before the period: C is not in the report
        touch("", 150, "x1", "direct"),  # never identified: no account, no path
    ]
    paths = build_paths(touches, [Conversion("c1", "A", 150 * DAY)], START, END, 30 * DAY)
    assert paths.paths == [("email",), ("podcast", "events")]
    assert paths.conversions == [1, 0]


def test_conversion_of_another_period_does_not_make_the_account_converting() -> None:
    touches = [touch("A", 140, "a1", "email")]
    paths = build_paths(touches, [Conversion("old", "A", 90 * DAY)], START, END, 30 * DAY)
    assert paths.paths == [("email",)] and paths.conversions == [0]


def test_each_conversion_is_its_own_path_and_touchless_ones_are_unattributed() -> None:
    touches = [touch("A", 140, "a1", "email"), touch("A", 160, "a2", "video")]
    conversions = [
        Conversion("c2", "A", 170 * DAY, 2.0),
        Conversion("c1", "A", 145 * DAY, 1.0),
        Conversion("c3", "B", 150 * DAY, 4.0),
    ]
    paths = build_paths(touches, conversions, START, END, 90 * DAY)
    assert paths.paths == [("email",), ("email", "video")]
    assert paths.conversions == [1, 1]
    assert paths.unattributed == 1 and paths.revenue == 3.0


def test_paths_by_campaign_name_missing_campaigns() -> None:
    touches = [touch("A", 140, "a1", "email", "spring"), touch("A", 141, "a2", "direct")]
    paths = build_paths(touches, [Conversion("c1", "A", 150 * DAY)], START, END, 90 * DAY, by="campaign")
    assert paths.paths == [("spring", "(none)")]


def test_converting_journeys_skip_conversions_outside_the_period() -> None:
    touches = [touch("A", 140, "a1", "email")]
    conversions = [Conversion("in", "A", 150 * DAY), Conversion("late", "A", 200 * DAY)]
    assert [c.conversion_id for c, _ in converting_journeys(touches, conversions, START, END, DAY * 90)] == [
        "in"
    ]


def test_markers_go_to_the_latest_touch_at_or_before_the_stage() -> None:
    journey = [
        touch("A", 130, "a1", "email"),
        touch("A", 140, "a2", "video"),
        touch("A", 145, "a3", "direct"),
    ]
    marked = marked_touches(journey, lead_ts=140 * DAY, opportunity_ts=144 * DAY)
    assert [t.is_lead_creation for t in marked] == [False, True, False]
    assert [t.is_opportunity_creation for t in marked] == [False, True, False]
    unmarked = marked_touches(journey, lead_ts=100 * DAY, opportunity_ts=None)
    assert not any(t.is_lead_creation or t.is_opportunity_creation for t in unmarked)
