"""One S3 bucket kept as files in a directory: atomic writes, conditional puts, a sorted key index.

The durable embedded broker (Tansu's S3 engine) keeps every record batch, watermark and offset as an
object here (``embedded/s3store.py`` serves this over HTTP). What it relies on:

* **Whole objects.** A write goes to a temporary file beside the object, is fsynced and renamed over
  it: a reader — or a store restarted after ``kill -9`` — sees the old object or the new one, never a
  torn one. (s3rver truncated in place; an empty offset object wedged Tansu.) The directory is not
  fsynced after the rename (as in the s3rver wrapper; it doubled the cost of a new object): after a
  power cut, a write acknowledged in the file system's last commit interval may read as the old object.
* **Conditional puts as S3 answers them.** Tansu's watermarks and cluster metadata are updated
  optimistically with ``If-None-Match: *`` / ``If-Match: <etag>`` and re-read only on a 412. Without
  that answer a restarted broker overwrote acknowledged records (docs/durability.md).
* **One write per key at a time.** A put checks its condition, writes, fsyncs and renames while
  holding the key's lock, so a check and its write cannot interleave with another put of that key.
  The blocking write runs in a thread (fsync costs 0.3-1 ms here; writes of different keys — one
  partition's batch, another's watermark — overlap). A read of a key with a write in flight waits
  for it: between the rename and the index update it would pair the new bytes with the old ETag
  (s3rver did that once; Tansu then handed out one offset twice).
* **A disk reserve.** Every write but a record batch is refused while free space is under the reserve
  (:meth:`ObjectDir.put`), so a produce on a filling disk fails at its first write, the watermark, and
  is not acknowledged. A record batch (``…/partitions/N/records/<offset>.batch``) is let into the
  reserve: Tansu writes it only after advancing the partition's watermark (which passed the check), and
  never rolls the watermark back, so refusing the batch would only leave an offset with no records.

Layout: object ``a/b/c`` is the file ``<root>/a/b/c.obj`` (the suffix keeps object ``a`` and the
directory of ``a/b`` apart). LIST is served from an in-memory sorted index built at start.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import errno
import hashlib
import os
import re
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "DEFAULT_RESERVE_BYTES",
    "InvalidKeyError",
    "Listing",
    "ObjectDir",
    "ObjectMeta",
    "OutOfSpaceError",
    "PreconditionFailedError",
]

DEFAULT_RESERVE_BYTES = 64 * 1024 * 1024
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
    etag: str | None = None  # md5 hex, unquoted; None until first needed (not known after a restart)


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


def _etag_of(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def _unquote_etag(tag: str) -> str:
    tag = tag.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    return tag.strip('"')


class ObjectDir:
    """The objects of one bucket under ``root``; call :meth:`load` before anything else."""

    def __init__(self, root: Path, reserve_bytes: int = DEFAULT_RESERVE_BYTES, fsync: bool = True) -> None:
        self.root = root
        self.reserve_bytes = reserve_bytes
        self.fsync = fsync
        self._meta: dict[str, ObjectMeta] = {}
        self._keys: list[str] = []  # sorted; LIST bisects it instead of scanning directories
        self._locks: dict[str, _KeyLock] = {}  # keys with a write in flight (or queued)

    def __len__(self) -> int:
        return len(self._keys)

    def load(self) -> None:
        """Index the objects on disk; remove temporary files of writes a kill cut short."""
        self.root.mkdir(parents=True, exist_ok=True)
        for directory, _dirs, files in os.walk(self.root):
            for name in files:
                path = Path(directory, name)
                if name.endswith(_TEMP_SUFFIX):
                    path.unlink(missing_ok=True)  # never renamed in: the old object (if any) is whole
                elif name.endswith(_S3RVER_OBJECT):
                    self._migrate_s3rver(path)
        for directory, _dirs, files in os.walk(self.root):
            for name in files:
                if name.endswith(_SUFFIX):
                    path = Path(directory, name)
                    stat = path.stat()
                    key = path.relative_to(self.root).as_posix()[: -len(_SUFFIX)]
                    self._meta[key] = ObjectMeta(stat.st_size, stat.st_mtime)
        self._keys = sorted(self._meta)

    def _migrate_s3rver(self, path: Path) -> None:
        # Rename first, then drop the side files: a kill in between leaves orphans removed next time.
        path.rename(path.with_name(path.name[: -len(_S3RVER_OBJECT)] + _SUFFIX))
        for side in _S3RVER_SIDE_FILES:
            path.with_name(path.name[: -len(_S3RVER_OBJECT)] + side).unlink(missing_ok=True)

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(part in ("", ".", "..") for part in parts) or "\0" in key:
            raise InvalidKeyError(key)
        return self.root.joinpath(*parts[:-1], parts[-1] + _SUFFIX)

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

    async def head(self, key: str) -> ObjectMeta | None:
        found = await self.get(key)  # objects are small; reading fills in an etag not known yet
        return None if found is None else found[0]

    async def get(self, key: str) -> tuple[ObjectMeta, bytes] | None:
        if key in self._locks:
            async with self._locked(key):
                return self._read(key)
        return self._read(key)

    def _known(self, key: str) -> ObjectMeta | None:
        """``key``'s metadata with its etag (read from disk once after a restart); no write in flight."""
        meta = self._meta.get(key)
        if meta is not None and meta.etag is None:
            self._read(key)
        return meta

    def _read(self, key: str) -> tuple[ObjectMeta, bytes] | None:
        meta = self._meta.get(key)
        if meta is None:
            return None
        body = self._path(key).read_bytes()
        if meta.etag is None:
            meta.etag = _etag_of(body)
        return meta, body

    async def put(
        self, key: str, body: bytes, if_match: str | None = None, if_none_match: str | None = None
    ) -> str:
        """Write ``key`` whole if the conditions hold; returns the new etag (md5 hex)."""
        path = self._path(key)
        async with self._locked(key):
            existing = self._known(key)
            self._check_conditions(existing, if_match, if_none_match)
            if _RECORD_BATCH.search(key) is None:
                # Not for a record batch: its watermark was already advanced (Tansu writes it first
                # and never rolls it back), so the batch goes into the reserve rather than leave an
                # offset without records. Only batches whose watermark passed this check get there,
                # one per produce in flight, each at most the broker's max message size (1 MiB by
                # default): a 64 MiB reserve holds every batch in flight when the disk crosses it.
                self._check_space()
            await asyncio.to_thread(self._write, path, body)
            etag = _etag_of(body)
            if existing is None:
                bisect.insort(self._keys, key)
            self._meta[key] = ObjectMeta(len(body), time.time(), etag)
            return etag

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

    def _write(self, path: Path, body: bytes) -> None:
        """Temp file, fsync, rename over ``path`` (in a worker thread; touches no shared state)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f"{path.name}.{secrets.token_hex(6)}{_TEMP_SUFFIX}")
        try:
            with temp.open("wb") as out:
                out.write(body)
                out.flush()
                if self.fsync:
                    os.fsync(out.fileno())
            os.replace(temp, path)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            if exc.errno == errno.ENOSPC:  # the old object is untouched
                raise OutOfSpaceError(str(exc)) from exc
            raise

    async def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error (as in S3)."""
        path = self._path(key)
        async with self._locked(key):
            if self._meta.pop(key, None) is None:
                return
            del self._keys[bisect.bisect_left(self._keys, key)]
            path.unlink(missing_ok=True)

    def list(self, prefix: str, delimiter: str, after: str, max_keys: int) -> Listing:
        """Keys (and common prefixes, with a delimiter) under ``prefix``, after ``after``, in order."""
        keys: list[tuple[str, ObjectMeta]] = []
        prefixes: list[str] = []
        if after < prefix:
            i = bisect.bisect_left(self._keys, prefix)
        elif delimiter and after.find(delimiter, len(prefix)) == len(after) - len(delimiter):
            # Continuing after a common prefix (``after`` ends in its only delimiter): past its keys.
            i = bisect.bisect_left(self._keys, after + _MAX_CHAR)
        else:
            i = bisect.bisect_right(self._keys, after)
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
            meta = self._known(key)  # a key with a write in flight is listed as it was before it
            assert meta is not None
            keys.append((key, meta))
            last = key
            i += 1
        return Listing(keys, prefixes, False, None)

    def _check_space(self) -> None:
        stats = os.statvfs(self.root)
        if stats.f_bavail * stats.f_frsize < self.reserve_bytes:
            raise OutOfSpaceError(f"free space under the {self.reserve_bytes}-byte reserve")
