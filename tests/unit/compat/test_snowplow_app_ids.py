"""TOUCHSTREAM_SNOWPLOW_APP_IDS: a listed appId is a public site identity (origins, rate limit)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from compat.app import create_app
from schemas.settings import Settings
from tests.unit.compat.test_routes import RecordingProducer

pytestmark = pytest.mark.anyio
ORIGIN = "https://www.acme.com"
TP2 = "/com.snowplowanalytics.snowplow/tp2"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _client(rate: float = 0) -> tuple[httpx.AsyncClient, RecordingProducer]:
    settings = Settings(
        write_keys=[SecretStr("wk")],
        site_keys=["sk"],
        snowplow_app_ids=["web", "ios"],
        allowed_origins=[ORIGIN],
        rate_limit_per_key=rate,
    )
    events = RecordingProducer()
    app = create_app(settings, producer=events)  # type: ignore[arg-type]
    app.state.compat.products = RecordingProducer()
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://c.test"), events


def _body(app_id: str) -> dict[str, Any]:
    return {"data": [{"e": "pv", "eid": str(uuid.uuid4()), "aid": app_id, "duid": "d", "url": ORIGIN}]}


async def test_listed_app_id_from_an_allowed_origin_is_accepted() -> None:
    client, events = _client()
    post = await client.post(TP2, json=_body("web"), headers={"Origin": ORIGIN})
    assert post.status_code == 200, post.text
    pixel = await client.get(
        "/i", params={"e": "pv", "aid": "ios", "duid": "d"}, headers={"Referer": ORIGIN + "/x"}
    )
    assert pixel.status_code == 200
    assert [e["type"] for e in events.values()] == ["page_view", "page_view"]


async def test_listed_app_id_keeps_the_origin_check() -> None:
    client, events = _client()
    post = await client.post(TP2, json=_body("web"), headers={"Origin": "https://evil.example"})
    assert post.status_code == 403
    assert (await client.post(TP2, json=_body("android"), headers={"Origin": ORIGIN})).status_code == 401
    assert events.records == []


async def test_listed_app_id_is_rate_limited_like_a_site_key() -> None:
    client, _ = _client(rate=1)
    first = await client.post(TP2, json=_body("web"), headers={"Origin": ORIGIN})
    second = await client.post(TP2, json=_body("web"), headers={"Origin": ORIGIN})
    assert (first.status_code, second.status_code) == (200, 429)
    assert "retry-after" in second.headers
