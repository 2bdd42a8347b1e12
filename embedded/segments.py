"""An append-only log of object writes in segment files, fsynced in groups.

The S3 store used to keep one file per object: every PUT created a temporary file, fsynced and
renamed it. Tansu makes two sequential conditional PUTs per produced batch per partition, so at 1,000
pixel requests/s the store made ~1,000 file creations, fsyncs and renames a second, and its
kernel time (not Python, not the disk) was what the pixel's ack waited on: p99 358 ms with files,
8-22 ms with the same store keeping objects in a dict (docs/durability.md). Here a PUT appends one
record to the current segment; concurrent PUTs share one ``write`` and one ``fdatasync`` ("group
commit"), and each is answered when its group is on disk.

Record: ``crc32 | op | key length | body length | mtime | md5 | key | body``; the crc covers
everything after it, so a record cut short by a kill (or a torn sector after a power cut) is
detected when the log is opened and the tail from it on is dropped: it was never acknowledged,
since a group is answered only after its fdatasync. Only the last segment can have such a tail: a
segment is sealed (no more appends) only after a group flushed into it completely.

Segments are ``<dir>/<number:08>.seg``; reclaiming the space of overwritten objects is the owner's
job (:class:`embedded.objectdir.ObjectDir` copies the live records of a mostly dead segment forward
and then :meth:`SegmentLog.remove`s it).
"""

from __future__ import annotations

import asyncio
import errno
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DELETE", "PUT", "CorruptLogError", "Entry", "LogFullError", "Location", "SegmentLog"]

PUT, DELETE = 1, 2
_HEADER = struct.Struct("<IBHId16s")  # crc32, op, key length, body length, mtime, md5 digest
_SUFFIX = ".seg"
DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024


class CorruptLogError(Exception):
    """A sealed segment holds a record that does not check out: the disk lost data it had confirmed."""


class LogFullError(Exception):
    """The disk filled while a group was written; nothing of that group was kept."""


@dataclass(frozen=True, slots=True)
class Location:
    segment: int
    offset: int  # of the record's body in the segment file
    record_bytes: int  # header + key + body: what a later overwrite of the key turns into garbage


@dataclass(frozen=True, slots=True)
class Entry:
    op: int
    key: str
    size: int
    mtime: float
    md5: bytes
    where: Location


@dataclass(slots=True)
class _Pending:
    record: bytes
    body_at: int  # offset of the body inside ``record``
    done: asyncio.Future[Location]


