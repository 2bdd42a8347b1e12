"""Prometheus metrics of the stream workers (served by ``touchstream worker`` on its metrics port)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "ASSIGNED_PARTITIONS",
    "BATCH_SECONDS",
    "DEAD_LETTERS",
    "DUPLICATES_DROPPED",
    "EVENTS_IN",
    "LAST_BATCH",
    "RECORDS_OUT",
]

EVENTS_IN = Counter("touchstream_stream_messages_in_total", "Messages consumed", ["stage"])
RECORDS_OUT = Counter("touchstream_stream_records_out_total", "Records produced", ["topic"])
DEAD_LETTERS = Counter("touchstream_stream_dead_letters_total", "Messages sent to dead-letter", ["stage"])
# Copies of an accepted event re-sent with only other receipt stamps (streams.dedupe RETRY); copies
# with other content are dead letters ("duplicate event id: first copy kept").
DUPLICATES_DROPPED = Counter(
    "touchstream_stream_duplicates_dropped_total", "Re-sent copies of an accepted event dropped", ["stage"]
)
BATCH_SECONDS = Histogram(
    "touchstream_stream_batch_seconds",
    "Processing time of one consumed batch (state, outputs, changelog)",
    ["stage"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LAST_BATCH = Gauge(
    "touchstream_stream_last_batch_timestamp_seconds", "Unix time the stage last finished a batch", ["stage"]
)
# Operators see how a rebalance spread the partitions; the bench waits for it before timing.
ASSIGNED_PARTITIONS = Gauge(
    "touchstream_stream_assigned_partitions", "Partitions of each topic assigned to this worker", ["topic"]
)
