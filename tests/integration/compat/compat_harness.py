"""Shared by the compat integration tests: the collector (native routes plus compat) on a real port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

from collector import EventProducer
from compat.app import create_app
from schemas.settings import Settings
from tests.integration.served import read_records, serve

WRITE_KEY = "wk-compat-secret"
SITE_KEY = "site-compat"


@dataclass
class Served:
    base: str  # http://127.0.0.1:PORT
    port: int
    events_topic: str
    products_topic: str


@contextmanager
def collector(bootstrap: str, events_topic: str, products_topic: str, **overrides: Any) -> Iterator[Served]:
    """The real collector app (compat.app: native routes plus compat) producing to per-test topics."""
    values: dict[str, Any] = {
        "kafka_bootstrap": bootstrap,
        "write_keys": [WRITE_KEY],
        "site_keys": [SITE_KEY],
        "allowed_origins": ["*"],
        "rate_limit_per_key": 10_000.0,
        **overrides,
    }
    events = EventProducer(bootstrap, events_topic)
    products = EventProducer(bootstrap, products_topic)
    app = create_app(Settings(**values), events)
    app.state.compat.products = products
    # The producers are bound to the server's event loop: start them in its lifespan, before any
    # request (compat's own lifespan hook closes ``products``).
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        for producer in (events, products):
            await producer.start()
        async with inner(a) as state:
            yield state
        await events.close()

    app.router.lifespan_context = lifespan
    with serve(app, lifespan="on") as port:
        yield Served(f"http://127.0.0.1:{port}", port, events_topic, products_topic)


def read_topic(bootstrap: str, topic: str, expected: int, timeout_s: float = 15.0) -> list[dict[str, Any]]:
    """Every record value of ``topic`` once ``expected`` arrived (plus 0.3 s for stragglers)."""
    return [value for _, value in read_records(bootstrap, topic, expected, timeout_s)]
