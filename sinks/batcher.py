"""One table's pending batch: decoded rows plus the Kafka offset range they came from.

A batch is due when it holds ``max_rows`` rows or its oldest row waited ``max_age_s``. Its offset
ranges give both the offsets to commit once ClickHouse acknowledged it and the insert
deduplication token: a retry of the same batch carries the same token, so ClickHouse drops the
second copy even when the first insert succeeded but its answer was lost.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

from kafka.structs import OffsetAndMetadata, TopicPartition

from sinks.rows import TableSpec

__all__ = ["Batch", "Reject"]


@dataclass(frozen=True, slots=True)
class Reject:
    """A message that will never insert, kept until its batch commits (then sent to dead letters)."""

    topic: str
    partition: int
    offset: int
    payload: bytes
    reason: str
    field: str


@dataclass(slots=True)
class Batch:
    spec: TableSpec
    max_rows: int
    max_age_s: float
    rows: list[tuple[object, ...]] = field(default_factory=list)
    # Parallel to rows: where each came from, for dead letters found only at flush time.
    origins: list[tuple[TopicPartition, int, bytes]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    # First and last offset per partition in this batch; (first, last) inclusive.
    ranges: dict[TopicPartition, tuple[int, int]] = field(default_factory=dict)
    started: float | None = None

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def empty(self) -> bool:
        return not self.ranges

    def track(self, tp: TopicPartition, first: int, last: int) -> None:
        """Record that offsets ``first..last`` of ``tp`` are in this batch (as rows or rejects)."""
        if self.started is None:
            self.started = time.monotonic()
        known = self.ranges.get(tp)
        self.ranges[tp] = (known[0] if known else first, last)

    def due(self, now: float) -> bool:
        if self.empty:
            return False
        full = len(self.rows) >= self.max_rows
        return full or (self.started is not None and now - self.started >= self.max_age_s)

    def age(self, now: float) -> float:
        return 0.0 if self.started is None else now - self.started

    def token(self) -> str:
        """Deterministic id of this batch's content: table + sorted offset ranges."""
        parts = ",".join(f"{tp.topic}:{tp.partition}:{a}-{b}" for tp, (a, b) in sorted(self.ranges.items()))
        digest = hashlib.sha256(f"{self.spec.table}|{parts}".encode()).hexdigest()[:32]
        return f"ts-sink-{digest}"

    def commit_offsets(self) -> dict[TopicPartition, OffsetAndMetadata]:
        """What to commit after the insert: the next offset to read per partition."""
        return {tp: OffsetAndMetadata(last + 1, "", -1) for tp, (_, last) in self.ranges.items()}

    def first_offsets(self) -> dict[TopicPartition, int]:
        """Where to seek back to when the batch is dropped unwritten (rebalance with ClickHouse down)."""
        return {tp: first for tp, (first, _) in self.ranges.items()}

    def clear(self) -> None:
        self.rows.clear()
        self.origins.clear()
        self.rejects.clear()
        self.ranges.clear()
        self.started = None
