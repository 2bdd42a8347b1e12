"""Intake rates and their same-hour-of-week baseline."""

from __future__ import annotations

from alerts.intake import intake_rates


def test_baseline_is_the_median_of_weeks_with_traffic() -> None:
    rates = intake_rates({("source", "pixel"): [12, 60, 0, 50, 200]}, window_minutes=10, min_history_weeks=2)
    (r,) = rates
    # Week 2 had no traffic in this slot (outage or not launched) and is left out: median(60, 50, 200).
    assert (r.per_minute, r.baseline_per_minute, r.expected_in_window, r.history_weeks) == (1.2, 6.0, 60.0, 3)
    assert r.subject == "source=pixel"


def test_too_little_history_gives_no_baseline() -> None:
    (r,) = intake_rates({("type", "page_view"): [5, 40, 0, 0, 0]}, window_minutes=10, min_history_weeks=2)
    assert r.baseline_per_minute == 0 and r.history_weeks == 1
