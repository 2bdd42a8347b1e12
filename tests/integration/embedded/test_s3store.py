"""The durable broker's S3 store (embedded/s3store.py): the S3 semantics Tansu relies on, crash safety,
and Tansu itself on it."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import signal
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition as AioTopicPartition
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from embedded.kafka import EmbeddedKafka
from embedded.objectdir import LOG_DIR, ObjectDir, OutOfSpaceError
from embedded.s3 import BUCKET, EmbeddedS3
from embedded.segments import CorruptLogError
from streams.admin import ensure_topics

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedS3]:
    s3 = EmbeddedS3(tmp_path / "s3", tmp_path / "store.log").start()
    yield s3
    s3.stop()


@pytest.fixture
def client(store: EmbeddedS3) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{store.endpoint}/{BUCKET}", timeout=10) as http:
        yield http


def _list(client: httpx.Client, **params: str) -> tuple[list[str], list[str], str | None]:
    reply = client.get("", params={"list-type": "2", **params})
    assert reply.status_code == 200, reply.text
    root = ET.fromstring(reply.content)
    keys = [el.findtext(f"{NS}Key") or "" for el in root.iter(f"{NS}Contents")]
    prefixes = [el.findtext(f"{NS}Prefix") or "" for el in root.iter(f"{NS}CommonPrefixes")]
    token = root.findtext(f"{NS}NextContinuationToken")
    assert (root.findtext(f"{NS}IsTruncated") == "true") == (token is not None)
    return keys, prefixes, token


def test_read_your_write_head_delete(client: httpx.Client) -> None:
    assert client.head("").status_code == 200  # the bucket exists
    assert client.get("a/b.json").status_code == 404
    put = client.put("a/b.json", content=b'{"x": 1}')
    assert put.status_code == 200
    assert put.headers["etag"].strip('"') == hashlib.md5(b'{"x": 1}').hexdigest()
    got = client.get("a/b.json")
    assert (got.status_code, got.content, got.headers["etag"]) == (200, b'{"x": 1}', put.headers["etag"])
    assert "last-modified" in got.headers
    head = client.head("a/b.json")
    assert (head.status_code, head.headers["content-length"], head.content) == (200, "8", b"")
    assert client.get("a/b.json", headers={"If-None-Match": put.headers["etag"]}).status_code == 304
    ranged = client.get("a/b.json", headers={"Range": "bytes=1-3"})
    assert (ranged.status_code, ranged.content, ranged.headers["content-range"]) == (
        206,
        b'"x"',
        "bytes 1-3/8",
    )
    assert client.delete("a/b.json").status_code == 204
    assert client.get("a/b.json").status_code == 404
    assert client.head("a/b.json").status_code == 404
    assert client.delete("a/b.json").status_code == 204  # deleting nothing is fine in S3


def test_conditional_put_create_update_and_412(client: httpx.Client) -> None:
    create = client.put("w.json", content=b"0", headers={"If-None-Match": "*"})
    assert create.status_code == 200
    again = client.put("w.json", content=b"1", headers={"If-None-Match": "*"})
    assert again.status_code == 412 and b"PreconditionFailed" in again.content
    update = client.put("w.json", content=b"1", headers={"If-Match": create.headers["etag"]})
    assert update.status_code == 200
    stale = client.put("w.json", content=b"2", headers={"If-Match": create.headers["etag"]})
    assert stale.status_code == 412
    assert (
        client.put("missing.json", content=b"x", headers={"If-Match": update.headers["etag"]}).status_code
        == 412
    )
    assert client.get("w.json").content == b"1"
    assert client.get("missing.json").status_code == 404


def _race(endpoint: str, key: str, headers: dict[str, str], writers: int) -> list[tuple[int, bytes, str]]:
    """``writers`` threads PUT ``key`` with ``headers`` at once; (status, body, etag) of each."""
    barrier = threading.Barrier(writers)
    results: list[tuple[int, bytes, str]] = []

    def write(i: int) -> None:
        body = f"{uuid.uuid4()}-{i}".encode()
        with httpx.Client(base_url=f"{endpoint}/{BUCKET}") as http:
            barrier.wait()
            reply = http.put(key, content=body, headers=headers)
        results.append((reply.status_code, body, reply.headers.get("etag", "")))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_conditional_writers_one_wins_per_etag(store: EmbeddedS3) -> None:
    """Tansu's optimistic watermark update: of writers holding one etag, exactly one may succeed."""
    writers = 8
    with httpx.Client(base_url=f"{store.endpoint}/{BUCKET}") as http:
        etag = http.put("wm.json", content=b"start").headers["etag"]
        for _round in range(15):
            results = _race(store.endpoint, "wm.json", {"If-Match": etag}, writers)
            winners = [r for r in results if r[0] == 200]
            assert len(winners) == 1 and [r[0] for r in results].count(412) == writers - 1
            current = http.get("wm.json")
            assert current.content == winners[0][1] and current.headers["etag"] == winners[0][2]
            etag = winners[0][2]
    # Creators racing on a new key: one create wins.
    created = _race(store.endpoint, "new.json", {"If-None-Match": "*"}, writers)
    assert sorted(r[0] for r in created) == [200] + [412] * (writers - 1)


