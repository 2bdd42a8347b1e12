"""Segment / RudderStack messages -> contract events: each call type, ids, clock skew, per-message rejects."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from compat import segment
from compat.errors import ForeignMessageError
from compat.mapped import NAMESPACE
from compat.names import load_track_table
from schemas.events import EVENT_ADAPTER
from schemas.records import ProductEventRecord

TABLE = load_track_table()
NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)


def mapped(message: dict[str, Any], **kw: Any) -> Any:
    return segment.map_message(message, received_at=NOW, table=TABLE, **kw)


def valid(message: dict[str, Any], **kw: Any) -> Any:
    """Map and validate against the contract, as the collector does."""
    out = mapped(message, **kw)
    assert isinstance(out, dict)
    return EVENT_ADAPTER.validate_python(out)


def test_page_with_context_page_campaign_and_click_id() -> None:
    event = valid(
        {
            "type": "page",
            "messageId": "ajs-next-1",
            "anonymousId": "anon-1",
            "name": "Pricing",
            "timestamp": "2026-03-02T11:59:00Z",
            "context": {
                "page": {
                    "url": "https://acme.com/pricing?gclid=abc&utm_source=google",
                    "referrer": "https://www.google.com/",
                    "title": "Pricing - Acme",
                },
                "campaign": {"name": "spring", "source": "google", "medium": "cpc"},
                "userAgent": "Mozilla/5.0",
                "locale": "en-US",
            },
            "properties": {"path": "/pricing"},
        }
    )
    assert event.type == "page_view"
    assert event.event_id == uuid.uuid5(NAMESPACE, "ajs-next-1")
    assert event.anonymous_id == "anon-1"
    assert event.context.url == "https://acme.com/pricing?gclid=abc&utm_source=google"
    assert event.context.referrer == "https://www.google.com/"
    assert event.context.title == "Pricing - Acme"
    assert (event.utm.campaign, event.utm.source, event.utm.medium) == ("spring", "google", "cpc")
    assert event.click_ids.gclid == "abc"
    assert event.context.user_agent == "Mozilla/5.0"
    assert event.properties == {"path": "/pricing", "name": "Pricing"}


def test_page_takes_url_and_utm_from_properties_when_context_has_none() -> None:
    event = valid(
        {
            "type": "page",
            "userId": "u-1",
            "properties": {"url": "https://acme.com/?utm_campaign=q1&utm_medium=email", "title": "Home"},
        }
    )
    assert event.context.url == "https://acme.com/?utm_campaign=q1&utm_medium=email"
    assert event.context.title == "Home"
    assert (event.utm.campaign, event.utm.medium) == ("q1", "email")
    assert event.person_id == "u-1"


def test_screen_is_a_page_view_titled_by_its_name() -> None:
    event = valid({"type": "screen", "anonymousId": "a", "name": "Settings"})
    assert event.type == "page_view"
    assert event.context.title == "Settings"
    assert event.properties["screen"] is True


def test_uuid_message_id_is_the_event_id_and_other_ids_map_deterministically() -> None:
    mid = str(uuid.uuid4())
    assert str(valid({"type": "page", "anonymousId": "a", "messageId": mid}).event_id) == mid
    first = valid({"type": "page", "anonymousId": "a", "messageId": "python-retry"})
    again = valid({"type": "page", "anonymousId": "a", "messageId": "python-retry"})
    assert first.event_id == again.event_id


def test_missing_message_id_still_gives_the_same_id_for_the_same_message() -> None:
    message = {"type": "page", "anonymousId": "a", "timestamp": "2026-03-02T11:00:00Z"}
    assert valid(dict(message)).event_id == valid(dict(message)).event_id


def test_clock_skew_is_corrected_by_received_minus_sent() -> None:
    # The device clock runs 1 h fast: it stamped 13:00 and sent at 13:00:05; we received at 12:00:05.
    received = NOW + timedelta(seconds=5)
    out = segment.map_message(
        {"type": "page", "anonymousId": "a", "timestamp": "2026-03-02T13:00:00Z"},
        received_at=received,
        table=TABLE,
        sent_at=datetime(2026, 3, 2, 13, 0, 5, tzinfo=UTC),
    )
    assert isinstance(out, dict)
    assert out["ts"] == NOW


def test_message_sent_at_wins_over_the_batch_and_no_timestamp_means_received() -> None:
    out = mapped(
        {
            "type": "page",
            "anonymousId": "a",
            "timestamp": "2026-03-02T11:00:00Z",
            "sentAt": "2026-03-02T11:00:10Z",
        },
        sent_at=NOW,
    )
    assert out["ts"] == datetime(2026, 3, 2, 11, 59, 50, tzinfo=UTC)
    assert mapped({"type": "page", "anonymousId": "a"})["ts"] == NOW


def test_identify_maps_user_email_and_company_website() -> None:
    event = valid(
        {
            "type": "identify",
            "userId": "user-42",
            "anonymousId": "anon-9",
            "traits": {
                "email": "Ada@Acme.com",
                "company": {"name": "Acme", "website": "https://www.acme.com/"},
            },
        }
    )
    assert event.type == "identify"
    assert (event.person_id, event.anonymous_id, event.email) == ("user-42", "anon-9", "ada@acme.com")
    assert event.account_domain == "acme.com"
    assert event.traits["company"]["name"] == "Acme"


def test_identify_with_a_company_name_only_sets_no_domain() -> None:
    event = valid({"type": "identify", "userId": "u", "traits": {"company": "Acme Inc"}})
    assert event.account_domain is None


def test_group_ties_the_user_to_the_account() -> None:
    event = valid(
        {
            "type": "group",
            "userId": "u-1",
            "anonymousId": "a-1",
            "groupId": "g-7",
            "traits": {"website": "acme.io"},
        }
    )
    assert event.type == "identify"
    assert (event.person_id, event.anonymous_id, event.account_domain) == ("u-1", "a-1", "acme.io")
    assert event.properties["group_id"] == "g-7"


def test_group_accepts_a_domain_as_group_id() -> None:
    assert valid({"type": "group", "userId": "u", "groupId": "initech.com"}).account_domain == "initech.com"


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": "group", "userId": "u", "groupId": "g-1"}, "traits.website"),
        ({"type": "group", "anonymousId": "a", "groupId": "acme.com"}, "userId"),
        ({"type": "alias", "userId": "u"}, "previousId"),
        ({"type": "alias", "previousId": "p"}, "userId"),
        ({"type": "track", "anonymousId": "a"}, "event"),
        ({"type": "wat", "anonymousId": "a"}, "type"),
        ({"type": "page", "anonymousId": "a", "timestamp": "yesterday"}, "timestamp"),
        ({"type": "page", "anonymousId": "a", "context": "x"}, "context"),
    ],
)
def test_unusable_messages_name_the_field(message: dict[str, Any], field: str) -> None:
    with pytest.raises(ForeignMessageError) as info:
        mapped(message)
    assert info.value.errors[0].field == field


def test_alias_merges_previous_id_into_user_id() -> None:
    event = valid({"type": "alias", "previousId": "anon-old", "userId": "user-1"})
    assert event.type == "identify"
    assert (event.anonymous_id, event.person_id) == ("anon-old", "user-1")


def test_track_names_map_through_the_table() -> None:
    demo = valid(
        {
            "type": "track",
            "event": "Demo Requested",
            "anonymousId": "a",
            "properties": {"form_id": "demo-form", "email": "bo@initech.com"},
            "context": {"page": {"url": "https://acme.com/demo?utm_source=linkedin"}},
        }
    )
    assert (demo.type, demo.form_id, demo.form_kind) == ("form_submit", "demo-form", "demo_request")
    assert demo.email == "bo@initech.com"
    assert demo.utm.source == "linkedin"
    assert demo.properties["event"] == "Demo Requested"
    webinar = valid(
        {"type": "track", "event": "webinar_attended", "userId": "u", "properties": {"duration": 1800}}
    )
    assert (webinar.type, webinar.channel, webinar.kind, webinar.duration_s) == (
        "engagement",
        "events",
        "webinar",
        1800.0,
    )
    podcast = valid({"type": "track", "event": "Podcast Played", "anonymousId": "a"})
    assert (podcast.channel, podcast.kind) == ("podcast", "podcast")
    signup = valid({"type": "track", "event": "Signed Up", "anonymousId": "a"})
    assert (signup.form_id, signup.form_kind) == ("Signed Up", "trial")


def test_unmatched_track_is_a_product_event_not_a_touchpoint() -> None:
    out = mapped(
        {
            "type": "track",
            "event": "Report Exported",
            "messageId": "m-1",
            "userId": "u-1",
            "anonymousId": "a-1",
            "properties": {"format": "csv"},
            "context": {"groupId": "acme.com"},
        }
    )
    assert isinstance(out, ProductEventRecord)
    assert out.name == "Report Exported"
    assert out.event_id == str(uuid.uuid5(NAMESPACE, "m-1"))
    assert (out.person_id, out.anonymous_id, out.account_id) == ("u-1", "a-1", "acme.com")
    assert out.properties == '{"format":"csv"}'


def test_single_call_endpoint_type_wins_over_the_body() -> None:
    assert valid({"type": "track", "anonymousId": "a"}, call="page").type == "page_view"


def test_batch_rejects_bad_messages_alone_by_index() -> None:
    big = {"type": "page", "anonymousId": "a", "properties": {"blob": "x" * (33 * 1024)}}
    out = segment.map_batch(
        {
            "batch": [
                {"type": "page", "anonymousId": "a"},
                "not an object",
                {"type": "alias", "userId": "u"},
                big,
                {"type": "track", "event": "Clicked", "anonymousId": "a"},
            ],
            "sentAt": "2026-03-02T12:00:00Z",
        },
        received_at=NOW,
        table=TABLE,
    )
    assert out.event_index == [0]
    assert out.product_index == [4]
    assert [i for i, _ in out.rejected] == [1, 2, 3]
    assert "32 KB" in out.rejected[2][1][0].reason


def test_batch_level_context_is_merged_under_each_message() -> None:
    out = segment.map_batch(
        {
            "batch": [{"type": "page", "anonymousId": "a", "context": {"locale": "de-DE"}}],
            "context": {"userAgent": "server/1.0", "locale": "en-US"},
        },
        received_at=NOW,
        table=TABLE,
    )
    assert out.events[0]["context"] == {"user_agent": "server/1.0", "locale": "de-DE"}


def test_batch_must_be_an_array() -> None:
    with pytest.raises(ForeignMessageError):
        segment.map_batch({"batch": {}}, received_at=NOW, table=TABLE)


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_out_of_range_times_name_the_field() -> None:
    for message, field in [
        ({"type": "page", "anonymousId": "a", "timestamp": 1e308}, "timestamp"),
        ({"type": "page", "anonymousId": "a", "timestamp": -1e20}, "timestamp"),
        ({"type": "page", "anonymousId": "a", "sentAt": "9" * 40}, "sentAt"),
        # a valid device time pushed past year 9999 by the skew correction
        ({"type": "page", "anonymousId": "a", "timestamp": "9999-12-31T00:00:00Z",
          "sentAt": "2000-01-01T00:00:00Z"}, "timestamp"),
    ]:  # fmt: skip
        with pytest.raises(ForeignMessageError) as info:
            mapped(message)
        assert info.value.errors[0].field == field, message


def test_messages_nested_too_deep_to_encode_are_rejected_alone_by_field() -> None:
    out = segment.map_batch(
        {"batch": [{"type": "page", "anonymousId": "a"},
                   {"type": "track", "event": "Clicked", "anonymousId": "a", "properties": _nested(300)},
                   {"type": "page", "properties": _nested(1000)}]},
        received_at=NOW,
        table=TABLE,
    )  # fmt: skip
    assert out.event_index == [0]
    assert [(i, [(e.field, e.reason) for e in errs]) for i, errs in out.rejected] == [
        (1, [("properties", "nested deeper than 254 levels")]),
        (2, [("properties", "nested deeper than 254 levels")]),
    ]
