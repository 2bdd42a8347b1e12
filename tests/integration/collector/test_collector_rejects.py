"""Bad input, keys, CORS, rate limits and a broker that goes away: the answers, and nothing leaked."""

from __future__ import annotations

import gzip
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
from conftest import ORIGIN, SITE_KEY, WRITE_KEY, collector_settings, read_topic

from collector import EventProducer, create_app
from embedded.kafka import EmbeddedKafka

pytestmark = [pytest.mark.integration, pytest.mark.anyio]
W = {"X-Write-Key": WRITE_KEY}
MARKER = "ZZ-echo-marker-9f1"  # must never come back in an error body


def pv(**extra: object) -> dict[str, object]:
    ts = int(datetime.now(UTC).timestamp() * 1000)
    return {"event_id": str(uuid.uuid4()), "type": "page_view", "ts": ts, "anonymous_id": "a", **extra}


CASES = [
    # (name, method, path, kwargs, status, field named in the errors or None)
    (
        "wrong content type",
        "POST",
        "/v1/batch",
        {"content": b"[]", "headers": {**W, "Content-Type": "application/xml"}},
        415,
        None,
    ),
    ("form-encoded crm", "POST", "/v1/crm", {"data": {"stage": "mql"}, "headers": W}, 415, None),
    (
        "declared too large",
        "POST",
        "/v1/batch",
        {"content": b"[" + b" " * 600_000 + b"]", "headers": {**W, "Content-Type": "application/json"}},
        413,
        None,
    ),
    (
        "invalid json",
        "POST",
        "/v1/batch",
        {"content": b"[{" + MARKER.encode(), "headers": {**W, "Content-Type": "application/json"}},
        400,
        "$",
    ),
    ("object body", "POST", "/v1/batch", {"json": {"events": [MARKER]}, "headers": W}, 400, "$"),
    ("empty batch", "POST", "/v1/batch", {"json": [], "headers": W}, 400, None),
    ("bad email", "POST", "/v1/batch", {"json": [pv(email=MARKER)], "headers": W}, 422, "email"),
    ("unknown field", "POST", "/v1/batch", {"json": [pv(**{MARKER: 1})], "headers": W}, 422, MARKER),
    (
        "spend no cost",
        "POST",
        "/v1/spend",
        {"json": {"date": "2026-01-01", "channel": "email"}, "headers": W},
        422,
        "cost",
    ),
    (
        "spend bad channel",
        "POST",
        "/v1/spend",
        {"json": {"date": "2026-01-01", "channel": MARKER, "cost": 1}, "headers": W},
        422,
        "channel",
    ),
    ("crm no stage", "POST", "/v1/crm", {"json": {"email": "a@b.co"}, "headers": W}, 422, "stage"),
    ("form without anyone", "POST", "/v1/forms/f1", {"json": {"note": MARKER}, "headers": W}, 422, None),
    ("no key", "POST", "/v1/batch", {"json": [pv()]}, 401, None),
    ("wrong write key", "POST", "/v1/batch", {"json": [pv()], "headers": {"X-Write-Key": MARKER}}, 401, None),
    (
        "site key on crm",
        "POST",
        f"/v1/crm?k={SITE_KEY}",
        {"json": {"stage": "mql"}, "headers": {"Origin": ORIGIN}},
        401,
        None,
    ),
    (
        "unknown site key",
        "POST",
        f"/v1/batch?k={MARKER}",
        {"json": [pv()], "headers": {"Origin": ORIGIN}},
        401,
        None,
    ),
    (
        "site key, bad origin",
        "POST",
        f"/v1/batch?k={SITE_KEY}",
        {"json": [pv()], "headers": {"Origin": "https://evil.example"}},
        403,
        None,
    ),
    ("pixel without key", "GET", "/p.gif", {}, 401, None),
    (
        "pixel bad type",
        "GET",
        f"/p.gif?k={SITE_KEY}&e={MARKER}",
        {"headers": {"Referer": ORIGIN + "/"}},
        422,
        "type",
    ),
]


