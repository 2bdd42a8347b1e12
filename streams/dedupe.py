"""First accepted copy wins: stage 1 drops a second copy of an event id before anything reaches the sink.

ClickHouse cannot do it: ``touchpoints`` is a ReplacingMergeTree whose sorting key holds the date
and whose partitions are months, and merges never compare rows across partitions, so a replay dated
another day (or month) stays a second row, and one dated the same day replaces the first (last
insert wins). Stage 1 therefore remembers, per event id, digests of the first accepted copy in its
own changelogged table (``dedupe``, see :class:`SeenTable`), written like the ``identity`` table:
after the batch's outputs are acknowledged, on the partition of the events that wrote it.

What a later copy of a remembered id gets (:class:`Verdict`):

* ``SAME``: the very bytes of the accepted copy (Kafka redelivery, a crash replaying a batch against
  the state from before it): processed exactly as before; downstream is idempotent.
* ``RETRY``: the same content with other receipt stamps (:data:`RECEIPT_FIELDS`: a client or SDK
  re-sent it and the collector stamped a second receipt): dropped, only counted, so every table
  keeps the first copy's receipt too.
* ``CONFLICT``: other content (a Segment replay of a ``messageId`` with another timestamp or
  context, a re-import): dead-lettered with :data:`REASON`, nothing else produced.

Entries live ``days`` days by arrival (the worker's UTC day), then count as absent; each batch
deletes a few expired chunks per partition, so the table holds about ``days + 1`` days of intake.
An entry holds the event id, two digests and a day: no personal data, so ``touchstream forget``
leaves it.
"""

from __future__ import annotations

import enum
import hashlib
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from uuid import UUID

import orjson

from schemas.events import Event, SpendEvent

