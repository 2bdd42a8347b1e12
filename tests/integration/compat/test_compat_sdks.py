"""The official Segment, RudderStack and Snowplow Python SDKs, unchanged but for the host, against the
collector on a real port and the embedded broker; events are read back from Kafka."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from compat_harness import SITE_KEY, WRITE_KEY, Served, collector, read_topic
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient
from segment.analytics.request import APIError
from snowplow_tracker import Emitter, SelfDescribingJson, Subject, Tracker

pytestmark = pytest.mark.integration


@pytest.fixture
def served(kafka_bootstrap: str, topic_factory: Callable[..., str]) -> Iterator[Served]:
    with collector(
        kafka_bootstrap, topic_factory(prefix="compat-ev"), topic_factory(prefix="compat-pe")
    ) as s:
        yield s


def by_type(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        out.setdefault(event["type"], []).append(event)
    return out


def segment_calls(client: Any, user: str, anon: str) -> None:
    """The same journey through either SDK (RudderStack's API is Segment's)."""
    client.page(anonymous_id=anon, name="Pricing", properties={
        "url": "https://acme.com/pricing?utm_source=linkedin&utm_medium=paid_social&utm_campaign=abm&li_fat_id=L1",
        "referrer": "https://www.linkedin.com/"}, message_id="page-" + anon)  # fmt: skip
    client.track(
        anonymous_id=anon, event="Demo Requested", properties={"form_id": "demo"}, message_id="demo-" + anon
    )
    client.track(
        anonymous_id=anon, event="Report Exported", properties={"rows": 12}, message_id="rep-" + anon
    )
    client.identify(
        user_id=user, anonymous_id=anon, traits={"email": f"{user}@initech.com"}, message_id="id-" + anon
    )
    client.group(
        user_id=user, group_id="g-1", traits={"website": "https://www.initech.com"}, message_id="g-" + anon
    )
    client.alias(previous_id="old-" + anon, user_id=user, message_id="al-" + anon)
    client.track(
        user_id=user, event="Webinar Attended", properties={"duration": 1800}, message_id="web-" + anon
    )
    client.flush()


def check_segment_journey(
    events: list[dict[str, Any]], products: list[dict[str, Any]], user: str, anon: str
) -> None:
    kinds = by_type(events)
    assert sorted(kinds) == ["engagement", "form_submit", "identify", "page_view"]
    [page] = kinds["page_view"]
    assert page["anonymous_id"] == anon
    assert page["context"]["url"].startswith("https://acme.com/pricing")
    assert page["context"]["referrer"] == "https://www.linkedin.com/"
    assert page["utm"] == {"source": "linkedin", "medium": "paid_social", "campaign": "abm"}
    assert page["click_ids"] == {"li_fat_id": "L1"}
    [form] = kinds["form_submit"]
    assert (form["form_id"], form["form_kind"], form["anonymous_id"]) == ("demo", "demo_request", anon)
    [webinar] = kinds["engagement"]
    assert (webinar["channel"], webinar["kind"], webinar["duration_s"], webinar["person_id"]) == (
        "events", "webinar", 1800.0, user,
    )  # fmt: skip
    identify, group, alias = sorted(kinds["identify"], key=lambda e: e["properties"].get("alias", False) * 2
                                    + ("group_id" in e["properties"]))  # fmt: skip
    assert (identify["person_id"], identify["anonymous_id"], identify["email"]) == (
        user,
        anon,
        f"{user}@initech.com",
    )
    assert (group["person_id"], group["account_domain"]) == (user, "initech.com")
    assert (alias["anonymous_id"], alias["person_id"]) == ("old-" + anon, user)
    assert all(e["source"].startswith("write:") for e in events)
    [product] = products
    assert (product["name"], product["anonymous_id"], json.loads(product["properties"])) == (
        "Report Exported", anon, {"rows": 12},
    )  # fmt: skip
    ids = {e["event_id"] for e in events} | {product["event_id"]}
    assert len(ids) == 7  # each messageId its own event


def test_segment_python_sdk(served: Served, kafka_bootstrap: str) -> None:
    client = SegmentClient(WRITE_KEY, host=served.base, sync_mode=True, max_retries=0)
    segment_calls(client, "u-seg", "a-seg")
    events = read_topic(kafka_bootstrap, served.events_topic, 6)
    products = read_topic(kafka_bootstrap, served.products_topic, 1)
    check_segment_journey(events, products, "u-seg", "a-seg")
    # The SDK retrying a batch (same messageIds) produces the same event ids: counted once downstream.
    segment_calls(client, "u-seg", "a-seg")
    again = read_topic(kafka_bootstrap, served.events_topic, 12)
    assert len(again) == 12 and {e["event_id"] for e in again} == {e["event_id"] for e in events}


def test_rudderstack_python_sdk_gzips(served: Served, kafka_bootstrap: str) -> None:
    client = RudderClient(WRITE_KEY, host=served.base, sync_mode=True, gzip=True, max_retries=0)
    segment_calls(client, "u-rud", "a-rud")
    events = read_topic(kafka_bootstrap, served.events_topic, 6)
    check_segment_journey(events, read_topic(kafka_bootstrap, served.products_topic, 1), "u-rud", "a-rud")


def test_sdk_with_a_wrong_key_is_refused(served: Served, kafka_bootstrap: str) -> None:
    client = SegmentClient("not-a-key", host=served.base, sync_mode=True, max_retries=0)
    with pytest.raises(APIError) as info:  # sync mode raises what the consumer would log and drop
        client.page(anonymous_id="a", name="x")
    assert info.value.status == 401


def test_snowplow_python_tracker_post_and_get(served: Served, kafka_bootstrap: str) -> None:
    post = Emitter("127.0.0.1", protocol="http", port=served.port, method="post", batch_size=1)
    get = Emitter("127.0.0.1", protocol="http", port=served.port, method="get")
    subject = Subject().set_domain_user_id("d-snow").set_user_id("u-snow")
    for emitter, encode in ((post, False), (get, True)):
        tracker = Tracker("sp", emitter, subject=subject, app_id=SITE_KEY, encode_base64=encode)
        tracker.track_page_view(
            "https://acme.com/?utm_source=podcast&utm_campaign=ep12", "Acme", "https://pod.example/"
        )
        tracker.track_struct_event("marketing", "Podcast Played", label="ep12")
        demo = SelfDescribingJson(
            "iglu:com.acme/demo_requested/jsonschema/1-0-0", {"formId": "demo", "plan": "pro"}
        )
        tracker.track_self_describing_event(demo)
        tracker.track_struct_event("ui", "toggle")  # not in the table: a product event
        tracker.flush()
    events = read_topic(kafka_bootstrap, served.events_topic, 6)
    kinds = by_type(events)
    assert sorted((k, len(v)) for k, v in kinds.items()) == [
        ("engagement", 2),
        ("form_submit", 2),
        ("page_view", 2),
    ]
    for event in events:
        assert (event["anonymous_id"], event["person_id"], event["source"]) == (
            "d-snow",
            "u-snow",
            f"site:{SITE_KEY}",
        )
        uuid.UUID(event["event_id"])
    for page in kinds["page_view"]:
        assert page["utm"] == {"source": "podcast", "campaign": "ep12"}
        assert (page["context"]["title"], page["context"]["referrer"]) == ("Acme", "https://pod.example/")
    assert {(e["channel"], e["kind"]) for e in kinds["engagement"]} == {("podcast", "podcast")}
    assert {(e["form_id"], e["form_kind"]) for e in kinds["form_submit"]} == {("demo", "demo_request")}
    products = read_topic(kafka_bootstrap, served.products_topic, 2)
    assert [p["name"] for p in products] == ["toggle", "toggle"]


def test_raw_http_api_gzip_limits_keys_and_mixed_batches(served: Served, kafka_bootstrap: str) -> None:
    auth = {"Authorization": "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()}
    mid = str(uuid.uuid4())
    batch = {"batch": [{"type": "page", "anonymousId": "a", "messageId": mid},
                       {"type": "alias", "userId": "u"},
                       {"type": "page", "anonymousId": "a", "properties": {"x": "y" * 40_000}}],
             "sentAt": "2026-03-02T12:00:00Z"}  # fmt: skip
    with httpx.Client(base_url=served.base) as http:
        headers = {**auth, "Content-Type": "application/json", "Content-Encoding": "gzip"}
        gz = http.post("/v1/batch", content=gzip.compress(json.dumps(batch).encode()), headers=headers)
        assert gz.status_code == 200 and gz.json()["success"] is True
        assert [r["index"] for r in gz.json()["rejected"]] == [1, 2]
        assert "32 KB" in gz.json()["rejected"][1]["errors"][0]["reason"]
        assert (
            http.post(
                "/v1/track", json={"event": "x", "anonymousId": "a"}, headers={"X-Write-Key": "no"}
            ).status_code
            == 401
        )
        assert (
            http.post("/v1/batch", json=batch, headers={"Authorization": "Basic Zm9vOg=="}).status_code == 401
        )
        huge = {"batch": [{"type": "page", "anonymousId": "a", "properties": {"b": "x" * 30_000}}] * 20}
        over = http.post("/v1/b", json={**huge, "writeKey": WRITE_KEY})
        assert over.status_code == 400 and "500 KB" in over.json()["error"]
    [event] = read_topic(kafka_bootstrap, served.events_topic, 1)
    assert event["event_id"] == mid