def test_list_prefix_delimiter_pagination(client: httpx.Client) -> None:
    keys = [f"c/t/p{p}/records/{o:020d}.batch" for p in range(2) for o in range(7)] + [
        "c/t/p0/watermark.json",
        "c/meta.json",
        "d/x",
    ]
    for key in reversed(keys):
        assert client.put(key, content=key.encode()).status_code == 200
    prefix = "c/t/p0/records/"
    page, got, token = 0, [], None
    while True:
        params = {"prefix": prefix, "max-keys": "3"} | ({"continuation-token": token} if token else {})
        listed, _, token = _list(client, **params)
        got += listed
        page += 1
        if token is None:
            break
    assert got == sorted(k for k in keys if k.startswith(prefix)) and page == 3
    assert _list(client, prefix="c/")[0] == sorted(k for k in keys if k.startswith("c/"))
    # Delimiter: keys directly under the prefix and one common prefix per "directory", paginated.
    listed, prefixes, token = _list(client, prefix="c/", delimiter="/")
    assert (listed, prefixes, token) == (["c/meta.json"], ["c/t/"], None)
    listed, prefixes, token = _list(client, prefix="c/t/", delimiter="/", **{"max-keys": "1"})
    assert (listed, prefixes) == ([], ["c/t/p0/"]) and token is not None
    listed, prefixes, token = _list(client, prefix="c/t/", delimiter="/", **{"continuation-token": token})
    assert (listed, prefixes, token) == ([], ["c/t/p1/"], None)
    assert _list(client, prefix="c/t/p1/records/", **{"start-after": keys[10]})[0] == keys[11:14]
    assert _list(client, prefix="nothing/")[0] == []


def test_restart_keeps_data_and_rebuilds_the_index(tmp_path: Path) -> None:
    s3 = EmbeddedS3(tmp_path / "s3", tmp_path / "store.log").start()
    port = s3.port
    assert not s3.has_data()
    with httpx.Client(base_url=f"{s3.endpoint}/{BUCKET}") as http:
        etags = {
            f"clusters/k{i}": http.put(f"clusters/k{i}", content=b"v%d" % i).headers["etag"]
            for i in range(20)
        }
    s3.stop()
    assert s3.has_data()
    [segment] = (tmp_path / "s3" / BUCKET / LOG_DIR).glob("*.seg")
    kept = segment.stat().st_size
    with segment.open("ab") as torn:  # the start of a group a kill cut short: never acknowledged
        torn.write(b"\x01\x02\x03" * 20)
    s3.start()
    assert s3.port == port
    with httpx.Client(base_url=f"{s3.endpoint}/{BUCKET}") as http:
        for i in range(20):
            got = http.get(f"clusters/k{i}")
            assert (got.content, got.headers["etag"]) == (b"v%d" % i, etags[f"clusters/k{i}"])
        assert _list(http, prefix="clusters/")[0] == sorted(etags)
        # The etag after a restart is the one a conditional update must present.
        assert (
            http.put("clusters/k1", content=b"x", headers={"If-Match": etags["clusters/k1"]}).status_code
            == 200
        )
        assert http.get("clusters/k1").content == b"x"
    s3.stop()
    assert segment.stat().st_size > kept  # the torn tail went, the new write came after the kept ones