__all__ = [
    "DAY_S",
    "REASON",
    "RECEIPT_FIELDS",
    "SEED_PREFIX",
    "SeenTable",
    "Verdict",
    "apply_index",
    "content_digest",
    "index_of",
    "seed_envelope",
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
_DAY = struct.Struct(">I")
# Rebuilt from ClickHouse (streams.rebuild): the id is known, its first copy's content is not.
_UNKNOWN = bytes(DIGEST_BYTES + COPY_BYTES)
# A control envelope on touchstream.events (as streams.erasure's): ids the sink already holds,
# re-seeded after the broker log (and the changelog with it) was lost.
SEED_PREFIX = b'{"$control":"seen"'
_RECORD = 16 + DIGEST_BYTES + COPY_BYTES  # a chunk's record: event id, content digest, copy digest


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


def _count_key(partition: int, day: int) -> str:
    return f"x:{partition}:{day}"


def _chunk_key(partition: int, day: int, n: int) -> str:
    return f"x:{partition}:{day}:{n}"


def _swept_key(partition: int) -> str:
    return f"x:{partition}"


def _records(chunk: bytes | None) -> list[tuple[bytes, bytes]]:
    """(event id, digests) of each 40-byte record of a chunk."""
    if not chunk:
        return []
    return [(chunk[i : i + 16], chunk[i + 16 : i + _RECORD]) for i in range(0, len(chunk), _RECORD)]


def index_of(items: Iterable[tuple[bytes, bytes | None]]) -> dict[bytes, bytes]:
    """The worker's in-memory index (event id -> entry) from the ``dedupe`` table's items.

    Built when partitions are assigned, after faust restored the table from its changelog.
    """
    index: dict[bytes, bytes] = {}
    for key, value in items:
        parts = key.split(b":")
        if len(parts) != 4 or value is None:  # a count or a swept mark
            continue
        day = int(parts[2])
        for event_id, digests in _records(value):
            old = index.get(event_id)
            if old is None or _day_of(old) < day:
                index[event_id] = digests + _DAY.pack(day)
    return index


def apply_index(index: dict[bytes, bytes], changes: dict[bytes, bytes | None]) -> None:
    """Apply a batch's :attr:`SeenTable.entries` once its table writes are done."""
    for event_id, entry in changes.items():
        if entry is None:
            index.pop(event_id, None)
        else:
            index[event_id] = entry


def seed_envelope(ids: list[tuple[str, int]]) -> bytes:
    """``{"$control":"seen","ids":[[event id, arrival day], ...]}``: what :meth:`SeenTable.seed` reads."""
    return orjson.dumps({"$control": "seen", "ids": [[event_id, day] for event_id, day in ids]})


def _day_of(entry: bytes) -> int:
    return int(_DAY.unpack_from(entry, DIGEST_BYTES + COPY_BYTES)[0])


@dataclass(slots=True)
class SeenTable:
    """One batch's view of the first copies: lookups, the copies it remembers, its sweep.

    Storage (why: a faust table write costs more than all of stage 1's logic per event, so the
    table gets one write per partition per batch, not one per event): the ``dedupe`` table holds,
    per partition and arrival day, chunks ``x:<partition>:<day>:<n>`` of 40-byte records (event id,
    content digest, copy digest) — one chunk per batch — with a chunk count ``x:<partition>:<day>``
    and the last swept day ``x:<partition>``. Lookups go to ``index``, the worker's in-memory map
    event id -> entry (digests + day) rebuilt from the table (:func:`index_of`) when partitions are
    assigned and kept up to date with :attr:`entries` (:func:`apply_index`).

    ``writes`` has the shape of :attr:`streams.stage_enrich.BatchOutput.writes`: key -> (value or
    None to delete, index of a batch message on the key's partition).
    """

    index: Mapping[bytes, bytes]
    table: Callable[[str], bytes | None]
    day: int
    days: int
    writes: dict[str, tuple[bytes | None, int]] = field(default_factory=dict)
    entries: dict[bytes, bytes | None] = field(default_factory=dict)  # index changes (None: forget)
    _new: dict[tuple[int, int], list[bytes]] = field(default_factory=dict)  # (partition, day) -> records
    _last: dict[int, int] = field(default_factory=dict)  # partition -> last batch index on it
    _digests: bytes = b""  # of the copy last checked

    def _get(self, key: str) -> bytes | None:
        if key in self.writes:
            return self.writes[key][0]
        return self.table(key)

    def _entry(self, event_id: bytes) -> bytes | None:
        if event_id in self.entries:
            return self.entries[event_id]
        return self.index.get(event_id)

    def check(self, event: Event, value: bytes) -> Verdict | None:
        """The verdict on this copy (``value``: its message bytes); None for spend, never deduplicated.

        A spend event's id names a (date, channel, campaign) cell (collector.spend): re-sending the
        cell corrects it, and ClickHouse ``spend`` keeps the last row, as intended.
        """
        if isinstance(event, SpendEvent):
            return None
        digest = content_digest(event)
        copy = copy_digest(value)
        self._digests = digest + copy
        stored = self._entry(event.event_id.bytes)
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
        event_id = event.event_id.bytes
        self.entries[event_id] = self._digests + _DAY.pack(self.day)
        self._new.setdefault((partition, self.day), []).append(event_id + self._digests)

    def seed(self, value: bytes, partition: int) -> None:
        """Remember the ids of a seed envelope (:func:`seed_envelope`) still inside the window.

        Their content is unknown, so any later copy of them is a conflict (a dead letter): the first
        copy is in ClickHouse already. Raises ``ValueError`` for a malformed envelope.
        """
        body = orjson.loads(value)
        ids = body.get("ids") if isinstance(body, dict) else None
        if not isinstance(ids, list):
            raise ValueError(f"malformed seed envelope {value[:80]!r}")
        for item in ids:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], int)):
                raise ValueError(f"malformed seed envelope {value[:80]!r}")
            event_id, day = UUID(str(item[0])).bytes, item[1]
            if self.day - day > self.days or day > self.day or self._entry(event_id) is not None:
                continue
            self.entries[event_id] = _UNKNOWN + _DAY.pack(day)
            self._new.setdefault((partition, day), []).append(event_id + _UNKNOWN)

    def seen_partition(self, partition: int, index: int) -> None:
        self._last[partition] = index

    def finish(self) -> None:
        """Write the new records (one chunk per day, today's unless seeded) and sweep expired days,
        per partition in the batch."""
        for partition, index in self._last.items():
            self._sweep(partition, index)
        for (partition, day), records in self._new.items():
            index = self._last[partition]
            count_key = _count_key(partition, day)
            count = int(self._get(count_key) or b"0")
            self.writes[_chunk_key(partition, day, count)] = (b"".join(records), index)
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
            for event_id, _ in _records(self._get(chunk_key)):
                entry = self._entry(event_id)
                if entry is not None and _day_of(entry) == day:  # not re-recorded since
                    self.entries[event_id] = None
            self.writes[chunk_key] = (None, index)
            self.writes[count_key] = (str(count - 1).encode() if count > 1 else None, index)
            chunks -= 1
        if stored is None or swept != start:
            self.writes[swept_key] = (str(swept).encode(), index)
