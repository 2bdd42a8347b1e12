"""Shared by the collector and compat integration tests: an ASGI app on a real port, a topic reader."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import uvicorn
from kafka import KafkaConsumer, TopicPartition
from starlette.types import ASGIApp

from embedded.process import free_port
from schemas import jsonio


@contextmanager
def serve(app: ASGIApp, lifespan: Literal["on", "off"] = "off", port: int | None = None) -> Iterator[int]:
    """Run ``app`` with uvicorn in a thread on ``port`` (default: a free one); yields the port."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


def read_records(
    bootstrap: str, topic: str, expected: int, timeout_s: float = 15.0
) -> list[tuple[bytes | None, Any]]:
    """(key, decoded value) of every record of ``topic`` once ``expected`` arrived (+0.3 s of stragglers)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=200)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or set())]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        out: list[tuple[bytes | None, Any]] = []
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
