"""`touchstream up` announces the stack only when it is ready, and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from cli.readiness import scrape
from tests.e2e.up_process import UpProcess, alive, descendants


def test_up_is_ready_when_it_says_so_and_stops_cleanly(up_process: Callable[..., UpProcess]) -> None:
    up = up_process().start()
    endpoints = up.endpoints
    # The moment endpoints.json exists, the collector answers and every worker and sink has joined.
    assert httpx.get(f"{endpoints['collector']}/healthz", timeout=5).status_code == 200
    assert scrape(endpoints["metrics_worker"])[("touchstream_stream_ready", ())] == 1.0
    assert scrape(endpoints["metrics_sink"])[("touchstream_sink_ready", ())] == 1.0
    keys = {"collector", "kafka_bootstrap", "clickhouse_native", "clickhouse_http", "clickhouse_database"}
    assert keys <= set(endpoints)
    assert ("touchpoints",) in up.clickhouse().execute("SHOW TABLES")
    assert (up.home / "kafka" / "s3").is_dir(), "the default broker log is the durable store"
    assert up.proc is not None
    children = descendants(up.proc.pid)
    assert children, "up should run the broker and ClickHouse as child processes"

    assert up.stop() == 0
    deadline = time.monotonic() + 10
    while any(alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(c) for c in children)
    assert not (up.home / "endpoints.json").exists()
