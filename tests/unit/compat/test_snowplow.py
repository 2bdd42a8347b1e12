"""Snowplow tracker protocol -> contract events: pv, pp, se, ue (ue_pr and base64 ue_px), ids, timestamps."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from compat import snowplow
from compat.errors import ForeignMessageError
from compat.names import load_track_table
from schemas.events import EVENT_ADAPTER
from schemas.records import ProductEventRecord

TABLE = load_track_table()
NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
EID = str(uuid.uuid4())


def base(**extra: str) -> dict[str, str]:
    return {"eid": EID, "duid": "d-1", "aid": "site", "p": "web", "tv": "js-4.1.0", **extra}


def mapped(payload: dict[str, Any]) -> Any:
    return snowplow.map_payload(payload, received_at=NOW, table=TABLE)


def valid(payload: dict[str, Any]) -> Any:
    out = mapped(payload)
    assert isinstance(out, dict)
    return EVENT_ADAPTER.validate_python(out)


def sdj(schema: str, data: dict[str, Any]) -> str:
    return json.dumps({"schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0",
                       "data": {"schema": schema, "data": data}})  # fmt: skip


def test_page_view_with_ids_context_and_utm() -> None:
    event = valid(
        base(
            e="pv", uid="user-1", url="https://acme.com/?utm_source=bing&utm_campaign=q2&msclkid=m1",
            refr="https://bing.com/", page="Acme", ua="UA/1", lang="en-GB",
        )
    )  # fmt: skip
    assert event.type == "page_view"
    assert str(event.event_id) == EID
    assert (event.anonymous_id, event.person_id) == ("d-1", "user-1")
    assert (event.context.referrer, event.context.title, event.context.locale) == (
        "https://bing.com/",
        "Acme",
        "en-GB",
    )
    assert (event.utm.source, event.utm.campaign, event.click_ids.msclkid) == ("bing", "q2", "m1")


def test_device_time_is_corrected_by_sent_time_and_true_time_wins() -> None:
    dtm = int(datetime(2026, 3, 2, 13, 0, tzinfo=UTC).timestamp() * 1000)
    out = mapped(base(e="pv", dtm=str(dtm), stm=str(dtm + 2000)))
    assert out["ts"] == datetime(2026, 3, 2, 11, 59, 58, tzinfo=UTC)
    ttm = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp() * 1000)
    assert mapped(base(e="pv", dtm=str(dtm), ttm=str(ttm)))["ts"] == datetime(2026, 3, 1, tzinfo=UTC)


def test_non_uuid_eid_maps_to_a_stable_uuid() -> None:
    assert mapped(base(e="pv", eid="abc"))["event_id"] == mapped(base(e="pv", eid="abc"))["event_id"]


def test_page_ping_is_engagement_time_for_analysts_not_a_touchpoint() -> None:
    web_page = {
        "schema": "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0",
        "data": {"id": "pv-123"},
    }
    contexts = json.dumps(
        {"schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0", "data": [web_page]}
    )
    cx = base64.urlsafe_b64encode(contexts.encode()).decode().rstrip("=")
    out = mapped(
        base(e="pp", url="https://acme.com/blog", cx=cx, pp_mix="0", pp_max="10", pp_miy="0", pp_may="800")
    )
    assert isinstance(out, ProductEventRecord)
    assert out.name == "page_ping"
    assert json.loads(out.properties) == {
        "url": "https://acme.com/blog", "page_view_id": "pv-123",
        "pp_mix": 0.0, "pp_max": 10.0, "pp_miy": 0.0, "pp_may": 800.0,
    }  # fmt: skip


def test_structured_event_action_goes_through_the_name_table() -> None:
    event = valid(base(e="se", se_ca="marketing", se_ac="Webinar Attended", se_la="ai-101", se_va="3600"))
    assert (event.type, event.channel, event.kind) == ("engagement", "events", "webinar")
    assert event.properties == {"category": "marketing", "action": "Webinar Attended", "label": "ai-101",
                                "value": "3600", "event": "Webinar Attended"}  # fmt: skip
    product = mapped(base(e="se", se_ca="ui", se_ac="toggle"))
    assert isinstance(product, ProductEventRecord) and product.name == "toggle"


def test_self_describing_event_by_schema_name_plain_and_base64() -> None:
    body = sdj("iglu:com.acme/demo_requested/jsonschema/1-0-0", {"formId": "demo", "plan": "pro"})
    plain = valid(base(e="ue", ue_pr=body))
    encoded = valid(base(e="ue", ue_px=base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")))
    for event in (plain, encoded):
        assert (event.type, event.form_kind, event.form_id) == ("form_submit", "demo_request", "demo")
    standard_alphabet = valid(base(e="ue", ue_px=base64.b64encode(body.encode()).decode()))
    assert standard_alphabet.form_id == "demo"


def test_browser_form_tracking_counts_as_a_form_submit() -> None:
    body = sdj(
        "iglu:com.snowplowanalytics.snowplow/submit_form/jsonschema/1-0-0",
        {"formId": "contact", "elements": []},
    )
    event = valid(base(e="ue", ue_pr=body))
    assert (event.type, event.form_id) == ("form_submit", "contact")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (base(), "e"),
        (base(e="se"), "se_ac"),
        (base(e="ue", ue_pr="{not json"), "ue_pr"),
        (base(e="ue", ue_px="%%%"), "ue_px"),
        (base(e="ue", ue_pr='{"data": {"schema": "nope"}}'), "ue_pr"),
        (base(e="pv", dtm="soon"), "dtm"),
    ],
)
def test_bad_events_name_the_field(payload: dict[str, str], field: str) -> None:
    with pytest.raises(ForeignMessageError) as info:
        mapped(payload)
    assert info.value.errors[0].field == field


def test_post_body_keeps_good_events_and_rejects_bad_ones_by_index() -> None:
    body = {"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4",
            "data": [base(e="pv"), base(e="se"), 7, base(e="tr")]}  # fmt: skip
    out = snowplow.map_post(body, received_at=NOW, table=TABLE)
    assert out.event_index == [0]
    assert out.product_index == [3]
    assert out.product_events[0].name == "transaction"
    assert [i for i, _ in out.rejected] == [1, 2]


@pytest.mark.parametrize(
    "body", [[], {"data": {}}, {"schema": "iglu:com.acme/x/jsonschema/1-0-0", "data": []}]
)
def test_post_body_shape_is_checked(body: Any) -> None:
    with pytest.raises(ForeignMessageError):
        snowplow.map_post(body, received_at=NOW, table=TABLE)


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_times_out_of_range_and_json_too_deep_name_the_field() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        (base(e="pv", ttm="9" * 40), "ttm"),
        (base(e="pv", dtm="253402300000000", stm="946684800000"), "dtm"),  # corrected past year 9999
        (base(e="ue", ue_pr=sdj("iglu:com.acme/clicked/jsonschema/1-0-0", _nested(300))), "ue_pr"),
        ({**base(e="pv"), "eid": None, "x": _nested(300)}, "x"),  # no eid: the id hashes the payload
    ]
    for payload, field in cases:
        with pytest.raises(ForeignMessageError) as info:
            mapped(payload)
        assert info.value.errors[0].field == field, payload
