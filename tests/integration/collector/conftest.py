"""Collector fixtures: an app per test on its own uuid topic, and a reader that drains that topic."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from collector import EventProducer
from compat.app import create_app  # the app users run: native routes plus compat (the fuzz hits both)
from schemas.settings import Settings
from tests.integration.served import read_records as read_topic  # noqa: F401  (the tests import it from here)

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
