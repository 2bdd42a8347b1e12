"""Prometheus metrics of the stream workers (served by ``touchstream worker`` on its metrics port)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = ["BATCH_SECONDS", "DEAD_LETTERS", "EVENTS_IN", "RECORDS_OUT"]

EVENTS_IN = Counter("touchstream_stream_messages_in_total", "Messages consumed", ["stage"])
RECORDS_OUT = Counter("touchstream_stream_records_out_total", "Records produced", ["topic"])
DEAD_LETTERS = Counter("touchstream_stream_dead_letters_total", "Messages sent to dead-letter", ["stage"])
BATCH_SECONDS = Histogram(
    "touchstream_stream_batch_seconds",
    "Processing time of one consumed batch (state, outputs, changelog)",
    ["stage"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
