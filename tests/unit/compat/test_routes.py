"""The compat endpoints in-process (httpx.ASGITransport), with a recording producer instead of Kafka."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from compat.app import create_app
from schemas.settings import Settings

pytestmark = pytest.mark.anyio
WRITE_KEY, SITE_KEY = "wk-secret", "sk-public"
ORIGIN = "https://www.acme.com"


class RecordingProducer:
    """Stands in for EventProducer: keeps what would be produced (narrow unit test, no broker)."""

    bootstrap = "127.0.0.1:1"
    retry_after_s = 5

    def __init__(self) -> None:
        self.records: list[tuple[bytes, bytes]] = []

    async def send(self, records: Sequence[tuple[bytes, bytes]]) -> None:
        self.records.extend(records)

    async def reachable(self, timeout_s: float = 1.0) -> bool:
        return True

    async def close(self) -> None:
        return None

    def values(self) -> list[dict[str, Any]]:
        return [json.loads(v) for _, v in self.records]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def env() -> tuple[httpx.AsyncClient, RecordingProducer, RecordingProducer]:
    settings = Settings(
        write_keys=[SecretStr(WRITE_KEY)],
        site_keys=[SITE_KEY],
        allowed_origins=[ORIGIN],
        rate_limit_per_key=0,
    )
    events, products = RecordingProducer(), RecordingProducer()
    app = create_app(settings, producer=events)  # type: ignore[arg-type]
    app.state.compat.products = products
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://collector.test")
    return client, events, products


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


TRACK = {
    "event": "Demo Requested",
    "anonymousId": "a-1",
    "messageId": "m-1",
    "properties": {"form_id": "demo"},
}


async def test_single_call_with_each_auth_style(env: Any) -> None:
    client, events, _ = env
    r1 = await client.post("/v1/track", json=TRACK, headers=basic(WRITE_KEY))
    r2 = await client.post("/v1/track", json=TRACK, headers={"X-Write-Key": WRITE_KEY})
    r3 = await client.post("/v1/track", json={**TRACK, "writeKey": WRITE_KEY})
    assert [r.status_code for r in (r1, r2, r3)] == [200, 200, 200]
    assert r1.json() == {"success": True}
    sent = events.values()
    assert [e["type"] for e in sent] == ["form_submit"] * 3
    assert len({e["event_id"] for e in sent}) == 1  # the same messageId is the same event
    assert sent[0]["source"].startswith("write:")


@pytest.mark.parametrize(
    "headers",
    [{}, basic("wrong"), {"X-Write-Key": "wrong"}, {"Authorization": "Bearer token"}],
)
async def test_wrong_or_missing_keys_get_401(env: Any, headers: dict[str, str]) -> None:
    client, events, _ = env
    response = await client.post("/v1/page", json={"anonymousId": "a"}, headers=headers)
    assert response.status_code == 401
    assert events.records == []


async def test_body_key_must_be_known(env: Any) -> None:
    client, _, _ = env
    response = await client.post("/v1/page", json={"anonymousId": "a", "writeKey": "nope"})
    assert response.status_code == 401
    assert response.json()["error"] == "unknown write key"


async def test_analytics_js_short_paths_with_a_site_key_from_an_allowed_origin(env: Any) -> None:
    client, events, _ = env
    body = json.dumps({"type": "page", "anonymousId": "a", "writeKey": SITE_KEY})
    headers = {**basic(SITE_KEY), "Content-Type": "text/plain", "Origin": ORIGIN}
    ok = await client.post("/v1/p", content=body, headers=headers)
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == ORIGIN
    denied = await client.post("/v1/p", content=body, headers={**headers, "Origin": "https://evil.example"})
    assert denied.status_code == 403
    assert [e["type"] for e in events.values()] == ["page_view"]
    preflight = await client.options(
        "/v1/t", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 204
    assert "Authorization" in preflight.headers["access-control-allow-headers"]


async def test_unknown_single_call_is_404(env: Any) -> None:
    client, _, _ = env
    assert (await client.post("/v1/nope", json={}, headers=basic(WRITE_KEY))).status_code == 404


async def test_segment_batch_on_v1_batch_keeps_good_messages_and_routes_product_events(env: Any) -> None:
    client, events, products = env
    body = {
        "batch": [
            {"type": "identify", "userId": "u-1", "anonymousId": "a-1", "traits": {"email": "x@initech.com"}},
            {"type": "alias", "userId": "u-1"},  # no previousId: rejected alone
            {"type": "track", "event": "Report Exported", "userId": "u-1", "properties": {"rows": 3}},
            {
                "type": "page",
                "anonymousId": "a-1",
                "properties": {"url": "https://acme.com"},
                "timestamp": "then",
            },
        ],
        "sentAt": "2026-03-02T12:00:00Z",
    }
    response = await client.post(
        "/v1/batch", content=gzip.compress(json.dumps(body).encode()),
        headers={**basic(WRITE_KEY), "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["success"] is True and answer["accepted"] == 2
    assert [(r["index"], r["errors"][0]["field"]) for r in answer["rejected"]] == [
        (1, "previousId"),
        (3, "timestamp"),
    ]
    assert [e["type"] for e in events.values()] == ["identify"]
    [product] = products.values()
    assert (product["name"], product["person_id"], json.loads(product["properties"])) == (
        "Report Exported", "u-1", {"rows": 3},
    )  # fmt: skip


async def test_native_array_still_works_on_v1_batch(env: Any) -> None:
    client, events, _ = env
    event = {
        "event_id": str(uuid.uuid4()),
        "type": "page_view",
        "ts": "2026-03-01T00:00:00Z",
        "anonymous_id": "a",
    }
    response = await client.post("/v1/batch", json=[event], headers={"X-Write-Key": WRITE_KEY})
    assert response.status_code == 200
    assert events.values()[0]["event_id"] == event["event_id"]


async def test_all_bad_batch_is_400(env: Any) -> None:
    client, events, _ = env
    response = await client.post("/v1/b", json={"batch": [{"type": "alias"}], "writeKey": WRITE_KEY})
    assert response.status_code == 400
    assert response.json()["rejected"][0]["index"] == 0
    assert events.records == []


async def test_limits_name_the_limit(env: Any) -> None:
    client, _, _ = env
    big = {"anonymousId": "a", "properties": {"blob": "x" * (33 * 1024)}}
    single = await client.post("/v1/page", json=big, headers=basic(WRITE_KEY))
    assert single.status_code == 400 and "32 KB" in single.json()["error"]
    huge = {"batch": [{"type": "page", "anonymousId": "a", "properties": {"b": "x" * 30_000}}] * 20}
    batch = await client.post("/v1/b", json=huge, headers=basic(WRITE_KEY))
    assert batch.status_code == 400 and "500 KB" in batch.json()["error"]
    bad_json = await client.post(
        "/v1/track", content=b"{", headers={**basic(WRITE_KEY), "Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400


async def test_segment_settings_point_analytics_js_back_here(env: Any) -> None:
    client, _, _ = env
    response = await client.get(f"/v1/projects/{SITE_KEY}/settings", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    io = response.json()["integrations"]["Segment.io"]
    assert (io["apiKey"], io["apiHost"], io["protocol"]) == (SITE_KEY, "collector.test/v1", "http")
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert (await client.get("/v1/projects/unknown/settings")).status_code == 401


async def test_snowplow_post_and_pixel(env: Any) -> None:
    client, events, products = env
    eid = str(uuid.uuid4())
    body = {"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4",
            "data": [{"e": "pv", "eid": eid, "aid": SITE_KEY, "duid": "d", "url": "https://acme.com/"},
                     {"e": "pp", "eid": str(uuid.uuid4()), "aid": SITE_KEY, "duid": "d"},
                     {"e": "se", "aid": SITE_KEY, "duid": "d"}]}  # fmt: skip
    post = await client.post("/com.snowplowanalytics.snowplow/tp2", json=body, headers={"Origin": ORIGIN})
    assert post.status_code == 200
    assert post.json()["accepted"] == 2 and post.json()["rejected"][0]["index"] == 2
    pixel = await client.get("/i", params={"e": "pv", "aid": SITE_KEY, "duid": "d", "eid": str(uuid.uuid4())},
                             headers={"Referer": ORIGIN + "/page"})  # fmt: skip
    assert pixel.status_code == 200 and pixel.headers["content-type"] == "image/gif"
    assert [e["type"] for e in events.values()] == ["page_view", "page_view"]
    assert events.values()[0]["event_id"] == eid
    assert [p["name"] for p in products.values()] == ["page_ping"]


async def test_snowplow_needs_a_known_app_id(env: Any) -> None:
    client, events, _ = env
    body = {"data": [{"e": "pv", "aid": "someone-else", "duid": "d"}]}
    assert (await client.post("/com.snowplowanalytics.snowplow/tp2", json=body)).status_code == 401
    assert (await client.get("/i", params={"e": "pv", "duid": "d"})).status_code == 401
    assert events.records == []
