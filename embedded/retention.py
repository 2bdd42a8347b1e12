"""Drop record batches every consumer group has read, once they are old enough: the embedded broker's
retention.

Tansu 0.6 keeps every record batch of its S3 engine forever (its ``DeleteRecords`` is ``todo!()``), and
each fetch LISTs the partition's whole ``records/`` prefix, so a stack left running slows down as its
log grows: with the demo's traffic the store's LIST time grew from 7 to 20 s a minute within five
minutes. Here the store itself deletes a batch when

* its topic is not a changelog (faust restores tables from those: they are kept whole),
* some consumer group committed an offset on its partition and every group that did is past the
  batch's last record (a topic nobody consumes, such as dead letters, is kept whole), and
* it was written more than ``keep_s`` ago (a window for replays and for readers without a group).

Committed offsets are the broker's own objects
(``clusters/<c>/groups/consumers/<group>/offsets/<topic>/partitions/<n>.json``). A reader without a
group (an ``assign`` + ``seek``) that asks for a deleted offset gets the next batch kept, as after
retention in Apache Kafka. Deleting goes through the store's own ``delete`` (key lock, tombstone), so
it is ordered with Tansu's writes; segment compaction then reclaims the space.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time

from embedded.objectdir import ObjectDir, ObjectMeta

__all__ = ["DEFAULT_KEEP_S", "run_retention", "trim_consumed"]

log = logging.getLogger(__name__)

DEFAULT_KEEP_S = 900.0
_OFFSET = re.compile(r"^clusters/([^/]+)/groups/consumers/[^/]+/offsets/(.+)/partitions/(\d+)\.json$")
_CHUNK = 256  # deletes awaited together: they share the log's group commits


async def trim_consumed(store: ObjectDir, keep_s: float, now: float | None = None) -> int:
    """Delete the batches described above; returns how many."""
    now = time.time() if now is None else now
    floors: dict[tuple[str, str, str], int] = {}
    for cluster in store.list("clusters/", "/", "", 1000).common_prefixes:
        for key, _meta in _all(store, f"{cluster}groups/consumers/"):
            match = _OFFSET.match(key)
            found = None if match is None else await store.get(key)
            if match is None or found is None:
                continue
            try:
                committed = int(json.loads(found[1])["offset"])
            except (ValueError, KeyError, TypeError):
                continue  # not an offset object we understand: trim nothing on its account
            where = (match[1], match[2], match[3])
            floors[where] = min(committed, floors.get(where, committed))
    doomed: list[str] = []
    for (cluster, topic, partition), floor in floors.items():
        if topic.endswith("-changelog"):
            continue
        prefix = f"clusters/{cluster}/topics/{topic}/partitions/{partition}/records/"
        batches = _all(store, prefix)
        # A batch ends where the next one starts: it is consumed when the next starts at or below the floor.
        for (key, meta), (next_key, _next) in zip(batches, batches[1:], strict=False):
            if _offset(next_key) > floor:
                break
            if now - meta.mtime > keep_s:
                doomed.append(key)
    for start in range(0, len(doomed), _CHUNK):
        await asyncio.gather(*(store.delete(key) for key in doomed[start : start + _CHUNK]))
    return len(doomed)


def _all(store: ObjectDir, prefix: str) -> list[tuple[str, ObjectMeta]]:
    keys: list[tuple[str, ObjectMeta]] = []
    after = ""
    while True:
        listing = store.list(prefix, "", after, 1000)
        keys += listing.keys
        if not listing.truncated or listing.next_marker is None:
            return keys
        after = listing.next_marker


def _offset(key: str) -> int:
    return int(key.rsplit("/", 1)[1].split(".", 1)[0])


async def run_retention(store: ObjectDir, keep_s: float, every_s: float = 60.0) -> None:
    """Trim every ``every_s`` seconds, for as long as the store serves."""
    while True:
        await asyncio.sleep(every_s)
        try:
            dropped = await trim_consumed(store, keep_s)
        except Exception:  # a failed pass must not stop the store; the next one retries
            log.exception("retention pass failed")
            continue
        if dropped:
            log.info("retention: dropped %d record batches every consumer group had read", dropped)
