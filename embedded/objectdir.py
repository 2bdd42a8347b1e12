"""One S3 bucket kept in a directory: an append-only log, conditional puts, a sorted key index.

The durable embedded broker (Tansu's S3 engine) keeps every record batch, watermark and offset as an
object here (``embedded/s3store.py`` serves this over HTTP). What it relies on:

* **Whole objects, kept once acknowledged.** A put is one record appended to the current segment of
  :class:`embedded.segments.SegmentLog` and answered after the fdatasync of its group: a reader — or
  a store restarted after ``kill -9`` or a power cut — sees the old object or the new one, never a
  torn one (a torn tail fails its crc and is dropped when the log is opened; it was never answered).
  (s3rver truncated files in place; an empty offset object wedged Tansu.)
* **Conditional puts as S3 answers them.** Tansu's watermarks and cluster metadata are updated
  optimistically with ``If-None-Match: *`` / ``If-Match: <etag>`` and re-read only on a 412. Without
  that answer a restarted broker overwrote acknowledged records (docs/durability.md).
* **One write per key at a time.** A put checks its condition and appends while holding the key's
  lock, until its group is on disk, so a check and its write cannot interleave with another put of
  that key; puts of different keys (one partition's batch, another's watermark) share a group. A
  read of a key with a write in flight waits for it, so it never pairs new bytes with an old ETag
  (s3rver did that once; Tansu then handed out one offset twice).
* **A disk reserve.** Every write but a record batch is refused while free space is under the reserve
  (:meth:`ObjectDir.put`), so a produce on a filling disk fails at its first write, the watermark, and
  is not acknowledged. A record batch (``…/partitions/N/records/<offset>.batch``) is let into the
  reserve: Tansu writes it only after advancing the partition's watermark (which passed the check), and
  never rolls the watermark back, so refusing the batch would only leave an offset with no records.

Space: every produce overwrites a watermark and retention deletes batches, so the log fills with dead
copies; once they are over half of it, the oldest segment's live objects are re-appended under their
keys' locks and the segment is deleted. Objects stored one file each by earlier versions (``<key>.obj``, or
s3rver's layout) are appended to the log when the store starts and their files removed. LIST is
served from an in-memory sorted index built at start.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import hashlib
import logging
import os
import re
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from embedded.segments import DEFAULT_SEGMENT_BYTES, DELETE, PUT, Entry, Location, LogFullError, SegmentLog

__all__ = [
    "DEFAULT_RESERVE_BYTES",
    "InvalidKeyError",
    "Listing",
    "ObjectDir",
    "ObjectMeta",
    "OutOfSpaceError",
    "PreconditionFailedError",
]

log = logging.getLogger(__name__)

DEFAULT_RESERVE_BYTES = 64 * 1024 * 1024
LOG_DIR = "_log"  # the segments, under the bucket's directory
# Earlier versions' layout: object ``a/b`` was the file ``a/b.obj``, written via ``<name>.<rand>.tmp``.
_SUFFIX = ".obj"
_TEMP_SUFFIX = ".tmp"
# s3rver's layout (one object = three files); migrated on load so a durable home written before this
# store keeps its broker log.
_S3RVER_OBJECT = "._S3rver_object"
_S3RVER_SIDE_FILES = ("._S3rver_object.md5", "._S3rver_metadata.json")
_MAX_CHAR = "\U0010ffff"  # sorts after every character a key can hold: the end of a prefix range
# Tansu's record batch objects: the second write of a produce, after the partition's watermark.
_RECORD_BATCH = re.compile(r"/partitions/\d+/records/\d+\.batch$")


class PreconditionFailedError(Exception):
    """An ``If-Match`` / ``If-None-Match`` condition did not hold (S3: 412)."""

    def __init__(self, condition: str) -> None:
        super().__init__(condition)
        self.condition = condition


class OutOfSpaceError(Exception):
    """Free disk space is under the reserve, or the disk filled mid-write (S3: 503 SlowDown)."""


class InvalidKeyError(ValueError):
    """A key that cannot name a file under the root (``..``, empty segments, NUL)."""


@dataclass
class ObjectMeta:
    size: int
    mtime: float  # seconds since the epoch
    etag: str  # md5 hex, unquoted
    where: Location
    # This object's <Contents> element in a LIST reply, made on its first listing: Tansu LISTs a
    # partition's every record batch on each fetch, so a listed object is listed again and again.
    listed: bytes = b""


@dataclass
class Listing:
    keys: list[tuple[str, ObjectMeta]]
    common_prefixes: list[str]
    truncated: bool
    next_marker: str | None  # the last key or common prefix returned, when truncated


@dataclass
class _KeyLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


def _md5(body: bytes) -> bytes:
    return hashlib.md5(body, usedforsecurity=False).digest()


def _unquote_etag(tag: str) -> str:
    tag = tag.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    return tag.strip('"')


class ObjectDir:
    """The objects of one bucket under ``root``; call :meth:`load` before anything else."""

    def __init__(
        self,
        root: Path,
        reserve_bytes: int = DEFAULT_RESERVE_BYTES,
        fsync: bool = True,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    ) -> None:
        self.root = root
        self.reserve_bytes = reserve_bytes
        self.log = SegmentLog(root / LOG_DIR, segment_bytes, fsync)
        self._meta: dict[str, ObjectMeta] = {}
        self._keys: list[str] = []  # sorted; LIST bisects it
        self._locks: dict[str, _KeyLock] = {}  # keys with a write in flight (or queued)
        self._live: defaultdict[int, int] = defaultdict(int)  # segment -> bytes of current objects
        self._compacting: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._keys)

    async def load(self) -> None:
        """Index the log; fold in objects kept as files by earlier versions of the store."""
        self.root.mkdir(parents=True, exist_ok=True)
        for entry in self.log.open():
            self._index(entry.op, entry.key, entry.size, entry.mtime, entry.md5.hex(), entry.where)
        self._keys = sorted(self._meta)
        loose = self._loose_files()
        if loose:
            await self._import(loose)

    def _index(self, op: int, key: str, size: int, mtime: float, etag: str, where: Location) -> None:
        old = self._meta.pop(key, None)
        if old is not None:
            self._live[old.where.segment] -= old.where.record_bytes
        if op == PUT:
            self._meta[key] = ObjectMeta(size, mtime, etag, where)
            self._live[where.segment] += where.record_bytes

    def _loose_files(self) -> list[tuple[str, Path]]:
        """(key, file) of objects stored one file each (``<key>.obj``; s3rver's ``._S3rver_object``)."""
        found: dict[str, Path] = {}
        for directory, dirs, files in os.walk(self.root):
            if Path(directory) == self.root and LOG_DIR in dirs:
                dirs.remove(LOG_DIR)
            for name in files:
                path = Path(directory, name)
                relative = path.relative_to(self.root).as_posix()
                if name.endswith(_TEMP_SUFFIX):
                    path.unlink(missing_ok=True)  # a write a kill cut short: never acknowledged
                elif name.endswith(_SUFFIX):
                    found[relative[: -len(_SUFFIX)]] = path
                elif name.endswith(_S3RVER_OBJECT):
                    found.setdefault(relative[: -len(_S3RVER_OBJECT)], path)
        return sorted(found.items())

    async def _import(self, loose: list[tuple[str, Path]]) -> None:
        """Append every loose object to the log, then delete the files: a kill in between imports
        them again next time (the same bytes), and nothing is served before this returns."""
        for start in range(0, len(loose), 1000):
            chunk = loose[start : start + 1000]
            writes = []
            for key, path in chunk:
                body, mtime = path.read_bytes(), path.stat().st_mtime
                digest = _md5(body)
                writes.append((key, len(body), mtime, digest, self.log.append(PUT, key, body, mtime, digest)))
            for key, size, mtime, digest, done in writes:
                self._index(PUT, key, size, mtime, digest.hex(), await done)
        self._keys = sorted(self._meta)
        for _key, path in loose:
            path.unlink()
            if path.name.endswith(_S3RVER_OBJECT):
                for side in _S3RVER_SIDE_FILES:
                    path.with_name(path.name[: -len(_S3RVER_OBJECT)] + side).unlink(missing_ok=True)
        for directory, _dirs, _files in sorted(os.walk(self.root), reverse=True):
            if Path(directory) not in (self.root, self.root / LOG_DIR):
                with contextlib.suppress(OSError):
                    Path(directory).rmdir()  # only empty ones go

    @staticmethod
    def _check_key(key: str) -> None:
        parts = key.split("/")
        if not key or any(part in ("", ".", "..") for part in parts) or "\0" in key:
            raise InvalidKeyError(key)

    @contextlib.asynccontextmanager
    async def _locked(self, key: str) -> AsyncIterator[None]:
        entry = self._locks.get(key)
        if entry is None:
            entry = self._locks[key] = _KeyLock()
        entry.users += 1  # holders and waiters: the lock is dropped when the last one leaves
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._locks[key]

    async def get(self, key: str) -> tuple[ObjectMeta, bytes] | None:
        if key in self._locks:
            async with self._locked(key):
                return self._read(key)
        return self._read(key)

    def _read(self, key: str) -> tuple[ObjectMeta, bytes] | None:
        meta = self._meta.get(key)
        if meta is None:
            return None
        return meta, self.log.read(meta.where, meta.size)

    async def put(
        self, key: str, body: bytes, if_match: str | None = None, if_none_match: str | None = None
    ) -> str:
        """Write ``key`` whole if the conditions hold; returns the new etag (md5 hex)."""
        self._check_key(key)
        async with self._locked(key):
            existing = self._meta.get(key)
            self._check_conditions(existing, if_match, if_none_match)
            if _RECORD_BATCH.search(key) is None:
                # Not for a record batch: its watermark was already advanced (Tansu writes it first
                # and never rolls it back), so the batch goes into the reserve rather than leave an
                # offset without records. Only batches whose watermark passed this check get there,
                # one per produce in flight, each at most the broker's max message size (1 MiB by
                # default): a 64 MiB reserve holds every batch in flight when the disk crosses it.
                self._check_space()
            digest, mtime = _md5(body), time.time()
            try:
                where = await self.log.append(PUT, key, body, mtime, digest)
            except LogFullError as exc:
                raise OutOfSpaceError(str(exc)) from exc
            if existing is None:
                bisect.insort(self._keys, key)
            self._index(PUT, key, len(body), mtime, digest.hex(), where)
            self._maybe_compact()
            return digest.hex()

    @staticmethod
    def _check_conditions(
        existing: ObjectMeta | None, if_match: str | None, if_none_match: str | None
    ) -> None:
        if if_none_match is not None and existing is not None:
            if if_none_match.strip() == "*" or _unquote_etag(if_none_match) == existing.etag:
                raise PreconditionFailedError("If-None-Match")
        # A missing object fails If-Match with 412 too (S3 says 404): Tansu re-reads on a 412 and
        # finds the object gone, which is what it needs to recreate a deleted watermark.
        if if_match is not None and (existing is None or _unquote_etag(if_match) != existing.etag):
            raise PreconditionFailedError("If-Match")

    async def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error (as in S3)."""
        self._check_key(key)
        async with self._locked(key):
            existing = self._meta.get(key)
            if existing is None:
                return
            try:
                where = await self.log.append(DELETE, key, b"", time.time(), b"\0" * 16)
            except LogFullError as exc:
                raise OutOfSpaceError(str(exc)) from exc
            del self._keys[bisect.bisect_left(self._keys, key)]
            self._index(DELETE, key, 0, 0.0, "", where)

    def _maybe_compact(self) -> None:
        """Reclaim space once dead copies (overwritten watermarks, deleted batches) are over half the log.

        Always the oldest sealed segment, like a log cleaner working from the tail: a delete's
        tombstone is then never needed after its segment is compacted (the put it hides can only be in
        the same segment or an older one, already gone), and each cleaning pass copies the live data
        at most once for at least as many dead bytes reclaimed."""
        sealed = self.log.sealed()
        if self._compacting is not None or not sealed:
            return
        if sum(self._live.values()) * 2 < sum(self.log.sizes.values()):
            self._compacting = asyncio.get_running_loop().create_task(self._compact(sealed[0]))
            self._compacting.add_done_callback(self._compacted)

    def _compacted(self, task: asyncio.Task[None]) -> None:
        self._compacting = None
        if not task.cancelled() and task.exception() is not None:
            log.error("compacting the store's log failed", exc_info=task.exception())

    async def _compact(self, number: int) -> None:
        """Copy the segment's current objects to the head, a few hundred at a time, then drop it."""
        chunk: list[Entry] = []
        for entry in self.log.scan(number):
            if entry.op != PUT:
                continue  # the oldest segment's tombstones hide nothing older: dropped
            chunk.append(entry)
            if len(chunk) == 256:
                await asyncio.gather(*(self._copy_forward(e) for e in chunk))
                chunk = []
        await asyncio.gather(*(self._copy_forward(e) for e in chunk))
        self.log.remove(number)
        self._live.pop(number, None)

    async def _copy_forward(self, entry: Entry) -> None:
        async with self._locked(entry.key):  # no put of the key can land between the check and the copy
            meta = self._meta.get(entry.key)
            if meta is not None and meta.where == entry.where:
                body = self.log.read(entry.where, entry.size)
                where = await self.log.append(PUT, entry.key, body, entry.mtime, entry.md5)
                self._index(PUT, entry.key, entry.size, entry.mtime, meta.etag, where)

    def list(self, prefix: str, delimiter: str, after: str, max_keys: int) -> Listing:
        """Keys (and common prefixes, with a delimiter) under ``prefix``, after ``after``, in order."""
        keys: list[tuple[str, ObjectMeta]] = []
        prefixes: list[str] = []
        if after < prefix:
            i = bisect.bisect_left(self._keys, prefix)
        elif not delimiter:
            i = bisect.bisect_right(self._keys, after)
        elif delimiter and after.find(delimiter, len(prefix)) == len(after) - len(delimiter):
            # Continuing after a common prefix (``after`` ends in its only delimiter): past its keys.
            i = bisect.bisect_left(self._keys, after + _MAX_CHAR)
        else:
            i = bisect.bisect_right(self._keys, after)
        if not delimiter:  # Tansu's fetch: a slice of the sorted keys, no per-key work
            end = bisect.bisect_left(self._keys, prefix + _MAX_CHAR, i)
            chosen = self._keys[i : min(end, i + max_keys)]
            truncated = i + max_keys < end
            meta = self._meta
            return Listing(
                [(key, meta[key]) for key in chosen], [], truncated, chosen[-1] if truncated else None
            )
        last: str | None = None
        while i < len(self._keys):
            key = self._keys[i]
            if not key.startswith(prefix):
                break
            if len(keys) + len(prefixes) == max_keys:
                return Listing(keys, prefixes, True, last)
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            if cut >= 0:
                common = key[: cut + len(delimiter)]
                prefixes.append(common)
                last = common
                # Skip every key under this common prefix: they are rolled up into it.
                i = bisect.bisect_left(self._keys, common + _MAX_CHAR, i)
                continue
            keys.append((key, self._meta[key]))  # a key with a write in flight: as it was before it
            last = key
            i += 1
        return Listing(keys, prefixes, False, None)

    def _check_space(self) -> None:
        stats = os.statvfs(self.root)
        if stats.f_bavail * stats.f_frsize < self.reserve_bytes:
            raise OutOfSpaceError(f"free space under the {self.reserve_bytes}-byte reserve")
