"""Prometheus metrics of the sink (served by ``touchstream sink`` on TOUCHSTREAM_METRICS_PORT)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = ["BATCH_SECONDS", "DEAD_LETTERS", "LAG", "READY", "RETRIES", "ROWS_INSERTED", "STALLED"]

ROWS_INSERTED = Counter("touchstream_sink_rows_inserted", "Rows acknowledged by ClickHouse", ["table"])
BATCH_SECONDS = Histogram(
    "touchstream_sink_batch_seconds",
    "Time to insert one batch, retries included",
    ["table"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RETRIES = Counter("touchstream_sink_retries", "Batch inserts retried because ClickHouse failed", ["table"])
DEAD_LETTERS = Counter("touchstream_sink_dead_letters", "Rows sent to the dead-letter topic", ["topic"])
LAG = Gauge("touchstream_sink_lag", "Messages not yet consumed, from fetch high-water marks", ["topic"])
STALLED = Gauge("touchstream_sink_stalled", "1 while the sink is backing off from a failing ClickHouse")
READY = Gauge("touchstream_sink_ready", "1 once the sink joined its consumer group and got its partitions")
