"""Collector fixtures: an app per test on its own uuid topic, and a reader that drains that topic."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from kafka import KafkaConsumer, TopicPartition

from collector import EventProducer
from compat.app import create_app  # the app users run: native routes plus compat (the fuzz hits both)
from schemas import jsonio
from schemas.settings import Settings

WRITE_KEY = "wk-test-secret"
SITE_KEY = "site-test"
ORIGIN = "https://shop.example"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def collector_settings(bootstrap: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "kafka_bootstrap": bootstrap,
        "write_keys": [WRITE_KEY],
        "site_keys": [SITE_KEY],
        "allowed_origins": [ORIGIN],
        "rate_limit_per_key": 10_000.0,
    }
    values.update(overrides)
    return Settings(**values)


def read_topic(bootstrap: str, topic: str, expected: int, timeout_s: float = 15.0) -> list[tuple[bytes, Any]]:
    """All records of ``topic`` once ``expected`` arrived, plus anything that follows within 0.3 s."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=200)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        out: list[tuple[bytes, Any]] = []
        deadline = time.monotonic() + timeout_s
        settle: float | None = None
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                out.extend((r.key, jsonio.loads(r.value)) for r in records)
            if len(out) >= expected:
                settle = settle or time.monotonic() + 0.3
                if time.monotonic() > settle:
                    break
        return out
    finally:
        consumer.close()


@pytest.fixture
async def make_client(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> AsyncIterator[Callable[..., Any]]:
    """``await make_client(**settings_overrides)`` -> (httpx client, topic, app)."""
    opened: list[tuple[httpx.AsyncClient, EventProducer]] = []

    async def make(**overrides: Any) -> tuple[httpx.AsyncClient, str, Any]:
        topic = topic_factory(partitions=4, prefix="collector")
        producer = EventProducer(kafka_bootstrap, topic)
        app = create_app(collector_settings(kafka_bootstrap, **overrides), producer)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://collector.test")
        opened.append((client, producer))
        return client, topic, app

    yield make
    for client, producer in opened:
        await client.aclose()
        await producer.close()
