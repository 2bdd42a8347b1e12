# ruff: noqa: E501 - fixtures, user agents and SQL clauses read best on one line
"""Stream worker subprocesses on uuid-suffixed topics, and helpers to feed and read them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer

from embedded.process import spawn_child, stop_child
from schemas import jsonio
from streams.config import StreamTopics

ROOT = Path(__file__).resolve().parents[3]


class Workers:
    """Start / kill ``touchstream worker`` processes sharing one suffix (= one app, one topic set)."""

    def __init__(self, bootstrap: str, home: Path, suffix: str) -> None:
        self.bootstrap, self.home, self.suffix = bootstrap, home, suffix
        self.topics = StreamTopics.with_suffix(suffix)
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(
        self, replica: int = 0, brand_terms: str = "northwind", metrics_port: int | None = None
    ) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "TOUCHSTREAM_KAFKA_BOOTSTRAP": self.bootstrap,
            "TOUCHSTREAM_HOME": str(self.home),
            "TOUCHSTREAM_EMBEDDED_BROKER": "1",
            "TOUCHSTREAM_REPLICA": str(replica),
            "TOUCHSTREAM_BRAND_TERMS": brand_terms,
            "TOUCHSTREAM_LOG_LEVEL": os.environ.get("STREAMS_TEST_LOG_LEVEL", "WARNING"),
        }
        if metrics_port is not None:
            env["TOUCHSTREAM_METRICS_PORT"] = str(metrics_port)
        proc = spawn_child(
            [sys.executable, "-m", "cli.main", "worker", "--topic-suffix", self.suffix],
            log_file=self.home / "logs" / f"worker-{self.suffix}-{replica}.log",
            env=env,
            cwd=ROOT,
        )
        self.procs.append(proc)
        return proc

    def log(self) -> str:
        logs = sorted((self.home / "logs").glob(f"worker-{self.suffix}-*.log"))
        return "\n".join(p.read_text(errors="replace")[-4000:] for p in logs)

    def stop_all(self) -> None:
        for proc in self.procs:
            stop_child(proc, grace_s=10)


def produce(bootstrap: str, topic: str, events: list[dict[str, Any]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for event in events:
            key = (
                event.get("anonymous_id")
                or event.get("email")
                or event.get("account_domain")
                or event["event_id"]
            )
            producer.send(topic, jsonio.dumps(event), key=str(key).encode())
        producer.flush()
    finally:
        producer.close()


def read_until(
    bootstrap: str, topic: str, done: Callable[[list[dict[str, Any]]], bool], timeout_s: float = 60.0
) -> list[dict[str, Any]]:
    """Every record of ``topic`` from the start, polling until ``done(records)`` or the deadline."""
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False,
        group_id=None, consumer_timeout_ms=500,
    )  # fmt: skip
    records: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(jsonio.loads(m.value) for m in batch)
            if done(records):
                return records
    finally:
        consumer.close()
    return records


def metrics(port: int) -> dict[str, float]:
    """A worker's ``touchstream_stream_*`` samples as {'name{labels}': value}; {} until it serves."""
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    except OSError:
        return {}
    samples = (line.rpartition(" ") for line in text.splitlines() if line.startswith("touchstream_stream"))
    return {name: float(value) for name, _, value in samples}