def test_a_damaged_sealed_segment_stops_the_store_with_its_name(tmp_path: Path) -> None:
    root = tmp_path / BUCKET

    async def write() -> None:
        store = ObjectDir(root, segment_bytes=256)
        await store.load()
        for i in range(8):
            await store.put(f"clusters/k{i}", b"v" * 100)
        await store.log.close()

    asyncio.run(write())
    first = root / LOG_DIR / "00000001.seg"
    data = bytearray(first.read_bytes())
    data[40] ^= 0xFF
    first.write_bytes(bytes(data))
    with pytest.raises(CorruptLogError, match="00000001.seg"):
        asyncio.run(ObjectDir(root).load())


def test_earlier_store_layouts_are_folded_into_the_log(tmp_path: Path) -> None:
    """Homes written by the one-file-per-object store (``<key>.obj``) and by s3rver keep their log."""
    records = tmp_path / BUCKET / "clusters" / "c" / "records"
    records.mkdir(parents=True)
    (records / "00000000000000000000.batch._S3rver_object").write_bytes(b"batch0")
    (records / "00000000000000000000.batch._S3rver_object.md5").write_text("x")
    (records / "00000000000000000000.batch._S3rver_metadata.json").write_text("{}")
    (records / "00000000000000000001.batch.obj").write_bytes(b"batch1")
    (records.parent / "watermark.json.obj").write_bytes(b'{"high": 2}')
    (records.parent / "watermark.json.obj.abc123.tmp").write_bytes(b"torn")

    async def read() -> dict[str, bytes | None]:
        store = ObjectDir(tmp_path / BUCKET)
        await store.load()
        keys = [
            "clusters/c/records/00000000000000000000.batch",
            "clusters/c/records/00000000000000000001.batch",
            "clusters/c/watermark.json",
        ]
        found = {key: await store.get(key) for key in keys}
        await store.log.close()
        return {key: None if got is None else got[1] for key, got in found.items()}

    expected = {
        "clusters/c/records/00000000000000000000.batch": b"batch0",
        "clusters/c/records/00000000000000000001.batch": b"batch1",
        "clusters/c/watermark.json": b'{"high": 2}',
    }
    assert asyncio.run(read()) == expected
    assert not (tmp_path / BUCKET / "clusters").exists()  # files folded in and removed
    assert asyncio.run(read()) == expected  # and still there from the log alone


def test_overwritten_objects_are_reclaimed_and_deletes_stay_deleted(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, dict[str, bytes | None]]:
        store = ObjectDir(tmp_path, segment_bytes=4096)
        await store.load()
        await store.put("k/keep", b"keep")
        await store.put("k/gone", b"gone")
        await store.delete("k/gone")
        etag = await store.put("k/wm", b"0")
        for i in range(1, 500):  # a watermark: every write makes the one before it garbage
            etag = await store.put("k/wm", b"%d" % i, if_match=etag)
        while store._compacting is not None:
            await asyncio.sleep(0.01)
        segments = len(store.log.sizes)
        await store.log.close()
        reopened = ObjectDir(tmp_path, segment_bytes=4096)
        await reopened.load()
        found = {key: await reopened.get(key) for key in ("k/keep", "k/gone", "k/wm")}
        await reopened.log.close()
        return segments, {key: None if got is None else got[1] for key, got in found.items()}

    segments, found = asyncio.run(scenario())
    assert found == {"k/keep": b"keep", "k/gone": None, "k/wm": b"499"}
    # ~60 KB of records were written into 4 KB segments; only the head and at most one more remain.
    assert segments <= 3, segments


