"""First accepted copy wins: stage 1 drops a second copy of an event id before anything reaches the sink.

ClickHouse cannot do it: ``touchpoints`` is a ReplacingMergeTree whose sorting key holds the date
and whose partitions are months, and merges never compare rows across partitions, so a replay dated
another day (or month) stays a second row, and one dated the same day replaces the first (last
insert wins). Stage 1 therefore remembers, per event id, a digest of the first accepted copy, in its
own changelogged table (``dedupe``), written like the ``identity`` table: after the batch's outputs
are acknowledged, on the partition of the event that wrote it (the events topic's partition).

What a later copy of a remembered id gets (:class:`Verdict`):

* ``SAME``: the very bytes of the accepted copy (Kafka redelivery, a crash replaying a batch against
  the state from before it): processed exactly as before; downstream is idempotent.
* ``RETRY``: the same content with other receipt stamps (:data:`RECEIPT_FIELDS`: a client or SDK
  re-sent it and the collector stamped a second receipt): dropped without a trace but a count, so
  every table keeps the first copy's receipt too.
* ``CONFLICT``: other content (a Segment replay of a ``messageId`` with another timestamp or
  context, a re-import): dead-lettered with :data:`REASON`, nothing else produced.

Entries live ``days`` days by arrival (the worker's UTC day), then count as absent; an index per
partition and arrival day (``x:`` keys) lets each batch delete a few expired days' entries, so the
table stays near ``rate * (days + 1)`` entries (docs/streams.md). An entry holds the event id, two
digests and a day: no personal data, so ``touchstream forget`` leaves it.
"""

from __future__ import annotations

import enum
import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

import orjson

from schemas.events import Event, SpendEvent

__all__ = [
    "DAY_S",
    "REASON",
    "RECEIPT_FIELDS",
    "SeenTable",
    "Verdict",
    "content_digest",
    "entry_key",
]

REASON = "duplicate event id: first copy kept"
DAY_S = 86_400
# Stamped by the collector on every event it receives (schemas.events: "set by the collector, never
# trusted from clients"): a second receipt of the same event differs only here.
RECEIPT_FIELDS = frozenset({"received_at", "source"})
DIGEST_BYTES = 16
COPY_BYTES = 8
SWEEP_CHUNKS = 8  # index chunks (<= one batch of ids each) deleted per partition per batch
SWEEP_DAYS = 64  # empty days skipped per partition per batch (a worker that was down for months)
_ENTRY = struct.Struct(f">{DIGEST_BYTES}s{COPY_BYTES}sI")  # content digest, copy digest, arrival day


class Verdict(enum.Enum):
    NEW = "new"
    SAME = "same"
    RETRY = "retry"
    CONFLICT = "conflict"


