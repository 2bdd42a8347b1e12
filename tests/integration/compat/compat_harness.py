"""Shared by the compat integration tests: the collector on a real port, and a Kafka topic reader."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from kafka import KafkaConsumer, TopicPartition
from starlette.types import ASGIApp

from collector import EventProducer
from compat.app import create_app
from embedded.kafka import free_port
from schemas import jsonio
from schemas.settings import Settings

WRITE_KEY = "wk-compat-secret"
SITE_KEY = "site-compat"


@dataclass
class Served:
    base: str  # http://127.0.0.1:PORT
    port: int
    events_topic: str
    products_topic: str


@contextmanager
def serve(app: ASGIApp, lifespan: str = "off") -> Iterator[int]:
    """Run ``app`` with uvicorn in a thread on a free port; yields the port."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


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
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=200)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or set())]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        settle: float | None = None
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                out.extend(jsonio.loads(r.value) for r in records)
            if len(out) >= expected:
                settle = settle or time.monotonic() + 0.3
                if time.monotonic() > settle:
                    break
        return out
    finally:
        consumer.close()