def test_a_full_disk_mid_group_keeps_nothing_of_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOSPC while a group is written: every put of it fails (503 upstream), the log stays whole."""

    async def scenario() -> tuple[list[bool], dict[str, bytes | None]]:
        store = ObjectDir(tmp_path)
        await store.load()
        await store.put("k/a", b"before")
        real_write = os.write

        def full(fd: int, data: memoryview) -> int:
            real_write(fd, data[:7])  # a short write, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "write", full)
        outcomes = await asyncio.gather(
            store.put("k/a", b"after", if_match=hashlib.md5(b"before").hexdigest()),
            store.put("k/b", b"new"),
            return_exceptions=True,
        )
        monkeypatch.setattr(os, "write", real_write)
        await store.put("k/c", b"later")
        await store.log.close()
        reopened = ObjectDir(tmp_path)
        await reopened.load()
        found = {key: await reopened.get(key) for key in ("k/a", "k/b", "k/c")}
        await reopened.log.close()
        return [isinstance(o, OutOfSpaceError) for o in outcomes], {
            key: None if got is None else got[1] for key, got in found.items()
        }

    refused, found = asyncio.run(scenario())
    assert refused == [True, True]
    assert found == {"k/a": b"before", "k/b": None, "k/c": b"later"}


def test_disk_reserve_refuses_writes_with_slowdown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injection: a reserve larger than any disk stands in for a full one."""
    s3 = EmbeddedS3(tmp_path / "s3", tmp_path / "store.log").start()
    with httpx.Client(base_url=f"{s3.endpoint}/{BUCKET}") as http:
        etag = http.put("wm.json", content=b"kept").headers["etag"]
    s3.stop()
    monkeypatch.setenv("TOUCHSTREAM_S3STORE_RESERVE_BYTES", str(2**62))
    s3.start()
    try:
        with httpx.Client(base_url=f"{s3.endpoint}/{BUCKET}") as http:
            refused = http.put("wm.json", content=b"new", headers={"If-Match": etag})
            assert refused.status_code == 503 and b"<Code>SlowDown</Code>" in refused.content
            assert http.put("other.json", content=b"x").status_code == 503
            assert http.get("wm.json").content == b"kept"  # reads still served, nothing changed
            assert http.get("other.json").status_code == 404
            # A record batch follows a watermark that passed the reserve check: it goes into the reserve.
            batch = "clusters/c/topics/t/partitions/0000000000/records/00000000000000000007.batch"
            assert http.put(batch, content=b"records", headers={"If-None-Match": "*"}).status_code == 200
    finally:
        s3.stop()


