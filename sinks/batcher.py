"""One table's pending batch: the raw Kafka messages and the offset range they came from.

A batch is due when it holds ``max_rows`` messages or its oldest one waited ``max_age_s``. It keeps
the messages undecoded (ClickHouse parses them, see :mod:`sinks.writer`); only a batch that failed
the server-side check is decoded in Python, into ``rows`` / ``origins`` / ``rejects``. Its offset
ranges give both the offsets to commit once ClickHouse acknowledged it and the insert deduplication
token: a retry of the same batch carries the same token, so ClickHouse drops the second copy even
when the first insert succeeded but its answer was lost.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from kafka.structs import TopicPartition

from sinks.rows import TableSpec

__all__ = ["Batch", "Message", "Reject"]


class Message(Protocol):
    """What the batch needs of a consumer record (aiokafka's and kafka-python's both fit)."""

    @property
    def offset(self) -> int: ...

    @property
    def value(self) -> bytes | None: ...


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
    # Fetched message lists as they came, per partition: no per-message Python work on the fast path.
    chunks: list[tuple[TopicPartition, Sequence[Message]]] = field(default_factory=list)
    size: int = 0
    # Set once the batch was decoded in Python (slow path); later retries insert these rows.
    decoded: bool = False
    rows: list[tuple[object, ...]] = field(default_factory=list)
    origins: list[tuple[TopicPartition, int, bytes]] = field(default_factory=list)  # parallel to rows
    rejects: list[Reject] = field(default_factory=list)
    # First and last offset per partition in this batch; (first, last) inclusive.
    ranges: dict[TopicPartition, tuple[int, int]] = field(default_factory=dict)
    started: float | None = None

    def __len__(self) -> int:
        return self.size

    @property
    def empty(self) -> bool:
        return not self.ranges

    def add(self, tp: TopicPartition, messages: Sequence[Message]) -> None:
        """Append one fetched run of ``tp``'s messages (in offset order)."""
        if not messages:
            return
        self.chunks.append((tp, messages))
        self.size += len(messages)
        self.track(tp, messages[0].offset, messages[-1].offset)

    def track(self, tp: TopicPartition, first: int, last: int) -> None:
        """Record that offsets ``first..last`` of ``tp`` are in this batch."""
        if self.started is None:
            self.started = time.monotonic()
        known = self.ranges.get(tp)
        self.ranges[tp] = (known[0] if known else first, last)

    def values(self) -> list[bytes]:
        """The payloads in order; a tombstone (no value) becomes ``b""``, which the check rejects."""
        return [m.value or b"" for _, messages in self.chunks for m in messages]

    def due(self, now: float) -> bool:
        if self.empty:
            return False
        return self.size >= self.max_rows or (
            self.started is not None and now - self.started >= self.max_age_s
        )

    def age(self, now: float) -> float:
        return 0.0 if self.started is None else now - self.started

    def token(self) -> str:
        """Deterministic id of this batch's content: table + sorted offset ranges."""
        parts = ",".join(f"{tp.topic}:{tp.partition}:{a}-{b}" for tp, (a, b) in sorted(self.ranges.items()))
        digest = hashlib.sha256(f"{self.spec.table}|{parts}".encode()).hexdigest()[:32]
        return f"ts-sink-{digest}"

    def commit_offsets(self) -> dict[TopicPartition, int]:
        """What to commit after the insert: the next offset to read per partition."""
        return {tp: last + 1 for tp, (_, last) in self.ranges.items()}

    def clear(self) -> None:
        self.chunks.clear()
        self.size = 0
        self.decoded = False
        self.rows.clear()
        self.origins.clear()
        self.rejects.clear()
        self.ranges.clear()
        self.started = None
