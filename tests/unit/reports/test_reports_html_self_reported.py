"""The html report's 'Self-reported vs first touch' section."""

from __future__ import annotations

from datetime import UTC, datetime

from reports.credits import AttributionResult, ReportRequest
from reports.html import HtmlInputs, render_html
from reports.period import Period

RESULT = AttributionResult(
    ReportRequest(("linear",)), Period(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC))
)


def test_section_shows_both_shares_per_channel_escaped() -> None:
    rows: list[dict[str, object]] = [
        {"channel": "podcast", "respondents": 22, "self_reported_share": 0.22, "first_touch_share": 0.04},
        {"channel": "<b>", "respondents": 0, "self_reported_share": 0.0, "first_touch_share": None},
    ]
    page = render_html(HtmlInputs(result=RESULT, channel_result=RESULT, self_reported=rows))
    assert "Self-reported vs first touch" in page
    assert "22.0 %" in page and "4.0 %" in page and "width:35px" in page  # 22 % of 160 px
    assert "<td><b>" not in page and "&lt;b&gt;" in page


def test_no_answers_is_a_note() -> None:
    page = render_html(HtmlInputs(result=RESULT, channel_result=RESULT))
    assert 'no "How did you hear about us?" answers in this period' in page