class SegmentLog:
    """Segments under ``directory``; call :meth:`open` first and use it from one event loop."""

    def __init__(self, directory: Path, segment_bytes: int = DEFAULT_SEGMENT_BYTES, fsync: bool = True):
        self.directory = directory
        self.segment_bytes = segment_bytes
        self.fsync = fsync
        self.sizes: dict[int, int] = {}  # segment -> bytes on disk (flushed)
        self._readers: dict[int, int] = {}  # segment -> read-only fd
        self._head = 0  # the segment appends go to
        self._head_fd = -1
        self._pending: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None

    def open(self) -> Iterator[Entry]:
        """Every record in log order (a later record of a key replaces an earlier one). Drops a torn
        tail of the last segment; raises CorruptLogError for a bad record anywhere else."""
        self.directory.mkdir(parents=True, exist_ok=True)
        numbers = sorted(int(p.name[: -len(_SUFFIX)]) for p in self.directory.glob(f"*{_SUFFIX}"))
        for number in numbers:
            yield from self._scan(number, last=number == numbers[-1])
        self._start_segment(numbers[-1] if numbers else 1)

    def _scan(self, number: int, last: bool) -> Iterator[Entry]:
        path = self._path(number)
        data = path.read_bytes()
        at = 0
        while at < len(data):
            entry = _decode(data, at, number)
            if entry is None:
                if not last:
                    raise CorruptLogError(
                        f"{path}: record at byte {at} is damaged (the disk lost confirmed data); "
                        "move the store aside to start the broker's log afresh"
                    )
                with path.open("r+b") as torn:  # never acknowledged: its group's fdatasync did not return
                    torn.truncate(at)
                    os.fsync(torn.fileno())
                break
            yield entry
            at = entry.where.offset + entry.size
        self.sizes[number] = min(at, len(data))
        self._readers[number] = os.open(path, os.O_RDONLY)

    def _path(self, number: int) -> Path:
        return self.directory / f"{number:08d}{_SUFFIX}"

    def _start_segment(self, number: int) -> None:
        if self._head_fd >= 0:
            os.close(self._head_fd)
        path = self._path(number)
        created = not path.exists()
        self._head_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if created and self.fsync:  # the new file's name must survive a power cut too
            dir_fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        self._head = number
        self.sizes.setdefault(number, 0)
        if number not in self._readers:
            self._readers[number] = os.open(path, os.O_RDONLY)

    def append(self, op: int, key: str, body: bytes, mtime: float, md5: bytes) -> asyncio.Future[Location]:
        """Queue a record; the future resolves once it is on disk (LogFullError / OSError if not)."""
        raw_key = key.encode()
        rest = _HEADER.pack(0, op, len(raw_key), len(body), mtime, md5)[4:] + raw_key + body
        record = struct.pack("<I", zlib.crc32(rest)) + rest
        done: asyncio.Future[Location] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(record, _HEADER.size + len(raw_key), done))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        return done

    async def _flush(self) -> None:
        """Write what is queued in one go while the next group queues up behind it."""
        try:
            while self._pending:
                group, self._pending = self._pending, []
                start = self.sizes[self._head]
                buffer = b"".join(p.record for p in group)
                try:
                    # On the event loop, not in a worker thread: the thread hand-off (two wake-ups on
                    # cores the broker and collectors keep busy) cost more than the fdatasync itself
                    # (~0.1 ms idle here): pixel p50 10-16 -> 6-8 ms, p99 32-94 -> 31-48 ms
                    # (bench.durability). Reads wait meanwhile; the next group fills up.
                    self._write(self._head_fd, buffer, start)
                except OSError as exc:
                    failure: Exception = LogFullError(str(exc)) if exc.errno == errno.ENOSPC else exc
                    for pending in group:
                        if not pending.done.done():
                            pending.done.set_exception(failure)
                    continue
                at = start
                for pending in group:
                    where = Location(self._head, at + pending.body_at, len(pending.record))
                    if not pending.done.done():
                        pending.done.set_result(where)
                    at += len(pending.record)
                self.sizes[self._head] = at
                if at >= self.segment_bytes:
                    self._start_segment(self._head + 1)
                await asyncio.sleep(0)  # let the group's writers run (and queue the next group)
        finally:
            self._flusher = None

    def _write(self, fd: int, buffer: bytes, start: int) -> None:
        """Append ``buffer`` whole and fdatasync, or leave the file as it was."""
        try:
            view = memoryview(buffer)
            while view:
                view = view[os.write(fd, view) :]
            if self.fsync:
                os.fdatasync(fd)
        except OSError:
            os.ftruncate(fd, start)  # a short write must not leave half a record before the next group
            raise

    def read(self, where: Location, size: int) -> bytes:
        return os.pread(self._readers[where.segment], size, where.offset)

    def sealed(self) -> list[int]:
        return [number for number in sorted(self.sizes) if number != self._head]

    def scan(self, number: int) -> Iterator[Entry]:
        """The records of a sealed segment (for copying its live ones forward)."""
        data = self._path(number).read_bytes()
        at = 0
        while at < len(data):
            entry = _decode(data, at, number)
            if entry is None:
                raise CorruptLogError(f"{self._path(number)}: record at byte {at} is damaged")
            yield entry
            at = entry.where.offset + entry.size

    def remove(self, number: int) -> None:
        if number == self._head:
            raise ValueError("the head segment cannot be removed")
        os.close(self._readers.pop(number))
        del self.sizes[number]
        self._path(number).unlink()

    async def close(self) -> None:
        while self._flusher is not None:
            await asyncio.shield(self._flusher)
        for fd in self._readers.values():
            os.close(fd)
        self._readers.clear()
        if self._head_fd >= 0:
            os.close(self._head_fd)
            self._head_fd = -1


def _decode(data: bytes, at: int, segment: int) -> Entry | None:
    """The record at ``at``, or None if it is cut short or does not check out."""
    if at + _HEADER.size > len(data):
        return None
    crc, op, key_len, size, mtime, md5 = _HEADER.unpack_from(data, at)
    body_at = at + _HEADER.size + key_len
    end = body_at + size
    if op not in (PUT, DELETE) or end > len(data) or zlib.crc32(memoryview(data)[at + 4 : end]) != crc:
        return None
    key = data[at + _HEADER.size : body_at].decode()
    return Entry(op, key, size, mtime, md5, Location(segment, body_at, end - at))