@pytest.mark.parametrize(
    ("name", "method", "path", "kwargs", "status", "field"), CASES, ids=[c[0] for c in CASES]
)
async def test_bad_input_answers(make_client, name, method, path, kwargs, status, field) -> None:
    client, _, _ = await make_client()
    r = await client.request(method, path, **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    assert MARKER not in r.text
    body = r.json()
    assert "error" in body
    if field is not None:
        errors = body.get("errors") or [e for x in body.get("rejected", []) for e in x["errors"]]
        assert field in {e["field"] for e in errors} or (field == MARKER and errors)


async def test_oversized_event_in_a_batch_is_rejected_alone(make_client, kafka_bootstrap) -> None:
    client, topic, _ = await make_client()
    big = pv(properties={"blob": "x" * 40_000})
    small = pv()
    r = await client.post("/v1/batch", json=[big, small], headers=W)
    assert r.status_code == 200
    assert r.json()["rejected"] == [
        {"index": 0, "errors": [{"field": "$", "reason": "event exceeds 32768 bytes"}]}
    ]
    assert [v["event_id"] for _, v in read_topic(kafka_bootstrap, topic, 1)] == [small["event_id"]]


async def test_gzip_body_and_basic_auth_user_as_write_key(make_client, kafka_bootstrap) -> None:
    client, topic, _ = await make_client()
    body = gzip.compress(orjson.dumps([pv()]))
    r = await client.post(
        "/v1/batch",
        content=body,
        auth=(WRITE_KEY, ""),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert r.status_code == 200 and r.json()["accepted"] == 1
    assert len(read_topic(kafka_bootstrap, topic, 1)) == 1


async def test_cors_preflight(make_client) -> None:
    client, _, _ = await make_client()
    ok = await client.options(
        "/v1/batch", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in ok.headers["access-control-allow-methods"]
    bad = await client.options("/v1/batch", headers={"Origin": "https://evil.example"})
    assert bad.status_code == 403 and "access-control-allow-origin" not in bad.headers


async def test_rate_limit_per_key_answers_429_with_retry_after(make_client) -> None:
    client, _, _ = await make_client(rate_limit_per_key=2.0)
    codes = [
        (await client.get("/p.gif", params={"k": SITE_KEY}, headers={"Origin": ORIGIN})).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    r = await client.post("/v1/batch", json=[pv()], headers=W)  # another key has its own bucket
    assert r.status_code == 200
    r = await client.get("/p.gif", params={"k": SITE_KEY}, headers={"Origin": ORIGIN})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


async def test_trusted_proxy_forwarded_for_and_ip_hash(make_client, kafka_bootstrap) -> None:
    client, topic, _ = await make_client(trusted_proxies=["127.0.0.1"], ip_privacy="hash")
    # A browser behind our proxy (site key): the visitor's address comes from X-Forwarded-For.
    r = await client.post(
        "/v1/batch",
        params={"k": SITE_KEY},
        json=[pv()],
        headers={"Origin": ORIGIN, "X-Forwarded-For": "198.51.100.23, 127.0.0.1"},
    )
    assert r.status_code == 200
    # A server (write key) may send its visitor's IP itself; it is hashed the same way.
    r = await client.post("/v1/batch", json=[pv(context={"ip": "198.51.100.23"})], headers=W)
    assert r.status_code == 200
    (_, browser), (_, server) = read_topic(kafka_bootstrap, topic, 2)
    assert browser["context"]["ip"].startswith("h:") and "198.51" not in browser["context"]["ip"]
    assert server["context"]["ip"] == browser["context"]["ip"]


@pytest.mark.parametrize("per_partition", [False, True], ids=["one client", "client per partition"])
async def test_broker_down_answers_503_with_retry_after(
    tmp_path: Path, kafka_bootstrap, per_partition
) -> None:
    broker = EmbeddedKafka(tmp_path).start()
    producer = EventProducer(
        broker.bootstrap,
        "down-test",
        delivery_timeout_ms=2000,
        retry_after_s=3,
        client_per_partition=per_partition,
    )
    app = create_app(collector_settings(broker.bootstrap), producer)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://c.test") as client:
            assert (await client.post("/v1/batch", json=[pv()], headers=W)).status_code == 200
            broker.stop()
            r = await client.post("/v1/batch", json=[pv(), pv()], headers=W)
            assert r.status_code == 503 and r.headers["retry-after"] == "3"
            assert "retry" in r.json()["error"]
            r = await client.get("/p.gif", params={"k": SITE_KEY}, headers={"Origin": ORIGIN})
            assert r.status_code == 503  # answered at once by the reachability probe
            assert (await client.get("/healthz")).status_code == 503
            metrics = (await client.get("/metrics")).text
            assert "touchstream_collector_broker_down_responses_total 2.0" in metrics
    finally:
        broker.stop()
        await producer.close()