def _body(key: str, generation: int, size: int) -> bytes:
    """A self-checking object: a header naming key and generation, then filler, then its md5."""
    head = f"{key}:{generation}:".encode()
    filler = (head * (size // len(head) + 1))[:size]
    return filler + hashlib.md5(filler).hexdigest().encode()


def _whole(body: bytes) -> bool:
    return hashlib.md5(body[:-32]).hexdigest().encode() == body[-32:]


def test_kill_9_mid_write_leaves_every_object_whole(tmp_path: Path) -> None:
    s3 = EmbeddedS3(tmp_path / "s3", tmp_path / "store.log").start()
    keys = [f"clusters/c/k{i}" for i in range(6)]
    stop = threading.Event()
    acknowledged: dict[str, int] = {}  # key -> last generation the store answered 200 for
    lock = threading.Lock()

    def writer(key: str) -> None:
        generation = 0
        with httpx.Client(base_url=f"{s3.endpoint}/{BUCKET}", timeout=5) as http:
            while not stop.is_set():
                generation += 1
                try:
                    ok = http.put(key, content=_body(key, generation, 512 * 1024)).status_code == 200
                except httpx.HTTPError:
                    return
                if ok:
                    with lock:
                        acknowledged[key] = generation

    threads = [threading.Thread(target=writer, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    assert s3._proc is not None
    os.kill(s3._proc.pid, signal.SIGKILL)
    stop.set()
    for thread in threads:
        thread.join()
    s3.stop()
    s3.start()
    try:
        with httpx.Client(base_url=f"{s3.endpoint}/{BUCKET}") as http:
            for key in keys:
                got = http.get(key)
                assert got.status_code == 200 and _whole(got.content), key
                generation = int(got.content.split(b":")[1])
                # Acknowledged means kept: the object is the last acknowledged write or a later one.
                assert generation >= acknowledged.get(key, 0)
    finally:
        s3.stop()
    assert not list((tmp_path / "s3").rglob("*.tmp"))


def test_tansu_keeps_acknowledged_records_across_kill_9(tmp_path: Path) -> None:
    """The real thing: records produced with acks=all survive SIGKILL of the broker and its store."""
    broker = EmbeddedKafka(tmp_path, storage="durable").start()
    try:
        topic, count = f"s3store-{uuid.uuid4().hex[:8]}", 600
        ensure_topics(broker.bootstrap, 3, [topic])
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=5)
        futures = [producer.send(topic, key=b"k%d" % (i % 11), value=b"%d" % i) for i in range(count)]
        producer.flush(60)
        assert all(future.get(1) for future in futures)
        producer.close()
        assert broker._proc is not None and broker._store is not None and broker._store._proc is not None
        os.kill(broker._proc.pid, signal.SIGKILL)
        os.kill(broker._store._proc.pid, signal.SIGKILL)
        time.sleep(0.5)
        broker.restart()
        consumer = KafkaConsumer(
            bootstrap_servers=broker.bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            consumer_timeout_ms=10000,
        )
        consumer.assign([TopicPartition(topic, p) for p in range(3)])
        consumer.seek_to_beginning()
        seen = [int(message.value) for message in consumer]
        consumer.close()
        assert sorted(seen) == list(range(count))
    finally:
        broker.stop()


def test_offset_gap_left_by_a_failed_batch_write_does_not_stall_consumers(tmp_path: Path) -> None:
    """Tansu writes a partition's watermark, then the batch; a failed batch write leaves an offset with no
    records (docs/durability.md, "A full disk"). Consumers (aiokafka: faust and the sink) must read past it.

    The batch write is made to fail by an object put at the batch's key first: Tansu creates batches
    with ``If-None-Match: *``, so the store refuses its write (412) after the watermark advanced."""
    broker = EmbeddedKafka(tmp_path, storage="durable").start()
    topic = f"gap-{uuid.uuid4().hex[:8]}"
    assert broker._store is not None
    store = httpx.Client(base_url=f"{broker._store.endpoint}/{BUCKET}", timeout=10)

    async def scenario() -> tuple[list[bytes], int]:
        producer = AIOKafkaProducer(
            bootstrap_servers=broker.bootstrap, acks="all", request_timeout_ms=120_000
        )
        await producer.start()
        try:
            for i in range(5):
                await producer.send_and_wait(topic, b"before-%d" % i, partition=0)
            [watermark] = [
                key
                for key in _list(store, prefix="clusters/")[0]
                if key.endswith(f"/topics/{topic}/partitions/0000000000/watermark.json")
            ]
            offset = 5  # the next batch's offset: one record per batch above
            blocker = watermark.replace("watermark.json", f"records/{offset:020}.batch")
            assert store.put(blocker, content=b"not a record batch").status_code == 200
            with pytest.raises(Exception):  # noqa: B017,PT011 - any error: the produce must not be acknowledged
                await producer.send_and_wait(topic, b"lost", partition=0)
            assert store.delete(blocker).status_code == 204
            for i in range(5):
                await producer.send_and_wait(topic, b"after-%d" % i, partition=0)
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest")
        await consumer.start()
        try:
            tp = AioTopicPartition(topic, 0)
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            seen: list[bytes] = []
            deadline = time.monotonic() + 30
            while len(seen) < 10 and time.monotonic() < deadline:
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    seen += [record.value for record in records if record.value is not None]
            return seen, await consumer.position(tp)
        finally:
            await consumer.stop()

    try:
        ensure_topics(broker.bootstrap, 1, [topic])
        seen, position = asyncio.run(scenario())
    finally:
        store.close()
        broker.stop()
    assert seen == [b"before-%d" % i for i in range(5)] + [b"after-%d" % i for i in range(5)]
    assert position >= 11  # past the gap at offset 5


def test_deleted_objects_are_reclaimed_and_cleaning_stops(tmp_path: Path) -> None:
    """Retention deletes batches in bulk: their space comes back, no deleted key comes back, and the
    cleaner settles (it does not keep re-copying tombstones)."""

    async def scenario() -> tuple[int, int, list[str], bytes | None]:
        store = ObjectDir(tmp_path, segment_bytes=4096)
        await store.load()
        batches = [f"t/records/{i:020}.batch" for i in range(300)]
        for key in batches:
            await store.put(key, b"r" * 40)
        for key in batches[:290]:
            await store.delete(key)
        etag = await store.put("t/wm", b"0")
        for i in range(1, 200):
            etag = await store.put("t/wm", b"%d" % i, if_match=etag)
        passes = 0
        while store._compacting is not None:
            passes += 1
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert store._compacting is None
        size = sum(store.log.sizes.values())
        await store.log.close()
        reopened = ObjectDir(tmp_path, segment_bytes=4096)
        await reopened.load()
        keys = [key for key, _ in reopened.list("t/", "", "", 1000).keys]
        wm = await reopened.get("t/wm")
        await reopened.log.close()
        return size, passes, keys, None if wm is None else wm[1]

    size, _passes, keys, wm = asyncio.run(scenario())
    assert keys == [f"t/records/{i:020}.batch" for i in range(290, 300)] + ["t/wm"]
    assert wm == b"199"
    # ~70 KB written; what is left is the head segment and at most one sealed one.
    assert size <= 2 * 4096 + 200, size
