"""Every collector endpoint against the embedded broker: answer, then read the events back from Kafka."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from conftest import ORIGIN, SITE_KEY, WRITE_KEY, read_topic

from collector.ids import stable_id

pytestmark = [pytest.mark.integration, pytest.mark.anyio]
W = {"X-Write-Key": WRITE_KEY}
NOW_MS = int(datetime.now(UTC).timestamp() * 1000)


def page_view(**extra: object) -> dict[str, object]:
    return {"event_id": str(uuid.uuid4()), "type": "page_view", "ts": NOW_MS, "anonymous_id": "a-1", **extra}


async def test_batch_produces_every_valid_event_keyed_and_enriched(make_client, kafka_bootstrap) -> None:
    client, topic, _ = await make_client()
    events = [page_view(anonymous_id=f"a-{i}", context={"url": f"https://x.example/{i}"}) for i in range(5)]
    events.append(
        {**page_view(anonymous_id=None), "type": "crm_stage", "stage": "mql", "account_domain": "acme.com"}
    )
    r = await client.post("/v1/batch", json=events, headers={**W, "User-Agent": "bot-test/1"})
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 6, "rejected": []}
    got = read_topic(kafka_bootstrap, topic, 6)
    assert sorted(v["event_id"] for _, v in got) == sorted(e["event_id"] for e in events)
    by_id = {v["event_id"]: (k, v) for k, v in got}
    key, first = by_id[events[0]["event_id"]]
    assert key == b"a-0"
    # A write-key sender is a server: its own IP and user agent are not the visitor's, so they are
    # not stamped (an HTTP library's UA would make every server-side event look like a bot).
    assert first["context"] == {"url": "https://x.example/0"}
    assert first["source"].startswith("write:") and WRITE_KEY not in first["source"]
    assert datetime.fromisoformat(first["received_at"]) > datetime.now(UTC) - timedelta(minutes=1)
    assert by_id[events[5]["event_id"]][0] == b"acme.com"


async def test_batch_accepts_good_events_and_reports_bad_ones_by_index(make_client, kafka_bootstrap) -> None:
    client, topic, _ = await make_client()
    good = page_view()
    bad_ts = page_view(ts="not-a-time")
    nobody = {**page_view(), "anonymous_id": None}
    r = await client.post("/v1/batch", json=[bad_ts, good, nobody, 7], headers=W)
    assert r.status_code == 200
    body = r.json()
    assert body["accepted"] == 1
    assert [x["index"] for x in body["rejected"]] == [0, 2, 3]
    assert body["rejected"][0]["errors"][0]["field"] == "ts"
    got = read_topic(kafka_bootstrap, topic, 1)
    assert [v["event_id"] for _, v in got] == [good["event_id"]]


async def test_batch_with_no_valid_event_is_422_and_produces_nothing(make_client, kafka_bootstrap) -> None:
    client, topic, _ = await make_client()
    r = await client.post("/v1/batch", json=[{"type": "page_view"}], headers=W)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["rejected"][0]["errors"]}
    assert {"event_id", "ts"} <= fields
    assert read_topic(kafka_bootstrap, topic, 0, timeout_s=0.5) == []


async def test_site_key_batch_from_allowed_origin_as_text_plain(make_client, kafka_bootstrap) -> None:
    client, topic, _ = await make_client()
    events = [
        page_view(),
        {**page_view(), "type": "spend", "date": "2026-01-01", "channel": "email", "cost": 1},
    ]
    import orjson

    r = await client.post(
        f"/v1/batch?k={SITE_KEY}",
        content=orjson.dumps(events),
        headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": ORIGIN},
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert r.json()["rejected"] == [
        {"index": 1, "errors": [{"field": "type", "reason": "this event type needs a write key"}]}
    ]
    ((_, got),) = read_topic(kafka_bootstrap, topic, 1)
    assert got["source"] == f"site:{SITE_KEY}"


async def test_pixel_sets_cookie_reads_campaign_from_url_and_keeps_the_id(
    make_client, kafka_bootstrap
) -> None:
    client, topic, _ = await make_client()
    url = "https://shop.example/pricing?utm_source=google&utm_medium=cpc&gclid=G-1"
    params = {"k": SITE_KEY, "url": url, "ref": "https://www.google.com/", "title": "Pricing", "uid": "p-9"}
    r = await client.get("/p.gif", params=params, headers={"Referer": ORIGIN + "/pricing"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/gif" and r.content.startswith(b"GIF89a")
    cookie = r.headers["set-cookie"]
    assert "ts_aid=" in cookie and "Max-Age=63072000" in cookie and "SameSite=lax" in cookie
    aid = r.cookies["ts_aid"]
    r2 = await client.get(
        "/p.gif",
        params={"k": SITE_KEY, "e": "page_view", "url": ORIGIN + "/docs"},
        headers={"Referer": ORIGIN + "/"},
        cookies={"ts_aid": aid},
    )
    assert r2.status_code == 200 and "set-cookie" not in r2.headers
    got = sorted((v for _, v in read_topic(kafka_bootstrap, topic, 2)), key=lambda v: v["context"]["url"])
    first = next(v for v in got if v["context"]["url"] == url)
    assert first["anonymous_id"] == aid and first["person_id"] == "p-9"
    assert first["utm"] == {"source": "google", "medium": "cpc"} and first["click_ids"] == {"gclid": "G-1"}
    assert (
        first["context"]["referrer"] == "https://www.google.com/" and first["context"]["title"] == "Pricing"
    )
    assert {v["anonymous_id"] for v in got} == {aid}


async def test_form_json_and_urlencoded_give_submit_and_identify_with_stable_ids(
    make_client, kafka_bootstrap
) -> None:
    client, topic, _ = await make_client()
    fields = {
        "email": "Jo@Acme.com",
        "website": "https://www.acme.com/about",
        "form_kind": "demo_request",
        "submission_id": "s-1",
        "utm_campaign": "q3",
        "job_title": "CTO",
    }
    r = await client.post("/v1/forms/demo", json=fields, headers=W, cookies={"ts_aid": "anon-7"})
    assert r.status_code == 200 and r.json()["accepted"] == 2
    r = await client.post("/v1/forms/demo", json=fields, headers=W)  # a webhook retry
    assert r.status_code == 200
    r = await client.post(
        "/v1/forms/newsletter", data={"email": "kim@beta.io", "anonymous_id": "anon-8"}, headers=W
    )
    assert r.status_code == 200 and r.json()["accepted"] == 2
    got = [v for _, v in read_topic(kafka_bootstrap, topic, 6)]
    assert len(got) == 6
    demo = [
        v
        for v in got
        if v.get("form_id") == "demo" or (v["type"] == "identify" and v["email"] == "jo@acme.com")
    ]
    ids = {v["event_id"] for v in demo}
    assert ids == {stable_id("form", "demo", "s-1", "submit"), stable_id("form", "demo", "s-1", "identify")}
    submit = next(v for v in demo if v["type"] == "form_submit")
    assert submit["account_domain"] == "acme.com" and submit["form_kind"] == "demo_request"
    assert submit["utm"] == {"campaign": "q3"} and submit["properties"] == {"job_title": "CTO"}
    assert submit["anonymous_id"] == "anon-7"
    news = [v for v in got if v["email"] == "kim@beta.io"]
    assert {v["type"] for v in news} == {"form_submit", "identify"}
    assert {v["anonymous_id"] for v in news} == {"anon-8"}


async def test_crm_hubspot_salesforce_native_map_to_stages_and_retries_keep_ids(
    make_client, kafka_bootstrap
) -> None:
    client, topic, _ = await make_client()
    changes = [
        {
            "subscriptionType": "deal.propertyChange",
            "objectId": 123,
            "propertyName": "dealstage",
            "propertyValue": "closedwon",
            "occurredAt": NOW_MS,
            "eventId": 1,
            "properties": {"amount": "5000", "deal_currency_code": "USD", "company_domain": "acme.com"},
        },
        {
            "Id": "006A",
            "StageName": "Negotiation/Review",
            "Amount": 900,
            "CurrencyIsoCode": "EUR",
            "Account": {"Website": "https://beta.io"},
            "LastModifiedDate": "2026-01-02T03:04:05Z",
        },
        {"stage": "mql", "email": "x@gamma.dev", "ts": NOW_MS},
        {"stage": "pondering", "email": "x@gamma.dev"},
    ]
    r = await client.post("/v1/crm", json=changes, headers=W)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 3
    assert r.json()["rejected"] == [
        {
            "index": 3,
            "errors": [{"field": "stage", "reason": "unknown CRM stage; see the stage mapping table"}],
        }
    ]
    first = {v["event_id"] for _, v in read_topic(kafka_bootstrap, topic, 3)}
    r = await client.post("/v1/crm", json=changes[:3], headers=W)
    got = [v for _, v in read_topic(kafka_bootstrap, topic, 6)]
    assert {v["event_id"] for v in got} == first and len(got) == 6
    by_stage = {v["stage"]: v for v in got}
    assert (
        by_stage["closed_won"]["amount"] == 5000.0 and by_stage["closed_won"]["account_domain"] == "acme.com"
    )
    assert by_stage["closed_won"]["opportunity_id"] == "123"
    assert (
        by_stage["opportunity"]["account_domain"] == "beta.io"
        and by_stage["opportunity"]["currency"] == "EUR"
    )
    assert by_stage["mql"]["email"] == "x@gamma.dev"


async def test_spend_rows_get_one_id_per_day_channel_campaign(make_client, kafka_bootstrap) -> None:
    client, topic, _ = await make_client()
    row = {
        "date": "2026-01-05",
        "channel": "paid_search",
        "campaign": "brand",
        "cost": 120.5,
        "currency": "USD",
    }
    r = await client.post("/v1/spend", json=row, headers=W)
    assert r.status_code == 200 and r.json()["accepted"] == 1
    r = await client.post("/v1/spend", json=[{**row, "cost": 130.0}], headers=W)
    got = [v for _, v in read_topic(kafka_bootstrap, topic, 2)]
    assert {v["event_id"] for v in got} == {stable_id("spend", "2026-01-05", "paid_search", "brand")}
    assert sorted(v["cost"] for v in got) == [120.5, 130.0]


async def test_healthz_and_metrics(make_client) -> None:
    client, _, _ = await make_client()
    assert (await client.get("/healthz")).status_code == 200
    await client.post("/v1/batch", json=[page_view()], headers=W)
    text = (await client.get("/metrics")).text
    assert 'touchstream_collector_events_accepted_total{source="write:' in text
    assert 'touchstream_collector_requests_total{route="batch",status="200"} 1.0' in text
    assert "touchstream_collector_request_seconds_bucket" in text


async def test_pixel_async_ack_answers_at_once_and_still_delivers(make_client, kafka_bootstrap) -> None:
    client, topic, app = await make_client(pixel_ack="async")
    aids = [f"anon-async-{i}" for i in range(20)]
    for aid in aids:
        r = await client.get("/p.gif", params={"k": SITE_KEY, "aid": aid}, headers={"Origin": ORIGIN})
        assert r.status_code == 200 and r.content.startswith(b"GIF89a")
        assert f"ts_aid={aid};" in r.headers["set-cookie"]
    await app.state.collector.producer.flush()  # read_topic blocks the loop the producer runs on
    got = read_topic(kafka_bootstrap, topic, len(aids))
    assert sorted(k.decode() for k, _ in got) == sorted(aids)
    assert sorted(v["anonymous_id"] for _, v in got) == sorted(aids)
    assert app.state.collector.metrics.async_lost._value.get() == 0


async def test_pixel_cookie_with_unusual_id_is_quoted_not_injected(make_client, kafka_bootstrap) -> None:
    client, topic, _ = await make_client()
    r = await client.get("/p.gif", params={"k": SITE_KEY, "aid": "a b;c"}, headers={"Origin": ORIGIN})
    assert r.status_code == 200
    assert r.headers["set-cookie"].startswith('ts_aid="a b;c";') or "\\073" in r.headers["set-cookie"]
    ((key, got),) = read_topic(kafka_bootstrap, topic, 1)
    assert key == b"a b;c" and got["anonymous_id"] == "a b;c"