def content_digest(event: Event) -> bytes:
    """blake2b-128 of the event as validated, keys sorted, without :data:`RECEIPT_FIELDS`.

    Computed on the parsed event, so what the contract normalises (ts to UTC milliseconds, e-mail
    case, domain prefix, key order of properties) is not a difference.
    """
    canonical = orjson.dumps(
        event.model_dump(mode="json", exclude=set(RECEIPT_FIELDS), exclude_none=True),
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.blake2b(canonical, digest_size=DIGEST_BYTES).digest()


def copy_digest(value: bytes) -> bytes:
    """Digest of the message bytes: equal for a redelivery of the same Kafka record."""
    return hashlib.blake2b(value, digest_size=COPY_BYTES).digest()


def entry_key(event_id: UUID | str) -> str:
    return f"e:{event_id}"


def _count_key(partition: int, day: int) -> str:
    return f"x:{partition}:{day}"


def _chunk_key(partition: int, day: int, n: int) -> str:
    return f"x:{partition}:{day}:{n}"


def _swept_key(partition: int) -> str:
    return f"x:{partition}"


def _day_of(entry: bytes) -> int:
    return int(_ENTRY.unpack(entry)[2])


@dataclass(slots=True)
class SeenTable:
    """One batch's view of the ``dedupe`` table: lookups, the entries it adds, its sweep.

    ``writes`` has the shape of :attr:`streams.stage_enrich.BatchOutput.writes`: key -> (value or
    None to delete, index of a batch message on the key's partition).
    """

    load: Callable[[str], bytes | None]
    day: int
    days: int
    writes: dict[str, tuple[bytes | None, int]] = field(default_factory=dict)
    retries: int = 0
    _new: dict[int, list[bytes]] = field(default_factory=dict)  # partition -> new ids (16 bytes)
    _last: dict[int, int] = field(default_factory=dict)  # partition -> last batch index on it
    _digests: tuple[bytes, bytes] = (b"", b"")  # of the copy last checked

    def _get(self, key: str) -> bytes | None:
        if key in self.writes:
            return self.writes[key][0]
        return self.load(key)

    def check(self, event: Event, value: bytes) -> Verdict | None:
        """The verdict on this copy (``value``: its message bytes); None for spend, never deduplicated.

        A spend event's id names a (date, channel, campaign) cell (collector.spend): re-sending the
        cell corrects it, and ClickHouse ``spend`` keeps the last row, as intended.
        """
        if isinstance(event, SpendEvent):
            return None
        digest = content_digest(event)
        copy = copy_digest(value)
        self._digests = (digest, copy)
        stored = self._get(entry_key(event.event_id))
        if stored is None:
            return Verdict.NEW
        first_digest, first_copy, day = _ENTRY.unpack(stored)
        if self.day - day > self.days:
            return Verdict.NEW  # expired: the sweep has not reached it yet
        if first_digest != digest:
            return Verdict.CONFLICT
        return Verdict.SAME if first_copy == copy else Verdict.RETRY

    def accept(self, event: Event, index: int, partition: int) -> None:
        """Remember the copy just checked NEW as the first accepted one (it processed cleanly)."""
        digest, copy = self._digests
        key = entry_key(event.event_id)
        self.writes[key] = (_ENTRY.pack(digest, copy, self.day), index)
        self._new.setdefault(partition, []).append(event.event_id.bytes)

    def seen_partition(self, partition: int, index: int) -> None:
        self._last[partition] = index

    def finish(self) -> None:
        """Index today's new entries and sweep expired days, per partition present in the batch."""
        for partition, index in self._last.items():
            self._sweep(partition, index)
            ids = self._new.get(partition)
            if ids:
                count_key = _count_key(partition, self.day)
                count = int(self._get(count_key) or b"0")
                self.writes[_chunk_key(partition, self.day, count)] = (b"".join(ids), index)
                self.writes[count_key] = (str(count + 1).encode(), index)

    def _sweep(self, partition: int, index: int) -> None:
        horizon = self.day - self.days  # entries of days < horizon are expired
        swept_key = _swept_key(partition)
        stored = self._get(swept_key)
        # First batch on this partition: nothing older than this day was ever recorded here.
        swept = int(stored) if stored is not None else horizon - 1
        start = swept
        chunks, days = SWEEP_CHUNKS, SWEEP_DAYS
        while swept + 1 < horizon and chunks and days:
            day = swept + 1
            count_key = _count_key(partition, day)
            count = int(self._get(count_key) or b"0")
            if count == 0:
                swept, days = day, days - 1
                continue
            chunk_key = _chunk_key(partition, day, count - 1)
            for raw_id in _ids(self._get(chunk_key)):
                key = entry_key(UUID(bytes=raw_id))
                entry = self._get(key)
                if entry is not None and _day_of(entry) == day:  # not re-recorded since
                    self.writes[key] = (None, index)
            self.writes[chunk_key] = (None, index)
            self.writes[count_key] = (str(count - 1).encode() if count > 1 else None, index)
            chunks -= 1
        if stored is None or swept != start:
            self.writes[swept_key] = (str(swept).encode(), index)


def _ids(chunk: bytes | None) -> list[bytes]:
    if not chunk:
        return []
    return [chunk[i : i + 16] for i in range(0, len(chunk), 16)]
